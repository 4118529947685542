"""The lobby kiosk: a touch screen, services as big buttons, a ticket on tap.

`?kiosk=<code>` names the kiosk (app.models.Kiosk) a screen runs as, and so how its
tickets print; without it the hall's first kiosk is used."""
from flask import Blueprint, render_template, request

from .. import serializers
from ..domain import queueing
from ..errors import DomainError
from ..printing import kiosks, tickets
from ..web.inputs import now
from ..web.ratelimit import limit
from ..web.responses import page_or_fragment
from ..web.urls import ticket_page_url

bp = Blueprint("kiosk", __name__, url_prefix="/k")
RETURN_AFTER_SECONDS = 20


def _kiosk_code():
    return (request.values.get("kiosk") or "")[:20] or None


def _start_context(site):
    return {"site": site, "services": serializers.service_rows(site, now()),
            "priority_groups": queueing.PRIORITY_GROUPS, "kiosk_code": _kiosk_code()}


@bp.get("/<site_code>")
def start(site_code):
    site = queueing.get_site(site_code)
    return page_or_fragment("kiosk.html", "_partials/kiosk_start.html",
                            **_start_context(site))


@bp.get("/<site_code>/services")
def services(site_code):
    site = queueing.get_site(site_code)
    return render_template("_partials/kiosk_services.html", **_start_context(site))


@bp.post("/<site_code>/tickets")
@limit("RATE_LIMIT_TICKETS")
def take_ticket(site_code):
    site = queueing.get_site(site_code)
    priority = request.form.get("priority_group") or None
    moment = now()
    try:
        kiosk = kiosks.kiosk_for(site, _kiosk_code())
        service = queueing.get_service(request.form.get("service", ""))
        ticket = queueing.issue_ticket(site, service, moment, priority_group=priority)
    except DomainError as exc:
        return render_template("_partials/kiosk_message.html", site=site, message=exc.message,
                               kiosk_code=_kiosk_code(),
                               return_after=RETURN_AFTER_SECONDS // 2), exc.status
    # Committed: whatever happens to the paper now, the citizen has a number.
    page_url = ticket_page_url(ticket.id)
    printout = tickets.queue_ticket(ticket, kiosk, moment, page_url)
    data = serializers.ticket_dict(ticket, moment, page_url)
    return render_template("_partials/kiosk_ticket.html", site=site, ticket=data,
                           priority_label=queueing.PRIORITY_GROUPS.get(priority or ""),
                           kiosk_code=_kiosk_code(), printout=printout,
                           return_after=RETURN_AFTER_SECONDS), 201
