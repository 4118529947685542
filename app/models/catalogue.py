"""The catalogue: halls (sites), agencies, services, what each hall offers, opening
hours, closures, counters and which services each counter serves."""
import peewee as pw

from ..db import BaseModel
from .fields import JSONField


class Site(BaseModel):
    code = pw.CharField(unique=True, max_length=40)
    name = pw.CharField()
    kind = pw.CharField(max_length=10)  # induk | mini
    region_code = pw.CharField(max_length=12)
    zone = pw.CharField(max_length=20, default="")
    reading_style = pw.CharField(max_length=10, default="whole")  # whole | digits
    running_text = pw.TextField(default="")
    address = pw.CharField(max_length=200, default="")
    phone = pw.CharField(max_length=30, default="")
    active = pw.BooleanField(default=True)


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
    target_wait_minutes = pw.IntegerField(null=True)  # reports: share served within it
    processing_days = pw.IntegerField(null=True)  # how long the agency takes, published
    standard = pw.TextField(default="")  # the public "standar pelayanan" text
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
    """Closed days, one row per day; site NULL = every hall (an extra day off on top of
    the holidays calendar). `services` NULL closes the whole hall, else a list of
    service codes. The days of one from-to closure share `batch`."""
    site = pw.ForeignKeyField(Site, null=True)
    day = pw.DateField(index=True)
    reason = pw.CharField()
    services = JSONField(null=True)
    batch = pw.CharField(max_length=32, default="", index=True)
    # "centre": the centre's catalogue, sent down to the halls; "hall": decided by the
    # hall itself (its supervisor), kept when the centre's catalogue arrives.
    origin = pw.CharField(max_length=8, default="centre")
    created_by = pw.CharField(max_length=80, default="")
    created_at = pw.DateTimeField(null=True)


class Counter(BaseModel):
    site = pw.ForeignKeyField(Site, backref="counters")
    code = pw.CharField(max_length=20)
    name = pw.CharField()
    number = pw.IntegerField()  # spoken in the call: "loket tiga"
    status = pw.CharField(max_length=10, default="closed")  # open | paused | closed
    active = pw.BooleanField(default=True)  # inactive: kept for history, not served

    class Meta:
        indexes = ((("site", "code"), True),)


class CounterService(BaseModel):
    counter = pw.ForeignKeyField(Counter, backref="service_links")
    service = pw.ForeignKeyField(Service)
    position = pw.IntegerField(default=0)  # the order the counter lists its services

    class Meta:
        indexes = ((("counter", "service"), True),)


class CatalogueVersion(BaseModel):
    """Catalogue versions. The row with no site is the centre's current version, raised
    by every change to the catalogue; a row per hall is the version that hall runs (at
    the hall: the last one applied; at the centre: the last one the hall reported)."""
    site = pw.ForeignKeyField(Site, null=True, unique=True)
    version = pw.BigIntegerField(default=0)
    target = pw.BigIntegerField(default=0)  # the newest version meant for this hall
    updated_at = pw.DateTimeField(null=True)


class CatalogueGeneration(BaseModel):
    """One row (id 1) whose `generation` database triggers raise on every write to a
    catalogue table (sites, agencies, services, offers, hours, closures, counters but
    not their status, counter services): each process's catalogue cache
    (`app.domain.catalogue_cache`) compares it with the generation it loaded."""
    generation = pw.BigIntegerField(default=0)
