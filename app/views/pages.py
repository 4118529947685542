"""Public pages: the index of halls and the ticket's own tracking page."""
from flask import Blueprint, render_template

from .. import serializers
from ..domain import queueing
from ..http import now, track_url
from ..models import Site

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    sites = list(Site.select().order_by(Site.kind.desc(), Site.name))
    return render_template("index.html", sites=sites)


@bp.get("/t/<ticket_id>")
def track_ticket(ticket_id):
    ticket = queueing.get_ticket(ticket_id)
    data = serializers.ticket_dict(ticket, now(), track_url(ticket.id))
    return render_template("ticket_status.html", ticket=data, site=ticket.site)
