"""Setting boards up in a process: `init_app(app)` builds this worker's hub and its
fan-out (Redis pub/sub when REDIS_URL is set, in-process otherwise), installs the
publisher behind `app.events`, and configures the speech cache and the websocket
options. gunicorn's hooks use `attach_worker` and `fanout_warning`.
"""
import logging

from app import events

from . import audio
from .hub import Hub, LocalFanout, RedisFanout
from .state import enrich

log = logging.getLogger("mpp.boards")


class BoardPublisher:
    """What `app.events` calls after commit: enrich the event once, then fan it out."""

    def __init__(self, fanout):
        self.fanout = fanout

    def publish(self, site_code: str, event: dict) -> None:
        try:
            event = enrich(site_code, event)
        except Exception:  # a board without speech beats a board without the call
            log.exception("could not enrich %s event for %s", event.get("type"), site_code)
        self.fanout.send(site_code, event)


class Boards:
    """This worker's hub and fan-out (`app.extensions["boards"]`)."""

    def __init__(self, hub, fanout):
        self.hub = hub
        self.fanout = fanout


_worker = None


def attach_worker(worker) -> None:
    """gunicorn's post_worker_init: lets board sockets notice a graceful stop."""
    global _worker
    _worker = worker


def shutting_down() -> bool:
    """True once gunicorn asked this worker to stop: boards are told to go and
    reconnect (to the next worker) instead of holding the shutdown for its timeout."""
    return _worker is not None and not getattr(_worker, "alive", True)


def fanout_warning(settings: dict) -> str | None:
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
        fanout = RedisFanout(hub, settings["REDIS_URL"],
                             prefix=settings.get("BOARD_CHANNEL_PREFIX") or "mpp:")
    else:
        fanout = LocalFanout(hub)
    events.install(BoardPublisher(fanout))
    app.extensions["boards"] = Boards(hub, fanout)
    audio.configure(app.config["DATA_DIR"])
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": int(settings.get("BOARD_PING_SECONDS") or 25),
        "max_message_size": 4096,
    })
    warning = fanout_warning(settings)
    if warning:
        log.warning(warning)
