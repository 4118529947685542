"""Business days, opening windows and quotas: does a service take tickets now?

Closures (`Closure`, one row per day): `site` NULL is an extra day off for every hall,
`services` NULL closes the whole hall, else only the listed service codes. A service is
closed on a day when a holiday, a whole-hall closure or a closure naming it says so, and
the reason travels with it (the kiosk and the booking page show it)."""
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

from ..clock import WITA, to_local
from ..errors import Invalid, NotFound
from ..models import Closure, Service, Site, SiteService
from . import catalogue_cache

DAY_NAMES = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTH_NAMES = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli",
               "Agustus", "September", "Oktober", "November", "Desember"]


@lru_cache(maxsize=16)
def _holidays_for(year: int):
    return holidays.country_holidays("ID", years=year, categories=("public", "government"),
                                     language="id")


def holiday_name(day: dt.date) -> str | None:
    return _holidays_for(day.year).get(day)


def closure_on(site: Site, day: dt.date, service: Service | None = None) -> Closure | None:
    """The closure that closes the hall (or, given `service`, that service) on `day`:
    a whole-hall one first, else one naming the service."""
    site_id = site.id if isinstance(site, Site) else site
    rows = [row for row in catalogue_cache.current().closures(day)
            if row.site_id is None or row.site_id == site_id]
    for row in rows:
        if row.services is None:
            return row
    if service is not None:
        for row in rows:
            if service.code in (row.services or []):
                return row
    return None


def closure_reason(site: Site, day: dt.date, service: Service | None = None) -> str | None:
    """Why the hall (or, given `service`, that service) is closed all day, or None:
    holiday, cuti bersama or a closure."""
    name = holiday_name(day)
    if name:
        return f"Libur: {name}"
    closure = closure_on(site, day, service)
    if closure:
        return f"Tutup: {closure.reason}"
    return None


@dataclass(frozen=True)
class Window:
    opens: dt.time
    closes: dt.time

    def contains(self, moment: dt.time) -> bool:
        return self.opens <= moment < self.closes

    def label(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


def _intersect(a: list[Window], b: list[Window]) -> list[Window]:
    out = []
    for x in a:
        for y in b:
            start, end = max(x.opens, y.opens), min(x.closes, y.closes)
            if start < end:
                out.append(Window(start, end))
    return sorted(out, key=lambda w: w.opens)


# Read on every ticket: from the catalogue cache (catalogue_cache.py), not the database.

def _id(row) -> int | None:
    return row.id if hasattr(row, "id") else row


def offered(site: Site, service: Service) -> SiteService | None:
    """The service as offered (and active) at this hall, or None."""
    return catalogue_cache.current().offer(_id(site), _id(service))


def require_offered(site: Site, service: Service) -> SiteService:
    row = offered(site, service)
    if row is None:
        raise NotFound(f"Layanan {service.name} tidak tersedia di {site.name}.",
                       code="unknown_service")
    return row


def weekly_windows(site: Site, service: Service | None) -> dict[int, list[Window]]:
    """Windows per weekday: the hall's, narrowed by the service's own if it has any."""
    # (For the hall's own hours `service` is None: its windows alone.) Every ticket asks:
    # computed once per catalogue generation; the caller gets its own dict and lists.
    catalogue = catalogue_cache.current()
    site_id, service_id = _id(site), _id(service)
    weekly = catalogue.derived(("weekly_windows", site_id, service_id),
                               lambda: _weekly(catalogue, site_id, service_id))
    return {day: list(windows) for day, windows in weekly.items()}


def _weekly(catalogue, site_id: int, service_id: int | None) -> dict[int, list[Window]]:
    rows = catalogue.windows(site_id, service_id)
    hall, own = {}, {}
    for row in rows:
        target = hall if row.service_id is None else own
        target.setdefault(row.weekday, []).append(Window(row.opens, row.closes))
    return combine(hall, own if service_id is not None else {})


def combine(hall: dict[int, list[Window]], own: dict[int, list[Window]]
            ) -> dict[int, list[Window]]:
    """A service's week: the hall's windows, narrowed by the service's own if it has
    any (a service with no windows of its own follows the hall's)."""
    if not own:
        return {day: sorted(w, key=lambda x: x.opens) for day, w in hall.items()}
    return {day: _intersect(hall.get(day, []), own.get(day, [])) for day in range(7)}


def closed_days(site: Site, service: Service, first: dt.date, last: dt.date
                ) -> dict[dt.date, str]:
    """Days from `first` to `last` on which a closure (not a holiday) closes the
    service at the hall, with the reason shown to citizens."""
    rows = (Closure.select().where(
        (Closure.day >= first) & (Closure.day <= last)
        & (Closure.site.is_null() | (Closure.site == site))).order_by(Closure.day, Closure.id))
    out: dict[dt.date, str] = {}
    for row in rows:
        if row.day not in out and (row.services is None or service.code in row.services):
            out[row.day] = f"Tutup: {row.reason}"
    return out


def windows_on(site: Site, service: Service | None, day: dt.date,
               weekly: dict | None = None) -> list[Window]:
    if closure_reason(site, day, service):
        return []
    weekly = weekly if weekly is not None else weekly_windows(site, service)
    return weekly.get(day.weekday(), [])


def describe_day(day: dt.date) -> str:
    return f"{DAY_NAMES[day.weekday()]}, {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def next_opening(site: Site, service: Service | None, now: dt.datetime,
                 horizon_days: int = 31) -> tuple[dt.date, Window] | None:
    local = to_local(now)
    weekly = weekly_windows(site, service)
    for offset in range(horizon_days):
        day = local.date() + dt.timedelta(days=offset)
        for window in windows_on(site, service, day, weekly):
            if offset > 0 or window.opens > local.time():
                return day, window
    return None


@dataclass
class Availability:
    open: bool
    code: str | None = None  # service_closed | quota_reached | not_offered
    message: str = ""
    hours_today: str = ""
    quota: int | None = None


def availability(site: Site, service: Service, now: dt.datetime,
                 issued_today: int | None = None) -> Availability:
    """Whether the service takes tickets at `now`. `issued_today` is needed only for
    the quota check (the caller counts it inside its own transaction)."""
    offered_here = offered(site, service)
    if offered_here is None:
        return Availability(False, "not_offered",
                            f"Layanan {service.name} tidak tersedia di {site.name}.")
    local = to_local(now)
    today = local.date()
    windows = windows_on(site, service, today)
    hours = ", ".join(w.label() for w in windows)
    if not any(w.contains(local.time()) for w in windows):
        reason = closure_reason(site, today, service)
        upcoming = next_opening(site, service, now)
        if upcoming:
            day, window = upcoming
            when = (f"hari ini pukul {window.opens:%H:%M}" if day == today
                    else f"{describe_day(day)} pukul {window.opens:%H:%M}")
            message = f"Layanan {service.name} sedang tutup. Buka lagi {when} WITA."
        else:
            message = f"Layanan {service.name} sedang tutup."
        if reason:
            message = f"{reason}. {message}"
        return Availability(False, "service_closed", message, hours, offered_here.daily_quota)
    if (offered_here.daily_quota is not None and issued_today is not None
            and issued_today >= offered_here.daily_quota):
        return Availability(False, "quota_reached",
                            f"Kuota antrean {service.name} hari ini ({offered_here.daily_quota} "
                            "orang) sudah habis. Silakan datang lagi pada hari layanan "
                            "berikutnya.", hours, offered_here.daily_quota)
    return Availability(True, None, "", hours, offered_here.daily_quota)


def local_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), WITA).astimezone(dt.timezone.utc)


def query_day(text, name: str) -> dt.date | None:
    """A day given in a query string (`?from=`, `?to=`): YYYY-MM-DD, anything after the
    first ten characters ignored; None when empty."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise Invalid(f"Tanggal '{name}' harus berformat YYYY-MM-DD.", code="invalid_date",
                      field=name) from None
