"""Online appointments: slots from the opening hours, booking, cancel, reschedule,
check-in at the kiosk.

Slots: the service's effective weekly windows at the hall (calendar.windows_on: the
hall's hours narrowed by the service's own, none on holidays, cuti bersama and
closures), cut into `slot_minutes` pieces, each holding `capacity` bookings. When the
service has a daily quota, only (1 - walk_in_share) of it can be booked: the rest is
kept for walk-ins. A slot that has started can be booked until it ends.

No overbooking: a booking increments its SlotCounter (and DayCounter) row with a
conditional UPDATE ... WHERE booked < capacity inside the write transaction; 0 rows
updated means full. One active booking per NIK, service and day: a unique index on
`active_key` (an HMAC of the three). The NIK itself is only kept as an HMAC and masked.

Every verb takes `now`; the ones that touch the NIK take `secret` (the installation's
key for the HMAC).
"""
import base64
import datetime as dt
import hashlib
import hmac
import math
import re
from dataclasses import dataclass

import peewee as pw

from printers.qr import qr_png

from ..clock import WITA, as_utc_naive, to_local
from ..db import database, lock_rows, write_transaction
from ..errors import Conflict, DomainError, Invalid, NotFound
from ..models import (
    Appointment,
    BookingSetting,
    DayCounter,
    MailMessage,
    Service,
    Site,
    SiteService,
    SlotCounter,
)
from . import appointment_feed, calendar, codes, contact, mail_outbox, notify, plaintext, queueing
from .nik import mask_nik, validate_nik

CODE_LENGTH = 8  # 32^8 = 2^40 codes
STATUS_LABELS = {"booked": "Terjadwal", "checked_in": "Sudah check-in",
                 "cancelled": "Dibatalkan", "expired": "Terlewat",
                 "no_show": "Tidak hadir"}  # no_show: recorded by the hall (appointment_feed)
DEFAULTS = {"enabled": True, "slot_minutes": 30, "capacity": 4, "walk_in_share": 0.5,
            "early_minutes": 60, "grace_minutes": 30, "horizon_days": 14}


# --- settings and slots ------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    enabled: bool
    slot_minutes: int
    capacity: int
    walk_in_share: float
    early_minutes: int
    grace_minutes: int
    horizon_days: int
    daily_quota: int | None

    @property
    def day_cap(self) -> int | None:
        """Bookable places per day: the quota minus the walk-ins' share (or no cap)."""
        if self.daily_quota is None:
            return None
        return max(0, math.floor(self.daily_quota * (1 - self.walk_in_share) + 1e-9))


def offered(site: Site, service: Service) -> SiteService:
    return calendar.require_offered(site, service)


def settings_for(site: Site, service: Service) -> Settings:
    link = offered(site, service)
    row = BookingSetting.get_or_none(BookingSetting.site_service == link)
    values = dict(DEFAULTS)
    if row is not None:
        values.update({k: getattr(row, k) for k in DEFAULTS})
    return Settings(daily_quota=link.daily_quota, **values)


def set_settings(site: Site, service: Service, **values) -> Settings:
    """Admin: change how a service is booked at a hall (unknown keys refused)."""
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise Invalid(f"Pengaturan tidak dikenal: {', '.join(sorted(unknown))}.")
    link = offered(site, service)
    with write_transaction():
        row = BookingSetting.get_or_none(BookingSetting.site_service == link)
        if row is None:
            row = BookingSetting(site_service=link, **DEFAULTS)
        for key, value in values.items():
            setattr(row, key, value)
        row.save()
    return settings_for(site, service)


@dataclass
class Slot:
    start: dt.datetime  # aware, WITA
    end: dt.datetime
    capacity: int
    booked: int = 0
    available: int = 0
    bookable: bool = False  # not ended, places left

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass
class DayPlan:
    day: dt.date
    slots: list[Slot]
    closed_reason: str | None = None
    day_cap: int | None = None
    day_booked: int = 0

    @property
    def available(self) -> int:
        """Places left that day: the slots' places, capped by the day's share."""
        total = sum(s.available for s in self.slots)
        if self.day_cap is not None:
            total = min(total, max(0, self.day_cap - self.day_booked))
        return total


def parse_date(value) -> dt.date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise Invalid("Tanggal tidak valid. Gunakan format YYYY-MM-DD.", code="invalid_date")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("Tanggal tidak valid.", code="invalid_date") from None


def _check_horizon(day: dt.date, settings: Settings, now: dt.datetime) -> None:
    today = to_local(now).date()
    if day < today:
        raise Invalid("Tanggal sudah lewat. Pilih hari ini atau hari berikutnya.",
                      code="invalid_date")
    last = today + dt.timedelta(days=settings.horizon_days)
    if day > last:
        raise Invalid(f"Pemesanan hanya bisa sampai {calendar.describe_day(last)} "
                      f"({settings.horizon_days} hari ke depan).", code="invalid_date")


def _slot_times(windows, day: dt.date, minutes: int):
    step = dt.timedelta(minutes=minutes)
    for window in windows:
        start = dt.datetime.combine(day, window.opens, WITA)
        closes = dt.datetime.combine(day, window.closes, WITA)
        while start + step <= closes:
            yield start, start + step
            start += step


def _closed_reason(site: Site, service: Service, day: dt.date) -> str:
    reason = calendar.closure_reason(site, day, service)
    if reason:
        return reason
    return (f"Layanan {service.name} tidak buka pada hari "
            f"{calendar.DAY_NAMES[day.weekday()]} di {site.name}.")


def day_plan(site: Site, service: Service, day: dt.date, now: dt.datetime,
             settings: Settings | None = None, weekly: dict | None = None) -> DayPlan:
    """The slots of one day with their places left. Validates the horizon."""
    settings = settings or settings_for(site, service)
    _check_horizon(day, settings, now)
    if not settings.enabled:
        return DayPlan(day, [], f"Layanan {service.name} tidak menerima janji temu daring "
                                f"di {site.name}.")
    windows = calendar.windows_on(site, service, day, weekly)
    if not windows:
        return DayPlan(day, [], _closed_reason(site, service, day))
    times = list(_slot_times(windows, day, settings.slot_minutes))
    booked = {row.start_at: row.booked for row in SlotCounter.select().where(
        (SlotCounter.site == site) & (SlotCounter.service == service)
        & (SlotCounter.start_at.in_([as_utc_naive(s) for s, _ in times] or [None])))}
    day_booked = 0
    if settings.day_cap is not None:
        day_booked = (DayCounter.select(DayCounter.booked)
                      .where((DayCounter.site == site) & (DayCounter.service == service)
                             & (DayCounter.day == day)).scalar()) or 0
    day_left = None if settings.day_cap is None else max(0, settings.day_cap - day_booked)
    slots = []
    for start, end in times:
        n = booked.get(as_utc_naive(start), 0)
        places = max(0, settings.capacity - n)
        if day_left is not None:
            places = min(places, day_left)
        open_ = end > now
        slots.append(Slot(start, end, settings.capacity, n, places if open_ else 0,
                          open_ and places > 0))
    return DayPlan(day, slots, None, settings.day_cap, day_booked)


def bookable_days(site: Site, service: Service, now: dt.datetime) -> list[DayPlan]:
    """The coming days within the horizon on which the service has slots (holidays,
    cuti bersama, closures and closed weekdays are left out), with places left."""
    settings = settings_for(site, service)
    if not settings.enabled:
        return []
    weekly = calendar.weekly_windows(site, service)
    today = to_local(now).date()
    days = []
    for offset in range(settings.horizon_days + 1):
        plan = day_plan(site, service, today + dt.timedelta(days=offset), now, settings,
                        weekly)
        if plan.slots and any(s.end > now for s in plan.slots):
            days.append(plan)
    return days


def days_to_show(site: Site, service: Service, now: dt.datetime) -> list[DayPlan]:
    """`bookable_days` plus the usual working days that a closure takes out, with its
    reason (no slots), so a citizen sees why the day is missing."""
    days = bookable_days(site, service, now)
    settings = settings_for(site, service)
    if not settings.enabled:
        return days
    today = to_local(now).date()
    weekly = calendar.weekly_windows(site, service)
    closed = calendar.closed_days(site, service, today,
                                  today + dt.timedelta(days=settings.horizon_days))
    extra = [DayPlan(day, [], reason) for day, reason in closed.items()
             if weekly.get(day.weekday()) and not calendar.holiday_name(day)]
    return sorted(days + extra, key=lambda plan: plan.day)


def _find_slot(plan: DayPlan, start_text) -> Slot:
    if not isinstance(start_text, str) or not re.fullmatch(r"\d{1,2}:\d{2}",
                                                           start_text.strip()):
        raise Invalid("Jam tidak valid. Gunakan format HH:MM.", code="invalid_slot")
    for slot in plan.slots:
        if f"{slot.start:%H:%M}" == start_text.strip().zfill(5):
            return slot
    raise Invalid(f"Tidak ada slot pukul {start_text} pada tanggal itu.", code="invalid_slot")


def _open_slot(site, service, settings, day_text, start_text, now) -> Slot:
    day = parse_date(day_text)
    plan = day_plan(site, service, day, now, settings)
    if plan.closed_reason:
        raise Conflict(plan.closed_reason, code="day_closed")
    slot = _find_slot(plan, start_text)
    if slot.end <= now:
        raise Conflict("Slot itu sudah lewat. Pilih slot lain.", code="slot_passed")
    return slot


# --- keys and codes ------------------------------------------------------------------

def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def nik_hash(secret: str, nik: str) -> str:
    return _mac(secret, "nik:" + nik)


def _active_key(secret: str, nik: str, service: Service, day: dt.date) -> str:
    return _mac(secret, f"active:{nik}:{service.code}:{day.isoformat()}")


def new_code() -> str:
    return codes.random_symbols(CODE_LENGTH)


def normalise_code(value) -> str:
    """The code as typed ('abcd-2345', ' ABCD 2345') or scanned from the QR (a URL
    ending in the code)."""
    text = value.strip() if isinstance(value, str) else ""
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    text = re.sub(r"[\s\-]", "", text).upper()
    if len(text) != CODE_LENGTH or not codes.all_readable(text):
        raise Invalid("Kode janji temu tidak valid (8 huruf/angka).", code="invalid_code")
    return text


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# --- places ----------------------------------------------------------------------------

def _take_place(site, service, settings: Settings, slot: Slot) -> None:
    start = as_utc_naive(slot.start)
    SlotCounter.insert(site=site, service=service, start_at=start,
                       booked=0).on_conflict_ignore().execute()
    taken = (SlotCounter.update(booked=SlotCounter.booked + 1)
             .where((SlotCounter.site == site) & (SlotCounter.service == service)
                    & (SlotCounter.start_at == start)
                    & (SlotCounter.booked < settings.capacity))
             .execute())
    if taken != 1:
        raise Conflict(f"Slot pukul {slot.start:%H:%M} sudah penuh. Pilih slot lain.",
                       code="slot_full")
    if settings.day_cap is not None:
        day = slot.start.date()
        DayCounter.insert(site=site, service=service, day=day,
                          booked=0).on_conflict_ignore().execute()
        taken = (DayCounter.update(booked=DayCounter.booked + 1)
                 .where((DayCounter.site == site) & (DayCounter.service == service)
                        & (DayCounter.day == day) & (DayCounter.booked < settings.day_cap))
                 .execute())
        if taken != 1:
            raise Conflict(f"Kuota janji temu {service.name} pada "
                           f"{calendar.describe_day(day)} sudah habis. Sebagian kuota "
                           "disediakan untuk yang datang langsung.", code="slot_full")


def _release_place(appt: Appointment, settings: Settings) -> None:
    (SlotCounter.update(booked=SlotCounter.booked - 1)
     .where((SlotCounter.site == appt.site_id) & (SlotCounter.service == appt.service_id)
            & (SlotCounter.start_at == appt.start_at) & (SlotCounter.booked > 0))
     .execute())
    (DayCounter.update(booked=DayCounter.booked - 1)
     .where((DayCounter.site == appt.site_id) & (DayCounter.service == appt.service_id)
            & (DayCounter.day == appt.day) & (DayCounter.booked > 0))
     .execute())


def _duplicate(service: Service, day: dt.date) -> Conflict:
    return Conflict(f"NIK ini sudah punya janji temu {service.name} pada "
                    f"{calendar.describe_day(day)}. Batalkan atau ubah janji yang ada.",
                    code="duplicate_booking")


# --- verbs -----------------------------------------------------------------------------

@dataclass
class Applicant:
    name: str
    nik: str
    phone: str
    email: str | None
    warnings: list[str]


def check_applicant(name, nik, phone, email) -> Applicant:
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= 100:
        raise Invalid("Nama wajib diisi (2-100 huruf).", code="invalid_name", field="name")
    name = plaintext.single_line(name, "name", "Nama")
    result = validate_nik(nik)
    if not result.ok:
        raise Invalid(result.message, code="invalid_nik", field="nik")
    return Applicant(name, result.nik, contact.normalise_phone(phone),
                     contact.normalise_email(email), result.warnings)


@dataclass
class Booked:
    appointment: Appointment
    warnings: list[str]


def book(site: Site, service: Service, day_text, start_text, name, nik, phone, email,
         now: dt.datetime, secret: str, manage_url: str = "") -> Booked:
    """Book a place. Raises 422 invalid_*, 409 slot_full / duplicate_booking /
    day_closed / slot_passed. `manage_url` is the public page prefix for the e-mail."""
    appointment_feed.require_centre()
    settings = settings_for(site, service)
    person = check_applicant(name, nik, phone, email)
    if not settings.enabled:
        raise Conflict(f"Layanan {service.name} tidak menerima janji temu daring.",
                       code="booking_disabled")
    with write_transaction():
        appointment_feed.hold_feed(site.id)
        slot = _open_slot(site, service, settings, day_text, start_text, now)
        day = slot.start.date()
        key = _active_key(secret, person.nik, service, day)
        if Appointment.select().where(Appointment.active_key == key).exists():
            raise _duplicate(service, day)
        _take_place(site, service, settings, slot)
        appt = _insert(site, service, slot, person, key, secret, now)
        appointment_feed.changed_at_centre(appt, "appointment.booked", now)
        notify.booking_event(appt, "made", now, format_code(appt.code))
        if person.email:
            _mail(appt, "Konfirmasi janji temu", now, manage_url)
    return Booked(appt, person.warnings)


def _insert(site, service, slot, person, key, secret, now) -> Appointment:
    for _ in range(5):
        try:
            with database.atomic():  # a savepoint: a collision does not end the transaction
                return Appointment.create(
                    code=new_code(), site=site, service=service, day=slot.start.date(),
                    start_at=as_utc_naive(slot.start), end_at=as_utc_naive(slot.end),
                    name=person.name, nik_hash=nik_hash(secret, person.nik),
                    nik_masked=mask_nik(person.nik), phone=person.phone, email=person.email,
                    active_key=key, created_at=as_utc_naive(now))
        except pw.IntegrityError:
            if Appointment.select().where(Appointment.active_key == key).exists():
                raise _duplicate(service, slot.start.date()) from None
    raise Conflict("Gagal membuat kode janji temu. Coba lagi.", code="try_again")


def find(code_text) -> Appointment:
    try:
        code = normalise_code(code_text)
    except Invalid:
        code = None
    appt = Appointment.get_or_none(Appointment.code == code) if code else None
    if appt is None:
        raise NotFound("Janji temu tidak ditemukan.", code="unknown_appointment")
    return appt


def for_citizen(code_text, nik, secret: str) -> Appointment:
    """The appointment when code and NIK match; the same 404 otherwise, so neither a
    code nor a NIK can be probed."""
    appt = find(code_text)
    result = validate_nik(nik)
    if not result.ok or not hmac.compare_digest(appt.nik_hash, nik_hash(secret, result.nik)):
        raise NotFound("Janji temu tidak ditemukan, atau NIK tidak cocok.",
                       code="unknown_appointment")
    return appt


def status_of(appt: Appointment, now: dt.datetime) -> str:
    if appt.status == "booked":
        settings = settings_for(appt.site, appt.service)
        if as_utc_naive(now) > appt.start_at + dt.timedelta(minutes=settings.grace_minutes):
            return "expired"
    return appt.status


def _lock_for_citizen(code_text, nik, secret) -> Appointment:
    appointment_feed.require_centre()
    appt = for_citizen(code_text, nik, secret)
    appointment_feed.hold_feed(appt.site_id)
    return lock_rows(Appointment.select().where(Appointment.id == appt.id)).get()


def _require_changeable(appt: Appointment, now: dt.datetime) -> None:
    if appt.status == "cancelled":
        raise Conflict("Janji temu ini sudah dibatalkan.", code="appointment_cancelled")
    if appt.status == "checked_in":
        raise Conflict("Janji temu ini sudah check-in; tidak bisa diubah.",
                       code="already_checked_in")
    if appt.status == "no_show":
        raise Conflict("Janji temu ini tercatat tidak hadir.", code="appointment_past")
    if appt.end_at <= as_utc_naive(now):
        raise Conflict("Waktu janji temu ini sudah lewat.", code="appointment_past")


def cancel(code_text, nik, now: dt.datetime, secret: str) -> Appointment:
    with write_transaction():
        appt = _lock_for_citizen(code_text, nik, secret)
        _require_changeable(appt, now)
        _cancel_locked(appt, now, "Janji temu dibatalkan")
    return appt


def _cancel_locked(appt: Appointment, now: dt.datetime, title: str,
                   reason: str = "") -> None:
    """The one cancellation path: the place freed, the feed row for the hall, the mail."""
    try:
        settings = settings_for(appt.site, appt.service)
    except NotFound:  # no longer offered at the hall: the counters hold no place to keep
        settings = None
    if settings is not None:
        _release_place(appt, settings)
    appt.status, appt.active_key = "cancelled", None
    appt.cancelled_at = as_utc_naive(now)
    appt.save()
    appointment_feed.changed_at_centre(appt, "appointment.cancelled", now)
    notify.booking_event(appt, "cancelled", now, format_code(appt.code), reason)
    if appt.email:
        _mail(appt, title, now, "")


def cancel_by_hall(appointment_id: int, now: dt.datetime, reason: str) -> bool:
    """Inside the caller's write transaction (a closure or new hours that the admin
    confirmed): cancel one booked appointment through the citizen's own cancellation
    path, the reason in the e-mail. False when it is no longer booked."""
    appointment_feed.require_centre()
    appt = Appointment.get_or_none(Appointment.id == appointment_id)
    if appt is None:
        return False
    appointment_feed.hold_feed(appt.site_id)
    appt = lock_rows(Appointment.select().where(Appointment.id == appointment_id)).get()
    if appt.status != "booked":
        return False
    _cancel_locked(appt, now, f"Janji temu dibatalkan: {reason}", reason or "-")
    return True


def reschedule(code_text, nik, day_text, start_text, now: dt.datetime, secret: str,
               manage_url: str = "") -> Appointment:
    """Move a booking to another slot of the same service and hall, keeping its code."""
    result = validate_nik(nik)
    if not result.ok:
        raise Invalid(result.message, code="invalid_nik", field="nik")
    with write_transaction():
        appt = _lock_for_citizen(code_text, result.nik, secret)
        _require_changeable(appt, now)
        site, service = appt.site, appt.service
        settings = settings_for(site, service)
        slot = _open_slot(site, service, settings, day_text, start_text, now)
        if as_utc_naive(slot.start) == appt.start_at:
            raise Conflict("Itu slot yang sama dengan janji Anda sekarang.", code="same_slot")
        day = slot.start.date()
        key = _active_key(secret, result.nik, service, day)
        if day != appt.day and Appointment.select().where(
                Appointment.active_key == key).exists():
            raise _duplicate(service, day)
        _release_place(appt, settings)
        _take_place(site, service, settings, slot)
        appt.day, appt.start_at, appt.end_at = day, as_utc_naive(slot.start), as_utc_naive(
            slot.end)
        appt.active_key = key
        appt.reschedules += 1
        appt.save()
        appointment_feed.changed_at_centre(appt, "appointment.rescheduled", now)
        notify.booking_event(appt, "moved", now, format_code(appt.code))
        if appt.email:
            _mail(appt, "Janji temu diubah", now, manage_url)
    return appt


def checkin_window(appt: Appointment, settings: Settings) -> tuple[dt.datetime, dt.datetime]:
    """From `early_minutes` before the slot (not before the window opens) until
    `grace_minutes` after its start (not after the window closes). Aware WITA."""
    start = to_local(appt.start_at)
    opens = start - dt.timedelta(minutes=settings.early_minutes)
    closes = start + dt.timedelta(minutes=settings.grace_minutes)
    for window in calendar.windows_on(appt.site, appt.service, appt.day):
        w_open = dt.datetime.combine(appt.day, window.opens, WITA)
        w_close = dt.datetime.combine(appt.day, window.closes, WITA)
        if w_open <= start < w_close:
            opens, closes = max(opens, w_open), min(closes, w_close)
    return opens, closes


def check_in(site: Site, code_text, now: dt.datetime):
    """At the kiosk of `site`: the appointment becomes a ticket due at its slot start.
    Returns (appointment, ticket). Raises 404 unknown_appointment, 409 wrong_site /
    appointment_cancelled / already_checked_in / too_early / expired."""
    code = normalise_code(code_text)
    with write_transaction():
        appointment_feed.hold_feed(site.id)
        appt = lock_rows(Appointment.select().where(Appointment.code == code)).first()
        if appt is None:
            raise NotFound("Kode janji temu tidak ditemukan. Periksa kembali kodenya.",
                           code="unknown_appointment")
        if appt.site_id != site.id:
            raise Conflict(f"Janji temu ini untuk {appt.site.name}, bukan {site.name}.",
                           code="wrong_site", site=appt.site.code)
        if appt.status == "cancelled":
            raise Conflict("Janji temu ini sudah dibatalkan.", code="appointment_cancelled")
        if appt.status == "no_show":
            raise Conflict("Waktu check-in janji temu ini sudah lewat. Silakan ambil nomor "
                           "antrean biasa.", code="expired", walk_in=True,
                           service=appt.service.code)
        if appt.status == "checked_in":
            number = appt.ticket.number if appt.ticket_id else ""
            raise Conflict(f"Janji temu ini sudah check-in (nomor {number}).",
                           code="already_checked_in", number=number)
        settings = settings_for(site, appt.service)
        opens, closes = checkin_window(appt, settings)
        local_now = to_local(now)
        if local_now < opens:
            when = (f"pukul {opens:%H:%M} WITA" if opens.date() == local_now.date()
                    else f"{calendar.describe_day(opens.date())} pukul {opens:%H:%M} WITA")
            raise Conflict(f"Terlalu awal. Janji temu Anda pukul "
                           f"{to_local(appt.start_at):%H:%M}; silakan check-in mulai {when}.",
                           code="too_early", come_back_at=opens.isoformat(timespec="minutes"))
        if local_now > closes:
            raise Conflict("Waktu check-in janji temu ini sudah lewat. Silakan ambil nomor "
                           "antrean biasa.", code="expired", walk_in=True,
                           service=appt.service.code)
        ticket = queueing.issue_ticket(site, appt.service, now, source="appointment",
                                       due_at=to_local(appt.start_at))
        taken = (Appointment.update(status="checked_in", checked_in_at=as_utc_naive(now),
                                    ticket=ticket)
                 .where((Appointment.id == appt.id) & (Appointment.status == "booked"))
                 .execute())
        if taken != 1:  # pragma: no cover - the row lock / IMMEDIATE make this unreachable
            raise Conflict("Janji temu ini baru saja check-in.", code="already_checked_in")
        appointment_feed.checked_in(appt, ticket.number, now)
    return Appointment.get_by_id(appt.id), ticket


def sweep_no_shows(site: Site, now: dt.datetime) -> int:
    """At a hall: appointments whose check-in window has closed without a check-in
    become `no_show`, each with its outbox message, in one transaction. Run before
    every send (sender thread, `mpp sync`), so it works with the link down."""
    naive = as_utc_naive(now)
    local_now = to_local(now)
    marked = 0
    candidates = list(Appointment.select().where(
        (Appointment.site == site) & (Appointment.status == "booked")
        & (Appointment.start_at < naive)))
    if not candidates:
        return 0
    settings = {}
    with write_transaction():
        for appt in candidates:
            if appt.service_id not in settings:
                try:
                    settings[appt.service_id] = settings_for(site, appt.service)
                except DomainError:  # the service is no longer offered here
                    settings[appt.service_id] = None
            if settings[appt.service_id] is None:
                continue
            _opens, closes = checkin_window(appt, settings[appt.service_id])
            if local_now <= closes:
                continue
            taken = (Appointment.update(status="no_show")
                     .where((Appointment.id == appt.id) & (Appointment.status == "booked"))
                     .execute())
            if taken:
                appointment_feed.marked_no_show(appt, naive)
                marked += 1
    return marked


# --- e-mail ----------------------------------------------------------------------------

def qr_png_base64(text: str) -> str:
    return base64.b64encode(qr_png(text)).decode()


def _mail(appt: Appointment, title: str, now: dt.datetime, manage_url: str) -> None:
    start, end = to_local(appt.start_at), to_local(appt.end_at)
    service, site = appt.service, appt.site
    lines = [
        f"Yth. {appt.name},", "",
        f"{title}.", "",
        f"Kode janji temu : {format_code(appt.code)}",
        f"Lokasi          : {site.name}",
        f"Layanan         : {service.name}",
        f"Waktu           : {calendar.describe_day(appt.day)}, "
        f"{start:%H:%M}-{end:%H:%M} WITA",
        f"NIK             : {appt.nik_masked}",
    ]
    if appt.status == "cancelled":
        lines += ["", "Janji temu ini sudah dibatalkan. Tempatnya kami berikan ke warga lain."]
    else:
        lines += ["", "Bawa persyaratan berikut:"]
        lines += [f"  - {r}" for r in service.requirements] or ["  -"]
        lines += ["", "Di lokasi, pindai kode QR (terlampir) atau ketik kode di kiosk "
                      "\"Sudah punya janji temu? Check-in\"."]
        if manage_url:
            lines += ["", f"Lihat, ubah atau batalkan: {manage_url}{appt.code}"]
    lines += ["", "-- Mini MPP Kutai Kartanegara",
              "(English: your appointment details are above; bring the listed documents.)"]
    attachments = None
    if appt.status != "cancelled":
        attachments = [{"filename": f"janji-{appt.code}.png", "mime": "image/png",
                        "base64": qr_png_base64(qr_payload(appt.code, manage_url))}]
    mail_outbox.enqueue(appt.email, f"{title} {format_code(appt.code)} - {service.name}",
                   "\n".join(lines), now, attachments)


def qr_payload(code: str, manage_url: str = "") -> str:
    """What the QR code holds: the manage URL ending in the code (a phone camera opens
    the page; the kiosk takes the last path segment), or the bare code."""
    return f"{manage_url}{code}" if manage_url else code


# --- retention -------------------------------------------------------------------------

def forget_old(now: dt.datetime, days: int = 90) -> int:
    """Personal data minimisation (UU 27/2022): appointments whose day is more than
    `days` behind lose name, phone and e-mail; their sent e-mails are deleted, and
    WhatsApp/SMS messages settled before that day lose their number
    (`notify.forget_before`). The counts (service, day, status) stay for statistics.
    Returns appointments cleared."""
    cutoff = to_local(now).date() - dt.timedelta(days=days)
    with write_transaction():
        cleared = (Appointment.update(name="-", phone="-", email=None)
                   .where((Appointment.day < cutoff) & (Appointment.phone != "-"))
                   .execute())
        (MailMessage.delete()
         .where((MailMessage.status != "pending")
                & (MailMessage.created_at
                   < as_utc_naive(dt.datetime.combine(cutoff, dt.time(0), WITA))))
         .execute())
        notify.forget_before(dt.datetime.combine(cutoff, dt.time(0), WITA))
    return cleared
