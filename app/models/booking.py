"""Online appointments: per-service booking settings, the appointments, and the
counter rows that make overbooking impossible (migration 0300).

Personal data (UU 27/2022 PDP): the NIK is never stored in clear. `nik_hash` is an
HMAC-SHA256 of the NIK under the installation's key (lookups: "code + NIK"), `nik_masked`
(6402********0001) is what the officer and the citizen see; the citizen shows the KTP at
the counter. The phone is stored normalised (+628...) because the hall may need to call
the citizen; it is masked on every public page.
"""
import peewee as pw

from ..db import BaseModel
from .catalogue import Service, Site, SiteService
from .queue import Ticket


class BookingSetting(BaseModel):
    """How a service is booked at one hall. No row = the defaults in domain/booking.py."""
    site_service = pw.ForeignKeyField(SiteService, unique=True, on_delete="CASCADE")
    enabled = pw.BooleanField(default=True)
    slot_minutes = pw.IntegerField(default=30)
    capacity = pw.IntegerField(default=4)  # bookings per slot
    walk_in_share = pw.FloatField(default=0.5)  # share of the daily quota kept for walk-ins
    early_minutes = pw.IntegerField(default=60)  # check-in opens this long before the slot
    grace_minutes = pw.IntegerField(default=30)  # ... and closes this long after its start
    horizon_days = pw.IntegerField(default=14)  # how far ahead one can book


class SlotCounter(BaseModel):
    """Bookings held in one slot; incremented only by a conditional UPDATE
    (booked < capacity), so concurrent bookings can never exceed the capacity."""
    site = pw.ForeignKeyField(Site)
    service = pw.ForeignKeyField(Service)
    start_at = pw.DateTimeField()  # naive UTC
    booked = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("site", "service", "start_at"), True),)


class DayCounter(BaseModel):
    """Bookings held per (hall, service, local day), against the appointments' share of
    the daily quota; same conditional UPDATE."""
    site = pw.ForeignKeyField(Site)
    service = pw.ForeignKeyField(Service)
    day = pw.DateField()
    booked = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("site", "service", "day"), True),)


class Appointment(BaseModel):
    code = pw.CharField(unique=True, max_length=12)
    site = pw.ForeignKeyField(Site)
    service = pw.ForeignKeyField(Service)
    day = pw.DateField()  # local WITA day
    start_at = pw.DateTimeField()  # naive UTC
    end_at = pw.DateTimeField()
    status = pw.CharField(max_length=12, default="booked")  # booked | checked_in | cancelled
    name = pw.CharField(max_length=100)
    nik_hash = pw.CharField(max_length=64, index=True)
    nik_masked = pw.CharField(max_length=20)
    phone = pw.CharField(max_length=20)
    email = pw.CharField(max_length=254, null=True)
    # HMAC(NIK, service, day) while the booking is active; NULL once cancelled. The
    # unique index is the rule "one active booking per NIK per service per day".
    active_key = pw.CharField(max_length=64, null=True, unique=True)
    created_at = pw.DateTimeField()
    cancelled_at = pw.DateTimeField(null=True)
    checked_in_at = pw.DateTimeField(null=True)
    ticket = pw.ForeignKeyField(Ticket, null=True)
    reschedules = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("site", "day", "status"), False),)
