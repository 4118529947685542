# A closed day's tallies of the visit facts, kept for the kabupaten's reports and
# voided by a late fact (app/models/visits.py VisitDay). Starts empty: reports fill it.
from peewee import *


def up(migrator, db):
    class VisitDay(Model):
        day = DateField(unique=True)
        version = IntegerField(default=0)
        tallies = TextField(null=True)
        made_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'visit_day'
    db.create_tables([VisitDay])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('visit_day'))
