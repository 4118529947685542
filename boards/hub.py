"""The live event hub: who listens to which hall, and how events reach them.

One interface, two fan-outs:
- `LocalFanout`: a publish goes straight to this process's hub. The default,
  right for one gunicorn worker (a hall's own box).
- `RedisFanout`: a publish goes to Redis pub/sub; every worker runs one listener
  thread that feeds its own hub, so a call handled by one worker reaches boards held by
  another.

Every event gets a sequence number per hall *in this process*, and is serialised once
(and framed once). One fan-out thread per process then hands it to every subscriber of
that hall, one after another. A subscriber is anything with `site_code`,
`deliver(message, frame, seq)`, `request_snapshot()` and `close()`: the board and
console sockets of `boards.sockets` (whose one loop thread writes them), or a
`Subscription` here, which writes through a function (tests, in-process listeners) and
buffers the events that arrive before its snapshot went out. The snapshot carries the
number it is current to, so a board that sees a jump knows it missed something and
asks for a new one.
"""
import json
import logging
import os
import queue
import struct
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

log = logging.getLogger("mpp.boards")

PENDING_MAX = 256


def text_frame(text: str) -> bytes:
    """A server-to-client websocket text frame (RFC 6455 5.2: unmasked, final), built
    once per event and written as is to every socket (they negotiate no extension)."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


class Subscription:
    """A subscriber that writes through a function: `send` writes a text message;
    `writable` says whether that would not block (else it falls behind and is asked for
    a snapshot)."""

    def __init__(self, site_code: str, send, writable=lambda: True):
        self.site_code = site_code
        self._send = send
        self._writable = writable
        self.lock = threading.Lock()
        self.live = False  # after the snapshot went out: events go straight to the socket
        self.pending: list[str] = []
        self.needs_snapshot = False
        self.closed = False
        self.wake = threading.Event()  # its owner has something to do
        self.last_sent = time.monotonic()
        self.last_seq = 0  # the newest event this board has been sent (or its snapshot)

    def deliver(self, message: str, frame: bytes | None = None, seq: int = 0) -> None:
        """Called by the fan-out thread for each event of this hall."""
        with self.lock:
            if self.closed:
                return
            if not self.live:
                if len(self.pending) < PENDING_MAX:
                    self.pending.append((seq, message))
                else:
                    self._fall_behind()
                return
            try:
                if not self._writable():
                    self._fall_behind()
                    return
                self._send(message)
                self.last_sent = time.monotonic()
                self.last_seq = max(self.last_seq, seq)
            except Exception:  # the board went away; its owner cleans up
                self.closed = True
                self.wake.set()

    def _fall_behind(self):
        self.live = False
        self.pending.clear()
        self.needs_snapshot = True
        self.wake.set()

    def request_snapshot(self) -> None:
        with self.lock:
            self.needs_snapshot = True
        self.wake.set()

    def send_snapshot(self, build) -> None:
        """Called by its owner's thread. `build()` returns the hall's
        sequence number and the snapshot JSON (it reads the number first, then the
        state). Events that arrive meanwhile are buffered and follow the snapshot; the
        board ignores those the snapshot already covers."""
        with self.lock:
            self.live = False
            self.pending.clear()
            self.needs_snapshot = False
        snapshot_seq, text = build()
        with self.lock:
            self._send(text)
            self.last_seq = snapshot_seq
            for seq, message in self.pending:
                self._send(message)
                self.last_seq = max(self.last_seq, seq)
            self.pending.clear()
            self.live = True
            self.last_sent = time.monotonic()

    def send_now(self, text: str) -> None:
        with self.lock:
            self._send(text)
            self.last_sent = time.monotonic()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.pending.clear()
        self.wake.set()


class HubFull(Exception):
    """A socket this worker will not take: by default because it holds its maximum of
    live sockets (BOARD_MAX_CONNECTIONS); the other refusals name their own limit. The
    status, code and message are the handshake's JSON refusal."""

    def __init__(self, status: int = 503, code: str = "boards_full",
                 message: str = "Server sedang melayani jumlah papan terbanyak "
                                "(BOARD_MAX_CONNECTIONS); papan akan mencoba lagi.",
                 limit: str = "BOARD_MAX_CONNECTIONS"):
        super().__init__(message)
        self.status, self.code, self.message, self.limit = status, code, message, limit


@dataclass(frozen=True)
class Admission:
    """Who a socket is, for the limits: a registered board of a hall (`device` set,
    `key` the hall's code) or an unregistered client (`key` its address). Consoles and
    in-process subscriptions have none: only the worker's capacity applies to them."""
    key: str
    device: int | None = None

    @property
    def registered(self) -> bool:
        return self.device is not None


@dataclass(frozen=True)
class Limits:
    """Board sockets one worker takes, besides its capacity: per hall for registered
    boards (BOARD_HALL_MAX), and for unregistered clients in all
    (BOARD_UNREGISTERED_MAX) and per address (BOARD_UNREGISTERED_PER_ADDRESS).
    None: no limit."""
    hall_max: int | None = None
    unregistered_max: int | None = None
    per_address: int | None = None


class Hub:
    """The boards connected to this process, per hall, and the hall's sequence."""

    def __init__(self, capacity: int | None = None, limits: Limits | None = None):
        self.capacity = capacity
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self._registered: Counter = Counter()  # registered board sockets per hall
        self._by_address: Counter = Counter()  # unregistered sockets per address
        self._unregistered = 0
        self._seq: dict[str, int] = defaultdict(int)
        self._outbox: queue.Queue = queue.Queue()
        self._fanout: threading.Thread | None = None
        self._pid = None
        self._feeders: list = []
        self._listeners: list = []

    def add_feeder(self, flush) -> None:
        """Something that dispatches here from a queue of its own (the publisher of
        boards.setup): `flush()` waits for it first."""
        self._feeders.append(flush)

    def add_listener(self, listener) -> None:
        """`listener(site_code, event)` is called after each event is numbered, on the
        dispatching thread (the console lists of boards.console_lists)."""
        self._listeners.append(listener)

    def consoles(self, site_code: str) -> list:
        """This process's console sockets of a hall that name their counter."""
        with self._lock:
            return [s for s in self._subscriptions.get(site_code, ())
                    if getattr(s, "counter", None) is not None]

    def subscribe(self, site_code: str, send, writable=lambda: True) -> Subscription:
        return self.add(Subscription(site_code, send, writable))

    def add(self, sub):
        """Subscribe `sub` to its hall's events, unless a limit refuses it (HubFull)."""
        admission = getattr(sub, "admission", None)
        with self._lock:
            refusal = self._refusal(admission)
            if refusal is not None:
                raise refusal
            self._subscriptions[sub.site_code].add(sub)
            if admission is not None and admission.registered:
                self._registered[admission.key] += 1
            elif admission is not None:
                self._by_address[admission.key] += 1
                self._unregistered += 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close()
        admission = getattr(sub, "admission", None)
        with self._lock:
            subs = self._subscriptions.get(sub.site_code)
            if subs is not None and sub in subs:
                subs.discard(sub)
                if not subs:
                    del self._subscriptions[sub.site_code]
                if admission is not None and admission.registered:
                    self._registered[admission.key] -= 1
                    if self._registered[admission.key] <= 0:
                        del self._registered[admission.key]
                elif admission is not None:
                    self._unregistered -= 1
                    self._by_address[admission.key] -= 1
                    if self._by_address[admission.key] <= 0:
                        del self._by_address[admission.key]

    def refusal(self, admission: Admission | None = None) -> HubFull | None:
        """Why a socket with `admission` would be refused now (None: it would not)."""
        with self._lock:
            return self._refusal(admission)

    def _refusal(self, admission: Admission | None) -> HubFull | None:
        if self.capacity is not None and self._count() >= self.capacity:
            return HubFull()
        limits = self.limits
        if admission is None:
            return None
        if admission.registered:
            if limits.hall_max is not None and \
                    self._registered[admission.key] >= limits.hall_max:
                return HubFull(503, "boards_hall_full", "Papan terdaftar lokasi ini sudah "
                               "memakai semua tempatnya di server ini (BOARD_HALL_MAX); "
                               "papan akan mencoba lagi.", "BOARD_HALL_MAX")
            return None
        if limits.per_address is not None and \
                self._by_address[admission.key] >= limits.per_address:
            return HubFull(429, "boards_address_limit", "Alamat ini sudah membuka "
                           f"{limits.per_address} papan yang belum terdaftar (batas "
                           "BOARD_UNREGISTERED_PER_ADDRESS). Daftarkan papan ini: "
                           "supervisor lokasi memasukkan kode pemasangannya di halaman "
                           "Perangkat.", "BOARD_UNREGISTERED_PER_ADDRESS")
        if limits.unregistered_max is not None and \
                self._unregistered >= limits.unregistered_max:
            return HubFull(503, "boards_unregistered_full", "Server sedang melayani papan "
                           "tak terdaftar terbanyak (BOARD_UNREGISTERED_MAX); papan "
                           "terdaftar tetap dilayani. Daftarkan papan ini di halaman "
                           "Perangkat lokasi.", "BOARD_UNREGISTERED_MAX")
        return None

    def current_seq(self, site_code: str) -> int:
        with self._lock:
            return self._seq[site_code]

    def dispatch(self, site_code: str, event: dict) -> int:
        """Number the event, serialise it once, hand it to the fan-out thread. A
        revoked board (`board_revoked`) is no event for boards: its sockets are closed."""
        if event.get("type") == "board_revoked":
            self._close_device(site_code, event.get("device"))
            return 0
        with self._lock:
            self._seq[site_code] += 1
            seq = self._seq[site_code]
            targets = list(self._subscriptions.get(site_code, ()))
        if targets:
            message = json.dumps({**event, "seq": seq}, ensure_ascii=False,
                                 separators=(",", ":"))
            self._ensure_fanout()
            self._outbox.put((targets, message, seq))
        for listener in self._listeners:
            try:
                listener(site_code, event)
            except Exception:  # a listener must not stop the boards' events
                log.exception("listener of %s events failed", site_code)
        return seq

    def flush(self) -> None:
        """Wait until every published event has been dispatched and written (tests,
        shutdown)."""
        for flush in self._feeders:
            flush()
        self._outbox.join()

    def _ensure_fanout(self) -> None:
        if self._fanout is not None and self._pid == os.getpid() and self._fanout.is_alive():
            return
        with self._lock:
            if self._fanout is None or self._pid != os.getpid() or not self._fanout.is_alive():
                self._pid = os.getpid()
                self._fanout = threading.Thread(target=self._run_fanout,
                                                name="board-fanout", daemon=True)
                self._fanout.start()

    def _run_fanout(self) -> None:
        while True:
            targets, message, seq = self._outbox.get()
            frame = text_frame(message)
            for sub in targets:
                try:
                    sub.deliver(message, frame, seq)
                except Exception:  # pragma: no cover - deliver() handles socket errors
                    log.exception("board fan-out failed for one board")
            self._outbox.task_done()

    def resync_all(self) -> None:
        """Every board fetches a new snapshot (after a broker outage)."""
        with self._lock:
            subs = [s for group in self._subscriptions.values() for s in group]
        for sub in subs:
            sub.request_snapshot()

    def _count(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def count(self, site_code: str | None = None) -> int:
        with self._lock:
            if site_code is None:
                return self._count()
            return len(self._subscriptions.get(site_code, ()))

    def would_accept(self) -> bool:
        return self.capacity is None or self.count() < self.capacity

    def count_registered(self, site_code: str) -> int:
        with self._lock:
            return self._registered[site_code]

    def count_unregistered(self, address: str | None = None) -> int:
        with self._lock:
            return self._unregistered if address is None else self._by_address[address]

    def _close_device(self, site_code: str, device) -> None:
        with self._lock:
            targets = [s for s in self._subscriptions.get(site_code, ())
                       if getattr(s, "admission", None) is not None
                       and s.admission.device == device]
        for sub in targets:
            closer = getattr(sub, "revoke", None) or sub.close
            closer()


class LocalFanout:
    name = "in-process"

    def __init__(self, hub: Hub):
        self.hub = hub

    def send(self, site_code: str, event: dict) -> None:
        self.hub.dispatch(site_code, event)

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class RedisFanout:
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
        # Short timeouts: a publish happens inside an operator's request.
        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=0.5,
                                           health_check_interval=30)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None
        self._stopping = threading.Event()
        self.ready = threading.Event()

    def send(self, site_code: str, event: dict) -> None:
        """Publish; while Redis is down, skip for a few seconds rather than make every
        call wait for a timeout (boards resync when the listener reconnects)."""
        if time.monotonic() < self._down_until:
            log.warning("board event %s for %s dropped: Redis is down", event.get("type"),
                        site_code)
            return
        try:
            self.client.publish(self.channel_prefix + site_code,
                                json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        except Exception:
            self._down_until = time.monotonic() + 5
            raise

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
