"""Visit facts: one row per ticket, its whole timeline folded into the figures reports
read (arrival, first call, start, finish, outcome, waits). Built from the tickets and
their events by `app.domain.visits`, at a hall and at the centre alike; at the centre
the rows of every hall arrive through the link. Datetimes naive UTC; `day`, `weekday`
and `hour` are the arrival's in WITA."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Service, Site


class VisitFact(BaseModel):
    # The hall's ticket id (text: the centre does not hold the hall's tickets).
    ticket_ref = pw.CharField(max_length=32, unique=True)
    site = pw.ForeignKeyField(Site)
    day = pw.DateField()
    weekday = pw.SmallIntegerField()  # 0 = Monday
    hour = pw.SmallIntegerField()
    service = pw.ForeignKeyField(Service)  # where the visit ended
    # Where it started, when the ticket was transferred to another service.
    first_service = pw.ForeignKeyField(Service, null=True, backref="+")
    source = pw.CharField(max_length=12)  # kiosk | appointment
    priority_group = pw.CharField(max_length=20, null=True)
    status = pw.CharField(max_length=12)  # the ticket's status when last seen
    outcome = pw.CharField(max_length=12, null=True)
    issued_at = pw.DateTimeField()
    called_at = pw.DateTimeField(null=True)  # the first call
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    wait_seconds = pw.IntegerField(null=True)  # arrival (or appointment time) to first call
    service_seconds = pw.IntegerField(null=True)  # start to finish, served visits only
    within_target = pw.BooleanField(null=True)  # first call within the service's target
    calls = pw.IntegerField(default=0)
    transfers = pw.IntegerField(default=0)
    requeues = pw.IntegerField(default=0)
    counter_code = pw.CharField(max_length=20, null=True)  # the counter that handled it last
    operator = pw.CharField(max_length=80, null=True)  # who handled it last
    changed_at = pw.DateTimeField()  # its newest event: a newer row replaces an older one

    class Meta:
        indexes = ((("site", "day"), False), (("day", "site"), False),
                   (("service", "day"), False))  # migration 0580


class VisitDay(BaseModel):
    """A closed day's tallies of every hall's visit facts, for the reports of the whole
    kabupaten (`app.domain.reports`), made once and read again. A fact written later
    for that day (a late hall, a late change) raises `version` and voids `tallies`
    (`app.domain.visits.touch_days`); a report stores tallies only for the version it
    read, so a void is never overwritten by older figures."""
    day = pw.DateField(unique=True)
    version = pw.IntegerField(default=0)
    tallies = pw.TextField(null=True)  # JSON; NULL: to be made again
    made_at = pw.DateTimeField(null=True)


class VisitCursor(BaseModel):
    """The last ticket event folded into the facts (one row)."""
    name = pw.CharField(max_length=20, unique=True)
    last_event_id = pw.BigIntegerField(default=0)


class HallPulse(BaseModel):
    """At the centre: what a hall said about itself at its last contact (every pull of
    its updates): the live queue, how far its facts reach, what waits to be sent."""
    site = pw.ForeignKeyField(Site, unique=True)
    contact_at = pw.DateTimeField()
    day = pw.DateField()  # the hall's WITA day of the figures below
    waiting = pw.IntegerField(default=0)
    longest_wait_seconds = pw.IntegerField(default=0)
    served_today = pw.IntegerField(default=0)
    pending_messages = pw.IntegerField(default=0)
    data_until = pw.DateTimeField(null=True)  # the hall's facts are complete up to here
