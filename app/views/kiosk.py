"""The lobby kiosk: a touch screen, services as big buttons, a ticket on tap."""
from flask import Blueprint, render_template, request

from .. import serializers
from ..domain import queueing
from ..errors import DomainError
from ..http import now, track_url
from ..ratelimit import limit

bp = Blueprint("kiosk", __name__, url_prefix="/k")
RETURN_AFTER_SECONDS = 20


def _start_context(site):
    return {"site": site, "services": serializers.service_rows(site, now()),
            "priority_groups": queueing.PRIORITY_GROUPS}


@bp.get("/<site_code>")
def start(site_code):
    site = queueing.get_site(site_code)
    template = "_partials/kiosk_start.html" if request.headers.get("HX-Request") else "kiosk.html"
    return render_template(template, **_start_context(site))


@bp.get("/<site_code>/services")
def services(site_code):
    site = queueing.get_site(site_code)
    return render_template("_partials/kiosk_services.html", **_start_context(site))


@bp.post("/<site_code>/tickets")
@limit("RATE_LIMIT_TICKETS")
def take_ticket(site_code):
    site = queueing.get_site(site_code)
    priority = request.form.get("priority_group") or None
    try:
        service = queueing.get_service(request.form.get("service", ""))
        ticket = queueing.issue_ticket(site, service, now(), priority_group=priority)
    except DomainError as exc:
        return render_template("_partials/kiosk_message.html", site=site, message=exc.message,
                               return_after=RETURN_AFTER_SECONDS // 2), exc.status
    data = serializers.ticket_dict(ticket, now(), track_url(ticket.id))
    return render_template("_partials/kiosk_ticket.html", site=site, ticket=data,
                           priority_label=queueing.PRIORITY_GROUPS.get(priority or ""),
                           return_after=RETURN_AFTER_SECONDS), 201
