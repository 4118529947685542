"""Reports: what the halls did over a period, for the leadership and the regulation.

Figures come from SQL aggregates over the visit facts (`app.domain.visits`), the
bookings and the cases; nothing loads a period's tickets into Python. Waiting and
service times are read as a per-minute histogram (`GROUP BY seconds / 60`), so the
median and the 90th percentile are whole minutes on SQLite and PostgreSQL alike.

Who sees what (`scope`): a supervisor their own hall, an officer their own agency in
every hall, an admin everything; anyone else nothing. Days are WITA days; a hall
whose facts do not yet reach the end of the period (its link was down) is named in
`incomplete_sites`, so a reader knows the figure may still grow.

The whole kabupaten's report keeps what it read of each closed day (`VisitDay`: the
day's tallies, a few kB) and adds those up next time instead of grouping a month of
facts again; only today, and the first report after a day closes, read facts. A fact
written later for a closed day voids its tallies (`visits.touch_days`). So the first
report of a day writes once (after its read-only snapshot); every other report only
reads.
"""
import datetime as dt
import json
import math
import statistics
from dataclasses import dataclass

import peewee as pw

from ..clock import WITA, as_utc_naive, iso, local_day
from ..db import database, read_snapshot, write_transaction
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
    VisitDay,
    VisitFact,
)
from . import calendar, link_rows, visits

MAX_DAYS = 400  # a year and a bit: longer ranges are exports of several reports
GROUPS = ("site", "agency", "service", "counter", "operator", "day")
# A hall's facts arrive at every pull (about every 2 s); older than this, they lag.
LAG = dt.timedelta(minutes=5)
# PostgreSQL's memory for a report's sorts and hash aggregates (`db.read_snapshot`).
WORK_MEM = "16MB"
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
#
# A period's facts are read in few passes (`_Families`): one GROUP BY over (a family's
# columns, whole minute of wait) sums the counts and gives the wait histogram at once,
# a second the service-time histogram. Every breakdown is a sum of those groups, added
# up here: the days, services, agencies and totals from day x service; the halls,
# counters and operators from hall x counter x operator (a visit no counter or no
# operator handled still counts for its hall). Counts add up exactly, means are sums
# over counts, and percentiles read the merged histograms, so the figures are those
# of a GROUP BY per breakdown, in four passes instead of twenty-one (three for the
# totals and for each of six breakdowns).

def _facts(f: Filters):
    """The period's facts within the filters; Service is joined only for an agency."""
    query = VisitFact.select().where((VisitFact.day >= f.first) & (VisitFact.day <= f.last))
    if f.agency is not None:
        query = (query.join(Service, on=(VisitFact.service == Service.id))
                 .where(Service.agency == f.agency))
    if f.site is not None:
        query = query.where(VisitFact.site == f.site)
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


def _flag(condition):
    return pw.fn.SUM(pw.Case(None, [(condition, 1)], 0))


# The counts of a group, in the order selected: each adds up over sub-groups.
SUMS = ("arrived", "served", "no_show", "cancelled", "transferred", "within", "with_target",
        "wait_sum", "wait_n", "service_sum", "service_n", "appointments")


def _counts_select():
    return [
        pw.fn.COUNT(VisitFact.id),
        _flag(VisitFact.status == "done"),
        _flag(VisitFact.status == "no_show"),
        _flag(VisitFact.status == "cancelled"),
        _flag(VisitFact.transfers > 0),
        _flag(VisitFact.within_target == True),  # noqa: E712
        pw.fn.COUNT(VisitFact.within_target),
        pw.fn.COALESCE(pw.fn.SUM(VisitFact.wait_seconds), 0),
        pw.fn.COUNT(VisitFact.wait_seconds),
        pw.fn.COALESCE(pw.fn.SUM(VisitFact.service_seconds), 0),
        pw.fn.COUNT(VisitFact.service_seconds),
        _flag(VisitFact.source == "appointment"),
        pw.fn.MAX(VisitFact.wait_seconds),  # not a sum: the larger of two maxima
    ]


class _Tally:
    """One group's counts (in `SUMS` order), longest wait, and its wait and service-time
    histograms (minute -> visits)."""
    __slots__ = ("counts", "wait_max", "waits", "services")

    def __init__(self):
        self.counts = [0] * len(SUMS)
        self.wait_max = None
        self.waits: dict[int, int] = {}
        self.services: dict[int, int] = {}

    def add(self, other: "_Tally") -> "_Tally":
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        if other.wait_max is not None:
            self.wait_max = max(self.wait_max or 0, other.wait_max)
        for mine, theirs in ((self.waits, other.waits), (self.services, other.services)):
            for minute, n in theirs.items():
                mine[minute] = mine.get(minute, 0) + n
        return self

    def figures(self) -> dict:
        c = dict(zip(SUMS, self.counts))
        waits, services = sorted(self.waits.items()), sorted(self.services.items())
        return {
            "arrived": c["arrived"], "served": c["served"], "no_show": c["no_show"],
            "no_show_rate": _pct(c["no_show"], c["arrived"]),
            "cancelled": c["cancelled"], "transferred": c["transferred"],
            "appointments": c["appointments"],
            "wait_minutes": {
                "mean": _minutes(c["wait_sum"] / c["wait_n"]) if c["wait_n"] else None,
                "p50": _percentile(waits, 0.5), "p90": _percentile(waits, 0.9),
                "max": _minutes(self.wait_max)},
            "service_minutes": {
                "mean": (_minutes(c["service_sum"] / c["service_n"]) if c["service_n"]
                         else None),
                "p90": _percentile(services, 0.9)},
            "within_target_pct": _pct(c["within"], c["with_target"]),
        }


def _tallies(f: Filters, columns: list, where=None) -> dict[tuple, _Tally]:
    """Per group of `columns`: its tally, in two passes over the period's facts (and
    `where`). Rows are read raw (no per-value conversion: a key holds what the driver
    returns) and added up column by column."""
    n, width = len(columns), len(SUMS)
    wait = VisitFact.wait_seconds / 60
    query = _facts(f).select(*columns, wait, *_counts_select()).group_by(*columns, wait)
    if where is not None:
        query = query.where(where)
    groups: dict[tuple, list] = {}
    for row in database.execute(query):
        groups.setdefault(row[:n], []).append(row[n:])
    out: dict[tuple, _Tally] = {}
    for key, rows in groups.items():
        tally = out[key] = _Tally()
        minutes, *values = zip(*rows)
        tally.counts = [sum(column) for column in values[:width]]
        tally.wait_max = max((m for m in values[width] if m is not None), default=None)
        # (group, minute) is unique in a GROUP BY: each minute's visits are its count.
        tally.waits = {m: k for m, k in zip(minutes, values[0]) if m is not None}
    service = VisitFact.service_seconds / 60
    query = (_facts(f).select(*columns, service, pw.fn.COUNT(VisitFact.id))
             .where(VisitFact.service_seconds.is_null(False)).group_by(*columns, service))
    if where is not None:
        query = query.where(where)
    for row in database.execute(query):
        tally = out.get(row[:n]) or out.setdefault(row[:n], _Tally())
        tally.services[row[n]] = row[n + 1]
    return out


def _merged(tallies: dict, key_of) -> dict:
    """Sub-groups added up into the groups `key_of(sub-key)` names (None: left out)."""
    out: dict = {}
    for key, tally in tallies.items():
        group = key_of(key)
        if group is not None:
            out.setdefault(group, _Tally()).add(tally)
    return out


def _rows(tallies: dict, names: dict, order=None) -> list[dict]:
    """Breakdown rows; `names`: group -> (code, name); sorted by code or `order(group)`."""
    keys = sorted(tallies, key=order or (lambda key: names[key][0]))
    return [{"key": names[key][0], "name": names[key][1], **tallies[key].figures()}
            for key in keys]


COLUMNS = {"when_what": [VisitFact.day, VisitFact.service],
           "where_who": [VisitFact.site, VisitFact.counter_code, VisitFact.operator]}


class _Families:
    """The period's facts read in two families of two passes each: when and what (day x
    service: the days, services, agencies and the totals) and where and who (hall x
    counter x operator: the halls, counters and operators). With `kept`, the closed
    days at the start of the period come from their kept tallies (`_KeptDays`) and only
    the days after them from the facts."""

    FAMILY = {"day": "when_what", "service": "when_what", "agency": "when_what",
              "site": "where_who", "counter": "where_who", "operator": "where_who"}

    def __init__(self, f: Filters, kept: "_KeptDays | None" = None):
        self.f, self.kept = f, kept
        self.live = f
        if kept is not None:
            after = kept.last + dt.timedelta(days=1)
            self.live = (Filters(after, f.last, f.site, f.agency, f.service)
                         if after <= f.last else None)
        self._cache: dict[str, dict] = {}

    def family(self, name: str) -> dict:
        if name not in self._cache:
            tallies = dict(self.kept.parts[name]) if self.kept else {}
            if self.live is not None:
                for key, tally in _tallies(self.live, COLUMNS[name]).items():
                    if key in tallies:
                        tally = _Tally().add(tallies[key]).add(tally)
                    tallies[key] = tally
            self._cache[name] = tallies
        return self._cache[name]

    def _counts(self, name: str, live) -> dict:
        if name not in self._cache:
            counts = dict(self.kept.parts[name]) if self.kept else {}
            if self.live is not None:
                for key, n in live(self.live).items():
                    counts[key] = counts.get(key, 0) + n
            self._cache[name] = counts
        return self._cache[name]

    def heat_map(self) -> list[dict]:
        return _heat_rows(self._counts("arrivals", _arrivals))

    def transfers(self) -> dict[tuple, int]:
        return self._counts("transfers", _transfers)

    def days(self) -> dict:
        if "days" not in self._cache:
            self._cache["days"] = _merged(self.family("when_what"),
                                          lambda key: (_day(key[0]),))
        return self._cache["days"]

    def services(self) -> dict:
        if "services" not in self._cache:
            self._cache["services"] = _merged(self.family("when_what"), lambda key: key[1:])
        return self._cache["services"]

    def totals(self) -> dict:
        return _merged(self.days(), lambda key: ()).get((), _Tally()).figures()

    def breakdown(self, by: str) -> list[dict]:
        if by not in self.FAMILY:
            raise Invalid("Pengelompokan tidak dikenal.", code="invalid_field", field="by",
                          allowed=list(GROUPS))
        if by == "day":
            days = self.days()
            return _rows(days, {k: (k[0].isoformat(),) * 2 for k in days})
        if by == "service":
            return self._services(self.services())
        if by == "agency":
            agency_of = dict(Service.select(Service.id, Service.agency).tuples())
            agencies = _merged(self.services(), lambda key: (agency_of[key[0]],))
            return _rows(agencies, {(aid,): (code, name) for aid, code, name in Agency.select(
                Agency.id, Agency.code, Agency.name).tuples()})
        tallies = self.family("where_who")
        sites = {(sid,): (code, name) for sid, code, name in Site.select(
            Site.id, Site.code, Site.name).tuples()}
        if by == "site":
            return _rows(_merged(tallies, lambda key: key[:1]), sites)
        if by == "counter":
            counters = _merged(tallies, lambda key: key[:2] if key[1] is not None else None)
            code = {key[0]: names[0] for key, names in sites.items()}
            return _rows(counters, {k: (f"{code[k[0]]}/{k[1]}", f"{code[k[0]]} {k[1]}")
                                    for k in counters}, order=lambda k: (code[k[0]], k[1]))
        operators = _merged(tallies, lambda key: key[2:] if key[2] is not None else None)
        return _rows(operators, {k: (k[0], k[0]) for k in operators})

    def _services(self, services: dict) -> list[dict]:
        known = {sid: (code, name) for sid, code, name in Service.select(
            Service.id, Service.code, Service.name).tuples()}
        out = _rows(services, {k: known[k[0]] for k in services})
        # A transfer counts where the citizen left, not where they went.
        left = {known[sid][0]: n for (sid,), n in self.transfers().items()}
        for item in out:
            item["transferred"] = left.pop(item["key"], 0)
        names = dict(known.values())
        empty = _Tally().figures()
        out.extend({"key": code, "name": names.get(code, code), **empty, "transferred": n}
                   for code, n in left.items())
        out.sort(key=lambda item: item["key"])
        return out


class _KeptDays:
    """The tallies of the closed days first..last of the whole kabupaten (no hall,
    agency or service filter): read from `VisitDay`, the days without them made from
    the facts in one set of passes and held in `fresh` for `keep` to store once the
    report's snapshot is over. A closed day's figures are the sums of its tallies, so a
    month costs the reading of its days' tallies, not four passes over its facts."""

    def __init__(self, first: dt.date, last: dt.date):
        self.first, self.last = first, last
        self.fresh: dict[dt.date, tuple] = {}  # day -> (version read or None, JSON)
        rows = {_day(day): (version, tallies) for day, version, tallies in VisitDay.select(
            VisitDay.day, VisitDay.version, VisitDay.tallies).where(
                (VisitDay.day >= first) & (VisitDay.day <= last)).tuples()}
        days, missing = {}, []
        day = first
        while day <= last:
            version, tallies = rows.get(day, (None, None))
            if tallies is None:
                missing.append((day, version))
            else:
                days[day] = json.loads(tallies)
            day += dt.timedelta(days=1)
        if missing:
            made = _made_days([day for day, _version in missing])
            for day, version in missing:
                days[day] = made.get(day) or {part: [] for part in DAY_PARTS}
                self.fresh[day] = (version, json.dumps(days[day], separators=(",", ":")))
        self.parts = _parts(days)


DAY_PARTS = ("when_what", "where_who", "arrivals", "transfers")


def _made_days(days: list[dt.date]) -> dict[dt.date, dict]:
    """The kept form of these days' facts, per day: each family's tallies (key, counts,
    longest wait, wait and service-time histograms as flat [minute, n, ...] lists), the
    arrivals per weekday and hour and the transfers per service left."""
    f = Filters(min(days), max(days))
    contiguous = (f.last - f.first).days + 1 == len(set(days))
    among = None if contiguous else VisitFact.day.in_(days)
    out: dict[dt.date, dict] = {}

    def part(day, name) -> list:
        return out.setdefault(_day(day), {p: [] for p in DAY_PARTS})[name]

    for name, columns in COLUMNS.items():
        for key, t in _tallies(f, [VisitFact.day, *columns[1 if name == "when_what" else 0:]],
                               among).items():
            part(key[0], name).append([list(key[1:]), t.counts, t.wait_max,
                                       _flat(t.waits), _flat(t.services)])
    for name, counts in (("arrivals", _arrivals(f, [VisitFact.day], among)),
                         ("transfers", _transfers(f, [VisitFact.day], among))):
        for key, n in counts.items():
            part(key[0], name).append([*key[1:], n])
    return out


def _flat(histogram: dict[int, int]) -> list[int]:
    """[minute, n, minute, n, ...]: a third of the time to read back as [[minute, n]]."""
    return [x for pair in sorted(histogram.items()) for x in pair]


def _parts(days: dict[dt.date, dict]) -> dict[str, dict]:
    """Kept days added up into the families' keys: when and what by (day, service),
    where and who by (hall, counter, operator) over all the days, counts by key."""
    parts: dict[str, dict] = {name: {} for name in DAY_PARTS}
    for day, kept in days.items():
        for name in COLUMNS:
            target = parts[name]
            for key, counts, wait_max, waits, services in kept[name]:
                key = (day.isoformat(), *key) if name == "when_what" else tuple(key)
                tally = target.get(key)
                if tally is None:
                    tally = target[key] = _Tally()
                tally.counts = [a + b for a, b in zip(tally.counts, counts)]
                if wait_max is not None:
                    tally.wait_max = max(tally.wait_max or 0, wait_max)
                for histogram, flat in ((tally.waits, waits), (tally.services, services)):
                    pairs = iter(flat)
                    for minute, n in zip(pairs, pairs):
                        histogram[minute] = histogram.get(minute, 0) + n
        for name in ("arrivals", "transfers"):
            target = parts[name]
            for *key, n in kept[name]:
                target[tuple(key)] = target.get(tuple(key), 0) + n
    return parts


def _keep(kept: _KeptDays | None, now: dt.datetime) -> None:
    """Store the closed days a report made, each only if no fact of it was written
    since the report read it (the version it read still stands)."""
    if kept is None or not kept.fresh:
        return
    naive = as_utc_naive(now)
    with write_transaction():
        for day, (version, tallies) in sorted(kept.fresh.items()):
            if version is None:
                (VisitDay.insert(day=day, version=0, tallies=tallies, made_at=naive)
                 .on_conflict_ignore().execute())
            else:
                VisitDay.update(tallies=tallies, made_at=naive).where(
                    (VisitDay.day == day) & (VisitDay.version == version)).execute()


def _kept_days(f: Filters, now: dt.datetime) -> _KeptDays | None:
    """The closed days a report of the whole kabupaten takes from kept tallies: from
    the period's first day to the day before today, today counted from `LAG` ago (a
    day is closed once the halls' last facts of it can have arrived); None for a
    filtered report or a period of open days only."""
    if f.site is not None or f.agency is not None or f.service is not None:
        return None
    last = min(f.last, local_day(now - LAG) - dt.timedelta(days=1))
    return _KeptDays(f.first, last) if f.first <= last else None


def _day(value) -> dt.date:
    """A date from what a driver returns for a date or a day's start: a date, a
    datetime or ISO text."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def figures(f: Filters) -> dict:
    """The totals of a period."""
    return _Families(f).totals()


def breakdown(f: Filters, by: str) -> list[dict]:
    """The same figures per hall, agency, service, counter, operator or day."""
    return _Families(f).breakdown(by)


def _transfers(f: Filters, columns=(), where=None) -> dict[tuple, int]:
    """Visits transferred away, per (`columns`..., the service they left) by id, filtered
    by where they started. Joined to Service only for an agency: with a join on every
    fact, PostgreSQL walked the whole first_service index instead of the days."""
    query = VisitFact.select(*columns, VisitFact.first_service, pw.fn.COUNT(VisitFact.id)).where(
        (VisitFact.day >= f.first) & (VisitFact.day <= f.last)
        & VisitFact.first_service.is_null(False))
    if f.site is not None:
        query = query.where(VisitFact.site == f.site)
    if f.agency is not None:
        query = (query.join(Service, on=(VisitFact.first_service == Service.id))
                 .where(Service.agency == f.agency))
    if f.service is not None:
        query = query.where(VisitFact.first_service == f.service)
    if where is not None:
        query = query.where(where)
    query = query.group_by(*columns, VisitFact.first_service)
    return {row[:-1]: row[-1] for row in database.execute(query)}


def _arrivals(f: Filters, columns=(), where=None) -> dict[tuple, int]:
    """Arrivals per (`columns`..., weekday, hour)."""
    query = (_facts(f).select(*columns, VisitFact.weekday, VisitFact.hour,
                              pw.fn.COUNT(VisitFact.id))
             .group_by(*columns, VisitFact.weekday, VisitFact.hour))
    if where is not None:
        query = query.where(where)
    return {row[:-1]: row[-1] for row in database.execute(query)}


def _heat_rows(counts: dict[tuple, int]) -> list[dict]:
    return [{"weekday": weekday, "hour": hour, "arrived": int(n)}
            for (weekday, hour), n in sorted(counts.items())]


def heat_map(f: Filters) -> list[dict]:
    """Arrivals per weekday (0 = Monday) and hour, WITA."""
    return _heat_rows(_arrivals(f))


def _utc_bounds(f: Filters) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(f.first, dt.time(), WITA)
    end = dt.datetime.combine(f.last + dt.timedelta(days=1), dt.time(), WITA)
    return as_utc_naive(start), as_utc_naive(end)


# WITA keeps no summer time: a UTC time from this hour on is the next WITA day.
NEXT_WITA_DAY_FROM_UTC_HOUR = 24 - int(WITA.utcoffset(dt.datetime(2026, 1, 1)).seconds // 3600)


def bookings(f: Filters) -> dict:
    """Appointments for days of the period: made, checked in, no-show, cancelled, and
    how many days ahead they were made (from the WITA day it was made on). One GROUP BY
    by status, day and the UTC day and half of making it, not a row per booking."""
    made_on = Appointment.created_at.truncate("day")
    late = Appointment.created_at.hour >= NEXT_WITA_DAY_FROM_UTC_HOUR
    query = (Appointment.select(Appointment.status, Appointment.day, made_on, late,
                                pw.fn.COUNT(Appointment.id))
             .where((Appointment.day >= f.first) & (Appointment.day <= f.last)))
    if f.agency is not None:
        query = query.join(Service, on=(Appointment.service == Service.id))
    query = _narrow(query, Appointment, f)
    counts: dict[str, int] = {}
    ahead = made = 0
    for status, day, made_at, after, n in query.group_by(
            Appointment.status, Appointment.day, made_on, late).tuples():
        counts[status] = counts.get(status, 0) + n
        made_day = _day(made_at) + dt.timedelta(days=1 if after else 0)
        ahead += (_day(day) - made_day).days * n
        made += n
    return {"made": made, "checked_in": counts.get("checked_in", 0),
            "no_show": counts.get("no_show", 0), "cancelled": counts.get("cancelled", 0),
            "booked": counts.get("booked", 0),
            "lead_days_mean": round(ahead / made, 1) if made else None}


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
    with read_snapshot(work_mem=WORK_MEM):
        kept = _kept_days(f, now)
        families = _Families(f, kept)
        report = {
            "period": f.as_dict(),
            **families.totals(),
            "cases": cases(f),
            "bookings": bookings(f),
            "incomplete_sites": incomplete_sites(f, now),
            **{f"by_{by}": families.breakdown(by) for by in GROUPS},
            "by_hour": families.heat_map(),
            "generated_at": iso(now),
        }
    _keep(kept, now)
    return report


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
