"""Appointments between the centre and the halls: booked at the centre, fed down to the
hall for offline check-in, the hall's facts (checked in, no-show) forwarded back up.

Who owns what:
- The centre (`central`) owns booking: slot capacity, the daily quota, the one-booking-
  per-NIK rule. Every booking, reschedule or cancellation of a hall's appointment (and a
  check-in made at the centre itself) writes a feed row for that hall in the booking's own
  transaction (link_rows.feed: per-hall sequence in commit order). The row carries what the
  hall needs to check the citizen in offline: code, service, slot, name, masked NIK, the
  NIK HMAC, status. Never the phone or e-mail.
- A hall (`site`) keeps a copy for check-in only. Applying the feed upserts the copy by
  code; it never touches the hall's slot or day counters, and the hall refuses to book,
  reschedule or cancel itself (it cannot see the centre's counters, so it would oversell).
- The hall owns the two facts only it can know: the citizen checked in at its kiosk, or
  did not come (no-show: the check-in window, `grace_minutes` after the slot start,
  closed without a check-in). Each is written with an outbox message in the same
  transaction and goes up through the cases sender; the centre's receiver applies it
  idempotently.
- all-in-one: one row serves both sides, so nothing is fed; check-ins still go through
  the outbox and the same receiver (which finds the row already checked in), as cases do.

Conflicts during an outage: a check-in at the hall is a fact and wins over a cancellation
or reschedule made online meanwhile (the place the cancellation freed is not taken back).
A no-show is about one slot: it is ignored if the appointment has been moved since.

Lock order at the centre: a hall's feed counter row before any appointment row of that
hall (then slot/day counters), in every transaction that changes a hall's appointment,
so bookings, cancellations and received check-ins never deadlock on PostgreSQL.
"""
import datetime as dt
import logging

import peewee as pw

from ..clock import as_utc_naive
from ..db import database, lock_rows
from ..errors import Conflict
from ..models import Appointment, FeedCounter, Service, Site
from . import forwarding, link_rows

log = logging.getLogger("mpp.sync")
DOWN_KINDS = ("appointment.booked", "appointment.rescheduled", "appointment.cancelled",
              "appointment.checked_in")
DOWN_STATUSES = ("booked", "cancelled", "checked_in")
HALL_FACTS = ("checked_in", "no_show")  # statuses only the hall decides


def require_centre() -> None:
    """Booking changes are made where the capacity is counted: not at a hall node."""
    if link_rows.role() == "site":
        raise Conflict("Janji temu dipesan, diubah dan dibatalkan di situs MPP Induk, "
                       "bukan di Mini MPP. / Appointments are booked, changed and "
                       "cancelled on the MPP Induk site.", code="book_at_centre")


def hold_feed(site_id: int) -> None:
    """At the centre: take the hall's feed counter lock first (see Lock order)."""
    if link_rows.role() != "central":
        return
    if lock_rows(FeedCounter.select().where(FeedCounter.site == site_id)).first() is None:
        try:
            with database.atomic():
                FeedCounter.create(site=site_id, last_seq=0)
        except pw.IntegrityError:
            pass
        lock_rows(FeedCounter.select().where(FeedCounter.site == site_id)).get()


# --- the centre: what goes down ------------------------------------------------------

def payload(appt: Appointment) -> dict:
    return {"code": appt.code, "site": appt.site.code, "service": appt.service.code,
            "day": appt.day.isoformat(), "start_at": appt.start_at.isoformat(),
            "end_at": appt.end_at.isoformat(), "status": appt.status, "name": appt.name,
            "nik_masked": appt.nik_masked, "nik_hash": appt.nik_hash,
            "created_at": appt.created_at.isoformat(), "reschedules": appt.reschedules}


def changed_at_centre(appt: Appointment, kind: str, now: dt.datetime) -> None:
    """Called in the transaction of every change of an appointment made at the centre."""
    if link_rows.role() == "central":
        link_rows.feed(appt.site_id, kind, payload(appt), as_utc_naive(now))


# --- the hall: applying the feed -----------------------------------------------------

def apply_appointment(site: Site, body: dict, naive: dt.datetime) -> None:
    """Upsert the hall's copy by code. Idempotent; a hall fact (checked in, no-show)
    is never overwritten, except a no-show by a move to another slot."""
    try:
        code = str(body["code"])
        status = body["status"]
        start_at = dt.datetime.fromisoformat(body["start_at"])
        fields = {"day": dt.date.fromisoformat(body["day"]), "start_at": start_at,
                  "end_at": dt.datetime.fromisoformat(body["end_at"]), "status": status,
                  "name": str(body["name"])[:100],
                  "nik_masked": str(body["nik_masked"])[:20],
                  "nik_hash": str(body["nik_hash"])[:64],
                  "reschedules": int(body.get("reschedules") or 0)}
        created_at = dt.datetime.fromisoformat(body["created_at"])
    except (KeyError, TypeError, ValueError):
        log.warning("appointment update malformed; skipped")
        return
    if body.get("site") != site.code or status not in DOWN_STATUSES or len(code) > 12:
        log.warning("appointment update for another hall or status skipped")
        return
    if status == "cancelled":
        fields["cancelled_at"] = naive
    appt = Appointment.get_or_none(Appointment.code == code)
    if appt is None:
        service = Service.get_or_none(Service.code == body.get("service"))
        if service is None:
            log.warning("appointment update for a service unknown here skipped")
            return
        # Copy for check-in only: no slot or day counter is touched (the centre owns
        # capacity) and no active_key (the centre enforces one booking per NIK).
        Appointment.create(code=code, site=site, service=service, phone="", email=None,
                           active_key=None, created_at=created_at, **fields)
        return
    if appt.site_id != site.id:
        log.warning("appointment update clashes with another hall's code; skipped")
        return
    if appt.status == "checked_in" or (appt.status == "no_show"
                                       and appt.start_at == start_at):
        return  # the hall's own fact stands; it is on its way up
    Appointment.update(**fields).where(Appointment.id == appt.id).execute()


for _kind in DOWN_KINDS:
    forwarding.register_update_kind(_kind, apply_appointment)


# --- the hall: what goes up ----------------------------------------------------------

def _outbox(appt: Appointment, kind: str, data: dict, naive: dt.datetime) -> None:
    link_rows.outbox(appt.site_id, Site.get_by_id(appt.site_id).code, kind, appt.code, data,
                     naive)


def checked_in(appt: Appointment, ticket_number: str, now: dt.datetime) -> None:
    """In the check-in's transaction: up to the centre (hall, all-in-one), or down to
    the hall (a check-in made at the centre's own kiosk for a hall)."""
    naive = as_utc_naive(now)
    if link_rows.role() == "central":
        changed_at_centre(Appointment.get_by_id(appt.id), "appointment.checked_in", now)
        return
    _outbox(appt, "appointment.checked_in",
            {"code": appt.code, "at": naive.isoformat(), "ticket": ticket_number,
             "start_at": appt.start_at.isoformat()}, naive)


def marked_no_show(appt: Appointment, naive: dt.datetime) -> None:
    """At a hall, in the transaction that marked `appt` no_show (`booking.sweep_no_shows`):
    the fact goes up to the centre."""
    _outbox(appt, "appointment.no_show",
            {"code": appt.code, "at": naive.isoformat(),
             "start_at": appt.start_at.isoformat()}, naive)


# --- the centre: receiving the hall's facts ------------------------------------------

def _own_appointment(site: Site, data: dict) -> Appointment:
    code = data.get("code")
    appt = Appointment.get_or_none(Appointment.code == code) if isinstance(code, str) else None
    if appt is None:
        raise forwarding.Refused("Janji temu tidak dikenal di pusat.", code="unknown_appointment")
    if appt.site_id != site.id:
        raise forwarding.Refused("Janji temu milik lokasi lain.", code="wrong_site")
    return appt


def receive_checked_in(site, body, data, content, naive, ctx) -> None:
    hold_feed(site.id)
    appt = _own_appointment(site, data)
    at = dt.datetime.fromisoformat(data["at"])
    if appt.status == "checked_in":
        return  # all-in-one (the same row), or already here
    if appt.status == "cancelled":
        log.warning("check-in at %s of an appointment cancelled online meanwhile; "
                    "recorded", site.code)
    (Appointment.update(status="checked_in", checked_in_at=at)
     .where((Appointment.id == appt.id) & (Appointment.status != "checked_in")).execute())


def receive_no_show(site, body, data, content, naive, ctx) -> None:
    hold_feed(site.id)
    appt = _own_appointment(site, data)
    start_at = dt.datetime.fromisoformat(data["start_at"])
    (Appointment.update(status="no_show")
     .where((Appointment.id == appt.id) & (Appointment.status == "booked")
            & (Appointment.start_at == start_at)).execute())  # moved since: not a no-show


forwarding.register_message_kind("appointment.checked_in", receive_checked_in)
forwarding.register_message_kind("appointment.no_show", receive_no_show)
