"""The live event hub: who listens to which hall, and how events reach them.

One interface, two transports (CTFd's EventManager, flask-sock's docs):
- `InProcessTransport`: a publish goes straight to this process's hub. The default,
  right for one gunicorn worker (a hall's own box).
- `RedisTransport`: a publish goes to Redis pub/sub; every worker runs one listener
  thread that feeds its own hub, so a call handled by one worker reaches boards held by
  another.

Each websocket has its own bounded queue (`Subscription`). Every event gets a sequence
number per hall *in this process* when it is dispatched; the snapshot a board receives
carries the number it is current to, so a board that sees a jump knows it missed
something and asks for a new snapshot. Events are serialised once, not once per socket.
"""
import json
import logging
import os
import queue
import threading
import time
from collections import defaultdict

log = logging.getLogger("mpp.boards")

QUEUE_SIZE = 256
RESYNC = {"type": "resync"}


class Subscription:
    """One websocket's mailbox. Holds ready-to-send JSON strings; when it overflows
    (a board that stopped reading) it is flagged, and the socket gets a fresh snapshot
    instead of the lost events."""

    def __init__(self, site_code: str, size: int = QUEUE_SIZE):
        self.site_code = site_code
        self.queue: queue.Queue = queue.Queue(size)
        self.overflowed = False

    def offer(self, message: str) -> None:
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> str | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> None:
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.overflowed = False


class HubFull(Exception):
    """This worker holds as many boards as it may without starving other requests."""


class Hub:
    """The boards connected to this process, per hall, and the hall's sequence."""

    def __init__(self, capacity: int | None = None):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self._seq: dict[str, int] = defaultdict(int)

    def subscribe(self, site_code: str) -> tuple[Subscription, int]:
        """Register a mailbox; returns it with the hall's current sequence number:
        every event dispatched from now on has a higher one."""
        sub = Subscription(site_code)
        with self._lock:
            if self.capacity is not None and self._count() >= self.capacity:
                raise HubFull()
            self._subscriptions[site_code].add(sub)
            return sub, self._seq[site_code]

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscriptions.get(sub.site_code)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscriptions[sub.site_code]

    def current_seq(self, site_code: str) -> int:
        with self._lock:
            return self._seq[site_code]

    def dispatch(self, site_code: str, event: dict) -> int:
        """Number the event and hand it to every mailbox of that hall."""
        with self._lock:
            self._seq[site_code] += 1
            seq = self._seq[site_code]
            targets = list(self._subscriptions.get(site_code, ()))
        message = json.dumps({**event, "seq": seq}, ensure_ascii=False,
                             separators=(",", ":"))
        for sub in targets:
            sub.offer(message)
        return seq

    def resync_all(self) -> None:
        """Tell every board to fetch a new snapshot (after a broker outage)."""
        with self._lock:
            sites = list(self._subscriptions)
        for site_code in sites:
            self.dispatch(site_code, RESYNC)

    def _count(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def count(self, site_code: str | None = None) -> int:
        with self._lock:
            if site_code is None:
                return self._count()
            return len(self._subscriptions.get(site_code, ()))

    def would_accept(self) -> bool:
        return self.capacity is None or self.count() < self.capacity


class InProcessTransport:
    name = "in-process"

    def __init__(self, hub: Hub):
        self.hub = hub

    def send(self, site_code: str, event: dict) -> None:
        self.hub.dispatch(site_code, event)

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class RedisTransport:
    """Redis pub/sub, one channel per hall (`<prefix>board:<site>`). The listener
    thread starts on the first subscriber in this process (never in the gunicorn master
    or a CLI command), reconnects with backoff, and after an outage asks every board
    for a resync, since events published meanwhile are lost."""

    name = "redis"

    def __init__(self, hub: Hub, url: str, prefix: str = "mpp:"):
        import redis
        self.hub = hub
        self.url = url
        self.channel_prefix = f"{prefix}board:"
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                           health_check_interval=30)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None
        self._stopping = threading.Event()
        self.ready = threading.Event()

    def send(self, site_code: str, event: dict) -> None:
        self.client.publish(self.channel_prefix + site_code,
                            json.dumps(event, ensure_ascii=False, separators=(",", ":")))

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stopping.clear()
            self._thread = threading.Thread(target=self._listen, name="board-redis-listener",
                                            daemon=True)
            self._thread.start()
        self.ready.wait(timeout=5)

    def close(self) -> None:
        self._stopping.set()

    def _listen(self) -> None:
        import redis
        delay = 0.5
        outage = False
        while not self._stopping.is_set():
            pubsub = None
            try:
                listener = redis.Redis.from_url(self.url, socket_connect_timeout=5,
                                                socket_keepalive=True,
                                                health_check_interval=30)
                pubsub = listener.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.channel_prefix + "*")
                # Wait for the subscription to be confirmed before declaring readiness.
                pubsub.get_message(timeout=5, ignore_subscribe_messages=False)
                self.ready.set()
                if outage:
                    log.warning("board events: Redis is back; boards resync")
                    self.hub.resync_all()
                    outage = False
                delay = 0.5
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()
                    site_code = channel[len(self.channel_prefix):]
                    self.hub.dispatch(site_code, json.loads(message["data"]))
            except Exception as exc:  # the broker went away: retry, boards resync after
                if not outage:
                    log.error("board events: Redis listener failed (%s); retrying", exc)
                outage = True
                self.ready.set()  # don't keep websocket handlers waiting on a dead broker
                time.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # pragma: no cover
                        pass
