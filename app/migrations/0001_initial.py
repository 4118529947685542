# Generated from a schema diff on 2026-11-28 06:59.
from peewee import *


# Ticket.id gets its random default from the application (models.random_id).

def up(migrator, db):
    class Agency(Model):
        code = CharField(unique=True, max_length=40)
        name = CharField()
        class Meta:
            database = db
            table_name = 'agency'
    db.create_tables([Agency])

    class Site(Model):
        code = CharField(unique=True, max_length=40)
        name = CharField()
        kind = CharField(max_length=10)
        region_code = CharField(max_length=12)
        zone = CharField(max_length=20, default='')
        reading_style = CharField(max_length=10, default='whole')
        running_text = TextField(default='')
        class Meta:
            database = db
            table_name = 'site'
    db.create_tables([Site])

    class User(Model):
        username = CharField(unique=True, max_length=80)
        password_hash = CharField()
        role = CharField(max_length=12)
        site = ForeignKeyField(Site, null=True)
        agency = ForeignKeyField(Agency, null=True)
        full_name = CharField(default='')
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class ApiToken(Model):
        token_hash = CharField(unique=True, max_length=64)
        user = ForeignKeyField(User)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'api_token'
    db.create_tables([ApiToken])

    class Closure(Model):
        site = ForeignKeyField(Site, null=True)
        day = DateField(index=True)
        reason = CharField()
        class Meta:
            database = db
            table_name = 'closure'
    db.create_tables([Closure])

    class Counter(Model):
        site = ForeignKeyField(Site)
        code = CharField(max_length=20)
        name = CharField()
        number = IntegerField()
        status = CharField(max_length=10, default='closed')
        class Meta:
            database = db
            table_name = 'counter'
            indexes = ((('site', 'code'), True),)
    db.create_tables([Counter])

    class Service(Model):
        code = CharField(unique=True, max_length=40)
        name = CharField()
        agency = ForeignKeyField(Agency)
        prefix = CharField(max_length=2)
        mini = CharField(max_length=10, default='yes')
        standard_minutes = IntegerField(default=10)
        fee = CharField(default='')
        requirements = TextField(default='[]')
        class Meta:
            database = db
            table_name = 'service'
    db.create_tables([Service])

    class CounterService(Model):
        counter = ForeignKeyField(Counter)
        service = ForeignKeyField(Service)
        class Meta:
            database = db
            table_name = 'counter_service'
            indexes = ((('counter', 'service'), True),)
    db.create_tables([CounterService])

    class LoginAttempt(Model):
        key = CharField(index=True, max_length=200)
        at = DateTimeField()
        class Meta:
            database = db
            table_name = 'login_attempt'
    db.create_tables([LoginAttempt])

    class NumberSequence(Model):
        site = ForeignKeyField(Site)
        prefix = CharField(max_length=2)
        day = DateField()
        last = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'number_sequence'
            indexes = ((('site', 'prefix', 'day'), True),)
    db.create_tables([NumberSequence])

    class OpeningWindow(Model):
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service, null=True)
        weekday = IntegerField()
        opens = TimeField()
        closes = TimeField()
        class Meta:
            database = db
            table_name = 'opening_window'
    db.create_tables([OpeningWindow])

    class SiteService(Model):
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        daily_quota = IntegerField(null=True)
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'site_service'
            indexes = ((('site', 'service'), True),)
    db.create_tables([SiteService])

    class Ticket(Model):
        id = CharField(primary_key=True, max_length=32)
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        day = DateField()
        prefix = CharField(max_length=2)
        seq = IntegerField()
        number = CharField(max_length=8)
        priority_group = CharField(null=True, max_length=20)
        status = CharField(max_length=12, default='waiting')
        counter = ForeignKeyField(Counter, null=True)
        outcome = CharField(null=True, max_length=12)
        issued_at = DateTimeField()
        due_at = DateTimeField(null=True)
        source = CharField(max_length=12, default='kiosk')
        called_at = DateTimeField(null=True)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        call_count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'ticket'
            indexes = ((('site', 'prefix', 'day', 'seq'), True), (('site', 'day', 'status'), False))
    db.create_tables([Ticket])

    class TicketEvent(Model):
        ticket = ForeignKeyField(Ticket)
        kind = CharField(max_length=20)
        at = DateTimeField()
        counter = ForeignKeyField(Counter, null=True)
        username = CharField(null=True, max_length=80)
        detail = TextField(null=True)
        class Meta:
            database = db
            table_name = 'ticket_event'
    db.create_tables([TicketEvent])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('ticket_event'))
    migrator.migrate(migrator.drop_table('ticket'))
    migrator.migrate(migrator.drop_table('site_service'))
    migrator.migrate(migrator.drop_table('opening_window'))
    migrator.migrate(migrator.drop_table('number_sequence'))
    migrator.migrate(migrator.drop_table('login_attempt'))
    migrator.migrate(migrator.drop_table('counter_service'))
    migrator.migrate(migrator.drop_table('service'))
    migrator.migrate(migrator.drop_table('counter'))
    migrator.migrate(migrator.drop_table('closure'))
    migrator.migrate(migrator.drop_table('api_token'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('site'))
    migrator.migrate(migrator.drop_table('agency'))
