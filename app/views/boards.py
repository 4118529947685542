"""Board pages and the board websocket.

- `GET /boards/<site>`: the TV page (first paint from `board_state`; htmx asks for the
  regions alone while the websocket is down). With BOARD_PAIRING on, a browser that is
  not a registered board of the hall gets the pairing screen instead: a code for a
  supervisor, and `GET /boards/<site>/pasang` polled until the code was entered
  (`app.domain.board_devices`); the device credential is then a long-lived cookie.
- `GET/POST /api/v1/sites/<site>/boards`, `POST .../boards/<id>/revoke`: a hall's
  registered boards, pairing one by its code, revoking one (supervisor or admin).
- `WS /ws/boards/<site>`: a snapshot, then that hall's events; the route answers the
  upgrade and hands the socket to the worker's socket loop (`boards.sockets`), so a
  connected board holds no thread and no database connection. A registered board (its
  cookie) counts against its hall's allowance, anyone else against the small one of
  their address and of unregistered clients in all (`boards.hub.Limits`).
- `WS /ws/loket/<site>`: the same stream for a console of that hall (signed-in staff).
- `GET /boards/<site>/suara/<number>-<counter>.wav`: the call spoken by espeak-ng, else
  joined from the shipped word clips (`boards.audio`); the page names the voice.
- `POST /api/v1/sites/<site>/running-text`: the supervisor's running text (the page
  moved to /admin/lokasi/<site>/perangkat; `/boards/<site>/teks` redirects there).
"""
import json
import logging
import os
import re
import socket
import ssl
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from app.db import database
from app.domain import accounts, board_devices, queueing
from app.errors import DomainError, NotFound
from app.web import openapi
from app.web.auth import current_actor, optional_user, token_required
from app.web.inputs import client_address, field, json_body, now
from app.web.plumbing import csrf
from app.web.responses import htmx, page_or_fragment
from boards import audio, speech
from boards.hub import Admission, HubFull
from boards.sockets import LiveSocket, upgrade_response, valid_key
from boards.state import board_state, call_given_out_today, filter_state, update_board

log = logging.getLogger("mpp.boards")
bp = Blueprint("boards", __name__)

CODE = re.compile(r"^[A-Za-z0-9-]{1,40}$")
AUDIO_SPEC = re.compile(r"^([A-Z]{1,2}\d{3,4})-(\d{1,3})$")

openapi.add_operations([
    ("post", "/api/v1/sites/{site}/running-text", "Set the running text of a hall's boards",
     "supervisor", {"text": "string", "reading_style": "whole|digits?"},
     {"200": "running_text", "403": "not a supervisor of that hall", "422": "too long"}),
    ("get", "/api/v1/sites/{site}/boards", "A hall's registered boards (TVs), revoked ones "
     "last", "supervisor", None,
     {"200": "boards: id, name, paired_at, paired_by, claimed, revoked_at, revoked_by, "
      "status", "401": "unauthorized", "403": "not a supervisor of that hall",
      "404": "unknown_site"}),
    ("post", "/api/v1/sites/{site}/boards", "Register the TV showing a pairing code as a "
     "board of the hall", "supervisor", {"code": "string", "name": "string"},
     {"201": "board", "400": "bad_request (unreadable JSON)", "401": "unauthorized",
      "403": "not a supervisor of that hall",
      "404": "unknown_site / unknown_pairing_code (no TV of the hall shows it, or expired)",
      "415": "unsupported_media_type", "422": "invalid_pairing_code / missing_field / "
      "invalid_field"}),
    ("post", "/api/v1/sites/{site}/boards/{board}/revoke", "Revoke a registered board: its "
     "credential stops working and its open sockets close", "supervisor", None,
     {"200": "board", "401": "unauthorized", "403": "not a supervisor of that hall",
      "404": "unknown_site / unknown_board"}),
])

DEVICE_COOKIE = "mpp_board"  # a registered board's credential
PAIRING_COOKIE = "mpp_board_pasang"  # the pairing secret of a TV showing a code
DEVICE_COOKIE_DAYS = 3650


def _ext():
    return current_app.extensions["boards"]


def _codes(raw: str | None) -> list[str]:
    if not raw:
        return []
    parts = [part.strip() for part in raw.split(",")][:30]
    return [c for c in parts if CODE.match(c)]


# --- the page -----------------------------------------------------------------------

@bp.get("/boards/<site_code>")
def board(site_code):
    site = queueing.get_site(site_code)
    access = None
    if _pairing_on() and not htmx:
        access = board_devices.open_board(
            site, request.cookies.get(DEVICE_COOKIE), request.cookies.get(PAIRING_COOKIE),
            now(), client_address())
        if access.device is None:
            return _pairing_screen(site, access)
    counters = _codes(request.args.get("counters"))
    services = _codes(request.args.get("services"))
    state = filter_state(board_state(site, now()), counters, services)
    context = {"site": site, "state": state, "filters": {"counters": counters,
                                                         "services": services},
               "voice_engine": audio.engine(),
               "device": access.device if access else None}
    response = make_response(page_or_fragment("boards/board.html", "boards/_regions.html",
                                              **context))
    if access is not None and access.new_credential:
        _set_device_cookie(response, site, access.new_credential)
    return response


@bp.get("/boards/<site_code>/pasang")
def pairing_status(site_code):
    """The pairing screen's poll: `waiting` (its code), `registered` (the credential is
    set as a cookie now: reload), or `expired` (reload for a new code)."""
    site = queueing.get_site(site_code)
    access = board_devices.poll(site, request.cookies.get(PAIRING_COOKIE), now())
    if access is None:
        body = {"status": "expired"}
    elif access.device is not None:
        body = {"status": "registered", "name": access.device.name}
    else:
        body = {"status": "waiting", "code": access.code}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    if access is not None and access.new_credential:
        _set_device_cookie(response, site, access.new_credential)
    return response


def _pairing_on() -> bool:
    value = current_app.config["SETTINGS"].get("BOARD_PAIRING", "on")
    return str(value).strip().lower() != "off"


def _pairing_screen(site, access):
    response = make_response(render_template("boards/pairing.html", site=site,
                                             code=access.code,
                                             minutes=board_devices.PAIRING_MINUTES))
    response.headers["Cache-Control"] = "no-store"
    if access.new_secret:
        response.set_cookie(PAIRING_COOKIE, access.new_secret,
                            max_age=board_devices.PAIRING_MINUTES * 60 + 60,
                            path=f"/boards/{site.code}", httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def _set_device_cookie(response, site, credential):
    response.set_cookie(DEVICE_COOKIE, credential, max_age=DEVICE_COOKIE_DAYS * 86400,
                        path="/", httponly=True, samesite="Lax", secure=request.is_secure)
    response.delete_cookie(PAIRING_COOKIE, path=f"/boards/{site.code}")


@bp.get("/boards/<site_code>/status.json")
def status(site_code):
    site = queueing.get_site(site_code)
    ext = _ext()
    return jsonify(site=site.code, fanout=ext.fanout.name, pid=os.getpid(),
                   connected_here=ext.hub.count(site.code),
                   registered_here=ext.hub.count_registered(site.code),
                   seq=ext.hub.current_seq(site.code),
                   server_voice=audio.available(), server_voice_engine=audio.engine())


@bp.get("/boards/<site_code>/suara/<spec>.wav")
def call_audio(site_code, spec):
    site = queueing.get_site(site_code)
    match = AUDIO_SPEC.match(spec)
    if not match:
        raise NotFound("Suara panggilan tidak dikenal.", code="unknown_audio")
    number, counter_number = match.group(1), int(match.group(2))
    # Only numbers given out at this hall today: the cache cannot be filled by guessing.
    if not call_given_out_today(site, number, counter_number, now()):
        raise NotFound("Suara panggilan tidak dikenal.", code="unknown_audio")
    text = speech.call_text(number, counter_number, site.reading_style)
    database.close()  # rendering can take a moment: don't hold a connection meanwhile
    path = audio.render(text)
    if path is None:
        raise NotFound("Suara server tidak tersedia; papan memakai suara peramban.",
                       code="no_server_voice")
    return send_file(path, mimetype="audio/wav", max_age=86400)


# --- running text ---------------------------------------------------------------------

@bp.route("/boards/<site_code>/teks", methods=["GET", "POST"])
def running_text(site_code):
    """Moved to the hall's devices page in the administration; 308 keeps a POST."""
    return redirect(url_for("admin.devices_running_text", site_code=site_code), code=308)


@bp.post("/api/v1/sites/<site_code>/running-text")
@csrf.exempt
@token_required
def api_running_text(site_code):
    site = queueing.get_site(site_code)
    _require_supervisor(g.api_user, site)
    body = json_body()
    text = field(body, "text", required=True, max_length=2000)
    style = field(body, "reading_style", required=False, max_length=10)
    site = update_board(site, now(), current_actor(), running_text=text,
                        reading_style=style)
    return jsonify(site=site.code, running_text=site.running_text,
                   reading_style=site.reading_style)


def _require_supervisor(user, site):
    accounts.require_site_role(user, site, ("supervisor",), f"Hanya supervisor {site.name} "
                               "yang dapat mengubah teks berjalan.")


# --- registered boards ------------------------------------------------------------------

def _boards_site(site_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(g.api_user, site, ("supervisor",), "Papan "
                               f"{site.name} hanya diatur oleh admin atau supervisor "
                               "lokasi ini.")
    return site


@bp.get("/api/v1/sites/<site_code>/boards")
@token_required
def api_boards(site_code):
    site = _boards_site(site_code)
    return jsonify(site=site.code,
                   boards=[board_devices.as_dict(d) for d in board_devices.devices_of(site)])


@bp.post("/api/v1/sites/<site_code>/boards")
@csrf.exempt
@token_required
def api_pair_board(site_code):
    site = _boards_site(site_code)
    body = json_body()
    code = field(body, "code", required=True, max_length=20)
    name = field(body, "name", required=True, max_length=200)
    device = board_devices.pair(site, code, name, now(), current_actor())
    return jsonify(board_devices.as_dict(device)), 201


@bp.post("/api/v1/sites/<site_code>/boards/<int:board_id>/revoke")
@csrf.exempt
@token_required
def api_revoke_board(site_code, board_id):
    site = _boards_site(site_code)
    device = board_devices.revoke(site, board_id, now(), current_actor())
    return jsonify(board_devices.as_dict(device))


# --- the websockets ---------------------------------------------------------------------
# The route answers the upgrade and hands the socket to this worker's loop
# (boards.sockets): no thread is held while a board or console is connected.

@bp.before_request
def check_websocket_handshake():
    """Refuse before the upgrade: unknown hall, foreign Origin, a console socket without
    a signed-in member of that hall's staff, a revoked board, or a limit reached (the
    worker's, the hall's registered boards', an unregistered address's or all
    unregistered clients')."""
    if request.endpoint not in ("boards.board_socket", "boards.console_socket"):
        return None
    site_code = (request.view_args or {}).get("site_code", "")
    try:
        site = queueing.get_site(site_code)
    except DomainError as exc:
        return _refuse(exc.status, exc.code, exc.message)
    console = request.endpoint == "boards.console_socket"
    if not _origin_allowed(extra=not console):
        log.warning("websocket refused: Origin %r", request.headers.get("Origin"))
        return _refuse(403, "origin_not_allowed",
                       "Asal halaman tidak diizinkan membuka papan ini.")
    if console:
        user = optional_user()
        if user is None:
            return _refuse(401, "unauthorized", "Silakan masuk terlebih dahulu.")
        try:
            accounts.require_site_role(user, site)
            g.console_counter = _console_counter(site)
        except DomainError as exc:
            return _refuse(exc.status, exc.code, exc.message)
    try:
        g.board_admission = None if console else _admission(site)
    except DomainError as exc:  # a revoked board
        return _refuse(exc.status, exc.code, exc.message)
    refusal = _ext().hub.refusal(g.board_admission)
    if refusal is not None:
        return _full(refusal)
    return None


def _console_counter(site) -> tuple[int, str] | None:
    """The counter a console socket names (`?counter=L1`): its waiting list is pushed
    to it (boards.console_lists). Without one, the socket only gets the events."""
    code = request.args.get("counter")
    if code is None:
        return None
    counter = queueing.get_counter(site, code[:20])
    return counter.id, counter.code


def _admission(site) -> Admission:
    """A registered board of this hall (its cookie), else an unregistered client known
    by its address."""
    device = board_devices.socket_device(site, request.cookies.get(DEVICE_COOKIE))
    if device is not None:
        return Admission(site.code, device.id)
    return Admission(client_address())


def _refuse(status, code, message):
    return jsonify(error={"code": code, "message": message}), status


def _full(refusal: HubFull):
    if refusal.code == "boards_full":
        log.warning("websocket refused: this worker holds its maximum of %d board and "
                    "console sockets (BOARD_MAX_CONNECTIONS)", _ext().hub.capacity)
    else:
        log.warning("websocket refused (%s): %s", refusal.limit, refusal.code)
    body, status = _refuse(refusal.status, refusal.code, refusal.message)
    headers = {"Retry-After": "30"} if status in (429, 503) else {}
    return body, status, headers


def _origin_allowed(extra: bool = True) -> bool:
    origin = request.headers.get("Origin")
    if not origin:  # not a browser: nothing to forge (browsers always send Origin)
        return True
    allowed = current_app.config["SETTINGS"].get("BOARD_ALLOWED_ORIGINS", "") if extra else ""
    if origin in [o.strip() for o in allowed.split(",") if o.strip()]:
        return True
    parsed = urlparse(origin)
    return parsed.scheme in ("http", "https") and parsed.netloc == request.host


@bp.get("/ws/boards/<site_code>", websocket=True)
def board_socket(site_code):
    """A board: its snapshot, then its hall's events (docs/boards.md)."""
    return _hand_over(site_code, "board")


@bp.get("/ws/loket/<site_code>", websocket=True)
def console_socket(site_code):
    """A console (signed-in staff of the hall): the same stream as the hall's boards
    and, with `?counter=<code>`, that counter's waiting list whenever it changed
    (`waiting` messages, boards.console_lists); the page refetches its panel when
    the events name its counter."""
    return _hand_over(site_code, "console")


class _HandedOver(Response):
    """What gunicorn gets once the socket belongs to the loop: it writes nothing (the
    StopIteration ends the request as with flask-sock) and closes its descriptor."""

    def __call__(self, environ, start_response):
        raise StopIteration()


def _hand_over(site_code, kind):
    raw = request.environ.get("gunicorn.socket")
    key = request.headers.get("Sec-WebSocket-Key")
    if request.headers.get("Sec-WebSocket-Version") != "13" or not valid_key(key):
        body, status = _refuse(400, "bad_handshake", "Permintaan websocket tidak sah.")
        return body, status, {"Sec-WebSocket-Version": "13"}
    if raw is None or isinstance(raw, ssl.SSLSocket):
        return _refuse(501, "websocket_unsupported", "Websocket hanya dilayani oleh gunicorn "
                       "tanpa TLS sendiri (TLS di proxy).")
    ext = _ext()
    ext.fanout.start()
    app = current_app._get_current_object()
    live = LiveSocket(site_code, raw.dup(), lambda: _snapshot_in_app(app, ext, site_code),
                      kind=kind, admission=g.get("board_admission"),
                      counter=g.get("console_counter"))
    try:
        ext.hub.add(live)  # first: what is dispatched from now on waits for the snapshot
    except HubFull as refusal:
        live.sock.close()
        return _full(refusal)
    try:
        seq, text = _snapshot_text(ext, site_code)
    except BaseException:
        ext.hub.unsubscribe(live)
        live.sock.close()
        raise
    database.close()  # the socket holds no database connection
    try:
        live.sock.settimeout(10)
        live.sock.sendall(upgrade_response(key))
    except OSError:  # the client went away meanwhile
        ext.hub.unsubscribe(live)
        live.sock.close()
        return _HandedOver()
    _release_from_gunicorn(raw)
    ext.sockets.adopt(live, seq, text)
    if live.counter is not None:
        # a change between the console's page and this socket would wait for the next
        ext.console_lists.schedule(site_code)
    return _HandedOver()


def _release_from_gunicorn(raw) -> None:
    """gunicorn shuts the connection down and closes its descriptor after the request
    (gthread: shutdown(SHUT_WR), then close). Shutting down would end the board's
    connection too, dup or not: point gunicorn's descriptor at a fresh unconnected
    socket instead, so its shutdown and close touch nothing of ours."""
    placeholder = socket.socket(raw.family, raw.type)
    try:
        os.dup2(placeholder.fileno(), raw.fileno())
    finally:
        placeholder.close()


def _snapshot_in_app(app, ext, site_code) -> tuple[int, str]:
    """A snapshot for the loop's snapshot threads (a resync, a board that fell behind)."""
    with app.app_context():
        try:
            return _snapshot_text(ext, site_code)
        finally:
            if not database.is_closed():
                database.close()


def _snapshot_text(ext, site_code) -> tuple[int, str]:
    """The hall's state, current to at least the sequence number it carries: the
    number is read first, then the state, and events are dispatched after commit.
    Sockets asking at the same number share one (`SnapshotCache`)."""
    seq = ext.hub.current_seq(site_code)

    def build():
        with database.connection_context():
            site = queueing.get_site(site_code)
            state = board_state(site, now())
        return json.dumps({"type": "snapshot", "seq": seq, "worker": os.getpid(), **state},
                          ensure_ascii=False, separators=(",", ":"))
    return seq, ext.snapshots.get(site_code, seq, build)
