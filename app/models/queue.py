"""The queue: tickets, their numbering lock rows and every transition (the audit
trail the boards and reports read). Datetimes are naive UTC; local WITA days are dates."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Counter, Service, Site
from .fields import JSONField, random_id


class NumberSequence(BaseModel):
    """Last number given per (site, prefix, local day): the numbering's lock row."""
    site = pw.ForeignKeyField(Site)
    prefix = pw.CharField(max_length=2)
    day = pw.DateField()
    last = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("site", "prefix", "day"), True),)


class Ticket(BaseModel):
    id = pw.CharField(primary_key=True, max_length=32, default=random_id)
    # Indexed by the (site, prefix, day, seq) and lane-order indexes that start with it.
    site = pw.ForeignKeyField(Site, index=False)
    service = pw.ForeignKeyField(Service)
    day = pw.DateField()
    prefix = pw.CharField(max_length=2)
    seq = pw.IntegerField()
    number = pw.CharField(max_length=8)
    priority_group = pw.CharField(max_length=20, null=True)
    status = pw.CharField(max_length=12, default="waiting")
    counter = pw.ForeignKeyField(Counter, null=True)
    outcome = pw.CharField(max_length=12, null=True)
    issued_at = pw.DateTimeField()
    # Appointments are due at their slot start and go ahead of walk-ins from then.
    due_at = pw.DateTimeField(null=True)
    source = pw.CharField(max_length=12, default="kiosk")  # kiosk | appointment
    called_at = pw.DateTimeField(null=True)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    call_count = pw.IntegerField(default=0)

    class Meta:
        # Migration 0600 adds the queue's own: `ticket_lane_order` (site, day, status,
        # service, COALESCE(due_at, issued_at), issued_at, id), which also serves every
        # (site, day, status) lookup, and two partial ones of the waiting tickets.
        indexes = (
            (("site", "prefix", "day", "seq"), True),
        )


class WaitingCount(BaseModel):
    """Tickets waiting per (hall, service, day), kept by triggers on `ticket` on SQLite
    (migration 0600), so the boards' counts and the people ahead of a ticket need not
    count the lane. Empty on PostgreSQL, which counts with GROUP BY."""
    site = pw.ForeignKeyField(Site)
    service = pw.ForeignKeyField(Service)
    day = pw.DateField()
    waiting = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("site", "service", "day"), True),)


class TicketEvent(BaseModel):
    """Audit trail: every transition, who made it and where."""
    ticket = pw.ForeignKeyField(Ticket, backref="events")
    kind = pw.CharField(max_length=20)
    at = pw.DateTimeField()
    counter = pw.ForeignKeyField(Counter, null=True)
    username = pw.CharField(max_length=80, null=True)
    detail = JSONField(null=True)
