"""Board pages and the board websocket.

- `GET /boards/<site>`: the TV page (first paint from `board_state`; htmx asks for the
  regions alone while the websocket is down).
- `WS /ws/boards/<site>`: a snapshot, then that hall's events; no database connection
  is held while waiting; a protocol ping and an application heartbeat keep it alive.
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
import time
from urllib.parse import urlparse

from flask import Blueprint, current_app, g, jsonify, redirect, request, send_file, url_for
from flask_sock import ConnectionClosed, Sock

from app.db import database
from app.domain import accounts, queueing
from app.errors import DomainError, NotFound
from app.web import openapi
from app.web.auth import current_actor, token_required
from app.web.inputs import field, json_body, now
from app.web.plumbing import csrf
from app.web.responses import page_or_fragment
from boards import audio, speech
from boards.hub import HubFull, socket_writable
from boards.setup import shutting_down
from boards.state import board_state, call_given_out_today, filter_state, update_board

log = logging.getLogger("mpp.boards")
bp = Blueprint("boards", __name__)
sock = Sock()

HEARTBEAT_SECONDS = 15  # an application message on idle sockets: boards notice a dead link
MAX_MESSAGES_PER_WAKE = 20
WAKE_SECONDS = 1.0  # how often an idle handler checks its socket and the board's requests
CODE = re.compile(r"^[A-Za-z0-9-]{1,40}$")
AUDIO_SPEC = re.compile(r"^([A-Z]{1,2}\d{3,4})-(\d{1,3})$")

openapi.add_operations([
    ("post", "/api/v1/sites/{site}/running-text", "Set the running text of a hall's boards",
     "supervisor", {"text": "string", "reading_style": "whole|digits?"},
     {"200": "running_text", "403": "not a supervisor of that hall", "422": "too long"}),
])


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
    counters = _codes(request.args.get("counters"))
    services = _codes(request.args.get("services"))
    state = filter_state(board_state(site, now()), counters, services)
    context = {"site": site, "state": state, "filters": {"counters": counters,
                                                         "services": services},
               "voice_engine": audio.engine()}
    return page_or_fragment("boards/board.html", "boards/_regions.html", **context)


@bp.get("/boards/<site_code>/status.json")
def status(site_code):
    site = queueing.get_site(site_code)
    ext = _ext()
    return jsonify(site=site.code, fanout=ext.fanout.name, pid=os.getpid(),
                   connected_here=ext.hub.count(site.code), seq=ext.hub.current_seq(site.code),
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


# --- the websocket --------------------------------------------------------------------

@bp.before_request
def check_websocket_handshake():
    """Refuse before the upgrade: unknown hall, foreign Origin, or a worker that has no
    thread to spare for another board."""
    if request.endpoint != "boards.board_socket":
        return None
    site_code = (request.view_args or {}).get("site_code", "")
    try:
        queueing.get_site(site_code)
    except DomainError as exc:
        return _refuse(exc.status, exc.code, exc.message)
    if not _origin_allowed():
        log.warning("board websocket refused: Origin %r", request.headers.get("Origin"))
        return _refuse(403, "origin_not_allowed",
                       "Asal halaman tidak diizinkan membuka papan ini.")
    if not _ext().hub.would_accept():
        log.warning("board websocket refused: this worker holds its maximum of boards")
        return _refuse(503, "boards_full", "Server sedang penuh; papan akan mencoba lagi.")
    return None


def _refuse(status, code, message):
    return jsonify(error={"code": code, "message": message}), status


def _origin_allowed() -> bool:
    origin = request.headers.get("Origin")
    if not origin:  # not a browser: nothing to forge (browsers always send Origin)
        return True
    allowed = current_app.config["SETTINGS"].get("BOARD_ALLOWED_ORIGINS", "")
    if origin in [o.strip() for o in allowed.split(",") if o.strip()]:
        return True
    parsed = urlparse(origin)
    return parsed.scheme in ("http", "https") and parsed.netloc == request.host


@sock.route("/ws/boards/<site_code>", bp=bp)
def board_socket(ws, site_code):
    ext = _ext()
    ext.fanout.start()
    try:
        sub = ext.hub.subscribe(site_code, ws.send, lambda: socket_writable(ws.sock),
                                raw_socket=_plain_socket(ws))
    except HubFull:
        ws.close(1013, "server penuh")
        return

    def snapshot():
        return _snapshot_text(ext, site_code)

    try:
        sub.send_snapshot(snapshot)
        database.close()  # nothing below touches the database until the next snapshot
        # Events are written by the hub's fan-out thread; this thread only answers the
        # board's requests, sends heartbeats and snapshots, and notices the end.
        while ws.connected and not sub.closed:
            if shutting_down():
                ws.close(1001, "server dimulai ulang")  # going away: the board reconnects
                try:  # and don't wait for its answer: the worker is stopping
                    ws.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                break
            sub.wake.wait(WAKE_SECONDS)
            sub.wake.clear()
            if sub.needs_snapshot or _board_asks_resync(ws):
                if socket_writable(ws.sock):
                    sub.send_snapshot(snapshot)
                else:
                    sub.request_snapshot()  # still not reading: try again on the next wake
            elif time.monotonic() - sub.last_sent >= HEARTBEAT_SECONDS:
                # The newest number this board was sent: a lost last event shows here.
                sub.send_now(json.dumps({"type": "heartbeat", "at": now().isoformat(),
                                         "seq": sub.last_seq}))
    except (ConnectionClosed, OSError):
        pass
    finally:
        ext.hub.unsubscribe(sub)
        if not database.is_closed():
            database.close()


def _plain_socket(ws):
    """The socket, when the connection uses no websocket extension (compression):
    then the hub writes one shared frame to it. Browsers usually negotiate
    permessage-deflate, and get their frames from wsproto instead."""
    try:
        extensions = ws.ws.connection._proto.extensions
    except AttributeError:
        return None
    return ws.sock if not extensions else None


def _board_asks_resync(ws) -> bool:
    """Read what the board sent since the last wake (a board only ever asks for a
    resync); a client that floods the socket is cut off."""
    asked = False
    for _ in range(MAX_MESSAGES_PER_WAKE):
        raw = ws.receive(timeout=0)
        if raw is None:
            return asked
        try:
            asked = asked or json.loads(raw).get("type") == "resync"
        except (ValueError, AttributeError, RecursionError):
            pass
    ws.close(1008, "terlalu banyak pesan")
    raise ConnectionClosed()


def _snapshot_text(ext, site_code) -> tuple[int, str]:
    """The hall's state, current to at least the sequence number it carries: the
    number is read first, then the state, and events are dispatched after commit."""
    seq = ext.hub.current_seq(site_code)
    with database.connection_context():
        site = queueing.get_site(site_code)
        state = board_state(site, now())
    return seq, json.dumps({"type": "snapshot", "seq": seq, "worker": os.getpid(), **state},
                           ensure_ascii=False, separators=(",", ":"))
