"""JSON API for cases: intake and attachments (hall), the receipt, public tracking,
the signed sync endpoints (centre) and the officers' inbox (centre)."""
import datetime as dt
import hmac
import logging
import re

from flask import Blueprint, current_app, g, jsonify, request

from ..centre_link import NONCE_HEADER, SIG_HEADER, SITE_HEADER, TS_HEADER, real_now, signature
from ..clock import iso
from ..domain import (
    accounts,
    attachments,
    cases,
    catalogue_feed,
    forwarding,
    queueing,
    visits,
)
from ..errors import Forbidden, Invalid, NotFound
from ..models import Site
from ..printing import receipts
from ..web import openapi
from ..web.auth import current_actor, token_required
from ..web.inputs import Unauthorized, client_address, field, json_body, now
from ..web.plumbing import csrf
from ..web.ratelimit import limit
from ..web.responses import attachment_response, file_response
from ..web.urls import case_tracking_url

bp = Blueprint("cases_api", __name__)
csrf.exempt(bp)
log = logging.getLogger("mpp.sync")
UPLOAD_SLACK = 64 * 1024  # multipart framing and the small fields around the file


UPLOAD_ENDPOINTS = ("cases_api.upload", "cases.hall_upload")


def _raise_upload_cap():
    """The upload routes accept bodies above the app's global cap. This runs before
    every other before_request hook, because the CSRF check reads the form (and with it
    the body) before the view runs."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = (
            int(current_app.config["SETTINGS"]["UPLOAD_MAX_BYTES"]) + UPLOAD_SLACK)
    elif request.endpoint == "cases_api.sync_cases":
        request.max_content_length = int(
            current_app.config["SETTINGS"]["SYNC_MAX_BODY_BYTES"])


bp.record_once(lambda state: state.app.before_request_funcs.setdefault(None, []).insert(
    0, _raise_upload_cap))


def _role():
    return current_app.config["MPP_ROLE"]


def _centre_only():
    if _role() == "site":
        raise NotFound("Alamat ini hanya ada di server pusat.", code="not_found")


def _staff_case(code):
    case = cases.get_case(code)
    cases.require_hall_staff(g.api_user, case)
    return case


# --- the hall ------------------------------------------------------------------------

@bp.post("/api/v1/cases")
@token_required
def open_case():
    body = json_body()
    ticket = queueing.get_ticket(field(body, "ticket_id", max_length=32))
    accounts.require_site_role(g.api_user, ticket.site)
    service = queueing.get_service(field(body, "service", max_length=40))
    case = cases.open_case(ticket.id, service, body.get("applicant"),
                           field(body, "requirements", kind=list, required=False),
                           body.get("notes"), now(), current_actor())
    return jsonify(tracking_code=case.tracking_code, status=case.status,
                   track_url=case_tracking_url(case.tracking_code)), 201


@bp.get("/api/v1/cases/<code>")
@token_required
def get_case(code):
    return jsonify(cases.staff_dict(_staff_case(code)))


@bp.post("/api/v1/cases/<code>/attachments")
@token_required
def upload(code):
    case = _staff_case(code)
    limit = int(current_app.config["SETTINGS"]["UPLOAD_MAX_BYTES"])
    upload = request.files.get("file")  # the cap was raised by _raise_upload_cap
    if upload is None:
        raise Invalid("Kirim berkas pada kolom 'file' (multipart/form-data).",
                                  code="missing_field", field="file")
    data = upload.stream.read(limit + 1)
    attachment = attachments.add_attachment(case.tracking_code, upload.filename, data, now(),
                                            g.api_user, current_app.config["ATTACHMENT_DIR"], limit)
    return jsonify(id=attachment.uid, name=attachment.original_name,
                   content_type=attachment.content_type, size=attachment.size,
                   sha256=attachment.sha256), 201


@bp.get("/api/v1/cases/<code>/attachments/<uid>")
@token_required
def download(code, uid):
    return attachment_response(_staff_case(code), uid)


@bp.get("/api/v1/cases/<code>/receipt.pdf")
@token_required
def receipt(code):
    case = _staff_case(code)
    return file_response(receipts.receipt_pdf(case, case_tracking_url(case.tracking_code)),
                         "application/pdf", f"{case.tracking_code}.pdf")


@bp.post("/api/v1/cases/<code>/status")
@token_required
def hall_status(code):
    body = json_body()
    case = cases.set_status_hall(code, field(body, "status", max_length=20), now(),
                                 g.api_user, body.get("note"), client=client_address())
    return jsonify(cases.staff_dict(case))


@bp.get("/api/v1/track/<code>")
@limit("RATE_LIMIT_TRACK")
def track(code):
    data = cases.public_dict(cases.get_case(code))
    return jsonify(tracking_code=data["tracking_code"], service=data["service"],
                   service_name=data["service_name"], site=data["site"],
                   status=data["status"], status_label=data["status_label"],
                   missing=data["missing"],
                   history=[{"status": h["status"], "label": h["label"], "at": h["at"]}
                            for h in data["history"]])


@bp.get("/api/v1/sites/<site_code>/sync-status")
@token_required
def sync_status(site_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(g.api_user, site, ("supervisor",),
                               f"Status tautan ke pusat hanya untuk supervisor {site.name}.")
    state = forwarding.link_status(site, now())
    for key in ("oldest_waiting_at", "last_success_at", "last_error_at"):
        state[key] = iso(state[key])
    return jsonify(state)


# --- the centre: signed sync ---------------------------------------------------------

def _refuse(reason: str, site: str, status: int = 401):
    safe_site = re.sub(r"[^a-z0-9-]", "?", site[:40])
    log.warning("sync request refused: %s site=%s from=%s %s %s", reason, safe_site,
                client_address(), request.method, request.path)
    raise Unauthorized("Permintaan sinkronisasi ditolak.", code=reason, status=status)


def _signed_site() -> Site:
    """The hall this request is signed by, after the signature, the clock window and
    the nonce are checked. Every refusal is logged (without the body)."""
    _centre_only()
    headers = request.headers
    site_code = headers.get(SITE_HEADER, "")
    stamp, nonce, sig = (headers.get(TS_HEADER, ""), headers.get(NONCE_HEADER, ""),
                         headers.get(SIG_HEADER, ""))
    if not (site_code and stamp and nonce and sig):
        _refuse("unsigned", site_code)
    if not re.fullmatch(r"[0-9a-f]{16,64}", nonce) or not re.fullmatch(r"[0-9]{1,12}", stamp) \
            or not re.fullmatch(r"[0-9a-f]{64}", sig):
        _refuse("malformed_signature", site_code)
    key = forwarding.key_for(site_code, current_app.config["SYNC_KEYS_PARSED"])
    site = Site.get_or_none(Site.code == site_code)
    if key is None or site is None:
        _refuse("unknown_site_key", site_code)
    window = int(current_app.config["SETTINGS"]["SYNC_WINDOW_SECONDS"])
    moment = real_now()
    if abs(moment.timestamp() - int(stamp)) > window:
        _refuse("clock_skew", site_code)
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    body = request.get_data(cache=True)  # capped by _raise_upload_cap
    expected = signature(key, request.method, path, stamp, nonce, body)
    if not hmac.compare_digest(expected, sig):
        _refuse("bad_signature", site_code)
    if not forwarding.remember_nonce(site_code, nonce, moment, dt.timedelta(seconds=window)):
        _refuse("replayed", site_code)
    return site


@bp.post("/api/v1/sync/cases")
def sync_cases():
    site = _signed_site()
    messages = field(json_body(), "messages", kind=list)
    results = forwarding.receive_batch(
        site, messages, now(), current_app.config["ATTACHMENT_DIR"],
        int(current_app.config["SETTINGS"]["UPLOAD_MAX_BYTES"]))
    return jsonify(results=results)


@bp.get("/api/v1/sync/updates")
def sync_updates():
    site = _signed_site()
    try:
        since = max(0, int(request.args.get("since", "0")))
        limit = min(1000, max(1, int(request.args.get("limit", "500"))))
        if since >= 2 ** 62:  # beyond any cursor the database can hold
            raise ValueError
    except ValueError:
        raise Invalid("'since' dan 'limit' harus bilangan bulat.",
                      code="invalid_field") from None
    reported = request.args.get("catalogue", "")
    if reported.isdecimal() and len(reported) < 18:
        catalogue_feed.report(site, int(reported), now())
    visits.record_pulse(site, request.args, now())
    return jsonify(forwarding.updates_since(site, since, limit))


# --- the centre: officers ------------------------------------------------------------

@bp.get("/api/v1/central/cases")
@token_required
def central_cases():
    _centre_only()
    args = request.args
    rows = cases.inbox(g.api_user, site=args.get("site", "")[:40],
                       agency=args.get("agency", "")[:40],
                       service=args.get("service", "")[:40],
                       status=args.get("status", "")[:20])
    return jsonify(cases=[cases.inbox_row(c) for c in rows])


@bp.get("/api/v1/central/cases/<code>")
@token_required
def central_case(code):
    _centre_only()
    case = cases.get_case(code)
    cases.require_officer(g.api_user, case)
    return jsonify(cases.staff_dict(case))


@bp.get("/api/v1/central/cases/<code>/attachments/<uid>")
@token_required
def central_download(code, uid):
    _centre_only()
    case = cases.get_case(code)
    cases.require_officer(g.api_user, case)
    return attachment_response(case, uid)


@bp.post("/api/v1/central/cases/<code>/status")
@token_required
def central_status(code):
    _centre_only()
    body = json_body()
    if g.api_user.role not in ("officer", "admin"):
        raise Forbidden("Hanya petugas instansi terkait atau admin.")
    case = cases.set_status_central(code, field(body, "status", max_length=20), now(),
                                    g.api_user, body.get("note"), body.get("missing"),
                                    client=client_address())
    return jsonify(cases.staff_dict(case))


SYNC_HEADERS = {SITE_HEADER: "string", TS_HEADER: "string (epoch seconds)",
                NONCE_HEADER: "string (hex)", SIG_HEADER: "string (HMAC-SHA256, hex)"}
openapi.add_operations([
    ("post", "/api/v1/cases", "Open a case from the ticket being served (finishes it with "
     "outcome case)", "operator",
     {"ticket_id": "string", "service": "string", "applicant": "object",
      "requirements": "array?", "notes": "string?"},
     {"201": "tracking_code, status, track_url", "404": "unknown_ticket / unknown_service",
      "409": "invalid_transition / case_exists", "422": "invalid_nik / invalid_phone / "
      "invalid_requirements", "403": "another hall"}),
    ("get", "/api/v1/cases/{tracking_code}", "A case with applicant data (hall staff, the "
     "agency's officer)", "operator", None, {"200": "case", "404": "unknown_case"}),
    ("post", "/api/v1/cases/{tracking_code}/attachments", "Upload a scan or photo "
     "(multipart field 'file'; PDF/JPEG/PNG by content; size-capped)", "operator", None,
     {"201": "id, name, content_type, size, sha256", "413": "payload_too_large",
      "422": "empty_file / unsupported_file / image_too_large / invalid_file"},
     {"multipart": {"file": "binary"}}),
    ("get", "/api/v1/cases/{tracking_code}/attachments/{id}", "Download an attachment "
     "(Content-Disposition: attachment)", "operator", None,
     {"200": "the file", "404": "unknown_attachment"}, {"content": {"200": None}}),
    ("get", "/api/v1/cases/{tracking_code}/receipt.pdf", "The tanda terima (receipt)",
     "operator", None, {"200": "application/pdf", "404": "unknown_case"}),
    ("post", "/api/v1/cases/{tracking_code}/status", "At the hall: the citizen collected "
     "the result", "operator", {"status": "picked_up", "note": "string?"},
     {"200": "case", "409": "invalid_transition"}),
    ("get", "/api/v1/track/{tracking_code}", "Public tracking: status history, no personal "
     "data", None, None, {"200": "tracking_code, service, site, status, history",
                          "404": "unknown_case", "429": "too_many_requests"}),
    ("get", "/api/v1/sites/{site}/sync-status", "The hall's link to the centre (supervisor)",
     "supervisor", None, {"200": "waiting, oldest_age_seconds, last_success_at, last_error"}),
    ("post", "/api/v1/sync/cases", "A hall forwards a batch of outbox messages (HMAC "
     "signed: X-MPP-Site, X-MPP-Timestamp, X-MPP-Nonce, X-MPP-Signature)", None,
     {"messages": "array"},
     {"200": "results: [{id, status: stored|duplicate|refused, code?}]",
      "401": "unsigned / bad_signature / clock_skew / replayed / unknown_site_key",
      "404": "not_found (not the centre)"},
     {"security": "hall_signature", "headers": SYNC_HEADERS}),
    ("get", "/api/v1/sync/updates", "A hall pulls its updates after a cursor (HMAC signed; "
     "kinds: case.status, appointment.*, catalogue; query: since, limit, catalogue = the "
     "catalogue version the hall runs; the hall's pulse: waiting, longest (seconds), "
     "served, pending, until (epoch seconds its facts reach), day)", None, None,
     {"200": "updates, cursor, more", "401": "unsigned / bad_signature / replayed",
      "404": "not_found (not the centre)", "422": "invalid_field (since, limit)"},
     {"security": "hall_signature", "headers": SYNC_HEADERS, "query": {
         "since": "integer", "limit": "integer", "catalogue": "integer",
         "waiting": "integer", "longest": "integer", "served": "integer",
         "pending": "integer", "until": "integer", "day": "string"}}),
    ("get", "/api/v1/central/cases", "Officer inbox (?site=&agency=&service=&status=)",
     "officer", None, {"200": "cases", "403": "not an officer",
                       "422": "invalid_status"},
     {"query": {"site": "string", "agency": "string", "service": "string",
                "status": "string"}}),
    ("get", "/api/v1/central/cases/{tracking_code}", "A forwarded case (officer)", "officer",
     None, {"200": "case", "403": "another agency", "404": "unknown_case"}),
    ("get", "/api/v1/central/cases/{tracking_code}/attachments/{id}", "Download an "
     "attachment at the centre (officer)", "officer", None,
     {"200": "the file", "404": "unknown_attachment"}, {"content": {"200": None}}),
    ("post", "/api/v1/central/cases/{tracking_code}/status", "Set a case's status with a "
     "note (needs_fix needs 'missing')", "officer",
     {"status": "processing|needs_fix|done|ready_for_pickup|picked_up", "note": "string?",
      "missing": "string?"},
     {"200": "case", "409": "invalid_transition", "422": "invalid_status / missing_field"}),
])
