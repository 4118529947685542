"""Notifications, the web side: the gateways' signed callbacks (delivery status, a
citizen's reply), "kabari saya" on the ticket page and its API, the supervisor's failed
messages (retry, mark handled) and the admin's templates with their preview. The pages
are `app/views/admin/notifications.py`."""
from flask import Blueprint, current_app, g, jsonify, redirect, request, url_for

from .. import notify as sender
from ..domain import notify
from ..web import openapi
from ..web.auth import token_required
from ..web.inputs import client_address, json_body, now
from ..web.plumbing import csrf
from ..web.ratelimit import limit

bp = Blueprint("notify", __name__)

SIGNED = {"security": "gateway_signature",
          "headers": {"X-Notify-Timestamp!": "string", "X-Notify-Nonce!": "string"}}
openapi.add_operations([
    ("post", "/api/v1/notify/status", "A gateway's delivery status of one message "
     "(signed; `id` is the message's idempotency key)", None,
     {"id": "string", "status": "delivered|read|failed", "error": "string?"},
     {"200": "recorded", "401": "invalid_signature / stale_request / callbacks_off",
      "404": "unknown_message", "409": "replayed", "413": "body too large",
      "422": "invalid_status / missing_field / invalid_body"}, SIGNED),
    ("post", "/api/v1/notify/inbound", "A citizen's reply through a gateway: BERHENTI or "
     "STOP stops messages to that number, MULAI or START lifts it (signed)", None,
     {"from": "string", "text": "string"},
     {"200": "stopped / started / ignored", "401": "invalid_signature / stale_request / "
      "callbacks_off", "409": "replayed", "413": "body too large",
      "422": "invalid_phone / invalid_body"}, SIGNED),
    ("post", "/api/v1/tickets/{id}/notify", "Kabari saya: a number to get one message "
     "when three tickets are ahead of this one (anyone with the ticket id)", None,
     {"phone": "string"},
     {"201": "watching", "404": "unknown ticket", "409": "ticket_not_waiting",
      "413": "body too large", "422": "invalid_phone", "429": "rate limited"}),
    ("get", "/api/v1/notify/failed", "Messages that failed for good, with the reason",
     "supervisor (own hall) or admin", None,
     {"200": "messages", "401": "no token", "403": "not a supervisor or admin"}),
    ("post", "/api/v1/notify/messages/{id}/retry", "Send a failed message again",
     "supervisor (own hall) or admin", None,
     {"200": "pending again", "401": "no token", "403": "another hall / role",
      "404": "unknown_message", "409": "not_failed"}),
    ("post", "/api/v1/notify/messages/{id}/handled", "Mark a failed message handled "
     "(the citizen was reached another way)", "supervisor (own hall) or admin", None,
     {"200": "handled", "401": "no token", "403": "another hall / role",
      "404": "unknown_message", "409": "not_failed"}),
    ("get", "/api/v1/notify/templates", "Every message template with its variables and "
     "a preview", "admin", None,
     {"200": "templates", "401": "no token", "403": "not an admin"}),
    ("put", "/api/v1/notify/templates/{kind}", "Change a template (`body` null: back to "
     "the shipped text)", "admin", {"body": "string"},
     {"200": "template", "401": "no token", "403": "not an admin", "404": "unknown_kind",
      "413": "body too large", "422": "unknown_variable / invalid_template"}),
    ("post", "/api/v1/notify/templates/{kind}/preview", "Render a template text with "
     "sample values, without saving it", "admin", {"body": "string"},
     {"200": "preview", "401": "no token", "403": "not an admin", "404": "unknown_kind",
      "413": "body too large", "422": "unknown_variable / invalid_template"}),
])


@bp.app_template_global("notify_purpose")
def notify_purpose(purpose: str) -> str:
    """The consent sentence shown beside every field asking for a number."""
    return notify.purpose_text(purpose)


def _signed_body() -> dict:
    settings = current_app.config["SETTINGS"]
    raw = request.get_data(cache=True)
    sender.verify_callback(settings["NOTIFY_CALLBACK_SECRET"], request.headers, raw,
                           int(settings["SYNC_WINDOW_SECONDS"]))
    return json_body()


@bp.post("/api/v1/notify/status")
@csrf.exempt
def delivery_status():
    body = _signed_body()
    return jsonify(notify.delivery_status(body, now()))


@bp.post("/api/v1/notify/inbound")
@csrf.exempt
def inbound():
    body = _signed_body()
    return jsonify(notify.inbound(body, now()))


@bp.post("/api/v1/tickets/<ticket_id>/notify")
@csrf.exempt
@limit("RATE_LIMIT_TRACK")
def watch_ticket(ticket_id):
    body = json_body()
    return jsonify(notify.watch_ticket(ticket_id, body.get("phone"), now())), 201


@bp.post("/t/<ticket_id>/kabari")
@limit("RATE_LIMIT_TRACK")
def watch_ticket_form(ticket_id):
    """The ticket page's form: the same as the API, then back to the page."""
    from ..errors import DomainError
    try:
        notify.watch_ticket(ticket_id, request.form.get("phone"), now())
        result = "ok"
    except DomainError as exc:
        if exc.status == 404:
            raise
        result = exc.code
    return redirect(url_for("pages.track_ticket", ticket_id=ticket_id, kabari=result))


@bp.get("/api/v1/notify/failed")
@token_required
def failed():
    return jsonify({"messages": notify.failed_for(g.api_user)})


@bp.post("/api/v1/notify/messages/<int:row_id>/retry")
@token_required
@csrf.exempt
def retry(row_id):
    return jsonify(notify.retry(g.api_user, row_id, now(), client_address()))


@bp.post("/api/v1/notify/messages/<int:row_id>/handled")
@token_required
@csrf.exempt
def handled(row_id):
    return jsonify(notify.mark_handled(g.api_user, row_id, now(), client_address()))


def _admin():
    from ..domain import accounts
    accounts.require_admin(g.api_user)


@bp.get("/api/v1/notify/templates")
@token_required
def templates():
    _admin()
    return jsonify({"templates": notify.templates()})


@bp.put("/api/v1/notify/templates/<kind>")
@token_required
@csrf.exempt
def set_template(kind):
    _admin()
    body = json_body()
    from ..domain.audit import Actor
    return jsonify(notify.set_template(Actor.of(g.api_user, client_address()), kind,
                                       body.get("body"), now()))


@bp.post("/api/v1/notify/templates/<kind>/preview")
@token_required
@csrf.exempt
def preview(kind):
    _admin()
    return jsonify(notify.preview(kind, json_body().get("body")))
