"""Cases (berkas) and their forwarding to the MPP Induk: tables of the cases feature.

A hall (`site` role) keeps its own cases and an outbox; the centre (`central` role)
keeps every hall's cases, an inbox of message ids (exactly-once receipt), the nonces it
has seen, the halls' keys and a per-hall feed of updates the halls pull. In `all-in-one`
one database holds both sides: a case is one row, seen by the hall and the centre alike.

Datetimes are naive UTC. NIK and phone live only in Case; nothing else copies them
except outbox/inbox bodies, which never leave the two servers.
"""
import peewee as pw

from .db import BaseModel
from .models import JSONField, Service, Site


class Case(BaseModel):
    tracking_code = pw.CharField(unique=True, max_length=20)
    site = pw.ForeignKeyField(Site, backref="cases")
    service = pw.ForeignKeyField(Service)
    # The hall's ticket id (text, not a FK: the centre does not hold the hall's tickets).
    ticket_ref = pw.CharField(max_length=32, null=True, unique=True)  # one case per ticket
    applicant_name = pw.CharField(max_length=120)
    applicant_nik = pw.CharField(max_length=16)
    applicant_phone = pw.CharField(max_length=20, default="")
    requirements = JSONField(default=list)  # [{"item": str, "received": bool}]
    notes = pw.TextField(default="")
    status = pw.CharField(max_length=20, default="received")
    missing = pw.TextField(default="")  # what is missing, while needs_fix
    received_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    opened_by = pw.CharField(max_length=80, default="")

    class Meta:
        table_name = "case_record"  # CASE is an SQL keyword
        indexes = ((("site", "status"), False), (("status", "updated_at"), False))


class CaseEvent(BaseModel):
    """Status history. `uid` is the same at the hall and at the centre, so an event
    coming back down (or going up twice) is recognised."""
    uid = pw.CharField(unique=True, max_length=32)
    case = pw.ForeignKeyField(Case, backref="events", on_delete="CASCADE")
    status = pw.CharField(max_length=20)
    at = pw.DateTimeField()
    note = pw.TextField(default="")
    missing = pw.TextField(default="")
    by = pw.CharField(max_length=80, default="")
    place = pw.CharField(max_length=10, default="hall")  # hall | central


class CaseAttachment(BaseModel):
    uid = pw.CharField(unique=True, max_length=32)
    case = pw.ForeignKeyField(Case, backref="attachments", on_delete="CASCADE")
    stored_name = pw.CharField(max_length=80)  # generated; never the uploaded name
    original_name = pw.CharField(max_length=120, default="")  # sanitised, for display
    content_type = pw.CharField(max_length=40)
    size = pw.IntegerField()
    sha256 = pw.CharField(max_length=64)
    uploaded_at = pw.DateTimeField()
    uploaded_by = pw.CharField(max_length=80, default="")


class OutboxMessage(BaseModel):
    """At a hall: one message per change to forward, written in the change's own
    transaction. Undelivered rows are re-scanned on every pass (no cursor), so a row
    that commits after a later one is never skipped."""
    message_id = pw.CharField(unique=True, max_length=32)  # random
    site = pw.ForeignKeyField(Site)
    kind = pw.CharField(max_length=30)
    tracking_code = pw.CharField(max_length=20, index=True)
    body = pw.TextField()  # canonical JSON, signed and sent as is
    created_at = pw.DateTimeField()
    delivered_at = pw.DateTimeField(null=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    refused = pw.BooleanField(default=False)  # the centre refused it for good

    class Meta:
        # The auto id gives causal order within a case: a later change to a case is
        # written after the earlier one committed, so it gets a higher id.
        indexes = ((("site", "delivered_at", "id"), False),)


class SyncState(BaseModel):
    """At a hall, per site: the link's state, the updates cursor and the sender lease."""
    site = pw.ForeignKeyField(Site, unique=True)
    updates_cursor = pw.BigIntegerField(default=0)
    last_success_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(default="")
    last_error_at = pw.DateTimeField(null=True)
    lease_owner = pw.CharField(max_length=40, default="")
    lease_until = pw.DateTimeField(null=True)
    next_attempt_at = pw.DateTimeField(null=True)
    failures = pw.IntegerField(default=0)


class InboxMessage(BaseModel):
    """At the centre: every message id ever stored, with its body's digest."""
    message_id = pw.CharField(unique=True, max_length=32)
    site = pw.ForeignKeyField(Site)
    kind = pw.CharField(max_length=30)
    body_sha256 = pw.CharField(max_length=64)
    received_at = pw.DateTimeField()


class SyncNonce(BaseModel):
    """At the centre: nonces seen inside the replay window."""
    site_code = pw.CharField(max_length=40)
    nonce = pw.CharField(max_length=64)
    at = pw.DateTimeField(index=True)

    class Meta:
        indexes = ((("site_code", "nonce"), True),)


class SyncKey(BaseModel):
    """At the centre: keys issued by `flask mpp issue-sync-key SITE` (SYNC_KEYS also
    counts). The raw key is needed to check HMACs, so it is stored as issued."""
    site = pw.ForeignKeyField(Site)
    key = pw.CharField(max_length=100)
    created_at = pw.DateTimeField()
    revoked = pw.BooleanField(default=False)


class FeedCounter(BaseModel):
    """At the centre: the last feed sequence per hall; its row lock orders commits."""
    site = pw.ForeignKeyField(Site, unique=True)
    last_seq = pw.BigIntegerField(default=0)


class CaseUpdate(BaseModel):
    """At the centre: what a hall pulls (`GET /api/v1/sync/updates?since=`). `kind`
    says how the hall applies it; `case.status` today, appointments later."""
    site = pw.ForeignKeyField(Site)
    seq = pw.BigIntegerField()
    kind = pw.CharField(max_length=30)
    body = JSONField()
    created_at = pw.DateTimeField()

    class Meta:
        indexes = ((("site", "seq"), True),)


CASE_MODELS = [Case, CaseEvent, CaseAttachment, OutboxMessage, SyncState, InboxMessage,
               SyncNonce, SyncKey, FeedCounter, CaseUpdate]
