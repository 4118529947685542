"""Reports: what the halls did over a period, for the leadership and the regulation.

Figures come from SQL aggregates over the visit facts (`app.domain.visits`), the
bookings and the cases; nothing loads a period's tickets into Python. Waiting and
service times are read as a per-minute histogram (`GROUP BY seconds / 60`), so the
median and the 90th percentile are whole minutes on SQLite and PostgreSQL alike.

Who sees what (`scope`): a supervisor their own hall, an officer their own agency in
every hall, an admin everything; anyone else nothing. Days are WITA days; a hall
whose facts do not yet reach the end of the period (its link was down) is named in
`incomplete_sites`, so a reader knows the figure may still grow.
"""
import datetime as dt
import math
import statistics
from dataclasses import dataclass

import peewee as pw

from ..clock import WITA, as_utc_naive, iso, local_day
from ..errors import Forbidden, Invalid, NotFound
from ..models import (
    Agency,
    Appointment,
    Case,
    CaseEvent,
    HallPulse,
    Service,
    Site,
    SiteService,
    Ticket,
    User,
    VisitFact,
)
from . import calendar, link_rows, visits

MAX_DAYS = 400  # a year and a bit: longer ranges are exports of several reports
GROUPS = ("site", "agency", "service", "counter", "operator", "day")
# A hall's facts arrive at every pull (about every 2 s); older than this, they lag.
LAG = dt.timedelta(minutes=5)
OUTCOME_STATUSES = {"served": "done", "no_show": "no_show", "cancelled": "cancelled"}


@dataclass(frozen=True)
class Filters:
    first: dt.date
    last: dt.date
    site: Site | None = None
    agency: Agency | None = None
    service: Service | None = None

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "site": self.site.code if self.site else None,
                "agency": self.agency.code if self.agency else None,
                "service": self.service.code if self.service else None}


# --- who may see what ----------------------------------------------------------------

def may_report(user: User) -> bool:
    return user.role in ("admin", "supervisor", "officer")


def scope(user: User, first: dt.date, last: dt.date, site_code: str | None = None,
          agency_code: str | None = None, service_code: str | None = None) -> Filters:
    """The caller's filters, narrowed to what they may see (403 outside it)."""
    if not may_report(user):
        raise Forbidden("Laporan hanya untuk supervisor, petugas instansi dan admin.",
                        code="forbidden")
    if last < first:
        raise Invalid("Tanggal 'to' harus sama atau setelah 'from'.", code="invalid_date",
                      field="to")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"Rentang laporan paling panjang {MAX_DAYS} hari.",
                      code="range_too_long", field="to")
    site = _lookup(Site, site_code, "site", "unknown_site", "Lokasi")
    agency = _lookup(Agency, agency_code, "agency", "unknown_agency", "Instansi")
    service = _lookup(Service, service_code, "service", "unknown_service", "Layanan")
    if user.role == "supervisor":
        if site is not None and site.id != user.site_id:
            raise Forbidden("Supervisor hanya melihat laporan lokasinya sendiri.",
                            code="forbidden")
        site = Site.get_by_id(user.site_id)
    elif user.role == "officer":
        if agency is not None and agency.id != user.agency_id:
            raise Forbidden("Petugas hanya melihat laporan instansinya sendiri.",
                            code="forbidden")
        if service is not None and service.agency_id != user.agency_id:
            raise Forbidden("Layanan itu milik instansi lain.", code="forbidden")
        agency = Agency.get_by_id(user.agency_id)
    return Filters(first, last, site, agency, service)


def _lookup(model, code, field, error, label):
    if code in (None, ""):
        return None
    row = model.get_or_none(model.code == str(code)[:40])
    if row is None:
        raise NotFound(f"{label} '{str(code)[:40]}' tidak dikenal.", code=error, field=field)
    return row


def month_period(text: str | None, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """`YYYY-MM` (default: this month) as its first and last day."""
    if text in (None, ""):
        day = local_day(now)
        year, month = day.year, day.month
    else:
        try:
            year, month = (int(part) for part in str(text).split("-"))
            dt.date(year, month, 1)
        except ValueError:
            raise Invalid("Bulan harus berbentuk YYYY-MM.", code="invalid_month",
                          field="month") from None
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def period(kind: str | None, day_from: str | None, day_to: str | None, now: dt.datetime
           ) -> tuple[dt.date, dt.date]:
    """A named period around `from` (day, week, month) or the range `from`..`to`;
    by default this month so far."""
    today = local_day(now)
    anchor = calendar.query_day(day_from, "from") or today
    if kind == "day":
        return anchor, anchor
    if kind == "week":
        monday = anchor - dt.timedelta(days=anchor.weekday())
        return monday, monday + dt.timedelta(days=6)
    if kind == "month":
        return month_period(anchor.strftime("%Y-%m"), now)
    if kind not in (None, "", "range"):
        raise Invalid("Periode harus day, week, month atau range.", code="invalid_field",
                      field="period")
    first = calendar.query_day(day_from, "from") or today.replace(day=1)
    last = calendar.query_day(day_to, "to") or max(first, today)
    return first, last


# --- the figures ---------------------------------------------------------------------

def _facts(f: Filters):
    query = (VisitFact.select().join(Service, on=(VisitFact.service == Service.id))
             .where((VisitFact.day >= f.first) & (VisitFact.day <= f.last)))
    if f.site is not None:
        query = query.where(VisitFact.site == f.site)
    if f.agency is not None:
        query = query.where(Service.agency == f.agency)
    if f.service is not None:
        query = query.where(VisitFact.service == f.service)
    return query


def _minutes(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)


def _percentile(histogram: list[tuple[int, int]], share: float) -> int | None:
    """Nearest rank over (minute, count) rows sorted by minute."""
    total = sum(n for _m, n in histogram)
    if total == 0:
        return None
    rank, seen = max(1, math.ceil(share * total)), 0
    for minute, count in histogram:
        seen += count
        if seen >= rank:
            return int(minute)
    return int(histogram[-1][0])  # pragma: no cover - the loop always reaches the rank


def _pct(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _counts_select():
    done = pw.fn.SUM(pw.Case(None, [(VisitFact.status == "done", 1)], 0))
    return [
        pw.fn.COUNT(VisitFact.id).alias("arrived"),
        done.alias("served"),
        pw.fn.SUM(pw.Case(None, [(VisitFact.status == "no_show", 1)], 0)).alias("no_show"),
        pw.fn.SUM(pw.Case(None, [(VisitFact.status == "cancelled", 1)], 0)).alias("cancelled"),
        pw.fn.SUM(pw.Case(None, [(VisitFact.transfers > 0, 1)], 0)).alias("transferred"),
        pw.fn.SUM(pw.Case(None, [(VisitFact.within_target == True, 1)], 0))  # noqa: E712
        .alias("within"),
        pw.fn.COUNT(VisitFact.within_target).alias("with_target"),
        pw.fn.AVG(VisitFact.wait_seconds).alias("wait_mean"),
        pw.fn.MAX(VisitFact.wait_seconds).alias("wait_max"),
        pw.fn.AVG(VisitFact.service_seconds).alias("service_mean"),
        pw.fn.SUM(pw.Case(None, [(VisitFact.source == "appointment", 1)], 0))
        .alias("appointments"),
    ]


def _row_figures(row: dict, waits: list, services: list) -> dict:
    row = {key: row.get(key) for key in ("arrived", "served", "no_show", "cancelled",
                                         "transferred", "appointments", "wait_mean",
                                         "wait_max", "service_mean", "within",
                                         "with_target")}
    arrived = int(row["arrived"] or 0)
    served, no_show = int(row["served"] or 0), int(row["no_show"] or 0)
    return {
        "arrived": arrived, "served": served, "no_show": no_show,
        "no_show_rate": _pct(no_show, arrived),
        "cancelled": int(row["cancelled"] or 0),
        "transferred": int(row["transferred"] or 0),
        "appointments": int(row["appointments"] or 0),
        "wait_minutes": {"mean": _minutes(row["wait_mean"]),
                         "p50": _percentile(waits, 0.5), "p90": _percentile(waits, 0.9),
                         "max": _minutes(row["wait_max"])},
        "service_minutes": {"mean": _minutes(row["service_mean"]),
                            "p90": _percentile(services, 0.9)},
        "within_target_pct": _pct(int(row["within"] or 0), int(row["with_target"] or 0)),
    }


def _group_key(by: str):
    """(columns selected, how a row names its group) of a breakdown."""
    if by == "site":
        return [Site.code, Site.name], lambda r: (r["code"], r["name"])
    if by == "agency":
        return [Agency.code, Agency.name], lambda r: (r["code"], r["name"])
    if by == "service":
        return [Service.code, Service.name], lambda r: (r["code"], r["name"])
    if by == "counter":
        return ([Site.code, VisitFact.counter_code],
                lambda r: (f"{r['code']}/{r['counter_code']}",
                           f"{r['code']} {r['counter_code']}"))
    if by == "operator":
        return [VisitFact.operator], lambda r: (r["operator"], r["operator"])
    if by == "day":
        return [VisitFact.day], lambda r: (str(r["day"]), str(r["day"]))
    raise Invalid("Pengelompokan tidak dikenal.", code="invalid_field", field="by",
                  allowed=list(GROUPS))


def _joined(query, by: str):
    if by in ("site", "counter"):
        query = query.switch(VisitFact).join(Site, on=(VisitFact.site == Site.id))
    if by == "agency":
        query = query.switch(Service).join(Agency, on=(Service.agency == Agency.id))
    if by == "counter":
        query = query.where(VisitFact.counter_code.is_null(False))
    if by == "operator":
        query = query.where(VisitFact.operator.is_null(False))
    return query


def _histograms(f: Filters, columns: list, by: str | None):
    """Per group: the wait and the service-time histograms in whole minutes."""
    out = {"wait": {}, "service": {}}
    for name, field in (("wait", VisitFact.wait_seconds),
                        ("service", VisitFact.service_seconds)):
        minute = (field / 60).alias("minute")
        query = _facts(f).select(*columns, minute, pw.fn.COUNT(VisitFact.id).alias("n"))
        if by:
            query = _joined(query, by)
        query = (query.where(field.is_null(False)).group_by(*columns, field / 60)
                 .order_by(*columns, field / 60).dicts())
        for row in query:
            key = tuple(row[c.name] for c in columns)
            out[name].setdefault(key, []).append((int(row["minute"]), int(row["n"])))
    return out


def figures(f: Filters) -> dict:
    """The totals of a period."""
    row = _facts(f).select(*_counts_select()).dicts().get()
    histograms = _histograms(f, [], None)
    return _row_figures(row, histograms["wait"].get((), []),
                        histograms["service"].get((), []))


def breakdown(f: Filters, by: str) -> list[dict]:
    """The same figures per hall, agency, service, counter, operator or day."""
    columns, name_of = _group_key(by)
    query = _joined(_facts(f).select(*columns, *_counts_select()), by)
    rows = list(query.group_by(*columns).order_by(*columns).dicts())
    histograms = _histograms(f, columns, by)
    out = []
    for row in rows:
        key = tuple(row[c.name] for c in columns)
        code, name = name_of(row)
        out.append({"key": code, "name": name,
                    **_row_figures(row, histograms["wait"].get(key, []),
                                   histograms["service"].get(key, []))})
    if by == "service":  # a transfer counts where the citizen left, not where they went
        left = _transferred_out(f)
        for item in out:
            item["transferred"] = left.pop(item["key"], 0)
        names = dict(Service.select(Service.code, Service.name)
                     .where(Service.code.in_(list(left) or [""])).tuples())
        empty = _row_figures({}, [], [])
        out.extend({"key": code, "name": names.get(code, code), **empty, "transferred": n}
                   for code, n in left.items())
        out.sort(key=lambda item: item["key"])
    return out


def _transferred_out(f: Filters) -> dict[str, int]:
    first = Service.alias()
    query = (VisitFact.select(first.code, pw.fn.COUNT(VisitFact.id).alias("n"))
             .join(first, on=(VisitFact.first_service == first.id))
             .where((VisitFact.day >= f.first) & (VisitFact.day <= f.last)))
    if f.site is not None:
        query = query.where(VisitFact.site == f.site)
    if f.agency is not None:
        query = query.where(first.agency == f.agency)
    if f.service is not None:
        query = query.where(VisitFact.first_service == f.service)
    return {code: int(n) for code, n in query.group_by(first.code).tuples()}


def heat_map(f: Filters) -> list[dict]:
    """Arrivals per weekday (0 = Monday) and hour, WITA."""
    query = (_facts(f).select(VisitFact.weekday, VisitFact.hour,
                              pw.fn.COUNT(VisitFact.id).alias("arrived"))
             .group_by(VisitFact.weekday, VisitFact.hour)
             .order_by(VisitFact.weekday, VisitFact.hour).dicts())
    return [{"weekday": r["weekday"], "hour": r["hour"], "arrived": int(r["arrived"])}
            for r in query]


def _utc_bounds(f: Filters) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(f.first, dt.time(), WITA)
    end = dt.datetime.combine(f.last + dt.timedelta(days=1), dt.time(), WITA)
    return as_utc_naive(start), as_utc_naive(end)


def bookings(f: Filters) -> dict:
    """Appointments for days of the period: made, checked in, no-show, cancelled, and
    how many days ahead they were made."""
    query = (Appointment.select(Appointment.status, pw.fn.COUNT(Appointment.id).alias("n"))
             .join(Service, on=(Appointment.service == Service.id))
             .where((Appointment.day >= f.first) & (Appointment.day <= f.last)))
    query = _narrow(query, Appointment, f)
    counts = {r["status"]: int(r["n"]) for r in query.group_by(Appointment.status).dicts()}
    leads = _narrow(Appointment.select(Appointment.day, Appointment.created_at)
                    .join(Service, on=(Appointment.service == Service.id))
                    .where((Appointment.day >= f.first) & (Appointment.day <= f.last)),
                    Appointment, f).tuples()
    days = [(day - local_day(created)).days for day, created in leads]
    return {"made": sum(counts.values()), "checked_in": counts.get("checked_in", 0),
            "no_show": counts.get("no_show", 0), "cancelled": counts.get("cancelled", 0),
            "booked": counts.get("booked", 0),
            "lead_days_mean": round(sum(days) / len(days), 1) if days else None}


def _narrow(query, model, f: Filters):
    if f.site is not None:
        query = query.where(model.site == f.site)
    if f.agency is not None:
        query = query.where(Service.agency == f.agency)
    if f.service is not None:
        query = query.where(model.service == f.service)
    return query


def cases(f: Filters) -> dict:
    """Cases received in the period by their status now, and per agency the median days
    from receipt to ready for pick-up."""
    start, end = _utc_bounds(f)
    base = _narrow(Case.select().join(Service, on=(Case.service == Service.id))
                   .where((Case.received_at >= start) & (Case.received_at < end)), Case, f)
    counts = {r["status"]: int(r["n"]) for r in
              base.select(Case.status, pw.fn.COUNT(Case.id).alias("n"))
              .group_by(Case.status).dicts()}
    ready = (base.select(Agency.code, Agency.name, Case.received_at,
                         pw.fn.MIN(CaseEvent.at).alias("ready_at"))
             .switch(Service).join(Agency, on=(Service.agency == Agency.id))
             .switch(Case).join(CaseEvent, on=(CaseEvent.case == Case.id))
             .where(CaseEvent.status == "ready_for_pickup")
             .group_by(Case.id, Agency.code, Agency.name, Case.received_at).dicts())
    per_agency: dict[tuple, list[float]] = {}
    for row in ready:
        days = (row["ready_at"] - row["received_at"]).total_seconds() / 86400
        per_agency.setdefault((row["code"], row["name"]), []).append(days)
    in_process = sum(counts.get(s, 0) for s in ("received", "forwarded", "processing",
                                                  "needs_fix", "done"))
    return {"opened": sum(counts.values()), "forwarded": counts.get("forwarded", 0),
            "in_process": in_process, "needs_fix": counts.get("needs_fix", 0),
            "ready": counts.get("ready_for_pickup", 0),
            "picked_up": counts.get("picked_up", 0),
            "days_to_ready": [{"agency": code, "name": name, "cases": len(days),
                               "median_days": round(statistics.median(days), 1)}
                              for (code, name), days in sorted(per_agency.items())]}


def incomplete_sites(f: Filters, now: dt.datetime) -> list[dict]:
    """Halls in scope whose facts do not yet reach the end of the period (or now).
    Only where halls report through the link: in all-in-one every fact is here."""
    if link_rows.role() != "central":
        return []
    start, end = _utc_bounds(f)
    needed = min(end, as_utc_naive(now)) - LAG
    if needed <= start - LAG:
        return []
    query = Site.select(Site.code, Site.name, HallPulse.data_until).join(
        HallPulse, pw.JOIN.LEFT_OUTER, on=(HallPulse.site == Site.id)).where(Site.active)
    if f.site is not None:
        query = query.where(Site.id == f.site.id)
    out = []
    for code, name, until in query.tuples():
        if until is None and _local_hall(code):
            continue  # the centre's own hall: its facts are made here
        if until is None or until < needed:
            out.append({"site": code, "name": name,
                        "data_until": iso(until) if until else None})
    return out


def _local_hall(code: str) -> bool:
    """At the centre, a hall without a box of its own issues its tickets here."""
    return Ticket.select().join(Site).where(Site.code == code).exists()


def summary(f: Filters, now: dt.datetime, refresh: bool = True) -> dict:
    """The report: totals, breakdowns, heat map, bookings, cases, and which halls'
    figures are not final."""
    if refresh:
        visits.refresh(now)
    totals = figures(f)
    return {
        "period": f.as_dict(),
        **totals,
        "cases": cases(f),
        "bookings": bookings(f),
        "incomplete_sites": incomplete_sites(f, now),
        "by_site": breakdown(f, "site"),
        "by_agency": breakdown(f, "agency"),
        "by_service": breakdown(f, "service"),
        "by_counter": breakdown(f, "counter"),
        "by_operator": breakdown(f, "operator"),
        "by_day": breakdown(f, "day"),
        "by_hour": heat_map(f),
        "generated_at": iso(now),
    }


# --- one hall's day, and what a caller may choose ------------------------------------

def day_stats(site: Site, day: dt.date, now: dt.datetime) -> dict:
    """One WITA day of one hall: arrivals (`issued`), served, no-shows, who waits now
    (today only; a past or future day has nobody waiting), waits and service times,
    and the same per service. The caller's right to see the hall is checked before."""
    visits.refresh(now)
    f = Filters(day, day, site)
    totals = figures(f)
    waiting = 0
    if day == local_day(now):
        pulse = visits.reported_pulse(site)  # a hall with its own box: what it last said
        waiting = (pulse.waiting if pulse is not None and pulse.day == day
                   else visits.live(site, now)["waiting"])

    def shape(row: dict) -> dict:
        return {"issued": row["arrived"], "served": row["served"],
                "no_show": row["no_show"],
                "wait_minutes": {"mean": row["wait_minutes"]["mean"],
                                 "p90": row["wait_minutes"]["p90"]},
                "service_minutes": dict(row["service_minutes"])}

    return {"site": site.code, "date": day.isoformat(), **shape(totals),
            "waiting": waiting,
            "by_service": [{"service": row["key"], "name": row["name"], **shape(row)}
                           for row in breakdown(f, "service") if row["arrived"]],
            "generated_at": iso(now)}


def choices(user: User) -> dict:
    """What the report form offers this caller: halls (None when the caller's hall is
    fixed), agencies (None when fixed) and services, each as (code, name)."""
    if not may_report(user):
        raise Forbidden("Laporan hanya untuk supervisor, petugas instansi dan admin.",
                        code="forbidden")
    services = Service.select(Service.code, Service.name).order_by(Service.name)
    sites = agencies = None
    if user.role == "supervisor":
        services = (services.join(SiteService, on=(SiteService.service == Service.id))
                    .where((SiteService.site == user.site_id) & SiteService.active))
    else:
        sites = list(Site.select(Site.code, Site.name).where(Site.active)
                     .order_by(Site.kind, Site.name).tuples())
    if user.role == "officer":
        services = services.where(Service.agency == user.agency_id)
    elif user.role == "admin":
        agencies = list(Agency.select(Agency.code, Agency.name).order_by(Agency.name).tuples())
    return {"sites": sites, "agencies": agencies, "services": list(services.tuples())}
