"""The catalogue the centre owns: agencies, services with their public service
standards, what each hall offers (on/off, daily quota, the share kept for online
booking), each hall's weekly opening hours, and closures (a hall's own, some of its
services, or an extra day off for every hall).

Each verb takes the acting `audit.Actor` and `now`, runs one write transaction, writes
its audit entry in it, and announces `catalogue_changed` to the affected halls after
commit so boards and kiosks can refresh. Changes that would leave booked appointments
outside the hall's days or hours are refused with their number unless confirmed; once
confirmed those appointments are cancelled through booking's own cancellation path
(the feed carries them down, the citizen gets the e-mail with the reason).
"""
import datetime as dt
import re
from dataclasses import dataclass

import peewee as pw

from ..clock import as_utc_naive, iso, to_local
from ..db import write_transaction
from ..errors import Conflict, Invalid, NotFound
from ..events import publish_after_commit
from ..models import (
    Agency,
    Appointment,
    BookingSetting,
    Closure,
    OpeningWindow,
    Service,
    Site,
    SiteService,
    random_id,
)
from . import (
    audit,
    booking,
    calendar,
    catalogue_feed,
    hall_state,
    link_rows,
    plaintext,
    queueing,
    seed,
)

AGENCY_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
SERVICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,39}")
PREFIX = re.compile(r"[A-Z]{1,2}")
HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_CLOSURE_DAYS = 92


def _announce(sites, now: dt.datetime, centre_owned: bool = True) -> None:
    """In the change's transaction: a new catalogue version for these halls (fed down
    to them at the centre; catalogue_feed), and after commit their boards and kiosks
    reload what they show. A hall's own closure changes only its own screens."""
    sites = list(sites)
    if centre_owned:
        catalogue_feed.changed([s.id for s in sites], now)
        return
    for site in sites:  # the hall's own decision: reported up to the centre
        hall_state.changed(site, now)
    for code in sorted({s.code for s in sites}):
        publish_after_commit(code, {"type": "catalogue_changed", "at": iso(now)})


def centre_only() -> None:
    """The catalogue is decided where it lives (the centre, or all-in-one); a hall's box
    runs the copy it receives, and a change made there would be overwritten."""
    if link_rows.role() == "site" and not seed.active():  # a seed is the starting copy
        raise Conflict("Katalog layanan diatur di MPP Induk: ubah di server pusat. "
                       "(The catalogue is managed at the centre.)", code="managed_by_centre")


def closure_origin() -> str:
    """A closure decided on a hall's own box is the hall's; anywhere else (the centre,
    all-in-one) it is part of the centre's catalogue and goes down to the halls."""
    return "hall" if link_rows.role() == "site" else "centre"


def _all_sites() -> list[Site]:
    return list(Site.select().order_by(Site.id))


def _text(value, name: str, label: str, max_length: int = 200, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{label} harus berupa teks.", code="invalid_field", field=name)
    value = (plaintext.single_line(value, name, label) if max_length <= 200
             else plaintext.multi_line(value, name, label))
    if required and not value:
        raise Invalid(f"{label} wajib diisi.", code="missing_field", field=name)
    if len(value) > max_length:
        raise Invalid(f"{label} paling panjang {max_length} huruf.", code="invalid_field",
                      field=name)
    return value


def _number(value, name: str, label: str, low: int, high: int) -> int | None:
    """An optional whole number (None or "" = none)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{label} harus bilangan bulat {low}-{high}.", code="invalid_field",
                      field=name)
    return value


# --- agencies ----------------------------------------------------------------------------

def agency_dict(agency: Agency) -> dict:
    return {"code": agency.code, "name": agency.name}


def agencies() -> list[Agency]:
    return list(Agency.select().order_by(Agency.name))


def get_agency(code: str) -> Agency:
    agency = Agency.get_or_none(Agency.code == (code or ""))
    if agency is None:
        raise NotFound(f"Instansi '{code}' tidak dikenal.", code="unknown_agency")
    return agency


def create_agency(actor: audit.Actor, now: dt.datetime, code, name) -> Agency:
    centre_only()
    code = _text(code, "code", "Kode instansi", 40).lower()
    if not AGENCY_CODE.fullmatch(code):
        raise Invalid("Kode instansi: 2-40 huruf kecil, angka atau tanda hubung "
                      "(mis. disdukcapil).", code="invalid_code", field="code")
    name = _text(name, "name", "Nama instansi")
    with write_transaction():
        if Agency.select().where(Agency.code == code).exists():
            raise Conflict(f"Kode instansi '{code}' sudah dipakai.", code="duplicate_code")
        agency = Agency.create(code=code, name=name)
        audit.record(actor, "agency.create", f"agency {code}", now, after=agency_dict(agency))
    return agency


def rename_agency(actor: audit.Actor, now: dt.datetime, code, name) -> Agency:
    """The name only: the code is fixed once created (cases and accounts refer to it)."""
    centre_only()
    name = _text(name, "name", "Nama instansi")
    with write_transaction():
        agency = get_agency(code)
        before = agency_dict(agency)
        agency.name = name
        agency.save()
        old, new = audit.changed(before, agency_dict(agency))
        audit.record(actor, "agency.update", f"agency {agency.code}", now, before=old,
                     after=new)
        _announce(_offering_sites_of_agency(agency), now)
    return agency


def _offering_sites_of_agency(agency: Agency) -> list[Site]:
    return list(Site.select().join(SiteService).join(Service)
                .where((Service.agency == agency) & (SiteService.active == True))  # noqa: E712
                .distinct())


# --- services ----------------------------------------------------------------------------

SERVICE_FIELDS = ("name", "agency", "prefix", "requirements", "target_wait_minutes", "fee",
                  "processing_days", "standard", "standard_minutes", "mini")
# Whether a Mini MPP takes the service: fully, as an intake forwarded to the Induk, or not.
MINI_MODES = {"yes": "Dilayani di Mini MPP", "intake": "Diterima, diproses di MPP Induk",
              "no": "Hanya di MPP Induk"}


def service_dict(service: Service) -> dict:
    return {"code": service.code, "name": service.name, "agency": service.agency.code,
            "prefix": service.prefix, "requirements": list(service.requirements or []),
            "target_wait_minutes": service.target_wait_minutes, "fee": service.fee,
            "processing_days": service.processing_days, "standard": service.standard,
            "standard_minutes": service.standard_minutes, "mini": service.mini}


def services(search: str = "") -> list[Service]:
    query = Service.select(Service, Agency).join(Agency)
    search = (search or "").strip()[:80]
    if search:
        like = f"%{search}%"
        query = query.where(Service.code ** like | Service.name ** like
                            | Agency.name ** like | Agency.code ** like)
    return list(query.order_by(Service.prefix, Service.code))


def get_service(code: str) -> Service:
    return queueing.get_service(code or "")


def _requirements(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):  # the form: one per line
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("Persyaratan harus berupa daftar teks.", code="invalid_field",
                      field="requirements")
    items = [plaintext.single_line(v, "requirements", "Persyaratan")
             for v in value if v.strip()]
    if len(items) > 40 or any(len(v) > 300 for v in items):
        raise Invalid("Persyaratan paling banyak 40 baris, masing-masing 300 huruf.",
                      code="invalid_field", field="requirements")
    return items


def _clean_service(values: dict, current: dict) -> dict:
    """The service's fields after applying `values` (only keys given) to `current`."""
    unknown = set(values) - set(SERVICE_FIELDS)
    if unknown:
        raise Invalid(f"Kolom tidak dikenal: {', '.join(sorted(unknown))}.",
                      code="invalid_field", field=sorted(unknown)[0])
    out = dict(current)
    if "name" in values:
        out["name"] = _text(values["name"], "name", "Nama layanan")
    if "agency" in values:
        code = values["agency"] if isinstance(values["agency"], str) else ""
        agency = Agency.get_or_none(Agency.code == code.strip())
        if agency is None:
            raise Invalid(f"Instansi '{code}' tidak dikenal.", code="unknown_agency",
                          field="agency")
        out["agency"] = agency.code
    if "prefix" in values:
        prefix = values["prefix"].strip().upper() if isinstance(values["prefix"], str) else ""
        if not PREFIX.fullmatch(prefix):
            raise Invalid("Awalan nomor: 1-2 huruf kapital (mis. A atau KT).",
                          code="invalid_prefix", field="prefix")
        out["prefix"] = prefix
    if "requirements" in values:
        out["requirements"] = _requirements(values["requirements"])
    if "target_wait_minutes" in values:
        out["target_wait_minutes"] = _number(values["target_wait_minutes"],
                                             "target_wait_minutes",
                                             "Target waktu tunggu (menit)", 1, 600)
    if "processing_days" in values:
        out["processing_days"] = _number(values["processing_days"], "processing_days",
                                         "Lama proses (hari)", 0, 365)
    if "standard_minutes" in values:
        minutes = _number(values["standard_minutes"], "standard_minutes",
                          "Waktu layanan standar (menit)", 1, 240)
        out["standard_minutes"] = minutes if minutes is not None else 10
    if "fee" in values:
        out["fee"] = _text(values["fee"], "fee", "Biaya", 200, required=False)
    if "standard" in values:
        out["standard"] = _text(values["standard"], "standard", "Standar pelayanan",
                                20_000, required=False)
    if "mini" in values:
        if not isinstance(values["mini"], str) or values["mini"] not in MINI_MODES:
            raise Invalid("Layanan di Mini MPP: yes, intake atau no.", code="invalid_field",
                          field="mini", allowed=sorted(MINI_MODES))
        out["mini"] = values["mini"]
    return out


def lane_clash(prefix: str, agency_code: str, site_ids, exclude_code: str = ""
               ) -> Service | None:
    """A service of ANOTHER agency that already uses `prefix` as its lane at one of the
    halls `site_ids` (services of one agency may share a lane on purpose)."""
    site_ids = list(site_ids)
    if not site_ids:
        return None
    return (Service.select(Service, Agency).join(Agency).switch(Service)
            .join(SiteService, on=(SiteService.service == Service.id))
            .where((SiteService.site.in_(site_ids)) & (SiteService.active == True)  # noqa: E712
                   & (Service.prefix == prefix) & (Agency.code != agency_code)
                   & (Service.code != exclude_code))
            .first())


def _refuse_clash(clash: Service | None, prefix: str) -> None:
    if clash is not None:
        raise Conflict(f"Awalan {prefix} sudah menjadi jalur layanan {clash.name} "
                       f"({clash.agency.name}) di lokasi yang juga menyediakan layanan "
                       "ini. Pilih awalan lain.", code="prefix_taken", field="prefix")


def _offering_site_ids(service: Service) -> list[int]:
    return [row.site_id for row in SiteService.select(SiteService.site).where(
        (SiteService.service == service) & (SiteService.active == True))]  # noqa: E712


def create_service(actor: audit.Actor, now: dt.datetime, code, **values) -> Service:
    """A new service, offered nowhere yet (each hall's offer is set per hall, where its
    lane is checked)."""
    centre_only()
    code = _text(code, "code", "Kode layanan", 40).upper()
    if not SERVICE_CODE.fullmatch(code):
        raise Invalid("Kode layanan: 2-40 huruf kapital, angka atau tanda hubung "
                      "(mis. ADM-KTP).", code="invalid_code", field="code")
    for required in ("name", "agency", "prefix"):
        values.setdefault(required, None)
    data = _clean_service(values, {"requirements": [], "target_wait_minutes": None,
                                   "fee": "", "processing_days": None, "standard": "",
                                   "standard_minutes": 10})
    with write_transaction():
        if Service.select().where(Service.code == code).exists():
            raise Conflict(f"Kode layanan '{code}' sudah dipakai.", code="duplicate_code",
                           field="code")
        agency = Agency.get(Agency.code == data["agency"])
        service = Service.create(code=code, **{**data, "agency": agency})
        audit.record(actor, "service.create", f"service {code}", now,
                     after=service_dict(service))
    return service


def update_service(actor: audit.Actor, now: dt.datetime, code, **values) -> Service:
    """Change a service (its code is fixed). A new prefix or agency is checked against
    the lanes of every hall that offers the service."""
    centre_only()
    with write_transaction():
        service = get_service(code)
        before = service_dict(service)
        data = _clean_service(values, {k: v for k, v in before.items() if k != "code"})
        site_ids = _offering_site_ids(service)
        if (data["prefix"], data["agency"]) != (before["prefix"], before["agency"]):
            _refuse_clash(lane_clash(data["prefix"], data["agency"], site_ids, service.code),
                          data["prefix"])
        for key, value in data.items():
            setattr(service, key, Agency.get(Agency.code == value) if key == "agency"
                    else value)
        service.save()
        old, new = audit.changed(before, service_dict(service))
        audit.record(actor, "service.update", f"service {service.code}", now, before=old,
                     after=new)
        _announce(Site.select().where(Site.id.in_(site_ids or [0])), now)
    return service


# --- each hall's offer ---------------------------------------------------------------------

@dataclass
class Offer:
    service: Service
    offered: bool
    daily_quota: int | None
    booking_share: float  # of the quota, kept for online booking
    issued_today: int

    def as_dict(self) -> dict:
        return {"service": self.service.code, "name": self.service.name,
                "agency": self.service.agency.code, "prefix": self.service.prefix,
                "offered": self.offered, "daily_quota": self.daily_quota,
                "booking_share": self.booking_share, "issued_today": self.issued_today}


def _share_of(link: SiteService | None) -> float:
    row = (BookingSetting.get_or_none(BookingSetting.site_service == link)
           if link is not None else None)
    walk_in = row.walk_in_share if row is not None else booking.DEFAULTS["walk_in_share"]
    return round(1 - walk_in, 4)


def offers(site: Site, now: dt.datetime) -> list[Offer]:
    """Every service of the catalogue as offered (or not) at the hall."""
    links = {row.service_id: row for row in SiteService.select().where(SiteService.site == site)}
    today = to_local(now).date()
    out = []
    for service in services():
        link = links.get(service.id)
        out.append(Offer(service, bool(link and link.active),
                         link.daily_quota if link else None, _share_of(link),
                         queueing.issued_count(site, service, today)))
    return out


def offer(site: Site, service: Service, now: dt.datetime) -> Offer:
    link = SiteService.get_or_none((SiteService.site == site)
                                   & (SiteService.service == service))
    return Offer(service, bool(link and link.active), link.daily_quota if link else None,
                 _share_of(link),
                 queueing.issued_count(site, service, to_local(now).date()))


def _share(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise Invalid("Porsi janji temu daring harus antara 0 dan 1 (0-100 %).",
                      code="invalid_field", field="booking_share")
    return float(value)


def set_offer(actor: audit.Actor, now: dt.datetime, site: Site, service: Service,
              offered: bool, daily_quota=None, booking_share=None,
              confirm: bool = False) -> Offer:
    """Whether the hall offers the service, its daily quota (None = no quota) and the
    share of the quota kept for online booking (None = unchanged). A quota below the
    tickets already issued today is refused; switching a service off with bookings ahead
    is refused with their number unless confirmed, and confirmed they are cancelled."""
    centre_only()
    if not isinstance(offered, bool):
        raise Invalid("'offered' harus true atau false.", code="invalid_field",
                      field="offered")
    quota = _number(daily_quota, "daily_quota", "Kuota harian", 1, 10_000)
    share = _share(booking_share)
    with write_transaction():
        before = offer(site, service, now)
        if quota is not None and quota < before.issued_today:
            raise Conflict(f"Kuota {quota} lebih kecil dari tiket {service.name} yang sudah "
                           f"diambil hari ini ({before.issued_today}). Isi paling sedikit "
                           f"{before.issued_today}.", code="quota_below_issued",
                           field="daily_quota", issued_today=before.issued_today)
        if offered:
            _refuse_clash(lane_clash(service.prefix, service.agency.code, [site.id],
                                     service.code), service.prefix)
        elif before.offered:
            affected = _upcoming([site.id], now, service_codes=[service.code])
            _confirm_or_refuse(affected, confirm, "pada layanan yang dihentikan")
            _cancel_all(affected, now, f"{service.name} tidak lagi dilayani di {site.name}")
        link = SiteService.get_or_none((SiteService.site == site)
                                       & (SiteService.service == service))
        if link is None:
            link = SiteService(site=site, service=service)
        link.active, link.daily_quota = offered, quota
        link.save()
        if offered and share is not None:
            booking.set_settings(site, service, walk_in_share=round(1 - share, 4))
        after = offer(site, service, now)
        keys = ("offered", "daily_quota", "booking_share")
        old, new = audit.changed({k: getattr(before, k) for k in keys},
                                 {k: getattr(after, k) for k in keys})
        audit.record(actor, "offer.update", f"{site.code} / {service.code}", now,
                     site_code=site.code, before=old, after=new)
        _announce([site], now)
    return after


# --- opening hours ---------------------------------------------------------------------------

@dataclass(frozen=True)
class WindowRow:
    weekday: int
    start: dt.time
    end: dt.time
    service: str | None  # None = the hall's hours

    def as_dict(self) -> dict:
        out = {"weekday": self.weekday, "start": f"{self.start:%H:%M}",
               "end": f"{self.end:%H:%M}"}
        if self.service:
            out["service"] = self.service
        return out

    def label(self) -> str:
        scope = self.service or "lokasi"
        return (f"{scope} {calendar.DAY_NAMES[self.weekday]} "
                f"{self.start:%H:%M}-{self.end:%H:%M}")


def hours(site: Site) -> list[WindowRow]:
    rows = (OpeningWindow.select(OpeningWindow, Service)
            .join(Service, pw.JOIN.LEFT_OUTER).where(OpeningWindow.site == site))
    return sorted((WindowRow(r.weekday, r.opens, r.closes, r.service.code if r.service_id
                             else None) for r in rows),
                  key=lambda w: (w.service or "", w.weekday, w.start))


def _time(value, name: str, index: int) -> dt.time:
    if not isinstance(value, str) or not HHMM.fullmatch(value.strip().zfill(5)):
        raise Invalid(f"Baris {index + 1}: jam harus berformat HH:MM (mis. 08:00).",
                      code="invalid_time", field=name)
    hour, minute = value.strip().zfill(5).split(":")
    return dt.time(int(hour), int(minute))


def parse_windows(site: Site, windows) -> list[WindowRow]:
    """Validate the proposed week: weekday 0-6, HH:MM times, end after start, a service
    offered at the hall, and no overlap within one weekday and scope."""
    if not isinstance(windows, list):
        raise Invalid("'windows' harus berupa daftar.", code="invalid_field", field="windows")
    offered_codes = {s.code for s in queueing.services_at(site)}
    rows = []
    for i, item in enumerate(windows):
        if not isinstance(item, dict):
            raise Invalid(f"Baris {i + 1} tidak valid.", code="invalid_field", field="windows")
        weekday = item.get("weekday")
        if isinstance(weekday, str) and weekday.strip().isdecimal():
            weekday = int(weekday)
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise Invalid(f"Baris {i + 1}: hari harus 0-6 (Senin = 0).",
                          code="invalid_weekday", field="weekday")
        start, end = _time(item.get("start"), "start", i), _time(item.get("end"), "end", i)
        if end <= start:
            raise Invalid(f"Baris {i + 1}: jam tutup harus setelah jam buka.",
                          code="invalid_window", field="end")
        service = item.get("service") or None
        if service is not None:
            if not isinstance(service, str) or service not in offered_codes:
                raise Invalid(f"Baris {i + 1}: layanan '{service}' tidak disediakan di "
                              f"{site.name}.", code="unknown_service", field="service")
        rows.append(WindowRow(weekday, start, end, service))
    rows.sort(key=lambda w: (w.service or "", w.weekday, w.start))
    for a, b in zip(rows, rows[1:]):
        if (a.service, a.weekday) == (b.service, b.weekday) and b.start < a.end:
            scope = f"layanan {a.service}" if a.service else "lokasi"
            raise Invalid(f"Jam {scope} hari {calendar.DAY_NAMES[a.weekday]} bertumpuk: "
                          f"{a.start:%H:%M}-{a.end:%H:%M} dan {b.start:%H:%M}-{b.end:%H:%M}.",
                          code="overlapping_windows", field="windows")
    return rows


def _week(rows: list[WindowRow], service: str | None) -> dict[int, list[calendar.Window]]:
    out: dict[int, list[calendar.Window]] = {}
    for row in rows:
        if row.service == service:
            out.setdefault(row.weekday, []).append(calendar.Window(row.start, row.end))
    return out


def _upcoming(site_ids, now: dt.datetime, first: dt.date | None = None,
              last: dt.date | None = None, service_codes=None) -> list[Appointment]:
    query = (Appointment.select(Appointment, Service).join(Service)
             .where((Appointment.status == "booked")
                    & (Appointment.end_at > as_utc_naive(now))))
    if site_ids is not None:
        query = query.where(Appointment.site.in_(list(site_ids)))
    if first is not None:
        query = query.where(Appointment.day >= first)
    if last is not None:
        query = query.where(Appointment.day <= last)
    if service_codes:
        query = query.where(Service.code.in_(list(service_codes)))
    return list(query.order_by(Appointment.start_at))


def outside_hours(site: Site, rows: list[WindowRow], now: dt.datetime) -> list[Appointment]:
    """Booked appointments of the hall whose slot would no longer fit the new hours."""
    hall = _week(rows, None)
    weeks: dict[str, dict] = {}
    out = []
    for appt in _upcoming([site.id], now):
        code = appt.service.code
        if code not in weeks:
            weeks[code] = calendar.combine(hall, _week(rows, code))
        start, end = to_local(appt.start_at), to_local(appt.end_at)
        fits = any(w.opens <= start.time() and end.time() <= w.closes
                   for w in weeks[code].get(appt.day.weekday(), []))
        if not fits:
            out.append(appt)
    return out


def _confirm_or_refuse(affected: list[Appointment], confirm: bool, what: str) -> None:
    if affected and not confirm:
        raise Conflict(f"{len(affected)} janji temu yang sudah dipesan berada {what}. "
                       "Konfirmasi untuk tetap menyimpan; janji temu itu akan dibatalkan "
                       "dan pemesannya diberi tahu.", code="appointments_affected",
                       affected_appointments=len(affected))


def _cancel_all(affected: list[Appointment], now: dt.datetime, reason: str) -> int:
    return sum(booking.cancel_by_hall(appt.id, now, reason) for appt in affected)


def set_hours(actor: audit.Actor, now: dt.datetime, site: Site, windows,
              confirm: bool = False) -> tuple[list[WindowRow], int]:
    """Replace the hall's weekly hours (its own and its services'). Returns the new
    hours and the number of appointments cancelled because they fell outside them."""
    centre_only()
    rows = parse_windows(site, windows)
    with write_transaction():
        before = hours(site)
        affected = outside_hours(site, rows, now)
        _confirm_or_refuse(affected, confirm, "di luar jam layanan yang baru")
        cancelled = _cancel_all(affected, now, f"jam layanan {site.name} berubah")
        OpeningWindow.delete().where(OpeningWindow.site == site).execute()
        codes = {r.service for r in rows if r.service}
        by_code = {s.code: s for s in Service.select().where(Service.code.in_(list(codes)))}
        for row in rows:
            OpeningWindow.create(site=site, service=by_code.get(row.service), weekday=row.weekday,
                                 opens=row.start, closes=row.end)
        audit.record(actor, "hours.update", f"hours {site.code}", now, site_code=site.code,
                     before={"windows": [w.label() for w in before]},
                     after={"windows": [w.label() for w in rows],
                            "cancelled_appointments": cancelled})
        _announce([site], now)
    return rows, cancelled


# --- closures -------------------------------------------------------------------------------

@dataclass
class ClosureBatch:
    id: str
    site: str | None  # None = every hall
    first: dt.date
    last: dt.date
    reason: str
    services: list[str] | None
    created_by: str
    created_at: dt.datetime | None

    def as_dict(self) -> dict:
        return {"id": self.id, "site": self.site or "all", "from": self.first.isoformat(),
                "to": self.last.isoformat(), "reason": self.reason,
                "services": self.services, "created_by": self.created_by,
                "created_at": iso(self.created_at)}


def _batches(rows) -> list[ClosureBatch]:
    out: dict[str, ClosureBatch] = {}
    for row in rows:
        key = row.batch or f"day-{row.id}"
        batch = out.get(key)
        if batch is None:
            out[key] = ClosureBatch(key, row.site.code if row.site_id else None, row.day,
                                    row.day, row.reason, row.services, row.created_by,
                                    row.created_at)
        else:
            batch.first, batch.last = min(batch.first, row.day), max(batch.last, row.day)
    return sorted(out.values(), key=lambda b: (b.first, b.id))


def closures(site: Site | None, now: dt.datetime, include_every_hall: bool = True
             ) -> list[ClosureBatch]:
    """Closures that end today or later: the hall's own (and the days off of every
    hall), or with `site` None only the days off of every hall."""
    today = to_local(now).date()
    query = Closure.select(Closure, Site).join(Site, pw.JOIN.LEFT_OUTER).where(
        ((Closure.batch != "")
         & Closure.batch.in_(Closure.select(Closure.batch).where(Closure.day >= today)))
        | ((Closure.batch == "") & (Closure.day >= today)))
    if site is None:
        query = query.where(Closure.site.is_null())
    elif include_every_hall:
        query = query.where((Closure.site == site) | Closure.site.is_null())
    else:
        query = query.where(Closure.site == site)
    return _batches(query.order_by(Closure.day))


def parse_day(value, name: str) -> dt.date:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid("Tanggal harus berformat YYYY-MM-DD.", code="invalid_date", field=name)


def affected_by_closure(site: Site | None, first: dt.date, last: dt.date,
                        service_codes, now: dt.datetime) -> list[Appointment]:
    return _upcoming(None if site is None else [site.id], now, first, last, service_codes)


@dataclass
class ClosureResult:
    id: str
    affected_appointments: int


def create_closure(actor: audit.Actor, now: dt.datetime, site: Site | None, first, last,
                   reason, services=None, confirm: bool = False) -> ClosureResult:
    """Close the hall (or some of its services) from `first` to `last`, or with `site`
    None give every hall an extra day off. Booked appointments on those days are
    counted; unless `confirm`, a closure over any is refused with their number;
    confirmed, they are cancelled with the reason."""
    if site is None:  # an extra day off for every hall is the centre's to give
        centre_only()
    first = parse_day(first, "from")
    last = first if last is None or last == "" else parse_day(last, "to")
    reason = _text(reason, "reason", "Alasan", 150)
    today = to_local(now).date()
    if first < today:
        raise Invalid("Tanggal mulai sudah lewat.", code="invalid_date", field="from")
    if last < first:
        raise Invalid("Tanggal selesai harus sama atau setelah tanggal mulai.",
                      code="invalid_date", field="to")
    if (last - first).days >= MAX_CLOSURE_DAYS:
        raise Invalid(f"Satu penutupan paling lama {MAX_CLOSURE_DAYS} hari.",
                      code="invalid_date", field="to")
    codes = None
    if services:
        if not isinstance(services, list) or not all(isinstance(c, str) for c in services):
            raise Invalid("'services' harus daftar kode layanan.", code="invalid_field",
                          field="services")
        known = ({s.code for s in queueing.services_at(site)} if site is not None
                 else {s.code for s in Service.select(Service.code)})
        unknown = [c for c in services if c not in known]
        if unknown:
            where = site.name if site is not None else "katalog"
            raise Invalid(f"Layanan {', '.join(unknown)} tidak ada di {where}.",
                          code="unknown_service", field="services")
        codes = sorted(set(services))
    batch = random_id()[:32]
    with write_transaction():
        affected = affected_by_closure(site, first, last, codes, now)
        _confirm_or_refuse(affected, confirm, "pada hari yang ditutup")
        cancelled = _cancel_all(affected, now, f"{site.name if site else 'Mini MPP'} tutup "
                                               f"({reason})")
        day = first
        while day <= last:
            Closure.create(site=site, day=day, reason=reason, services=codes, batch=batch,
                           created_by=actor.username[:80], created_at=as_utc_naive(now),
                           origin=closure_origin())
            day += dt.timedelta(days=1)
        audit.record(actor, "closure.create", f"closure {first.isoformat()}"
                     f"{'..' + last.isoformat() if last != first else ''}", now,
                     site_code=site.code if site else "",
                     after={"id": batch, "from": first.isoformat(), "to": last.isoformat(),
                            "reason": reason, "services": codes,
                            "cancelled_appointments": cancelled})
        _announce([site] if site is not None else _all_sites(), now,
                  centre_owned=closure_origin() == "centre")
    return ClosureResult(batch, len(affected))


def delete_closure(actor: audit.Actor, now: dt.datetime, site: Site | None,
                   batch_id: str) -> ClosureBatch:
    """Reopen: remove a closure (all its days) of this hall, or of every hall with
    `site` None. Cancelled appointments stay cancelled."""
    with write_transaction():
        query = Closure.select(Closure, Site).join(Site, pw.JOIN.LEFT_OUTER)
        if isinstance(batch_id, str) and batch_id.startswith("day-") and batch_id[4:].isdecimal():
            query = query.where((Closure.id == int(batch_id[4:])) & (Closure.batch == ""))
        else:
            query = query.where(Closure.batch == (batch_id or "-"))
        query = query.where(Closure.site.is_null() if site is None else Closure.site == site)
        batches = _batches(query)
        if not batches:
            raise NotFound("Penutupan tidak ditemukan di lokasi ini.",
                           code="unknown_closure")
        gone = batches[0]
        centre_owned = any(row.origin == "centre" for row in query)
        if centre_owned:  # a hall cannot lift a closure the centre decided
            centre_only()
        Closure.delete().where(Closure.id.in_([row.id for row in query])).execute()
        audit.record(actor, "closure.delete", f"closure {gone.first.isoformat()}", now,
                     site_code=site.code if site else "",
                     before={"id": gone.id, "from": gone.first.isoformat(),
                             "to": gone.last.isoformat(), "reason": gone.reason,
                             "services": gone.services})
        _announce([site] if site is not None else _all_sites(), now,
                  centre_owned=centre_owned)
    return gone


# --- the public standards ---------------------------------------------------------------------

def standards(site: Site) -> list[dict]:
    """What the hall offers, as published on /layanan/<site>: each service with its
    agency, requirements, fee, processing time, standard text and this week's hours."""
    out = []
    for service in queueing.services_at(site):
        weekly = calendar.weekly_windows(site, service)
        out.append({"service": service, "agency": service.agency,
                    "hours": week_text(weekly)})
    return out


def week_text(weekly: dict) -> list[tuple[str, str]]:
    """Consecutive days with the same hours in one line: ("Senin-Kamis", "08:00-15:00")."""
    out: list[tuple[int, int, str]] = []
    for day in range(7):
        text = ", ".join(w.label() for w in weekly.get(day, []))
        if not text:
            continue
        if out and out[-1][1] == day - 1 and out[-1][2] == text:
            out[-1] = (out[-1][0], day, text)
        else:
            out.append((day, day, text))
    names = calendar.DAY_NAMES
    return [(names[a] if a == b else f"{names[a]}-{names[b]}", text) for a, b, text in out]
