"""Setting boards up in a process: `init_app(app)` builds this worker's hub and its
fan-out (Redis pub/sub when REDIS_URL is set, in-process otherwise), its socket loop
(`boards.sockets`) and snapshot cache, installs the publisher behind `app.events`, and
configures the speech cache. gunicorn's hooks use `attach_worker`, `worker_exit` and
`fanout_warning`.
"""
import collections
import logging
import os
import threading

from app import events
from app.db import (
    close_read_scope,
    database,
    holds_writer_turn,
    open_read_scope,
    register_background_user,
)

from . import audio
from .console_lists import ConsoleLists
from .hub import Hub, Limits, LocalFanout, RedisFanout
from .sockets import FD_RESERVE, SnapshotCache, SocketLoop, raise_fd_limit
from .state import enrich

log = logging.getLogger("mpp.boards")


class BoardPublisher:
    """What `app.events` calls after commit. The call only queues the event: one thread
    per worker then enriches it (speech text, the WAV, waiting counts) and fans it out,
    so none of that runs on the kiosk's or the operator's request thread.

    Events keep their commit order: on SQLite the committing thread queues them while it
    still holds this process's writer turn (app.db), and the one thread hands them to
    the fan-out (which numbers them) one after another. The thread is woken only once
    the turn is given up: woken earlier, it would take the interpreter lock from the
    writer while every other writer waits. The waiting counts are read
    when the thread gets to the event, so they are as new as the database or newer."""

    def __init__(self, fanout, hub=None):
        self.fanout = fanout
        self._pending: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None
        if hub is not None:
            hub.add_feeder(self.flush)
        register_background_user(self)

    def publish(self, site_code: str, event: dict) -> None:
        self._ensure_thread()
        self._pending.append((site_code, event))
        if not holds_writer_turn():  # else once the turn is given up (writer_released)
            self._wake()

    def writer_released(self) -> None:
        if self._pending:
            self._wake()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every queued event has been handed to the fan-out."""
        with self._cond:
            self._cond.notify_all()
            while self._pending or self._busy:
                self._cond.wait(timeout=0.1)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="board-publisher",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait(timeout=0.5)  # (a missed wake-up costs at most this)
                batch = []
                while self._pending:  # what queued up meanwhile goes out together
                    batch.append(self._pending.popleft())
                self._busy = True
            try:
                self._deliver(batch)
            finally:
                if not self._pending and not database.is_closed():
                    database.close()  # back to the pool (a file copy needs them all)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, batch: list[tuple[str, dict]]) -> None:
        """Enrich and send a batch in order: one catalogue check and one read of each
        hall's waiting counts serve the whole batch (every event in it committed
        before the counts are read)."""
        open_read_scope()
        counts: dict = {}
        try:
            for site_code, event in batch:
                try:
                    event = enrich(site_code, event, counts)
                except Exception:  # a board without speech beats a board without the call
                    log.exception("could not enrich %s event for %s", event.get("type"),
                                  site_code)
                try:
                    self.fanout.send(site_code, event)
                except Exception:  # a broken broker must not stop the next event
                    log.exception("could not publish %s event for %s", event.get("type"),
                                  site_code)
        finally:
            close_read_scope()


class Boards:
    """This worker's hub, fan-out, socket loop, snapshot cache and consoles' lists
    (`app.extensions["boards"]`)."""

    def __init__(self, hub, fanout, sockets, snapshots, console_lists):
        self.hub = hub
        self.fanout = fanout
        self.sockets = sockets
        self.snapshots = snapshots
        self.console_lists = console_lists


_worker = None


def attach_worker(worker) -> None:
    """gunicorn's post_worker_init: lets board sockets notice a graceful stop."""
    global _worker
    _worker = worker


def worker_exit(worker) -> None:
    """gunicorn's worker_exit (in the worker): every board and console socket is
    closed with 1001 ("going away") before the process ends, so they reconnect at once."""
    app = getattr(worker, "wsgi", None)
    ext = getattr(app, "extensions", {}).get("boards") if app is not None else None
    if ext is not None:
        ext.sockets.stop(1001, "server dimulai ulang")


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
                "WEB_CONCURRENCY=1 (one worker serves every hall's boards). !!!" % workers)
    return None


def board_capacity(settings: dict, fd_limit=raise_fd_limit) -> int:
    """Live sockets (boards and consoles) one worker may hold: BOARD_MAX_CONNECTIONS,
    and no more than its open-file limit allows (raised towards it if need be, with
    FD_RESERVE descriptors left for everything else)."""
    wanted = max(1, int(settings.get("BOARD_MAX_CONNECTIONS") or 2000))
    limit = fd_limit(wanted + FD_RESERVE)
    if limit < wanted + FD_RESERVE:
        log.warning("board sockets: the open-file limit (%d) allows %d per worker, not "
                    "BOARD_MAX_CONNECTIONS=%d; raise LimitNOFILE / ulimit -n",
                    limit, max(1, limit - FD_RESERVE), wanted)
        return max(1, limit - FD_RESERVE)
    return wanted


def _setting(settings: dict, name: str, default: int) -> int:
    try:
        return max(0, int(settings.get(name) or default))
    except ValueError:
        log.warning("%s=%r is not a number; using %d", name, settings.get(name), default)
        return default


def board_limits(settings: dict, capacity: int) -> Limits:
    """The worker's limits besides its capacity: a hall's registered boards
    (BOARD_HALL_MAX), unregistered clients per address (BOARD_UNREGISTERED_PER_ADDRESS)
    and in all (BOARD_UNREGISTERED_MAX, never more than half the capacity, so that
    unregistered clients cannot take the places of registered boards)."""
    unregistered = min(_setting(settings, "BOARD_UNREGISTERED_MAX", 100), capacity // 2)
    return Limits(hall_max=_setting(settings, "BOARD_HALL_MAX", 500),
                  unregistered_max=unregistered,
                  per_address=_setting(settings, "BOARD_UNREGISTERED_PER_ADDRESS", 4))


def init_app(app) -> None:
    settings = app.config["SETTINGS"]
    capacity = board_capacity(settings)
    hub = Hub(capacity=capacity, limits=board_limits(settings, capacity))
    if settings.get("REDIS_URL"):
        fanout = RedisFanout(hub, settings["REDIS_URL"],
                             prefix=settings.get("BOARD_CHANNEL_PREFIX") or "mpp:")
    else:
        fanout = LocalFanout(hub)
    events.install(BoardPublisher(fanout, hub))
    sockets = SocketLoop(hub, ping_seconds=int(settings.get("BOARD_PING_SECONDS") or 25),
                         now_iso=lambda: app.clock.now().isoformat(),
                         stopping=shutting_down)
    app.extensions["boards"] = Boards(hub, fanout, sockets, SnapshotCache(),
                                      ConsoleLists(app, hub))
    audio.configure(app.config["DATA_DIR"])
    warning = fanout_warning(settings)
    if warning:
        log.warning(warning)
