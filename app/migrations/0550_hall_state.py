# At the centre: the newest report of what each hall decides itself.
from peewee import *


def up(migrator, db):
    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class HallState(Model):
        site = ForeignKeyField(Site, unique=True)
        taken_at = DateTimeField()
        state = TextField()
        received_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'hall_state'
    db.create_tables([HallState])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('hall_state'))
