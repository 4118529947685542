"""Public pages: the index of halls and the ticket's own tracking page."""
from flask import Blueprint, make_response, render_template

from .. import serializers
from ..clock import local_day
from ..domain import queueing
from ..models import Site
from ..web.inputs import now
from ..web.responses import page_or_fragment
from ..web.urls import ticket_page_url

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    sites = list(Site.select().order_by(Site.kind.desc(), Site.name))
    return render_template("index.html", sites=sites)


LIVE_STATUSES = ("waiting", "called", "serving")


@bp.get("/t/<ticket_id>")
def track_ticket(ticket_id):
    """The citizen's own page for a ticket (the QR code on the paper): status, people
    ahead, estimated wait, the counter once called. htmx polls the small partial every
    15 s while the ticket is live today; no personal data is ever shown."""
    ticket = queueing.get_ticket(ticket_id)
    moment = now()
    data = serializers.ticket_dict(ticket, moment, ticket_page_url(ticket.id))
    live = ticket.status in LIVE_STATUSES and ticket.day == local_day(moment)
    response = make_response(page_or_fragment(
        "ticket_status.html", "_partials/ticket_live.html", ticket=data, site=ticket.site,
        live=live, checked_at=moment, day=ticket.day))
    response.headers["Cache-Control"] = "no-store"
    return response
