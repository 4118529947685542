"""The queue: issue a ticket, call the next one, and every later transition.

Each public verb is one write transaction. Concurrency safety lives in the database:
BEGIN IMMEDIATE on SQLite; on PostgreSQL the counter row is locked FOR UPDATE and the
candidate ticket is taken with SKIP LOCKED; a conditional UPDATE on the expected status
is the backstop on both, so two counters never get the same ticket.
"""
import datetime as dt
import functools
from typing import NamedTuple

import peewee as pw

from .. import events
from ..clock import as_utc_naive, iso, local_day
from ..db import (
    Param,
    Prepared,
    database,
    is_sqlite,
    lock_rows,
    prepared,
    rows_as,
    skip_locked,
    write_transaction,
)
from ..errors import Conflict, Invalid, NotFound
from ..models import (
    Appointment,
    Counter,
    CounterService,
    Service,
    Site,
    SiteService,
    Ticket,
    TicketEvent,
    VisitFact,
    WaitingCount,
)
from . import audit, calendar, catalogue_cache, numbering
from .audit import Actor

# The waiting list a console shows (its page and the pushed list of boards.console_lists).
CONSOLE_LIST_LENGTH = 50

PRIORITY_GROUPS = {
    "disabilitas": "Penyandang disabilitas",
    "lansia": "Lanjut usia",
    "ibu_hamil": "Ibu hamil",
    "anak": "Anak-anak",
    "korban_bencana": "Korban bencana",
}
OUTCOMES = {
    "completed": "Selesai dilayani",
    "case": "Berkas diterima (diteruskan)",
    "info_only": "Informasi saja",
    "rejected": "Ditolak / berkas belum lengkap",
}
STATUS_LABELS = {
    "waiting": "Menunggu",
    "called": "Dipanggil",
    "serving": "Sedang dilayani",
    "done": "Selesai",
    "no_show": "Tidak hadir",
    "cancelled": "Dibatalkan",
}
ACTIVE = ("called", "serving")
# transition -> statuses it may start from
ALLOWED_FROM = {
    "recall": {"called"},
    "start": {"called"},
    "finish": {"called", "serving"},
    "no_show": {"called"},
    "requeue": {"no_show"},
    "transfer": {"waiting", "called", "serving"},
    "cancel": {"waiting"},
}


# --- lookups -------------------------------------------------------------------------

# Halls, services and counters come from the catalogue cache (catalogue_cache.py).

def get_site(code: str) -> Site:
    site = catalogue_cache.current().site(code) if isinstance(code, str) else None
    if site is None:
        raise NotFound(f"Lokasi '{code}' tidak dikenal.", code="unknown_site")
    return site


def get_service(code: str) -> Service:
    service = catalogue_cache.current().service(code) if isinstance(code, str) else None
    if service is None:
        raise NotFound(f"Layanan '{code}' tidak dikenal.", code="unknown_service")
    return service


def get_counter(site: Site, code: str, status_now: bool = True) -> Counter:
    """The hall's counter. `status_now=False` takes it from the catalogue cache, whose
    `status` may be old: for callers that read the row again (call-next locks it)."""
    if status_now:
        counter = Counter.get_or_none((Counter.site == site) & (Counter.code == code))
    else:
        counter = catalogue_cache.current().counter(site, code)
    if counter is None:
        raise NotFound(f"Loket '{code}' tidak ada di {site.name}.", code="unknown_counter")
    return counter


_TICKET_BY_ID = prepared(lambda: Ticket.select().where(Ticket.id == Param("id")).limit(1))
_LOCK_TICKET = prepared(lambda: lock_rows(
    Ticket.select().where(Ticket.id == Param("id")).limit(1)))
_LOCK_COUNTER = prepared(lambda: lock_rows(
    Counter.select().where(Counter.id == Param("id")).limit(1)))


def get_ticket(ticket_id: str) -> Ticket:
    ticket = _TICKET_BY_ID.first(Ticket, id=ticket_id) if _looks_like_id(ticket_id) else None
    if ticket is None:
        raise NotFound("Tiket tidak ditemukan.", code="unknown_ticket")
    return attach(ticket)


def attach(ticket: Ticket, catalogue=None) -> Ticket:
    """The ticket's hall, service and counter from the catalogue cache, so reading them
    costs no query (the counter's `status` is not current: read the row for that)."""
    catalogue = catalogue or catalogue_cache.current()
    ticket.__rel__["site"] = catalogue.site_by_id(ticket.site_id)
    ticket.__rel__["service"] = catalogue.service_by_id(ticket.service_id)
    if ticket.counter_id is not None:
        ticket.__rel__["counter"] = catalogue.counter_by_id(ticket.counter_id)
    for name in ("site", "service", "counter"):  # unknown to the cache: peewee's own load
        if ticket.__rel__.get(name) is None:
            ticket.__rel__.pop(name, None)
    return ticket


def _looks_like_id(value: str) -> bool:
    return isinstance(value, str) and len(value) == 32 and all(
        c in "0123456789abcdef" for c in value)


def counter_services(counter: Counter) -> list[int]:
    return [link.service_id for link in counter.service_links]


_CURRENT_TICKET = prepared(lambda: (
    Ticket.select()
    .where((Ticket.counter == Param("counter")) & (Ticket.status.in_(ACTIVE)))
    .order_by(Ticket.called_at.desc())
    .limit(1)))


def current_ticket(counter: Counter) -> Ticket | None:
    return _CURRENT_TICKET.first(Ticket, counter=counter)


# --- ordering ------------------------------------------------------------------------

def queue_order(now_naive: dt.datetime):
    """SQL ordering: priority groups first, then appointments that are due, then by
    time (an appointment's place is its slot start), then issue time."""
    return [
        pw.Case(None, [(Ticket.priority_group.is_null(False), 0)], 1),
        pw.Case(None, [((Ticket.due_at.is_null(False)) & (Ticket.due_at <= now_naive), 0)], 1),
        pw.fn.COALESCE(Ticket.due_at, Ticket.issued_at),
        Ticket.issued_at,
        Ticket.id,
    ]


def queue_key(ticket: Ticket, now_naive: dt.datetime) -> tuple:
    """The same order as `queue_order`, in Python."""
    due = ticket.due_at is not None and ticket.due_at <= now_naive
    return (0 if ticket.priority_group else 1, 0 if due else 1,
            ticket.due_at or ticket.issued_at, ticket.issued_at, ticket.id)


def _lane(prefix) -> pw.Expression:
    """Tickets in the lane of `prefix`: those whose service now has that prefix (a
    transferred ticket keeps its number, A001, but waits in its new service's lane)."""
    return Ticket.service.in_(Service.select(Service.id).where(Service.prefix == prefix))


def waiting_in_lane(site: Site, prefix: str, day: dt.date, now: dt.datetime) -> list[Ticket]:
    now_naive = as_utc_naive(now)
    return list(Ticket.select()
                .where((Ticket.site == site) & (Ticket.day == day) & _lane(prefix)
                       & (Ticket.status == "waiting"))
                .order_by(*queue_order(now_naive)))


def waiting_before(ticket: Ticket, now: dt.datetime) -> int:
    """How many waiting tickets of the lane come before this one (its place in
    `waiting_in_lane`, without loading the lane).

    Most tickets are walk-ins with no priority group (or appointments not yet due): every
    priority and due ticket goes before them, so on SQLite their place is the lane's
    waiting count (`waiting_count`, kept by triggers) less the tickets from this one to
    the lane's end, an index range of the few issued after it (`ticket_lane_order`):
    the cost does not grow with the lane. A priority or due ticket, and PostgreSQL, take
    one COUNT with a row-value comparison on the queue order."""
    if ticket.status != "waiting":
        return 0
    now_naive = as_utc_naive(now)
    key = queue_key(ticket, now_naive)
    prefix = catalogue_cache.current().service_by_id(ticket.service_id).prefix \
        if ticket.__rel__.get("service") is None else ticket.service.prefix
    if is_sqlite() and key[0] == 1 and key[1] == 1:
        cursor = database.execute_sql(_AHEAD_OF_WALK_IN, (
            ticket.site_id, ticket.day, prefix,
            ticket.site_id, ticket.day, prefix, now_naive, key[2], key[2], key[3], key[4]))
        return cursor.fetchone()[0]
    return _AHEAD_IN_LANE.scalar(site=ticket.site_id, day=ticket.day, prefix=prefix,
                                 now=now_naive, **dict(zip(_KEY_SLOTS, key)))


_KEY_SLOTS = ("k_priority", "k_due", "k_time", "k_issued", "k_id")
_AHEAD_IN_LANE = prepared(lambda: (
    Ticket.select(pw.fn.COUNT(Ticket.id))
    .where((Ticket.site == Param("site")) & (Ticket.day == Param("day"))
           & _lane(Param("prefix")) & (Ticket.status == "waiting")
           & (pw.Tuple(*queue_order(Param("now")))
              < pw.Tuple(*[Param(name) for name in _KEY_SLOTS])))))
# SQLite: the lane's waiting count less the tickets of the walk-in part of the queue
# (no priority group, not due) from this one on, in queue order.
_LANE_SERVICES = "service_id IN (SELECT id FROM service WHERE prefix = ?)"
_AHEAD_OF_WALK_IN = (
    "SELECT (SELECT COALESCE(SUM(waiting), 0) FROM waiting_count "
    f"WHERE site_id = ? AND day = ? AND {_LANE_SERVICES}) - "
    "(SELECT COUNT(*) FROM ticket WHERE site_id = ? AND day = ? AND status = 'waiting' "
    f"AND {_LANE_SERVICES} AND priority_group IS NULL "
    "AND (due_at IS NULL OR due_at > ?) AND COALESCE(due_at, issued_at) >= ? "
    "AND (COALESCE(due_at, issued_at), issued_at, id) >= (?, ?, ?))")


class ConsoleRow(NamedTuple):
    """One line of a console's waiting list."""
    number: str
    service_name: str
    priority_group: str | None
    source: str
    issued_at: dt.datetime


class ConsoleList(NamedTuple):
    rows: list[ConsoleRow]
    more: int  # waiting beyond the rows shown


def console_list(counter_id: int, site_id: int, now: dt.datetime) -> ConsoleList:
    """The first CONSOLE_LIST_LENGTH waiting tickets of the services of a counter, in
    queue order, and how many more wait: the console's list (its page and the lists
    pushed by boards.console_lists, rendered once per hall and set of services).
    Prepared statements and plain rows, no model instances: 50 tickets as models with
    their services cost ~6 ms of CPU, this ~0.2 ms. Only a full list counts the rest."""
    values = {"site": site_id, "day": local_day(now), "counter": counter_id}
    rows = _CONSOLE_LIST.execute(now=as_utc_naive(now), **values).fetchall()
    issued = Ticket.issued_at.python_value
    shown = [ConsoleRow(number, name, group, source, issued(at))
             for number, name, group, source, at in rows]
    more = 0
    if len(shown) == CONSOLE_LIST_LENGTH:
        more = max(0, (_CONSOLE_WAITING.scalar(**values) or 0) - len(shown))
    return ConsoleList(shown, more)


def _waiting_for_counter(*columns):
    return (Ticket.select(*columns)
            .where((Ticket.site == Param("site")) & (Ticket.day == Param("day"))
                   & (Ticket.status == "waiting")
                   & Ticket.service.in_(CounterService.select(CounterService.service)
                                        .where(CounterService.counter == Param("counter")))))


_CONSOLE_LIST = prepared(lambda: (
    _waiting_for_counter(Ticket.number, Service.name, Ticket.priority_group, Ticket.source,
                         Ticket.issued_at)
    .join(Service)
    .order_by(*queue_order(Param("now")))
    .limit(CONSOLE_LIST_LENGTH)))
_CONSOLE_WAITING = prepared(lambda: _waiting_for_counter(pw.fn.COUNT(Ticket.id)))


def waiting_counts(site: Site | int, now: dt.datetime) -> dict[str, int]:
    """Tickets waiting today at the hall, by service code (services with none are left
    out): the kiosk, the API and the boards all read this one query. On SQLite it reads
    the counts the triggers keep (`waiting_count`), not the tickets. The board
    publisher runs it after every change to a queue: prepared, rendered once."""
    query = _WAITING_COUNTS_SQLITE if is_sqlite() else _WAITING_COUNTS
    cursor = query.execute(site=site, day=local_day(now))
    return {code: n for code, n in cursor.fetchall()}


_WAITING_COUNTS_SQLITE = prepared(lambda: (
    WaitingCount.select(Service.code, WaitingCount.waiting).join(Service)
    .where((WaitingCount.site == Param("site")) & (WaitingCount.day == Param("day"))
           & (WaitingCount.waiting > 0))))
_WAITING_COUNTS = prepared(lambda: (
    Ticket.select(Service.code, pw.fn.COUNT(Ticket.id))
    .join(Service)
    .where((Ticket.site == Param("site")) & (Ticket.day == Param("day"))
           & (Ticket.status == "waiting"))
    .group_by(Service.code)))


def quota_used(site: Site, service: Service, day: dt.date, now: dt.datetime) -> int:
    """Places of the daily quota already taken: tickets issued, plus online bookings
    that can still check in (their places are promised; walk-ins may not take them)."""
    promised = (Appointment.select(pw.fn.COUNT(Appointment.id))
                .where((Appointment.site == site) & (Appointment.service == service)
                       & (Appointment.day == day) & (Appointment.status == "booked")
                       & (Appointment.end_at > as_utc_naive(now)))
                .scalar())
    return issued_count(site, service, day) + promised


def issued_count(site: Site, service: Service, day: dt.date) -> int:
    return (Ticket.select(pw.fn.COUNT(Ticket.id))
            .where((Ticket.site == site) & (Ticket.service == service) & (Ticket.day == day))
            .scalar())


# --- verbs ---------------------------------------------------------------------------

def _insert(model):
    """INSERT of every column of `model` except an auto id, as a prepared query."""
    fields = [f for f in model._meta.sorted_fields if not isinstance(f, pw.AutoField)]
    return prepared(lambda: model.insert({f: Param(f.name, f) for f in fields}))


_INSERT_TICKET = _insert(Ticket)
_INSERT_EVENT = _insert(TicketEvent)


def _record(ticket: Ticket, kind: str, now: dt.datetime, counter: Counter | None = None,
            by: Actor | str | None = None, **detail) -> None:
    """The ticket's own event (boards, reports) and, for a staff member's action, the
    audit entry; both in the action's transaction."""
    username = by.username if isinstance(by, Actor) else by
    _INSERT_EVENT.execute(ticket=ticket, kind=kind, at=as_utc_naive(now), counter=counter,
                          username=username, detail=detail or None)
    if by is not None:
        audit.record(by, f"ticket.{kind}", f"tiket {ticket.number}", now,
                     site_code=ticket.site.code,
                     after={"counter": counter.code if counter else None, **detail})


def _publish(site: Site, kind: str, ticket: Ticket, counter: Counter | None,
             now: dt.datetime, **extra) -> None:
    event = {"type": kind, "ticket": ticket.id, "number": ticket.number,
             "service": ticket.service.code, "status": ticket.status,
             "counter": counter.code if counter else None,
             "counter_name": counter.name if counter else None,
             "counter_number": counter.number if counter else None,
             "at": iso(now)}
    event.update(extra)
    events.publish_after_commit(site.code, event)


def issue_ticket(site: Site, service: Service, now: dt.datetime,
                 priority_group: str | None = None, source: str = "kiosk",
                 due_at: dt.datetime | None = None) -> Ticket:
    if priority_group is not None and priority_group not in PRIORITY_GROUPS:
        raise Invalid("Kelompok prioritas tidak dikenal.", code="invalid_priority_group",
                      allowed=sorted(PRIORITY_GROUPS))
    if not site.active:
        raise Conflict(f"{site.name} sedang tidak aktif dan tidak menerbitkan nomor antrean.",
                       code="site_inactive")
    day = local_day(now)
    # Hours, holidays and closures are read before the write transaction, so the
    # writer lock (BEGIN IMMEDIATE on SQLite) is held only for the quota count and
    # the three writes. Only a quota needs reading under the lock.
    state = calendar.availability(site, service, now)
    _require_open(state, source)
    with write_transaction():
        if state.quota is not None:  # PostgreSQL: the locked row serialises the count
            lock_rows(SiteService.select().where((SiteService.site == site)
                                                 & (SiteService.service == service))).first()
            _require_open(calendar.availability(
                site, service, now, quota_used(site, service, day, now)), source)
        seq = numbering.take_next(site, service.prefix, day)
        ticket = Ticket(
            site=site, service=service, day=day, prefix=service.prefix, seq=seq,
            number=numbering.format_number(service.prefix, seq),
            priority_group=priority_group, status="waiting",
            issued_at=as_utc_naive(now), source=source,
            due_at=as_utc_naive(due_at) if due_at else None)
        _INSERT_TICKET.execute(**{name: ticket.__data__.get(name)
                                  for name in Ticket._meta.fields})
        _record(ticket, "issued", now, priority_group=priority_group, source=source)
        _publish(site, "issued", ticket, None, now)
    return ticket


def _require_open(state: calendar.Availability, source: str) -> None:
    if not state.open and not (source == "appointment" and state.code == "quota_reached"):
        status = 404 if state.code == "not_offered" else 409
        raise Conflict(state.message, code=state.code, status=status)


# Called inside a call's transaction with (site id, now): "your turn is near" (notify).
CALL_HOOKS = []


def call_next(counter: Counter, now: dt.datetime,
              by: Actor | str | None = None) -> Ticket | None:
    """The oldest eligible waiting ticket for the counter's services, or None."""
    catalogue = catalogue_cache.current()  # read before the transaction (catalogue_cache)
    services = catalogue.counter_service_ids(counter.id)
    site = catalogue.site_by_id(counter.site_id)
    with write_transaction():
        counter = _LOCK_COUNTER.first(Counter, id=counter.id)
        if counter is None:
            raise NotFound("Loket tidak ditemukan.", code="unknown_counter")
        counter.__rel__["site"] = site
        _require_counter_can_call(counter)
        busy = current_ticket(counter)
        if busy is not None:
            raise Conflict(f"Loket masih menangani {busy.number}. Selesaikan atau tandai "
                           "tidak hadir dulu.", code="counter_busy", ticket=busy.id)
        if not services:
            return None
        now_naive = as_utc_naive(now)
        ticket = _head_of_queue(counter.site_id, services, now)
        if ticket is None:
            return None
        taken = _TAKE.execute(counter=counter, at=now_naive, id=ticket.id).rowcount
        if taken != 1:  # pragma: no cover - the locks above make this unreachable
            raise Conflict("Tiket baru saja diambil loket lain. Coba lagi.",
                           code="already_taken")
        if counter.status != "open":
            counter.status = "open"
            counter.save(only=[Counter.status])
        # The row as the UPDATE left it, without reading it back.
        ticket.status, ticket.counter, ticket.called_at = "called", counter, now_naive
        ticket.call_count += 1
        ticket._dirty.clear()
        ticket.__rel__["site"] = site
        ticket.__rel__["service"] = catalogue.service_by_id(ticket.service_id)
        _record(ticket, "called", now, counter, by)
        _publish(site, "call", ticket, counter, now)
        for hook in CALL_HOOKS:
            hook(counter.site_id, now)
    return ticket


_TAKE = prepared(lambda: (
    Ticket.update(status="called", counter=Param("counter", Ticket.counter),
                  called_at=Param("at", Ticket.called_at), call_count=Ticket.call_count + 1)
    .where((Ticket.id == Param("id")) & (Ticket.status == "waiting"))))


def _head_of_queue(site_id: int, services: list[int], now: dt.datetime) -> Ticket | None:
    """The first waiting ticket of these services at the hall in queue order.

    PostgreSQL: one ordered query that skips rows other counters hold (SKIP LOCKED).
    SQLite (one writer at a time, nothing to skip): the heads of the parts of the queue
    order, each an index range, in one statement: the first priority ticket, the first
    due appointment, and each service's first walk-in (migration 0600's indexes); the
    first of those in `queue_key` order is the head, so the cost does not grow with the
    lane."""
    now_naive = as_utc_naive(now)
    day = local_day(now)
    if not is_sqlite():
        return skip_locked(
            Ticket.select()
            .where((Ticket.site == site_id) & (Ticket.day == day)
                   & (Ticket.status == "waiting") & (Ticket.service.in_(services)))
            .order_by(*queue_order(now_naive))
            .limit(1)).first()
    sql, params = _heads_sql(len(services)), []
    marks = list(services)
    params += [site_id, day, *marks, now_naive]  # priority
    params += [site_id, day, *marks, now_naive]  # due
    for service_id in services:
        params += [site_id, day, service_id, now_naive]
    cursor = database.execute_sql(sql, params)
    heads = rows_as(Ticket, cursor.description, cursor.fetchall())
    return min(heads, key=lambda t: queue_key(t, now_naive)) if heads else None


_HEADS_SQL: dict[int, str] = {}


def _heads_sql(n_services: int) -> str:
    sql = _HEADS_SQL.get(n_services)
    if sql is None:
        columns = ", ".join(f'"{f.column_name}"' for f in Ticket._meta.sorted_fields)
        marks = ", ".join("?" * n_services)
        where = "WHERE site_id = ? AND day = ? AND status = 'waiting' AND "
        base = f"SELECT {columns} FROM ticket {where}"
        time_order = "COALESCE(due_at, issued_at), issued_at, id"
        parts = [  # (without statistics the planner would walk the lane for the first)
            f"SELECT {columns} FROM ticket INDEXED BY ticket_waiting_priority {where}"
            f"service_id IN ({marks}) AND priority_group IS NOT NULL "
            "ORDER BY CASE WHEN due_at IS NOT NULL AND due_at <= ? THEN 0 ELSE 1 END, "
            f"{time_order} LIMIT 1",
            base + f"service_id IN ({marks}) AND priority_group IS NULL "
            f"AND due_at IS NOT NULL AND due_at <= ? ORDER BY {time_order} LIMIT 1",
        ] + [
            base + "service_id = ? AND priority_group IS NULL "
            f"AND (due_at IS NULL OR due_at > ?) ORDER BY {time_order} LIMIT 1"
        ] * n_services
        sql = _HEADS_SQL[n_services] = " UNION ALL ".join(
            f"SELECT * FROM ({part})" for part in parts)
    return sql


def _require_counter_can_call(counter: Counter) -> None:
    if not counter.active:
        raise Conflict("Loket ini nonaktif dan tidak dapat memanggil.",
                       code="counter_inactive")
    if counter.status == "paused":
        raise Conflict("Loket sedang jeda. Lanjutkan loket dulu.", code="counter_paused")


def recall(counter: Counter, now: dt.datetime, by: Actor | str | None = None) -> Ticket:
    with write_transaction():
        ticket = current_ticket(counter)
        if ticket is None or ticket.status != "called":
            raise Conflict("Tidak ada nomor yang sedang dipanggil di loket ini.",
                           code="no_current_ticket")
        ticket.call_count += 1
        ticket.save(only=[Ticket.call_count])
        _record(ticket, "recalled", now, counter, by)
        _publish(counter.site, "recall", ticket, counter, now)
    return ticket


def _transition(ticket_id: str, action: str, now: dt.datetime, by: Actor | str | None,
                apply, **detail) -> Ticket:
    """Lock the ticket, check the transition is allowed from its current status,
    apply the change, audit it and publish it. `apply` may return more detail for the
    ticket's event."""
    catalogue = catalogue_cache.current()  # read before the transaction (catalogue_cache)
    with write_transaction():
        ticket = _LOCK_TICKET.first(Ticket, id=ticket_id)
        if ticket is None:
            raise NotFound("Tiket tidak ditemukan.", code="unknown_ticket")
        attach(ticket, catalogue)
        if ticket.status not in ALLOWED_FROM[action]:
            raise Conflict(
                f"Tiket {ticket.number} berstatus '{STATUS_LABELS[ticket.status]}'; "
                f"aksi ini tidak bisa dilakukan.", code="invalid_transition",
                status_now=ticket.status, action=action)
        counter = ticket.counter
        detail.update(apply(ticket) or {})
        changed = tuple(sorted(ticket._dirty))
        if changed:
            _save_ticket(changed).execute(id=ticket.id, **{
                name: ticket.__data__.get(name) for name in changed})
        ticket._dirty.clear()
        _record(ticket, action, now, counter, by, **detail)
        _publish(ticket.site, action, ticket, counter, now)
    return ticket


@functools.cache
def _save_ticket(names: tuple[str, ...]) -> Prepared:
    """An UPDATE of only the columns a transition changed (one prepared statement per
    set of them): SQLite rewrites the entries of every index on a column that is SET,
    changed or not, and each index page rewritten is another page in the commit."""
    fields = [Ticket._meta.fields[name] for name in names]
    return prepared(lambda: Ticket.update({field: Param(field.name, field) for field in fields})
                    .where(Ticket.id == Param("id", Ticket.id)))


def start(ticket_id: str, now: dt.datetime, by: Actor | str | None = None) -> Ticket:
    def apply(t):
        t.status, t.started_at = "serving", as_utc_naive(now)
    return _transition(ticket_id, "start", now, by, apply)


def finish(ticket_id: str, outcome: str, now: dt.datetime,
           by: Actor | str | None = None) -> Ticket:
    if outcome not in OUTCOMES:
        raise Invalid("Hasil layanan tidak dikenal.", code="invalid_outcome",
                      allowed=sorted(OUTCOMES))

    def apply(t):
        t.status, t.outcome, t.finished_at = "done", outcome, as_utc_naive(now)
        t.started_at = t.started_at or t.finished_at
    return _transition(ticket_id, "finish", now, by, apply, outcome=outcome)


def no_show(ticket_id: str, now: dt.datetime, by: Actor | str | None = None) -> Ticket:
    def apply(t):
        t.status, t.finished_at = "no_show", as_utc_naive(now)
    return _transition(ticket_id, "no_show", now, by, apply)


def requeue(ticket_id: str, now: dt.datetime, by: Actor | str | None = None) -> Ticket:
    """A no-show comes back: waiting again, keeping its number and place."""
    def apply(t):
        t.status, t.counter, t.finished_at = "waiting", None, None
    return _transition(ticket_id, "requeue", now, by, apply)


def cancel(ticket_id: str, now: dt.datetime, by: Actor | str | None = None) -> Ticket:
    def apply(t):
        t.status, t.finished_at = "cancelled", as_utc_naive(now)
    return _transition(ticket_id, "cancel", now, by, apply)


def transfer(ticket_id: str, service: Service, now: dt.datetime,
             by: Actor | str | None = None) -> Ticket:
    """Move to another service's lane, keeping the number and the place by issue time."""
    def apply(t):
        calendar.require_offered(t.site, service)
        if service.id == t.service_id:
            raise Conflict("Tiket sudah berada di layanan itu.", code="same_service")
        left = t.service.code
        t.service, t.status, t.counter = service, "waiting", None
        t.called_at = t.started_at = None
        return {"from": left}  # the reports count the transfer where the citizen left
    return _transition(ticket_id, "transfer", now, by, apply, to=service.code)


def set_counter_status(counter: Counter, status: str, now: dt.datetime,
                       by: Actor | str | None = None) -> Counter:
    if status not in ("open", "paused", "closed"):
        raise Invalid("Status loket tidak dikenal.", code="invalid_status")
    with write_transaction():
        counter = lock_rows(Counter.select().where(Counter.id == counter.id)).get()
        if status != "closed" and not counter.active:
            raise Conflict("Loket ini nonaktif dan tidak dapat dibuka.",
                           code="counter_inactive")
        if status == "closed" and current_ticket(counter) is not None:
            raise Conflict("Selesaikan nomor yang sedang dilayani sebelum menutup loket.",
                           code="counter_busy")
        if counter.status != status:
            before = counter.status
            counter.status = status
            counter.save(only=[Counter.status])
            if by is not None:
                audit.record(by, "counter.status", f"loket {counter.code}", now,
                             site_code=counter.site.code, before={"status": before},
                             after={"status": status})
            events.publish_after_commit(counter.site.code, {
                "type": f"counter_{'opened' if status == 'open' else status}",
                "counter": counter.code, "counter_name": counter.name,
                "status": status, "at": iso(now),
                "by": by.username if isinstance(by, Actor) else by})
    return counter


def counters_of(site: Site, include_inactive: bool = False) -> list[Counter]:
    """The hall's counters by number; inactive ones only when asked (administration)."""
    query = Counter.select().where(Counter.site == site)
    if not include_inactive:
        query = query.where(Counter.active == True)  # noqa: E712
    return list(query.order_by(Counter.number))


def services_of_counter(counter: Counter) -> list[Service]:
    """The counter's services in its own order (CounterService.position)."""
    return list(Service.select().join(CounterService)
                .where(CounterService.counter == counter)
                .order_by(CounterService.position, Service.prefix, Service.code))


def services_by_counter(counters: list[Counter]) -> dict[int, list[Service]]:
    """Each counter's services in its order, in one query (the console's choice)."""
    out: dict[int, list[Service]] = {c.id: [] for c in counters}
    if not counters:
        return out
    rows = (CounterService.select(CounterService, Service).join(Service)
            .where(CounterService.counter.in_(list(out)))
            .order_by(CounterService.position, Service.prefix, Service.code))
    for link in rows:
        out[link.counter_id].append(link.service)
    return out


def services_at(site: Site) -> list[Service]:
    return list(Service.select().join(SiteService, on=(SiteService.service == Service.id))
                .where((SiteService.site == site) & (SiteService.active == True))  # noqa: E712
                .order_by(Service.prefix, Service.code))


def recent_no_shows(site: Site, service_ids: list[int], now: dt.datetime,
                    limit: int = 10) -> list[Ticket]:
    return list(Ticket.select()
                .where((Ticket.site == site) & (Ticket.day == local_day(now))
                       & (Ticket.status == "no_show") & (Ticket.service.in_(service_ids)))
                .order_by(Ticket.finished_at.desc()).limit(limit))


def served_between(site: Site, first: dt.date, last: dt.date) -> int:
    """Tickets served to the end at the hall over WITA days `first`..`last`: the
    population a survey's sample is measured against. Where the hall's tickets are
    (the hall, all-in-one) they are the freshest count; at the centre a hall with a box
    of its own has no tickets here, only the visit facts it sent: the larger of the two
    is the most complete."""
    tickets = (Ticket.select().where((Ticket.site == site) & (Ticket.status == "done")
                                     & (Ticket.day >= first) & (Ticket.day <= last)).count())
    facts = (VisitFact.select().where((VisitFact.site == site) & (VisitFact.status == "done")
                                      & (VisitFact.day >= first) & (VisitFact.day <= last))
             .count())
    return max(tickets, facts)
