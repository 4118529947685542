"""Models to plain dicts for the JSON API and the templates."""
import datetime as dt

from .clock import iso
from .domain import calendar, estimates, queueing
from .models import Counter, Service, Site, Ticket


def site_dict(site: Site) -> dict:
    return {"code": site.code, "name": site.name, "kind": site.kind,
            "region_code": site.region_code}


def ticket_dict(ticket: Ticket, now: dt.datetime, track_url: str) -> dict:
    ahead = queueing.waiting_before(ticket, now)
    counter = ticket.counter
    return {
        "id": ticket.id,
        "number": ticket.number,
        "site": ticket.site.code,
        "service": ticket.service.code,
        "service_name": ticket.service.name,
        "status": ticket.status,
        "status_label": queueing.STATUS_LABELS[ticket.status],
        "priority_group": ticket.priority_group,
        "source": ticket.source,
        "counter": counter.code if counter else None,
        "counter_name": counter.name if counter else None,
        "outcome": ticket.outcome,
        "issued_at": iso(ticket.issued_at),
        "called_at": iso(ticket.called_at),
        "waiting_before": ahead,
        "estimated_wait_minutes": (estimates.estimated_wait_minutes(
            ticket.site, ticket.service, ahead) if ticket.status == "waiting" else 0),
        "track_url": track_url,
    }


def service_rows(site: Site, now: dt.datetime) -> list[dict]:
    """Every service of the hall with whether it takes tickets now: one structure for
    the API and the kiosk."""
    waiting = queueing.waiting_counts(site, now)
    day = calendar.to_local(now).date()
    rows = []
    for service in queueing.services_at(site):
        used = queueing.quota_used(site, service, day, now)
        state = calendar.availability(site, service, now, used)
        n = waiting.get(service.code, 0)
        rows.append({
            "code": service.code, "name": service.name, "agency": service.agency.name,
            "prefix": service.prefix, "open": state.open, "closed_code": state.code,
            "closed_message": state.message, "hours_today": state.hours_today,
            "waiting": n,
            "estimated_wait_minutes": estimates.estimated_wait_minutes(site, service, n),
            "requirements": service.requirements, "fee": service.fee,
        })
    return rows


def counter_dict(counter: Counter, staff: bool = False) -> dict:
    """A counter and the number it serves. A ticket's id is its private page's
    capability (`/t/<id>`): only staff answers (`staff=True`) carry it."""
    current = queueing.current_ticket(counter)
    now_serving = None
    if current:
        now_serving = {"number": current.number, "status": current.status}
        if staff:
            now_serving = {"id": current.id, **now_serving}
    return {
        "code": counter.code, "name": counter.name, "number": counter.number,
        "services": [s.code for s in queueing.services_of_counter(counter)],
        "status": counter.status,
        "current": now_serving,
    }


def service_brief(service: Service) -> dict:
    return {"code": service.code, "name": service.name, "prefix": service.prefix}
