"""Core tables: the catalogue (sites, agencies, services, hours), counters, tickets,
users. Features add their own model modules (boards, printers, appointments, cases) and
their own migrations; nothing here hides a workflow in save().

Datetimes are stored as naive UTC; local WITA days are stored as dates.
"""
import json
import secrets

import peewee as pw

from .db import BaseModel


def random_id() -> str:
    """128 random bits, hex: public ticket ids are never sequential."""
    return secrets.token_hex(16)


class JSONField(pw.TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class Site(BaseModel):
    code = pw.CharField(unique=True, max_length=40)
    name = pw.CharField()
    kind = pw.CharField(max_length=10)  # induk | mini
    region_code = pw.CharField(max_length=12)
    zone = pw.CharField(max_length=20, default="")
    reading_style = pw.CharField(max_length=10, default="whole")  # whole | digits
    running_text = pw.TextField(default="")


class Agency(BaseModel):
    code = pw.CharField(unique=True, max_length=40)
    name = pw.CharField()


class Service(BaseModel):
    code = pw.CharField(unique=True, max_length=40)
    name = pw.CharField()
    agency = pw.ForeignKeyField(Agency, backref="services")
    prefix = pw.CharField(max_length=2)
    mini = pw.CharField(max_length=10, default="yes")  # yes | intake | no
    standard_minutes = pw.IntegerField(default=10)
    fee = pw.CharField(default="")
    requirements = JSONField(default=list)


class SiteService(BaseModel):
    """A service as offered at one hall, with its optional daily quota."""
    site = pw.ForeignKeyField(Site, backref="offered")
    service = pw.ForeignKeyField(Service)
    daily_quota = pw.IntegerField(null=True)
    active = pw.BooleanField(default=True)

    class Meta:
        indexes = ((("site", "service"), True),)


class OpeningWindow(BaseModel):
    """Weekly hours (WITA). service NULL = the hall's hours; a service's own windows
    narrow them further."""
    site = pw.ForeignKeyField(Site, backref="windows")
    service = pw.ForeignKeyField(Service, null=True)
    weekday = pw.IntegerField()  # 0 = Monday
    opens = pw.TimeField()
    closes = pw.TimeField()


class Closure(BaseModel):
    """Admin-editable closed days; site NULL = every hall."""
    site = pw.ForeignKeyField(Site, null=True)
    day = pw.DateField(index=True)
    reason = pw.CharField()


class Counter(BaseModel):
    site = pw.ForeignKeyField(Site, backref="counters")
    code = pw.CharField(max_length=20)
    name = pw.CharField()
    number = pw.IntegerField()  # spoken in the call: "loket tiga"
    status = pw.CharField(max_length=10, default="closed")  # open | paused | closed

    class Meta:
        indexes = ((("site", "code"), True),)


class CounterService(BaseModel):
    counter = pw.ForeignKeyField(Counter, backref="service_links")
    service = pw.ForeignKeyField(Service)

    class Meta:
        indexes = ((("counter", "service"), True),)


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
    site = pw.ForeignKeyField(Site)
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
        indexes = (
            (("site", "prefix", "day", "seq"), True),
            (("site", "day", "status"), False),
        )


class TicketEvent(BaseModel):
    """Audit trail: every transition, who made it and where."""
    ticket = pw.ForeignKeyField(Ticket, backref="events")
    kind = pw.CharField(max_length=20)
    at = pw.DateTimeField()
    counter = pw.ForeignKeyField(Counter, null=True)
    username = pw.CharField(max_length=80, null=True)
    detail = JSONField(null=True)


class User(BaseModel):
    username = pw.CharField(unique=True, max_length=80)
    password_hash = pw.CharField()
    role = pw.CharField(max_length=12)  # admin | operator | supervisor | officer
    site = pw.ForeignKeyField(Site, null=True)
    agency = pw.ForeignKeyField(Agency, null=True)
    full_name = pw.CharField(default="")
    active = pw.BooleanField(default=True)


class ApiToken(BaseModel):
    token_hash = pw.CharField(unique=True, max_length=64)
    user = pw.ForeignKeyField(User, backref="tokens")
    created_at = pw.DateTimeField()
    expires_at = pw.DateTimeField()


class LoginAttempt(BaseModel):
    """Failed logins, for throttling across workers."""
    key = pw.CharField(max_length=200, index=True)
    at = pw.DateTimeField()


CORE_MODELS = [Site, Agency, Service, SiteService, OpeningWindow, Closure, Counter,
               CounterService, NumberSequence, Ticket, TicketEvent, User, ApiToken,
               LoginAttempt]
