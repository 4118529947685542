"""JSON API v1: the queue (sites, services, tickets, counters, auth). The contract is
the OpenAPI document this app serves. Thin: parse, call one domain function,
serialise."""
import datetime as dt

from flask import Blueprint, abort, current_app, g, jsonify

from .. import centre_link, serializers
from ..db import ready
from ..domain import accounts, catalogue_feed, queueing
from ..models import Site
from ..web.auth import bearer_token, current_actor, token_required
from ..web.inputs import Unauthorized, client_address, field, json_body, now
from ..web.openapi import add_operations, document
from ..web.plumbing import csrf
from ..web.ratelimit import limit
from ..web.urls import ticket_page_url

bp = Blueprint("api", __name__)
csrf.exempt(bp)
add_operations([
    ("post", "/api/v1/auth/logout", "Revoke the caller's bearer token (logout)", "any staff",
     None, {"204": "the token no longer works", "401": "no token, or one already revoked "
            "or expired (invalid_token)"}),
])


def ticket_response(ticket, status=200):
    return jsonify(serializers.ticket_dict(ticket, now(), ticket_page_url(ticket.id))), status


def _staff_ticket(ticket_id):
    ticket = queueing.get_ticket(ticket_id)
    accounts.require_site_role(g.api_user, ticket.site)
    return ticket


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. No database: a load balancer must not restart a
    worker because the database is away (that is `/readyz`)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers a query."""
    if not ready():
        return jsonify(error={"code": "database_unavailable",
                              "message": "Basis data tidak dapat dihubungi. "
                                         "Database unavailable."}), 503
    return jsonify(status="ok", database="ok")


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(document())


@bp.post("/api/v1/auth/token")
def auth_token():
    body = json_body()
    username = field(body, "username", max_length=80)
    password = field(body, "password", max_length=200)
    user = accounts.authenticate(username, password, client_address(), now())
    if user is None:
        raise Unauthorized("Nama pengguna atau kata sandi salah.", code="invalid_credentials")
    accounts.require_password_current(user)
    lifetime = dt.timedelta(hours=current_app.config["TOKEN_LIFETIME_HOURS"])
    token = accounts.issue_token(user, now(), lifetime)
    return jsonify(token=token, role=user.role, sites=accounts.site_codes(user))


@bp.post("/api/v1/auth/logout")
@token_required
def auth_logout():
    accounts.revoke_token(bearer_token())
    return "", 204


@bp.get("/api/v1/catalogue/version")
def catalogue_version():
    """The catalogue this server runs: at a hall, the version it last applied; at the
    centre (and all-in-one), the current one and the one each hall runs."""
    own = centre_link.own_sites(current_app)
    if current_app.config["MPP_ROLE"] == "site" and own:
        site = queueing.get_site(own[0])
        return jsonify(version=catalogue_feed.running_version(site), site=site.code)
    return jsonify(**catalogue_feed.current_version(), sites=catalogue_feed.site_versions())


@bp.get("/api/v1/sites")
def sites():
    rows = Site.select().order_by(Site.id)
    return jsonify(sites=[serializers.site_dict(s) for s in rows])


@bp.get("/api/v1/sites/<site_code>/services")
def services(site_code):
    site = queueing.get_site(site_code)
    keys = ("code", "name", "agency", "prefix", "open", "waiting", "estimated_wait_minutes",
            "hours_today", "closed_message")
    rows = serializers.service_rows(site, now())
    return jsonify(services=[{k: row[k] for k in keys} for row in rows])


@bp.post("/api/v1/sites/<site_code>/tickets")
@limit("RATE_LIMIT_TICKETS")
def issue_ticket(site_code):
    site = queueing.get_site(site_code)
    body = json_body()
    service = queueing.get_service(field(body, "service", max_length=40))
    priority = field(body, "priority_group", required=False, max_length=40)
    ticket = queueing.issue_ticket(site, service, now(), priority_group=priority)
    return ticket_response(ticket, 201)


@bp.get("/api/v1/tickets/<ticket_id>")
def get_ticket(ticket_id):
    return ticket_response(queueing.get_ticket(ticket_id))


@bp.get("/api/v1/sites/<site_code>/counters")
def counters(site_code):
    site = queueing.get_site(site_code)
    return jsonify(counters=[serializers.counter_dict(c) for c in queueing.counters_of(site)])


def _staff_counter(site_code, counter_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(g.api_user, site)
    # call-next, recall and status read the counter's row again in their transaction
    return queueing.get_counter(site, counter_code, status_now=False)


@bp.post("/api/v1/sites/<site_code>/counters/<counter_code>/call-next")
@token_required
def call_next(site_code, counter_code):
    counter = _staff_counter(site_code, counter_code)
    ticket = queueing.call_next(counter, now(), current_actor())
    if ticket is None:
        return "", 204
    return jsonify(ticket=serializers.ticket_dict(ticket, now(), ticket_page_url(ticket.id)))


@bp.post("/api/v1/sites/<site_code>/counters/<counter_code>/recall")
@token_required
def recall(site_code, counter_code):
    counter = _staff_counter(site_code, counter_code)
    ticket = queueing.recall(counter, now(), current_actor())
    return jsonify(ticket=serializers.ticket_dict(ticket, now(), ticket_page_url(ticket.id)))


@bp.post("/api/v1/sites/<site_code>/counters/<counter_code>/status")
@token_required
def counter_status(site_code, counter_code):
    counter = _staff_counter(site_code, counter_code)
    status = field(json_body(), "status", max_length=10)
    counter = queueing.set_counter_status(counter, status, now(), current_actor())
    return jsonify(serializers.counter_dict(counter, staff=True))


@bp.post('/api/v1/tickets/<ticket_id>/<any(start, "no-show", requeue, finish, transfer)'
         ':action>')
@token_required
def ticket_action(ticket_id, action):
    ticket = _staff_ticket(ticket_id)
    user = current_actor()
    if action == "start":
        ticket = queueing.start(ticket.id, now(), user)
    elif action == "no-show":
        ticket = queueing.no_show(ticket.id, now(), user)
    elif action == "requeue":
        ticket = queueing.requeue(ticket.id, now(), user)
    elif action == "finish":
        outcome = field(json_body(), "outcome", max_length=20)
        ticket = queueing.finish(ticket.id, outcome, now(), user)
    elif action == "transfer":
        service = queueing.get_service(field(json_body(), "service", max_length=40))
        ticket = queueing.transfer(ticket.id, service, now(), user)
    else:
        abort(404)
    return ticket_response(ticket)
