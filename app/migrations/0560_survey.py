# The SKM/IKM survey's answer sheets.
from peewee import *


def up(migrator, db):
    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class Service(Model):
        class Meta:
            database = db
            table_name = 'service'

    class SurveyResponse(Model):
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        ticket_ref = CharField(max_length=32, null=True, unique=True)
        answers = TextField()
        comment = TextField(default='')
        profile = TextField(null=True)
        day = DateField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'survey_response'
            indexes = ((('site', 'day'), False),)
    db.create_tables([SurveyResponse])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('survey_response'))
