# Visit facts (one per ticket) for the reports, their cursor, and each hall's last pulse
# at the centre.
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

    class VisitFact(Model):
        ticket_ref = CharField(max_length=32, unique=True)
        site = ForeignKeyField(Site)
        day = DateField()
        weekday = SmallIntegerField()
        hour = SmallIntegerField()
        service = ForeignKeyField(Service)
        first_service = ForeignKeyField(Service, null=True, backref='+')
        source = CharField(max_length=12)
        priority_group = CharField(max_length=20, null=True)
        status = CharField(max_length=12)
        outcome = CharField(max_length=12, null=True)
        issued_at = DateTimeField()
        called_at = DateTimeField(null=True)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        wait_seconds = IntegerField(null=True)
        service_seconds = IntegerField(null=True)
        within_target = BooleanField(null=True)
        calls = IntegerField(default=0)
        transfers = IntegerField(default=0)
        requeues = IntegerField(default=0)
        counter_code = CharField(max_length=20, null=True)
        operator = CharField(max_length=80, null=True)
        changed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'visit_fact'
            indexes = ((('site', 'day'), False), (('day', 'site'), False))

    class VisitCursor(Model):
        name = CharField(max_length=20, unique=True)
        last_event_id = BigIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'visit_cursor'

    class HallPulse(Model):
        site = ForeignKeyField(Site, unique=True)
        contact_at = DateTimeField()
        day = DateField()
        waiting = IntegerField(default=0)
        longest_wait_seconds = IntegerField(default=0)
        served_today = IntegerField(default=0)
        pending_messages = IntegerField(default=0)
        data_until = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'hall_pulse'
    db.create_tables([VisitFact, VisitCursor, HallPulse])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('hall_pulse'), migrator.drop_table('visit_cursor'),
                     migrator.drop_table('visit_fact'))
