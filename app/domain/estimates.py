"""Estimated wait from rolling service times and the counters open for a service."""
import math

import peewee as pw

from ..db import Param, prepared
from ..models import Counter, CounterService, Service, Site, Ticket

ROLLING_WINDOW = 20


# Both run for every ticket shown: prepared, rendered to SQL once (app/db.py).
_RECENT_DONE = prepared(lambda: (
    Ticket.select(Ticket.called_at, Ticket.finished_at)
    .where((Ticket.site == Param("site")) & (Ticket.service == Param("service"))
           & (Ticket.status == "done") & Ticket.called_at.is_null(False)
           & Ticket.finished_at.is_null(False))
    .order_by(Ticket.finished_at.desc())
    .limit(ROLLING_WINDOW)))
_OPEN_COUNTERS = prepared(lambda: (
    Counter.select(pw.fn.COUNT(Counter.id))
    .join(CounterService)
    .where((Counter.site == Param("site")) & (Counter.status == "open")
           & (CounterService.service == Param("service")))))


def mean_service_minutes(site: Site, service: Service) -> float:
    rows = _RECENT_DONE.execute(site=site, service=service).fetchall()
    called, finished = Ticket.called_at.python_value, Ticket.finished_at.python_value
    durations = [(finished(f) - called(c)).total_seconds() / 60 for c, f in rows]
    if not durations:
        return float(service.standard_minutes)
    return max(1.0, sum(durations) / len(durations))


def open_counters(site: Site, service: Service) -> int:
    return _OPEN_COUNTERS.scalar(site=site, service=service) or 0


def estimated_wait_minutes(site: Site, service: Service, people_ahead: int) -> int:
    if people_ahead <= 0:
        return 0
    counters = max(1, open_counters(site, service))
    return math.ceil(people_ahead * mean_service_minutes(site, service) / counters)
