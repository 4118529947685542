"""Forwarding between a hall and the centre: the hall's outbox of messages waiting to be
forwarded (ForwardingMessage), the link's state, and at the centre the ids of every
message received (exactly-once), the nonces seen, the halls' keys and the per-hall feed
of updates (case status, appointments) that the halls pull.

A hall (`site` role) keeps its own cases and the outbox; the centre (`central` role)
keeps every hall's cases and the inbox. In `all-in-one` one database holds both sides.
"""
import peewee as pw

from ..db import BaseModel
from .catalogue import Site
from .fields import JSONField


class ForwardingMessage(BaseModel):
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
        table_name = "outbox_message"  # its name before the mail outbox existed
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


class HallState(BaseModel):
    """At the centre: the newest report of what a hall decides itself (counters, kiosks,
    board settings, its own closures, its staff), as the hall sent it."""
    site = pw.ForeignKeyField(Site, unique=True)
    taken_at = pw.DateTimeField()  # when the hall took the snapshot (naive UTC)
    state = JSONField()
    received_at = pw.DateTimeField()
