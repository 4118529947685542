"""What a hall decides itself, reported to the centre.

A hall keeps its own counters (and the services each serves), kiosks, board settings,
its own closures and its staff; the centre's catalogue never overwrites them. So that the
centre can report on every hall (counters, operators) and see how each is set up, every
such change at a hall's own box (`site` role) puts the hall's whole local state on its
outbox, in the change's transaction: the newest snapshot is what the centre keeps
(`HallState`), so snapshots that arrive twice or out of order change nothing. In
`all-in-one` and at the centre the rows are already where the reports read them, and
nothing is sent.
"""
import datetime as dt

from ..clock import as_utc_naive
from ..models import (
    Closure,
    Counter,
    CounterService,
    HallState,
    Kiosk,
    Service,
    Site,
    User,
)
from . import forwarding, link_rows, seed

KIND = "hall.state"


def snapshot(site: Site) -> dict:
    counters = list(Counter.select().where(Counter.site == site).order_by(Counter.number))
    services = {}
    for link in (CounterService.select(CounterService, Service).join(Service)
                 .where(CounterService.counter.in_([c.id for c in counters] or [0]))
                 .order_by(CounterService.position, Service.prefix, Service.code)):
        services.setdefault(link.counter_id, []).append(link.service.code)
    return {
        "board": {"running_text": site.running_text, "reading_style": site.reading_style},
        "counters": [{"code": c.code, "name": c.name, "number": c.number,
                      "active": c.active, "services": services.get(c.id, [])}
                     for c in counters],
        "kiosks": [{"code": k.code, "name": k.name, "print_mode": k.print_mode,
                    "paper_width": k.paper_width, "active": k.active}
                   for k in Kiosk.select().where(Kiosk.site == site).order_by(Kiosk.code)],
        "closures": [{"day": c.day.isoformat(), "reason": c.reason, "services": c.services,
                      "batch": c.batch}
                     for c in Closure.select().where((Closure.site == site)
                                                     & (Closure.origin == "hall"))
                     .order_by(Closure.day)],
        "staff": [{"username": u.username, "name": u.full_name, "role": u.role,
                   "active": u.active}
                  for u in User.select().where(User.site == site).order_by(User.username)],
    }


def changed(site: Site | int | None, now: dt.datetime) -> None:
    """Inside the transaction of a hall's own decision: at a hall's box, its local state
    goes up to the centre; anywhere else nothing (the centre has the rows)."""
    if site is None or link_rows.role() != "site" or seed.active():
        return
    if not isinstance(site, Site):
        site = Site.get_by_id(site)
    if not link_rows.serves(site.code):  # another hall's copy on this box: not ours to report
        return
    naive = as_utc_naive(now)
    link_rows.outbox(site.id, site.code, KIND, f"hall:{site.code}",
                     {"taken_at": naive.isoformat(), "state": snapshot(site)}, naive)


def receive_state(site: Site, body, data, content, naive, ctx) -> None:
    """At the centre: keep the hall's newest snapshot."""
    taken = dt.datetime.fromisoformat(data["taken_at"])
    state = data["state"]
    if not isinstance(state, dict):
        raise ValueError("state")
    row = HallState.get_or_none(HallState.site == site)
    if row is None:
        HallState.create(site=site, taken_at=taken, state=state, received_at=naive)
    elif taken > row.taken_at:
        (HallState.update(taken_at=taken, state=state, received_at=naive)
         .where(HallState.id == row.id).execute())


def reported(site: Site) -> HallState | None:
    return HallState.get_or_none(HallState.site == site)


forwarding.register_message_kind(KIND, receive_state)
