"""TV display boards and the live event hub.

`init_app(app)` installs the event transport behind `app.events` (Redis pub/sub when
REDIS_URL is set, in-process otherwise), configures the speech cache and registers the
board pages and the websocket.
"""
import logging

from app import events

from . import audio
from .hub import Hub, InProcessTransport, RedisTransport
from .state import enrich

log = logging.getLogger("mpp.boards")


class Publisher:
    """What `app.events` calls after commit: enrich the event once, then send it."""

    def __init__(self, transport):
        self.transport = transport

    def publish(self, site_code: str, event: dict) -> None:
        try:
            event = enrich(site_code, event)
        except Exception:  # a board without speech beats a board without the call
            log.exception("could not enrich %s event for %s", event.get("type"), site_code)
        self.transport.send(site_code, event)


class Boards:
    def __init__(self, hub, transport):
        self.hub = hub
        self.transport = transport


_worker = None


def attach_worker(worker) -> None:
    """gunicorn's post_worker_init: lets board sockets notice a graceful stop."""
    global _worker
    _worker = worker


def shutting_down() -> bool:
    """True once gunicorn asked this worker to stop: boards are told to go and
    reconnect (to the next worker) instead of holding the shutdown for its timeout."""
    return _worker is not None and not getattr(_worker, "alive", True)


def transport_warning(settings: dict) -> str | None:
    """The loud start-up message when workers cannot share board events."""
    try:
        workers = int(settings.get("WEB_CONCURRENCY") or 1)
    except ValueError:
        workers = 1
    if workers > 1 and not settings.get("REDIS_URL"):
        return ("!!! BOARDS WILL MISS CALLS: WEB_CONCURRENCY=%d but REDIS_URL is not set. "
                "Board events stay inside the worker that made them, so a TV connected to "
                "another worker never hears those calls. Set REDIS_URL, or run "
                "WEB_CONCURRENCY=1 (raise GUNICORN_THREADS instead). !!!" % workers)
    return None


def board_capacity(settings: dict) -> int:
    """Boards one worker may hold: each holds a gunicorn thread for as long as it is
    connected, and BOARD_RESERVED_THREADS stay free for kiosks, consoles and the API."""
    threads = int(settings.get("GUNICORN_THREADS") or 32)
    reserved = int(settings.get("BOARD_RESERVED_THREADS") or 8)
    return max(1, threads - reserved)


def init_app(app) -> None:
    settings = app.config["SETTINGS"]
    hub = Hub(capacity=board_capacity(settings))
    if settings.get("REDIS_URL"):
        transport = RedisTransport(hub, settings["REDIS_URL"],
                                   prefix=settings.get("BOARD_CHANNEL_PREFIX") or "mpp:")
    else:
        transport = InProcessTransport(hub)
    events.install(Publisher(transport))
    app.extensions["boards"] = Boards(hub, transport)
    audio.configure(app.config["DATA_DIR"])
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": int(settings.get("BOARD_PING_SECONDS") or 25),
        "max_message_size": 4096,
    })
    warning = transport_warning(settings)
    if warning:
        log.warning(warning)

    from .views import bp, sock
    app.register_blueprint(bp)
    sock.init_app(app)
