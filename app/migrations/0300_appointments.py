# Online appointments, the e-mail outbox and rate-limit counters (issue 5).
# Frozen model copies: no imports from app.
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

    class SiteService(Model):
        class Meta:
            database = db
            table_name = 'site_service'

    class Ticket(Model):
        id = CharField(primary_key=True, max_length=32)
        class Meta:
            database = db
            table_name = 'ticket'

    class BookingSetting(Model):
        site_service = ForeignKeyField(SiteService, unique=True, on_delete='CASCADE')
        enabled = BooleanField(default=True)
        slot_minutes = IntegerField(default=30)
        capacity = IntegerField(default=4)
        walk_in_share = FloatField(default=0.5)
        early_minutes = IntegerField(default=60)
        grace_minutes = IntegerField(default=30)
        horizon_days = IntegerField(default=14)
        class Meta:
            database = db
            table_name = 'booking_setting'

    class SlotCounter(Model):
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        start_at = DateTimeField()
        booked = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'slot_counter'
            indexes = ((('site', 'service', 'start_at'), True),)

    class DayCounter(Model):
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        day = DateField()
        booked = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'day_counter'
            indexes = ((('site', 'service', 'day'), True),)

    class Appointment(Model):
        code = CharField(unique=True, max_length=12)
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        day = DateField()
        start_at = DateTimeField()
        end_at = DateTimeField()
        status = CharField(max_length=12, default='booked')
        name = CharField(max_length=100)
        nik_hash = CharField(max_length=64, index=True)
        nik_masked = CharField(max_length=20)
        phone = CharField(max_length=20)
        email = CharField(max_length=254, null=True)
        active_key = CharField(max_length=64, null=True, unique=True)
        created_at = DateTimeField()
        cancelled_at = DateTimeField(null=True)
        checked_in_at = DateTimeField(null=True)
        ticket = ForeignKeyField(Ticket, null=True)
        reschedules = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'appointment'
            indexes = ((('site', 'day', 'status'), False),)

    class MailMessage(Model):
        to_addr = CharField(max_length=254)
        subject = CharField(max_length=200)
        body = TextField()
        attachments = TextField(null=True)
        status = CharField(max_length=10, default='pending')
        attempts = IntegerField(default=0)
        created_at = DateTimeField()
        next_attempt_at = DateTimeField(index=True)
        claimed_until = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        last_error = TextField(null=True)
        class Meta:
            database = db
            table_name = 'mail_message'

    class RateCounter(Model):
        key = CharField(max_length=200)
        window = BigIntegerField()
        count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'rate_counter'
            indexes = ((('key', 'window'), True), (('window',), False))

    db.create_tables([BookingSetting, SlotCounter, DayCounter, Appointment, MailMessage,
                      RateCounter])


def down(migrator, db):
    for table in ('rate_counter', 'mail_message', 'appointment', 'day_counter',
                  'slot_counter', 'booking_setting'):
        migrator.migrate(migrator.drop_table(table))
