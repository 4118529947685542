"""Visit facts: every ticket's timeline folded into one row that the reports read.

The ticket path writes nothing extra: `refresh` follows the ticket events (a cursor on
their id) and rebuilds the fact of every ticket that moved, in one transaction. At a
hall's own box (`site` role) the facts that changed go up to the centre on the outbox in
that same transaction, so each change is forwarded exactly once; the centre keeps the
newest version of each fact (`receive_facts`), so a late or repeated batch changes
nothing, and a day the link was down lands on its own day because a fact carries its
day. The centre builds its own hall's facts the same way; in `all-in-one` one database
holds every hall's facts.

On PostgreSQL an event with a lower id can commit after one with a higher id, so each
refresh also looks again at the last `OVERLAP` events behind the cursor; a rebuilt fact
that did not change is neither written nor sent.
"""
import datetime as dt

from ..clock import as_utc_naive, local_day, to_local
from ..db import is_sqlite, lock_or_create, write_transaction
from ..models import (
    Counter,
    ForwardingMessage,
    HallPulse,
    Service,
    Site,
    Ticket,
    TicketEvent,
    VisitCursor,
    VisitDay,
    VisitFact,
)
from . import forwarding, link_rows

KIND = "visit.facts"
BATCH_TICKETS = 2000
FACTS_PER_MESSAGE = 500
OVERLAP = 2000  # PostgreSQL only: late commits behind the cursor
STAFF_KINDS = {"called", "recalled", "start", "finish", "no_show", "requeue", "cancel",
               "transfer"}
FIELDS = [f.name for f in VisitFact._meta.sorted_fields if f.name not in ("id",)]


def _seconds(later: dt.datetime | None, earlier: dt.datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, int((later - earlier).total_seconds()))


def build(ticket: Ticket, events: list[TicketEvent], services: dict[int, Service],
          counters: dict[int, str]) -> dict:
    """The fact of one ticket from the ticket row and its events (oldest first)."""
    first_call = next((e.at for e in events if e.kind == "called"), None)
    transfers = [e for e in events if e.kind == "transfer"]
    first_service = None
    if transfers:
        left = (transfers[0].detail or {}).get("from")
        first_service = next((s.id for s in services.values() if s.code == left), None)
    staff = [e for e in events if e.kind in STAFF_KINDS]
    handled = next((e for e in reversed(staff) if e.counter_id), None)
    operator = next((e.username for e in reversed(staff) if e.username), None)
    arrival = ticket.issued_at
    if ticket.due_at is not None and ticket.due_at > arrival:
        arrival = ticket.due_at  # an appointment waits from its slot, not its early arrival
    wait = _seconds(first_call, arrival)
    lane = services.get(first_service or ticket.service_id)
    target = lane.target_wait_minutes if lane is not None else None
    local = to_local(ticket.issued_at)
    served = ticket.status == "done"
    return {
        "ticket_ref": ticket.id, "site": ticket.site_id, "day": ticket.day,
        "weekday": local.weekday(), "hour": local.hour,
        "service": ticket.service_id, "first_service": first_service,
        "source": ticket.source, "priority_group": ticket.priority_group,
        "status": ticket.status, "outcome": ticket.outcome,
        "issued_at": ticket.issued_at, "called_at": first_call,
        "started_at": ticket.started_at if served else None,
        "finished_at": ticket.finished_at,
        "wait_seconds": wait,
        "service_seconds": _seconds(ticket.finished_at, ticket.started_at) if served else None,
        "within_target": (wait <= target * 60) if wait is not None and target else None,
        "calls": ticket.call_count, "transfers": len(transfers),
        "requeues": sum(1 for e in events if e.kind == "requeue"),
        "counter_code": counters.get(handled.counter_id) if handled else None,
        "operator": operator,
        "changed_at": events[-1].at if events else ticket.issued_at,
    }


def _same(row: VisitFact, fact: dict) -> bool:
    return all(getattr(row, f if f not in ("site", "service", "first_service")
                       else f + "_id") == fact[f] for f in FIELDS)


def _store(facts: list[dict]) -> list[dict]:
    """Insert or replace facts; the ones that changed."""
    existing = {row.ticket_ref: row for row in VisitFact.select().where(
        VisitFact.ticket_ref.in_([f["ticket_ref"] for f in facts]))}
    changed, new = [], []
    for fact in facts:
        row = existing.get(fact["ticket_ref"])
        if row is None:
            new.append(fact)
        elif not _same(row, fact):
            VisitFact.update(**{k: v for k, v in fact.items() if k != "ticket_ref"}).where(
                VisitFact.id == row.id).execute()
            changed.append(fact)
    for start in range(0, len(new), 100):
        VisitFact.insert_many(new[start:start + 100]).execute()
    return new + changed


def _wire(fact: dict, services: dict[int, Service]) -> dict:
    """A fact as it travels: codes instead of this database's ids, ISO times."""
    out = {}
    for key, value in fact.items():
        if key == "site":
            continue
        if key in ("service", "first_service"):
            value = services[value].code if value else None
        elif isinstance(value, (dt.datetime, dt.date)):
            value = value.isoformat()
        out[key] = value
    return out


def refresh(now: dt.datetime) -> int:
    """Fold every ticket event not yet folded into the facts (in batches); returns the
    number of facts written. At a hall's box, those facts go up on the outbox."""
    total = 0
    while True:
        written, more = _refresh_batch(now)
        total += written
        if not more:
            return total


def _refresh_batch(now: dt.datetime) -> tuple[int, bool]:
    naive = as_utc_naive(now)
    with write_transaction():
        cursor = lock_or_create(VisitCursor.select().where(VisitCursor.name == "tickets"),
                                lambda: VisitCursor.create(name="tickets", last_event_id=0))
        floor = cursor.last_event_id - (0 if is_sqlite() else OVERLAP)
        moved = (TicketEvent.select(TicketEvent.id, TicketEvent.ticket)
                 .where(TicketEvent.id > max(0, floor))
                 .order_by(TicketEvent.id).limit(BATCH_TICKETS * 4).tuples())
        rows = list(moved)
        if not rows:
            return 0, False
        newest = max(cursor.last_event_id, rows[-1][0])
        ticket_ids = list(dict.fromkeys(ticket for _id, ticket in rows))
        tickets = list(Ticket.select().where(Ticket.id.in_(ticket_ids)))
        events: dict[str, list[TicketEvent]] = {}
        for event in (TicketEvent.select().where(TicketEvent.ticket.in_(ticket_ids))
                      .order_by(TicketEvent.id)):
            events.setdefault(event.ticket_id, []).append(event)
        services = {s.id: s for s in Service.select()}
        counters = {c.id: c.code for c in Counter.select(Counter.id, Counter.code)}
        facts = [build(t, events.get(t.id, []), services, counters) for t in tickets]
        changed = _store(facts)
        touch_days({fact["day"] for fact in changed}, local_day(now))
        _forward(changed, services, naive)
        VisitCursor.update(last_event_id=newest).where(VisitCursor.id == cursor.id).execute()
    return len(changed), len(rows) == BATCH_TICKETS * 4


def _forward(facts: list[dict], services: dict[int, Service], naive: dt.datetime) -> None:
    if link_rows.role() != "site" or not facts:
        return
    by_site: dict[int, list[dict]] = {}
    for fact in facts:
        by_site.setdefault(fact["site"], []).append(fact)
    for site in Site.select().where(Site.id.in_(list(by_site))):
        if not link_rows.serves(site.code):
            continue
        batch = by_site[site.id]
        for start in range(0, len(batch), FACTS_PER_MESSAGE):
            link_rows.outbox(site.id, site.code, KIND, f"visits:{site.code}",
                             {"taken_at": naive.isoformat(),
                              "facts": [_wire(f, services)
                                        for f in batch[start:start + FACTS_PER_MESSAGE]]},
                             naive)


# --- at the centre -------------------------------------------------------------------

_TIMES = ("issued_at", "called_at", "started_at", "finished_at", "changed_at")


def _unwire(site: Site, raw: dict, services: dict[str, int]) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("ticket_ref"), str):
        raise ValueError("fact")
    fact = {key: raw.get(key) for key in FIELDS if key != "site"}
    fact["site"] = site.id
    fact["ticket_ref"] = raw["ticket_ref"][:32]
    fact["service"] = services[raw["service"]]  # KeyError: a service the centre lacks
    fact["first_service"] = services.get(raw.get("first_service") or "")
    fact["day"] = dt.date.fromisoformat(raw["day"])
    for key in _TIMES:
        fact[key] = dt.datetime.fromisoformat(raw[key]) if raw.get(key) else None
    if fact["changed_at"] is None or fact["issued_at"] is None:
        raise ValueError("fact times")
    return fact


def receive_facts(site: Site, body, data, content, naive, ctx) -> None:
    """A batch of a hall's facts: each replaces the centre's copy unless that is newer.
    The message id is stored once by `forwarding`, so a batch is applied at most once."""
    services = {s.code: s.id for s in Service.select(Service.id, Service.code)}
    facts = [_unwire(site, raw, services) for raw in data["facts"]]
    existing = {row.ticket_ref: row for row in VisitFact.select(
        VisitFact.id, VisitFact.ticket_ref, VisitFact.site, VisitFact.changed_at)
        .where(VisitFact.ticket_ref.in_([f["ticket_ref"] for f in facts]))}
    written = set()
    for fact in facts:
        row = existing.get(fact["ticket_ref"])
        if row is None:
            VisitFact.insert(**fact).execute()
        elif row.site_id == site.id and fact["changed_at"] >= row.changed_at:
            VisitFact.update(**{k: v for k, v in fact.items() if k != "ticket_ref"}).where(
                VisitFact.id == row.id).execute()
        else:
            continue
        written.add(fact["day"])
    touch_days(written, local_day(naive))


def touch_days(days, today: dt.date) -> None:
    """Facts were written for these days: a closed one's kept tallies (`VisitDay`, the
    reports') are void, and its version rises so that a report that read the day
    before this commit cannot store what it made. Today is never kept, so the facts of
    the day (nearly every write) touch nothing."""
    for day in sorted(d for d in days if d < today):
        (VisitDay.insert(day=day, version=1)
         .on_conflict(conflict_target=[VisitDay.day],
                      update={VisitDay.version: VisitDay.version + 1, VisitDay.tallies: None})
         .execute())


forwarding.register_message_kind(KIND, receive_facts)


# --- the live queue and the pulse ----------------------------------------------------

def live(site: Site | int, now: dt.datetime) -> dict:
    """A hall's queue right now, from its tickets: waiting, the longest wait (from
    arrival, or an appointment's time), served today."""
    day, naive = local_day(now), as_utc_naive(now)
    waiting = list(Ticket.select(Ticket.issued_at, Ticket.due_at).where(
        (Ticket.site == site) & (Ticket.day == day) & (Ticket.status == "waiting")).tuples())
    since = [max(issued, due or issued) for issued, due in waiting]
    served = Ticket.select().where((Ticket.site == site) & (Ticket.day == day)
                                   & (Ticket.status == "done")).count()
    return {"day": day, "waiting": len(waiting),
            "longest_wait_seconds": max([_seconds(naive, s) for s in since] or [0]),
            "served_today": served}


def pulse(site: Site, now: dt.datetime) -> dict:
    """What a hall tells the centre at each pull (after its facts were sent)."""
    pending = (ForwardingMessage.select()
               .where((ForwardingMessage.site == site)
                      & ForwardingMessage.delivered_at.is_null()
                      & ~ForwardingMessage.refused).count())
    figures = live(site, now)
    return {"waiting": figures["waiting"], "longest": figures["longest_wait_seconds"],
            "served": figures["served_today"], "pending": pending,
            "until": int(now.timestamp()), "day": figures["day"].isoformat()}


def _bounded(value, high: int) -> int:
    text = str(value)
    if not text.isdecimal() or len(text) > 12:
        raise ValueError(text[:20])
    return min(int(text), high)


def record_pulse(site: Site, values: dict, now: dt.datetime) -> None:
    """At the centre: a hall's pulse (query values of its pull). A malformed value
    leaves the pulse's figures as they were but still counts as contact."""
    naive = as_utc_naive(now)
    row = {"contact_at": naive}
    try:
        figures = {"waiting": _bounded(values.get("waiting"), 10 ** 6),
                   "longest_wait_seconds": _bounded(values.get("longest"), 10 ** 7),
                   "served_today": _bounded(values.get("served"), 10 ** 6),
                   "pending_messages": _bounded(values.get("pending"), 10 ** 9),
                   "day": dt.date.fromisoformat(str(values.get("day"))[:10])}
        until = _bounded(values.get("until"), 2 ** 40)
        figures["data_until"] = min(naive, dt.datetime.fromtimestamp(until, dt.UTC)
                                    .replace(tzinfo=None))
        row.update(figures)
    except (ValueError, OverflowError, OSError):
        pass
    with write_transaction():
        existing = HallPulse.get_or_none(HallPulse.site == site)
        if existing is None:
            HallPulse.create(site=site, day=row.pop("day", local_day(now)), **row)
        else:
            HallPulse.update(**row).where(HallPulse.id == existing.id).execute()


def reported_pulse(site: Site) -> HallPulse | None:
    return HallPulse.get_or_none(HallPulse.site == site)
