"""Notifications to citizens (WhatsApp, SMS, e-mail): the outbox of messages written in
the transaction of the event they report, the numbers that said BERHENTI/STOP, the
admin's templates, the "kabari saya" watches of tickets and the callback nonces.
Sent by `app.notify`; rules in `app.domain.notify`."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Site


class Notification(BaseModel):
    """One message to one number. `key` is the idempotency key (the gateway sees it):
    one event, one row, at the hall and at the centre alike. `owner` says which node
    sends it (`centre` or `hall`), fixed when the row is written (docs/notifications.md)."""
    key = pw.CharField(max_length=80, unique=True)
    site = pw.ForeignKeyField(Site, null=True)
    purpose = pw.CharField(max_length=10)  # booking | case | turn: what the number was given for
    kind = pw.CharField(max_length=24)  # booking_made, case_ready, turn_near, ...
    ref = pw.CharField(max_length=40, default="")  # tracking code, booking code, ticket id
    phone = pw.CharField(max_length=20)  # +62...; masked in every log line and page
    body = pw.TextField()
    urgent = pw.BooleanField(default=False)  # may go out in quiet hours ("your turn")
    owner = pw.CharField(max_length=8, default="centre")
    # pending | sent | delivered | failed | handled | stopped | cancelled | limited
    status = pw.CharField(max_length=10, default="pending")
    channel = pw.CharField(max_length=10, default="")  # the one that took it
    attempts = pw.IntegerField(default=0)
    created_at = pw.DateTimeField()
    next_attempt_at = pw.DateTimeField()
    claimed_until = pw.DateTimeField(null=True)
    sent_at = pw.DateTimeField(null=True)
    gateway_ref = pw.CharField(max_length=80, default="")
    last_error = pw.TextField(default="")
    handled_by = pw.CharField(max_length=80, default="")

    class Meta:
        table_name = "notification"
        indexes = ((("status", "owner", "next_attempt_at"), False),
                   (("phone", "sent_at"), False))


class NotifyOptOut(BaseModel):
    """A number that answered BERHENTI / STOP: nothing more goes to it."""
    phone = pw.CharField(max_length=20, unique=True)
    at = pw.DateTimeField()
    source = pw.CharField(max_length=20, default="")

    class Meta:
        table_name = "notify_opt_out"


class NotifyTemplate(BaseModel):
    """An admin's text for one kind of message (the shipped default otherwise)."""
    kind = pw.CharField(max_length=24, unique=True)
    body = pw.TextField()
    updated_at = pw.DateTimeField()
    updated_by = pw.CharField(max_length=80, default="")

    class Meta:
        table_name = "notify_template"


class TicketWatch(BaseModel):
    """'Kabari saya': a number to tell when three tickets are ahead of this one."""
    ticket_ref = pw.CharField(max_length=32, unique=True)
    site = pw.ForeignKeyField(Site)
    phone = pw.CharField(max_length=20)
    created_at = pw.DateTimeField()
    notified_at = pw.DateTimeField(null=True, index=True)

    class Meta:
        table_name = "ticket_watch"
        indexes = ((("site", "notified_at"), False),)


class NotifyNonce(BaseModel):
    """Nonces of signed gateway callbacks, remembered for the accepted time window."""
    nonce = pw.CharField(max_length=64, unique=True)
    at = pw.DateTimeField(index=True)

    class Meta:
        table_name = "notify_nonce"
