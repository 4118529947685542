# Cases, attachments, outbox/inbox and the sync feed (app/models_cases.py), frozen.
from peewee import *


def up(migrator, db):
    class Service(Model):
        class Meta:
            database = db
            table_name = 'service'

    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class Case(Model):
        tracking_code = CharField(unique=True, max_length=20)
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        ticket_ref = CharField(unique=True, null=True, max_length=32)
        applicant_name = CharField(max_length=120)
        applicant_nik = CharField(max_length=16)
        applicant_phone = CharField(max_length=20, default='')
        requirements = TextField(default='[]')
        notes = TextField(default='')
        status = CharField(max_length=20, default='received')
        missing = TextField(default='')
        received_at = DateTimeField()
        updated_at = DateTimeField()
        opened_by = CharField(max_length=80, default='')
        class Meta:
            database = db
            table_name = 'case_record'
            indexes = ((('site', 'status'), False), (('status', 'updated_at'), False))
    db.create_tables([Case])

    class CaseAttachment(Model):
        uid = CharField(unique=True, max_length=32)
        case = ForeignKeyField(Case, on_delete='CASCADE')
        stored_name = CharField(max_length=80)
        original_name = CharField(max_length=120, default='')
        content_type = CharField(max_length=40)
        size = IntegerField()
        sha256 = CharField(max_length=64)
        uploaded_at = DateTimeField()
        uploaded_by = CharField(max_length=80, default='')
        class Meta:
            database = db
            table_name = 'case_attachment'
    db.create_tables([CaseAttachment])

    class CaseEvent(Model):
        uid = CharField(unique=True, max_length=32)
        case = ForeignKeyField(Case, on_delete='CASCADE')
        status = CharField(max_length=20)
        at = DateTimeField()
        note = TextField(default='')
        missing = TextField(default='')
        by = CharField(max_length=80, default='')
        place = CharField(max_length=10, default='hall')
        class Meta:
            database = db
            table_name = 'case_event'
    db.create_tables([CaseEvent])

    class CaseUpdate(Model):
        site = ForeignKeyField(Site)
        seq = BigIntegerField()
        kind = CharField(max_length=30)
        body = TextField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'case_update'
            indexes = ((('site', 'seq'), True),)
    db.create_tables([CaseUpdate])

    class FeedCounter(Model):
        site = ForeignKeyField(Site, unique=True)
        last_seq = BigIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'feed_counter'
    db.create_tables([FeedCounter])

    class InboxMessage(Model):
        message_id = CharField(unique=True, max_length=32)
        site = ForeignKeyField(Site)
        kind = CharField(max_length=30)
        body_sha256 = CharField(max_length=64)
        received_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'inbox_message'
    db.create_tables([InboxMessage])

    class OutboxMessage(Model):
        message_id = CharField(unique=True, max_length=32)
        site = ForeignKeyField(Site)
        kind = CharField(max_length=30)
        tracking_code = CharField(index=True, max_length=20)
        body = TextField()
        created_at = DateTimeField()
        delivered_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        last_error = TextField(default='')
        refused = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'outbox_message'
            indexes = ((('site', 'delivered_at', 'id'), False),)
    db.create_tables([OutboxMessage])

    class SyncKey(Model):
        site = ForeignKeyField(Site)
        key = CharField(max_length=100)
        created_at = DateTimeField()
        revoked = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'sync_key'
    db.create_tables([SyncKey])

    class SyncNonce(Model):
        site_code = CharField(max_length=40)
        nonce = CharField(max_length=64)
        at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'sync_nonce'
            indexes = ((('site_code', 'nonce'), True),)
    db.create_tables([SyncNonce])

    class SyncState(Model):
        site = ForeignKeyField(Site, unique=True)
        updates_cursor = BigIntegerField(default=0)
        last_success_at = DateTimeField(null=True)
        last_error = TextField(default='')
        last_error_at = DateTimeField(null=True)
        lease_owner = CharField(max_length=40, default='')
        lease_until = DateTimeField(null=True)
        next_attempt_at = DateTimeField(null=True)
        failures = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'sync_state'
    db.create_tables([SyncState])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('sync_state'))
    migrator.migrate(migrator.drop_table('sync_nonce'))
    migrator.migrate(migrator.drop_table('sync_key'))
    migrator.migrate(migrator.drop_table('outbox_message'))
    migrator.migrate(migrator.drop_table('inbox_message'))
    migrator.migrate(migrator.drop_table('feed_counter'))
    migrator.migrate(migrator.drop_table('case_update'))
    migrator.migrate(migrator.drop_table('case_event'))
    migrator.migrate(migrator.drop_table('case_attachment'))
    migrator.migrate(migrator.drop_table('case_record'))
