"""Board and console sockets without a thread each: one event loop per worker.

The websocket routes (`app/views/boards.py`) check the request, answer the upgrade
(101) and hand the connection to this worker's `SocketLoop` with the first snapshot,
then end the request: gunicorn's thread is free at once. The loop, one thread on one
epoll selector, owns every board and console socket of its worker:

- it writes the hub's frames (`LiveSocket.deliver`, called by the hub's fan-out thread,
  only queues them and wakes the loop), in the hub's order, so per hall the sequence
  numbers go out as they were given;
- it reads what clients send: `{"type": "resync"}` (a new snapshot), pongs, pings,
  close; a client that floods the socket or sends a large message is closed;
- it pings every `ping_seconds` and drops a socket whose last ping got no pong, and
  sends a heartbeat after `HEARTBEAT_SECONDS` without a message;
- a socket that stops reading is never waited for: past `OUT_MAX` bytes queued it
  drops what it has not begun to write and gets a fresh snapshot when it drains;
- snapshots need the database: the loop asks a small pool of threads for them
  (`SNAPSHOT_THREADS`) and writes the result when it is ready. Events that arrive
  meanwhile wait and follow the snapshot, as at the first connect;
- when the worker stops it closes every socket with 1001 ("going away"), so boards
  reconnect to the next worker at once.

Only the loop thread touches a socket once it is adopted, so nothing here takes a
lock per socket.
"""
import base64
import collections
import concurrent.futures
import errno
import hashlib
import json
import logging
import os
import resource
import selectors
import socket
import struct
import threading
import time

from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.utilities import ProtocolError

from .hub import text_frame

log = logging.getLogger("mpp.boards")

HEARTBEAT_SECONDS = 15  # an application message on idle sockets: boards notice a dead link
OUT_MAX = 256 * 1024  # queued bytes past which a socket counts as not reading
PENDING_MAX = 256  # events kept for a socket while its snapshot is being built
MAX_MESSAGE_BYTES = 4096  # a board only ever sends {"type": "resync"}
FLOOD_MESSAGES = 20  # messages per FLOOD_SECONDS before a client is cut off
FLOOD_SECONDS = 1.0
CLOSE_LINGER_SECONDS = 2.0  # after our close frame: wait this long for the client's
SNAPSHOT_THREADS = 2
FD_RESERVE = 256  # descriptors left for the database, files, requests
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PING_FRAME = b"\x89\x00"
REVOKED_CLOSE = 4403  # close code of a revoked board's sockets (static/board.js reloads)


def accept_token(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    digest = hashlib.sha1(key.strip().encode("ascii") + GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def upgrade_response(key: str) -> bytes:
    """The 101 answer: no subprotocol, no extension (one frame fits every socket)."""
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
            % accept_token(key)).encode("ascii")


def valid_key(key: str | None) -> bool:
    try:
        return key is not None and len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


def close_frame(code: int, reason: str = "") -> bytes:
    payload = struct.pack("!H", code) + reason.encode("utf-8")[:120]
    return struct.pack("!BB", 0x88, len(payload)) + payload


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards `wanted` (at most the hard
    limit: systemd's default soft limit of 1024 would stop a worker near 800 boards).
    Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):  # pragma: no cover - not allowed here
            pass
    return soft


class LiveSocket:
    """One board's or console's socket. The hub calls `deliver`, `request_snapshot`
    and `close` from any thread; everything else runs on the loop thread."""

    def __init__(self, site_code: str, sock: socket.socket, build_snapshot, kind="board",
                 admission=None, counter: tuple[int, str] | None = None):
        self.site_code = site_code
        self.kind = kind
        self.admission = admission  # hub.Admission: a registered board or an address
        # A console's counter (id, code): its waiting list is pushed (console_lists)
        self.counter_id, self.counter = counter if counter else (None, None)
        self.sock = sock
        self.build_snapshot = build_snapshot  # () -> (seq, text); needs the database
        self.loop: SocketLoop | None = None
        self.inbox: collections.deque = collections.deque()  # (seq, frame) from the hub
        self.closed = False  # set once, by close() or the loop
        # The loop's own state:
        self.ws = Connection(ConnectionType.SERVER)
        self.out: collections.deque = collections.deque()
        self.out_bytes = 0
        self.head_sent = 0  # bytes of out[0] already written
        self.live = False  # the snapshot went out: events follow it directly
        self.building = False  # a snapshot is being built
        self.needs_snapshot = False  # build one as soon as the socket drains
        self.last_seq = 0  # the newest number sent (heartbeats carry it)
        self.snapshot_seq = 0  # events at or below it are in the snapshot already
        self.last_sent = time.monotonic()
        self.ping_due = 0.0
        self.awaiting_pong = False
        self.message_bytes = 0
        self.window_start = 0.0
        self.window_messages = 0
        self.closing = None  # None, "writing" (our close frame) or "lingering"
        self.close_deadline = 0.0
        self.registered = 0  # the selector events asked for

    # --- the hub's side (any thread) --------------------------------------------------
    def deliver(self, message: str, frame: bytes | None = None, seq: int = 0) -> None:
        if self.closed:
            return
        self.inbox.append((seq, frame if frame is not None else text_frame(message)))
        loop = self.loop
        if loop is not None:
            loop.ready(self)

    def request_snapshot(self) -> None:
        loop = self.loop
        if loop is not None and not self.closed:
            loop.call(loop.resync, self)

    def close(self) -> None:
        loop = self.loop
        if loop is not None and not self.closed:
            loop.call(loop.close_socket, self, 1000, "")

    def revoke(self) -> None:
        """Its board was revoked: close with REVOKED_CLOSE (the page reloads and shows
        a pairing code)."""
        loop = self.loop
        if loop is not None and not self.closed:
            loop.call(loop.close_socket, self, REVOKED_CLOSE, "papan dicabut")


class SocketLoop:
    """This worker's sockets. `adopt` is called by request threads; the rest runs on
    the loop thread, started with the first socket (in the worker, never the master)."""

    def __init__(self, hub, ping_seconds: int = 25, now_iso=None, stopping=None,
                 heartbeat_seconds: int = HEARTBEAT_SECONDS):
        self.hub = hub
        self.ping_seconds = max(1, int(ping_seconds))
        self.heartbeat_seconds = heartbeat_seconds
        self.now_iso = now_iso or (lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self.stopping = stopping or (lambda: False)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None
        self._calls: collections.deque = collections.deque()
        self._ready: collections.deque = collections.deque()
        self._woken = False
        self._sockets: set[LiveSocket] = set()
        self._stopped = threading.Event()
        self._stop_reason = None
        self._pool = None

    # --- any thread -------------------------------------------------------------------
    def adopt(self, live: LiveSocket, seq: int, snapshot: str) -> None:
        """Take over a socket whose 101 went out, with its first snapshot (current to
        `seq`). The socket must already be in the hub, so that nothing dispatched
        since the snapshot's number was read is missed."""
        self._ensure_thread()
        live.loop = self
        self.call(self._attach, live, seq, snapshot)

    def call(self, fn, *args) -> None:
        self._calls.append((fn, args))
        self._wake()

    def ready(self, live: LiveSocket) -> None:
        self._ready.append(live)
        self._wake()

    def count(self) -> int:
        return len(self._sockets)

    def stop(self, code: int = 1001, reason: str = "server dimulai ulang",
             timeout: float = 2.0) -> None:
        """Close every socket with `code` and wait (at most `timeout`) for the close
        frames to go out: the worker is stopping."""
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            return
        self.call(self._close_all, code, reason)
        self._stopped.wait(timeout)

    def _wake(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                self._wsock.send(b"\0")
            except (BlockingIOError, OSError):
                pass

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() \
                    and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._sockets = set()
            self._calls.clear()
            self._ready.clear()
            self._stopped.clear()
            self._stop_reason = None
            self._selector = selectors.DefaultSelector()
            self._rsock, self._wsock = socket.socketpair()
            self._rsock.setblocking(False)
            self._wsock.setblocking(False)
            self._woken = False
            self._selector.register(self._rsock, selectors.EVENT_READ, None)
            self._pool = concurrent.futures.ThreadPoolExecutor(
                SNAPSHOT_THREADS, thread_name_prefix="board-snapshot")
            self._thread = threading.Thread(target=self._run, name="board-sockets",
                                            daemon=True)
            self._thread.start()

    # --- the loop thread --------------------------------------------------------------
    def _run(self) -> None:
        next_tick = time.monotonic() + 1.0
        while True:
            try:
                timeout = max(0.0, next_tick - time.monotonic())
                for key, mask in self._selector.select(timeout):
                    if key.data is None:
                        # Drain first, then clear: a wake-up sent in between must not
                        # be eaten while the flag still says one is on its way.
                        try:
                            while self._rsock.recv(4096):
                                pass
                        except (BlockingIOError, OSError):
                            pass
                        self._woken = False
                        continue
                    live = key.data
                    if mask & selectors.EVENT_READ:
                        self._on_readable(live)
                    if mask & selectors.EVENT_WRITE and not live.closed:
                        self._flush(live)
                self._run_queues()
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + 1.0
                    self._tick(now)
                if self._stop_reason is not None and not self._sockets:
                    self._stopped.set()
            except Exception:  # pragma: no cover - a bug must not kill every board
                log.exception("board socket loop: unexpected error")
                time.sleep(0.1)

    def _run_queues(self) -> None:
        while self._calls:
            fn, args = self._calls.popleft()
            fn(*args)
        # Once per socket per batch; whatever is delivered from here on comes with its
        # own wake-up and is pumped on the next round.
        batch = []
        while self._ready:
            batch.append(self._ready.popleft())
        for live in dict.fromkeys(batch):
            self._pump(live)

    def _attach(self, live: LiveSocket, seq: int, snapshot: str) -> None:
        if live.closed:
            return
        live.sock.setblocking(False)
        self._sockets.add(live)
        now = time.monotonic()
        live.ping_due = now + self.ping_seconds
        live.window_start = now
        self._register(live, selectors.EVENT_READ)
        if self._stop_reason is not None:  # arrived while stopping: tell it to go too
            self.close_socket(live, *self._stop_reason)
            return
        self._send_snapshot(live, seq, snapshot)

    def _register(self, live: LiveSocket, events: int) -> None:
        if live.registered == events:
            return
        try:
            if live.registered:
                self._selector.modify(live.sock, events, live)
            else:
                self._selector.register(live.sock, events, live)
            live.registered = events
        except (ValueError, KeyError, OSError):
            self._drop(live)

    # Writing ---------------------------------------------------------------------------
    def _queue(self, live: LiveSocket, frame: bytes) -> None:
        live.out.append(frame)
        live.out_bytes += len(frame)
        live.last_sent = time.monotonic()

    def _pump(self, live: LiveSocket) -> None:
        """Move what the hub delivered onto the socket's queue (or keep it until the
        snapshot is out), then write."""
        if live.closed or live.closing:
            live.inbox.clear()
            return
        if live.live and not live.out and len(live.inbox) == 1:
            # The common case, one event for a socket that keeps up: straight out.
            seq, frame = live.inbox.popleft()
            if seq and seq <= live.snapshot_seq:
                return
            live.last_seq = max(live.last_seq, seq)
            live.last_sent = time.monotonic()
            try:
                sent = live.sock.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._drop(live)
                return
            if sent < len(frame):
                live.out.append(frame)
                live.head_sent = sent
                live.out_bytes = len(frame) - sent
                self._register(live, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return
        if live.live:
            while live.inbox:
                seq, frame = live.inbox.popleft()
                if seq and seq <= live.snapshot_seq:
                    continue  # already in the snapshot
                self._queue(live, frame)
                live.last_seq = max(live.last_seq, seq)
            if live.out_bytes > OUT_MAX:
                self._fall_behind(live)
        elif len(live.inbox) > PENDING_MAX:
            live.inbox.clear()
            live.needs_snapshot = True  # the one being built is already behind
        self._flush(live)

    def _fall_behind(self, live: LiveSocket) -> None:
        """Not reading: keep only the frame begun (half a frame cannot be taken back),
        and send a snapshot once the socket drains."""
        head = live.out[0] if live.out and live.head_sent else None
        live.out.clear()
        live.out_bytes = 0
        if head is not None:
            live.out.append(head)
            live.out_bytes = len(head) - live.head_sent
        else:
            live.head_sent = 0
        live.live = False
        live.needs_snapshot = True
        live.inbox.clear()

    def _flush(self, live: LiveSocket) -> None:
        sock = live.sock
        while live.out:
            head = live.out[0]
            try:
                sent = sock.send(memoryview(head)[live.head_sent:] if live.head_sent
                                 else head)
            except (BlockingIOError, InterruptedError):
                self._register(live, selectors.EVENT_READ | selectors.EVENT_WRITE)
                return
            except OSError:
                self._drop(live)
                return
            live.out_bytes -= sent
            if live.head_sent + sent < len(head):
                live.head_sent += sent
                self._register(live, selectors.EVENT_READ | selectors.EVENT_WRITE)
                return
            live.out.popleft()
            live.head_sent = 0
        live.out_bytes = 0
        if live.closing:
            if live.closing == "writing":  # our close frame is out: the client answers
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                live.closing = "lingering"
                live.close_deadline = time.monotonic() + CLOSE_LINGER_SECONDS
            self._register(live, selectors.EVENT_READ)
            return
        self._register(live, selectors.EVENT_READ)
        if live.needs_snapshot and not live.building:
            self._build_snapshot(live)

    # Snapshots -------------------------------------------------------------------------
    def resync(self, live: LiveSocket) -> None:
        if live.closed or live.closing:
            return
        live.needs_snapshot = True
        if not live.out and not live.building:
            self._build_snapshot(live)

    def _build_snapshot(self, live: LiveSocket) -> None:
        live.needs_snapshot = False
        live.building = True
        live.live = False  # events from now on wait for the snapshot

        def build():
            try:
                seq, text = live.build_snapshot()
            except Exception:
                log.exception("board snapshot for %s failed", live.site_code)
                self.call(self.close_socket, live, 1011, "coba lagi")
                return
            self.call(self._snapshot_built, live, seq, text)
        try:
            self._pool.submit(build)
        except RuntimeError:  # the pool is shut down: the worker is exiting
            self._drop(live)

    def _snapshot_built(self, live: LiveSocket, seq: int, text: str) -> None:
        live.building = False
        if live.closed or live.closing:
            return
        self._send_snapshot(live, seq, text)

    def _send_snapshot(self, live: LiveSocket, seq: int, text: str) -> None:
        self._queue(live, text_frame(text))
        live.last_seq = live.snapshot_seq = seq
        live.live = True
        self._pump(live)  # what arrived meanwhile, past the snapshot's number

    # Reading ---------------------------------------------------------------------------
    def _on_readable(self, live: LiveSocket) -> None:
        try:
            data = live.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(live)
            return
        if not data:
            self._drop(live)
            return
        if live.closing:
            return  # waiting for the client to close: read and drop
        try:
            live.ws.receive_data(data)
            for event in live.ws.events():
                if not self._on_event(live, event):
                    return
        except ProtocolError:
            self.close_socket(live, 1002, "protokol")

    def _on_event(self, live: LiveSocket, event) -> bool:
        if isinstance(event, Pong):
            live.awaiting_pong = False
        elif isinstance(event, Ping):
            self._queue(live, live.ws.send(event.response()))
            self._flush(live)
        elif isinstance(event, CloseConnection):
            if live.ws.state is ConnectionState.REMOTE_CLOSING:
                self._queue(live, live.ws.send(event.response()))
            self._start_close(live)
            return False
        elif isinstance(event, (TextMessage, BytesMessage)):
            live.message_bytes += len(event.data)
            if live.message_bytes > MAX_MESSAGE_BYTES:
                self.close_socket(live, 1009, "pesan terlalu besar")
                return False
            if not event.message_finished:
                return True
            live.message_bytes = 0
            now = time.monotonic()
            if now - live.window_start > FLOOD_SECONDS:
                live.window_start, live.window_messages = now, 0
            live.window_messages += 1
            if live.window_messages > FLOOD_MESSAGES:
                self.close_socket(live, 1008, "terlalu banyak pesan")
                return False
            if isinstance(event, TextMessage) and _asks_resync(event.data):
                self.resync(live)
        return True

    # Ping, heartbeat, stop -------------------------------------------------------------
    def _tick(self, now: float) -> None:
        if self._stop_reason is None and self.stopping():
            self._close_all(1001, "server dimulai ulang")
        heartbeat_at = None
        for live in list(self._sockets):
            if live.closing:
                if now > live.close_deadline:  # no answer to our close (or no room for it)
                    self._drop(live)
                continue
            if now >= live.ping_due:
                if live.awaiting_pong:
                    self.close_socket(live, 1008, "ping tidak dijawab")
                    continue
                live.awaiting_pong = True
                live.ping_due = now + self.ping_seconds
                self._queue(live, PING_FRAME)
                self._flush(live)
            if live.live and not live.out and now - live.last_sent >= self.heartbeat_seconds:
                if heartbeat_at is None:
                    heartbeat_at = self.now_iso()
                # The newest number this socket was sent: a lost last event shows here.
                self._queue(live, text_frame(json.dumps(
                    {"type": "heartbeat", "at": heartbeat_at, "seq": live.last_seq})))
                self._flush(live)

    def _close_all(self, code: int, reason: str) -> None:
        if self._stop_reason is None:
            log.info("board sockets: closing %d with %d (%s)", len(self._sockets), code,
                     reason)
        self._stop_reason = (code, reason)
        for live in list(self._sockets):
            self.close_socket(live, code, reason)
        if not self._sockets:
            self._stopped.set()

    def close_socket(self, live: LiveSocket, code: int, reason: str) -> None:
        """Our close frame after what is queued (dropping what a slow socket has not
        begun), then wait a moment for the client's answer."""
        if live.closed or live.closing:
            return
        if live not in self._sockets:  # not attached yet
            live.closed = True
            self.hub.unsubscribe(live)
            _close_quietly(live.sock)
            return
        if live.out_bytes > OUT_MAX:
            self._fall_behind(live)
        self._queue(live, close_frame(code, reason))
        self._start_close(live)

    def _start_close(self, live: LiveSocket) -> None:
        live.live = False
        live.needs_snapshot = False
        live.inbox.clear()
        live.closing = "writing"
        live.close_deadline = time.monotonic() + CLOSE_LINGER_SECONDS
        self.hub.unsubscribe(live)
        self._flush(live)

    def _drop(self, live: LiveSocket) -> None:
        if live.closed:
            return
        live.closed = True
        live.inbox.clear()
        live.out.clear()
        self._sockets.discard(live)
        if live.registered:
            try:
                self._selector.unregister(live.sock)
            except (KeyError, ValueError, OSError):
                pass
            live.registered = 0
        _close_quietly(live.sock)
        self.hub.unsubscribe(live)
        if self._stop_reason is not None and not self._sockets:
            self._stopped.set()


def _asks_resync(text: str) -> bool:
    try:
        return json.loads(text).get("type") == "resync"
    except (ValueError, AttributeError, RecursionError):
        return False


def _close_quietly(sock) -> None:
    try:
        sock.close()
    except OSError as exc:  # pragma: no cover
        if exc.errno != errno.EBADF:
            log.debug("closing a board socket: %s", exc)


class SnapshotCache:
    """A hall's snapshot, shared by every socket that asks at the same sequence number
    within `ttl` seconds, and built once however many ask at the same moment: 500 boards
    (re)connecting after a restart cost one `board_state`, not 500."""

    def __init__(self, ttl: float = 1.0):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._site_locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, tuple[int, float, str]] = {}

    def get(self, site_code: str, seq: int, build) -> str:
        """The snapshot of `site_code` current to `seq` (read before calling), from the
        cache or from `build()`."""
        with self._lock:
            site_lock = self._site_locks.setdefault(site_code, threading.Lock())
        with site_lock:
            entry = self._entries.get(site_code)
            now = time.monotonic()
            if entry is not None and entry[0] == seq and now - entry[1] < self.ttl:
                return entry[2]
            text = build()
            self._entries[site_code] = (seq, time.monotonic(), text)
            return text
