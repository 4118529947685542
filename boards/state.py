"""What a board shows, built once: `board_state(site, now)` is the one structure for the
first page load, the websocket snapshot and the status endpoint, so they never disagree.

Events then carry just enough to keep it current (`enrich`): the speech text and audio
address of a call, and the hall's waiting counts after any change to the queue.
"""
import datetime as dt

from app.clock import iso, local_day
from app.domain import audit, catalogue_cache, hall_state, queueing
from app.models import Counter, CounterService, Service, Site, Ticket, TicketEvent

from . import audio, speech

RECENT_CALLS = 8
# Events after which the hall's waiting counts may differ.
QUEUE_CHANGES = {"issued", "call", "transfer", "requeue", "cancel", "checked_in"}


def board_state(site: Site, now: dt.datetime) -> dict:
    day = local_day(now)
    counters = queueing.counters_of(site)
    links = (CounterService.select(CounterService.counter, Service.code)
             .join(Service).where(CounterService.counter.in_([c.id for c in counters]))
             .tuples()) if counters else []
    served: dict[int, list[str]] = {}
    for counter_id, code in links:
        served.setdefault(counter_id, []).append(code)
    active = {t.counter_id: t for t in (
        Ticket.select().where((Ticket.site == site) & (Ticket.day == day)
                              & (Ticket.status.in_(queueing.ACTIVE))
                              & Ticket.counter.is_null(False))
        .order_by(Ticket.called_at))}
    calls = _recent_calls(site, day)
    return {
        "site": {"code": site.code, "name": site.name, "kind": site.kind,
                 "reading_style": site.reading_style},
        "day": day.isoformat(),
        "generated_at": iso(now),
        "running_text": site.running_text or "",
        "voice": {"server": audio.available()},
        "latest": calls[0] if calls else None,
        "recent_calls": calls,
        "counters": [{
            "code": c.code, "name": c.name, "number": c.number, "status": c.status,
            "services": served.get(c.id, []),
            "current": _current(active.get(c.id)),
        } for c in counters],
        "services": waiting_rows(site, now),
    }


def _current(ticket: Ticket | None) -> dict | None:
    if ticket is None:
        return None
    return {"number": ticket.number, "status": ticket.status,
            "called_at": iso(ticket.called_at)}


def _recent_calls(site: Site, day: dt.date) -> list[dict]:
    """The last calls of the day, newest first, one line per ticket."""
    rows = (TicketEvent.select(TicketEvent, Ticket, Counter, Service)
            .join(Ticket).join(Service)
            .switch(TicketEvent).join(Counter)
            .where((Ticket.site == site) & (Ticket.day == day)
                   & (TicketEvent.kind.in_(["called", "recalled"])))
            .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
            .limit(RECENT_CALLS * 4))
    calls, seen = [], set()
    for event in rows:
        if event.ticket_id in seen:
            continue
        seen.add(event.ticket_id)
        calls.append(call_dict(site, event.ticket.number, event.counter,
                               event.ticket.service.code, event.at))
        if len(calls) == RECENT_CALLS:
            break
    return calls


def call_dict(site: Site, number: str, counter: Counter, service_code: str, at) -> dict:
    return {"number": number, "counter": counter.code, "counter_name": counter.name,
            "counter_number": counter.number, "service": service_code, "at": iso(at),
            "speech": speech.call_text(number, counter.number, site.reading_style),
            "audio": audio.url(site.code, number, counter.number)}


def waiting_rows(site: Site, now: dt.datetime) -> list[dict]:
    counts = queueing.waiting_counts(site, now)
    return [{"code": s.code, "name": s.name, "prefix": s.prefix,
             "waiting": counts.get(s.code, 0)} for s in queueing.services_at(site)]


def enrich(site_code: str, event: dict, counts: dict | None = None) -> dict:
    """Add what boards need to an event from the domain, once, at the publisher: the
    speech text and audio address of a call or recall, the waiting counts after a
    change to the queue. Runs after commit with the publisher's connection. `counts`
    (the publisher's, per batch of events) keeps each hall's counts per day once read:
    every event of the batch committed before, so they are current for each."""
    kind = event.get("type")
    if kind not in ("call", "recall") and kind not in QUEUE_CHANGES:
        return event
    site = catalogue_cache.current().site(site_code)
    if site is None:
        return event
    event = dict(event)
    if kind in ("call", "recall") and event.get("counter_number") is not None:
        event["speech"] = speech.call_text(event["number"], event["counter_number"],
                                           site.reading_style)
        event["audio"] = audio.url(site.code, event["number"], event["counter_number"])
        audio.prepare_async(event["speech"])
    if kind in QUEUE_CHANGES:
        moment = dt.datetime.fromisoformat(event["at"]) if event.get("at") else None
        if moment is not None:
            key = (site.id, local_day(moment))
            if counts is None or key not in counts:
                waiting = queueing.waiting_counts(site.id, moment)
                if counts is None:
                    event["waiting"] = waiting
                    return event
                counts[key] = waiting
            event["waiting"] = dict(counts[key])
    return event


def filter_state(state: dict, counters: list[str], services: list[str]) -> dict:
    """A board limited to some counters and/or services (?counters=L1,L2&services=...).
    static/board.js applies the same rules to live events."""
    if not counters and not services:
        return state
    state = dict(state)

    def counter_ok(code, served=None):
        if counters and code not in counters:
            return False
        return not services or served is None or bool(set(served) & set(services))

    def call_ok(call):
        return ((not counters or call["counter"] in counters)
                and (not services or call["service"] in services))

    state["counters"] = [c for c in state["counters"]
                         if counter_ok(c["code"], c["services"])]
    state["recent_calls"] = [c for c in state["recent_calls"] if call_ok(c)]
    state["latest"] = state["recent_calls"][0] if state["recent_calls"] else None
    if services:
        state["services"] = [s for s in state["services"] if s["code"] in services]
    elif counters:
        served = {code for c in state["counters"] for code in c["services"]}
        state["services"] = [s for s in state["services"] if s["code"] in served]
    return state


def update_board(site: Site, now: dt.datetime, actor=None,
                 running_text: str | None = None, reading_style: str | None = None) -> Site:
    """The supervisor's settings of a hall's boards: the running text (pushed to the
    boards at once) and how ticket numbers are read aloud. None leaves a value as is.
    `actor` (an audit.Actor or a username) is written to the audit trail as
    `board.update`, in the change's transaction."""
    from app import events
    from app.db import write_transaction
    from app.domain import plaintext
    from app.errors import Invalid

    changes = {}
    if running_text is not None:
        running_text = plaintext.single_line(running_text, "text", "Teks berjalan")
        if len(running_text) > 500:
            raise Invalid("Teks berjalan paling banyak 500 karakter.", code="invalid_field",
                          field="text")
        changes["running_text"] = running_text
    if reading_style is not None:
        if reading_style not in speech.READING_STYLES:
            raise Invalid("Cara membaca nomor tidak dikenal.", code="invalid_field",
                          field="reading_style", allowed=sorted(speech.READING_STYLES))
        changes["reading_style"] = reading_style
    if not changes:
        return site
    username = getattr(actor, "username", actor)
    with write_transaction():
        current = Site.get_by_id(site.id)
        before = {name: getattr(current, name) for name in changes}
        Site.update(**changes).where(Site.id == site.id).execute()
        old, new = audit.changed(before, changes)
        if new:
            audit.record(actor or audit.SYSTEM, "board.update", f"board {site.code}", now,
                         site_code=site.code, before=old, after=new)
            hall_state.changed(site.id, now)
        if "running_text" in changes:
            events.publish_after_commit(site.code, {
                "type": "running_text", "text": changes["running_text"], "at": iso(now),
                "by": username})
        if "reading_style" in new:
            events.publish_after_commit(site.code, {"type": "catalogue_changed",
                                                    "at": iso(now)})
    for name, value in changes.items():
        setattr(site, name, value)
    return site


def call_given_out_today(site: Site, number: str, counter_number: int,
                         now: dt.datetime) -> bool:
    """A number issued at this hall today and a counter of this hall: the only calls
    whose audio may be rendered (so the speech cache cannot be filled by guessing)."""
    return (Counter.select().where((Counter.site == site)
                                   & (Counter.number == counter_number)).exists()
            and Ticket.select().where((Ticket.site == site)
                                      & (Ticket.day == local_day(now))
                                      & (Ticket.number == number)).exists())
