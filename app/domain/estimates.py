"""Estimated wait from rolling service times and the counters open for a service."""
import math

import peewee as pw

from ..db import Param, prepared
from ..models import Counter, CounterService, Service, Site, Ticket

ROLLING_WINDOW = 20


# Run for every ticket shown: prepared, rendered to SQL once (app/db.py).
def _recent_done(*extra):
    return (Ticket.select(Ticket.called_at, Ticket.finished_at, *extra)
            .where((Ticket.site == Param("site")) & (Ticket.service == Param("service"))
                   & (Ticket.status == "done") & Ticket.called_at.is_null(False)
                   & Ticket.finished_at.is_null(False))
            .order_by(Ticket.finished_at.desc())
            .limit(ROLLING_WINDOW))


def _open_counters():
    return (Counter.select(pw.fn.COUNT(Counter.id))
            .join(CounterService)
            .where((Counter.site == Param("site")) & (Counter.status == "open")
                   & (CounterService.service == Param("service"))))


_RECENT_DONE = prepared(_recent_done)
_OPEN_COUNTERS = prepared(_open_counters)


def _mean(rows, service: Service) -> float:
    called, finished = Ticket.called_at.python_value, Ticket.finished_at.python_value
    durations = [(finished(row[1]) - called(row[0])).total_seconds() / 60 for row in rows]
    if not durations:
        return float(service.standard_minutes)
    return max(1.0, sum(durations) / len(durations))


def mean_service_minutes(site: Site, service: Service) -> float:
    return _mean(_RECENT_DONE.execute(site=site, service=service).fetchall(), service)


def open_counters(site: Site, service: Service) -> int:
    return _OPEN_COUNTERS.scalar(site=site, service=service) or 0


def estimated_wait_minutes(site: Site, service: Service, people_ahead: int) -> int:
    if people_ahead <= 0:
        return 0
    # One statement for both (every ticket shown runs it): the recent service times,
    # each row carrying the open counters; a service with none served yet today's
    # history asks the counters alone.
    rows = _RECENT_DONE_AND_COUNTERS.execute(site=site, service=service).fetchall()
    counters = (rows[0][2] if rows else open_counters(site, service)) or 0
    return math.ceil(people_ahead * _mean(rows, service) / max(1, counters))


_RECENT_DONE_AND_COUNTERS = prepared(lambda: (
    _recent_done(_open_counters().alias("open_counters"))))
