"""Consoles' waiting lists, pushed: when a hall's queue changes, each console socket of
that hall in this worker gets its counter's waiting list, rendered here once per set of
services, instead of every console asking for it over HTTP.

Four hundred operators signed in at the centre, each refetching the list on every
event of the hall, asked the server for ~600 lists a second: more than it could render,
while the calls waited behind them. Here the cost follows the halls that changed and
the counters that watch them, not the number of consoles: a hall's lists are rendered
at most every `EVERY` seconds, `FIRST` seconds after the first change (a burst of
events is one render), one render for consoles whose counters serve the same services.

A console socket names its counter (`/ws/loket/<site>?counter=L1`); the message is
`{"type": "waiting", "counter": "L1", "html": ...}` without a sequence number (it
replaces the list, whatever came before). The list is read after the events that
caused it were dispatched here, so after their commit. The page still refetches the
list itself after its own actions, on a resync and every 60 s (an appointment that
becomes due changes the order without an event).
"""
import json
import logging
import os
import threading
import time

from app.db import database, register_background_user
from app.domain import catalogue_cache, queueing

from .hub import text_frame
from .state import QUEUE_CHANGES

log = logging.getLogger("mpp.boards")

TEMPLATE = "_partials/console_waiting.html"
CHANGES = QUEUE_CHANGES | {"catalogue_changed"}


class ConsoleLists:
    FIRST = 0.15
    EVERY = 1.0

    def __init__(self, app, hub):
        self.app, self.hub = app, hub
        self._cond = threading.Condition()
        self._due: dict[str, float] = {}  # hall -> when its lists are rendered next
        self._last: dict[str, float] = {}  # hall -> when they were last rendered
        self._thread: threading.Thread | None = None
        self._pid = None
        self._rendering = False
        hub.add_listener(self.changed)
        register_background_user(self)  # a file copy waits for the render under way

    # --- any thread -------------------------------------------------------------------
    def changed(self, site_code: str, event: dict) -> None:
        """The hub's listener: a change of the hall's queue schedules its lists."""
        if event.get("type") in CHANGES and self.hub.consoles(site_code):
            self.schedule(site_code)

    def schedule(self, site_code: str, delay: float | None = None) -> None:
        """Render the hall's lists soon: `FIRST` seconds from now (or `delay`), and not
        sooner than `EVERY` after the last time. Also when a console socket joins: a
        change between its page and its socket would otherwise wait for the next one."""
        with self._cond:
            if site_code not in self._due:
                now = time.monotonic()
                self._due[site_code] = max(now + (self.FIRST if delay is None else delay),
                                           self._last.get(site_code, 0.0) + self.EVERY)
                self._cond.notify()
            self._ensure_thread()

    def flush(self) -> None:
        """Wait for the render under way (the database pool is about to close)."""
        with self._cond:
            while self._rendering:
                self._cond.wait(0.1)

    def writer_released(self) -> None:
        pass

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="console-lists", daemon=True)
        self._thread.start()

    # --- the thread -------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = [site for site, when in self._due.items() if when <= now]
                    if due:
                        break
                    wait = min(self._due.values(), default=now + 5) - now
                    self._cond.wait(max(0.01, wait))
                for site in due:
                    del self._due[site]
                    self._last[site] = now
                self._rendering = True
            try:
                for site in due:
                    try:
                        self.push(site)
                    except Exception:  # (the database was away): once more, a bit later
                        log.exception("console lists for %s could not be pushed", site)
                        self.schedule(site, delay=self.EVERY)
            finally:
                with self._cond:
                    self._rendering = False
                    self._cond.notify_all()

    def push(self, site_code: str) -> int:
        """Render and send the lists of a hall's consoles in this worker now; returns
        how many lists were rendered."""
        consoles = self.hub.consoles(site_code)
        if not consoles:
            return 0
        with self.app.app_context():
            database.connect(reuse_if_open=True)
            try:
                return self._render_and_send(site_code, consoles)
            finally:
                if not database.is_closed():
                    database.close()

    def _render_and_send(self, site_code: str, consoles: list) -> int:
        catalogue = catalogue_cache.current()
        site = catalogue.site(site_code)
        if site is None:
            return 0
        by_services: dict[tuple, list] = {}
        for live in consoles:
            services = tuple(sorted(catalogue.counter_service_ids(live.counter_id)))
            by_services.setdefault(services, []).append(live)
        template = self.app.jinja_env.get_template(TEMPLATE)
        now = self.app.clock.now()
        for services, group in by_services.items():
            # any counter of the group stands for its set of services
            waiting = (queueing.console_list(group[0].counter_id, site.id, now)
                       if services else queueing.ConsoleList([], 0))
            html = template.render(waiting=waiting, priority_groups=queueing.PRIORITY_GROUPS)
            by_counter: dict[str, list] = {}
            for live in group:
                by_counter.setdefault(live.counter, []).append(live)
            for counter, sockets in by_counter.items():
                message = json.dumps({"type": "waiting", "counter": counter, "html": html},
                                     ensure_ascii=False, separators=(",", ":"))
                frame = text_frame(message)  # framed once for all of the counter's consoles
                for live in sockets:
                    live.deliver(message, frame)
        return len(by_services)
