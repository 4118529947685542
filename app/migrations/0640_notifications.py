# Notifications to citizens (app/models/notify.py): the outbox of WhatsApp/SMS messages,
# opted-out numbers, admin templates, "kabari saya" ticket watches, callback nonces.
# New tables only: an existing database keeps its data and starts with an empty outbox.
from peewee import *


def up(migrator, db):
    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class Notification(Model):
        key = CharField(max_length=80, unique=True)
        site = ForeignKeyField(Site, null=True)
        purpose = CharField(max_length=10)
        kind = CharField(max_length=24)
        ref = CharField(max_length=40, default='')
        phone = CharField(max_length=20)
        body = TextField()
        urgent = BooleanField(default=False)
        owner = CharField(max_length=8, default='centre')
        status = CharField(max_length=10, default='pending')
        channel = CharField(max_length=10, default='')
        attempts = IntegerField(default=0)
        created_at = DateTimeField()
        next_attempt_at = DateTimeField()
        claimed_until = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        gateway_ref = CharField(max_length=80, default='')
        last_error = TextField(default='')
        handled_by = CharField(max_length=80, default='')
        class Meta:
            database = db
            table_name = 'notification'
            indexes = ((('status', 'owner', 'next_attempt_at'), False),
                       (('phone', 'sent_at'), False))

    class NotifyOptOut(Model):
        phone = CharField(max_length=20, unique=True)
        at = DateTimeField()
        source = CharField(max_length=20, default='')
        class Meta:
            database = db
            table_name = 'notify_opt_out'

    class NotifyTemplate(Model):
        kind = CharField(max_length=24, unique=True)
        body = TextField()
        updated_at = DateTimeField()
        updated_by = CharField(max_length=80, default='')
        class Meta:
            database = db
            table_name = 'notify_template'

    class TicketWatch(Model):
        ticket_ref = CharField(max_length=32, unique=True)
        site = ForeignKeyField(Site)
        phone = CharField(max_length=20)
        created_at = DateTimeField()
        notified_at = DateTimeField(null=True, index=True)
        class Meta:
            database = db
            table_name = 'ticket_watch'
            indexes = ((('site', 'notified_at'), False),)

    class NotifyNonce(Model):
        nonce = CharField(max_length=64, unique=True)
        at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'notify_nonce'

    db.create_tables([Notification, NotifyOptOut, NotifyTemplate, TicketWatch, NotifyNonce])


def down(migrator, db):
    for name in ('notify_nonce', 'ticket_watch', 'notify_template', 'notify_opt_out',
                 'notification'):
        migrator.migrate(migrator.drop_table(name))
