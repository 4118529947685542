"""The socket loop (boards/sockets.py) on socket pairs: a wsproto client on the other
end reads the frames as a browser would. Real servers and clients: test_boards_live.py."""
import json
import socket
import threading
import time

import pytest
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import CloseConnection, Ping, TextMessage

from boards.hub import Hub
from boards.sockets import (
    LiveSocket,
    SnapshotCache,
    SocketLoop,
    accept_token,
    upgrade_response,
    valid_key,
)


class Peer:
    """The client's end: a wsproto client connection over one end of a socket pair."""

    def __init__(self, sock, answer_pings=True):
        self.sock = sock
        self.ws = Connection(ConnectionType.CLIENT)
        self.answer_pings = answer_pings
        self.pings = 0
        self.close_code = None

    def messages(self, timeout=2.0, until=None):
        """Text messages (parsed) until `until(msgs)` or a quiet `timeout`."""
        out = []
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, TextMessage):
                    out.append(json.loads(event.data))
                elif isinstance(event, Ping):
                    self.pings += 1
                    if self.answer_pings:
                        self.sock.sendall(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self.close_code = event.code
                    return out
            if until is not None and until(out):
                return out
        return out

    def send(self, text):
        self.sock.sendall(self.ws.send(TextMessage(data=text)))


def snapshot_builder(hub, site="tabang", builds=None):
    def build():
        if builds is not None:
            builds.append(site)
        seq = hub.current_seq(site)
        return seq, json.dumps({"type": "snapshot", "seq": seq})
    return build


@pytest.fixture
def loop():
    hub = Hub()
    stop = threading.Event()
    loop = SocketLoop(hub, ping_seconds=25, stopping=stop.is_set)
    loop.stop_flag = stop
    yield loop
    loop.stop(timeout=1)


def connect(loop, site="tabang", answer_pings=True, builds=None, before_adopt=None):
    ours, theirs = socket.socketpair()
    live = LiveSocket(site, ours, snapshot_builder(loop.hub, site, builds))
    loop.hub.add(live)
    seq, text = live.build_snapshot()
    if before_adopt:
        before_adopt()
    loop.adopt(live, seq, text)
    return live, Peer(theirs, answer_pings)


def test_handshake_helpers():
    # RFC 6455 section 1.3's example.
    assert accept_token("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in \
        upgrade_response("dGhlIHNhbXBsZSBub25jZQ==")
    assert valid_key("dGhlIHNhbXBsZSBub25jZQ==")
    assert not valid_key("short") and not valid_key(None) and not valid_key("a" * 24)


def test_snapshot_then_events_in_order_and_events_during_the_handover(loop):
    hub = loop.hub

    def meanwhile():  # dispatched after the snapshot was built, before the loop has it
        hub.dispatch("tabang", {"type": "call", "number": "A001"})
    live, peer = connect(loop, before_adopt=meanwhile)
    for n in range(2, 6):
        hub.dispatch("tabang", {"type": "call", "number": f"A00{n}"})
    got = peer.messages(until=lambda m: len(m) >= 6)
    assert [(m["type"], m["seq"]) for m in got] == [("snapshot", 0)] + [
        ("call", n) for n in range(1, 6)]
    assert loop.count() == 1 and hub.count("tabang") == 1


def test_no_wakeup_is_lost_under_concurrent_deliveries(loop):
    """Events are written as they come, not at the loop's one-second tick, however many
    threads deliver at once (a lost wake-up would leave the loop asleep till then)."""
    peers = [connect(loop)[1] for _ in range(20)]
    for peer in peers:
        peer.messages(until=lambda m: m)
    for round_ in range(5):
        threads = [threading.Thread(target=lambda: [loop.hub.dispatch("tabang", {"type": "x"})
                                                    for _ in range(20)]) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        for peer in peers:
            peer.messages(until=lambda m: len(m) >= 80, timeout=3)
        started = time.monotonic()
        loop.hub.dispatch("tabang", {"type": "call", "round": round_})
        for peer in peers:
            assert peer.messages(until=lambda m: m, timeout=2)[0]["round"] == round_
        assert time.monotonic() - started < 0.5


def test_halls_are_kept_apart_and_a_resync_gets_a_new_snapshot(loop):
    builds = []
    _a, tabang = connect(loop, "tabang", builds=builds)
    _b, anggana = connect(loop, "anggana")
    loop.hub.dispatch("anggana", {"type": "call", "number": "A001"})
    assert [m["type"] for m in tabang.messages(timeout=0.3)] == ["snapshot"]
    tabang.send(json.dumps({"type": "resync"}))
    tabang.send("not json")  # ignored
    got = tabang.messages(until=lambda m: m)
    assert got == [{"type": "snapshot", "seq": 0}] and builds == ["tabang", "tabang"]
    assert [m["type"] for m in anggana.messages(until=lambda m: len(m) >= 2)] == [
        "snapshot", "call"]


def test_a_socket_that_stops_reading_is_not_waited_for(loop):
    """Its queue is dropped and it gets a snapshot when it reads again; the other
    sockets of the hall keep getting every event meanwhile."""
    slow_live, slow = connect(loop)
    _fast_live, fast = connect(loop)
    slow.messages(until=lambda m: m), fast.messages(until=lambda m: m)
    slow_live.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    big = {"type": "running_text", "text": "z" * 3000}
    got_fast = []
    for _ in range(300):  # ~1 MB: more than the socket buffers and OUT_MAX
        loop.hub.dispatch("tabang", big)
        got_fast += fast.messages(timeout=0.01, until=lambda m: m)
    got_fast += fast.messages(until=lambda m: len(got_fast) + len(m) >= 300)
    assert [m["seq"] for m in got_fast] == list(range(1, 301))
    got_slow = slow.messages(timeout=3)
    # What the buffers held, then a snapshot, then every event after it: no gap.
    kinds = [m["type"] for m in got_slow]
    assert "snapshot" in kinds and len(got_slow) < 300
    after = got_slow[len(kinds) - kinds[::-1].index("snapshot") - 1:]
    assert [m["seq"] for m in after] == list(range(after[0]["seq"], 301))
    assert slow_live.live and not slow_live.closed


def test_ping_pong_and_a_silent_socket_is_dropped():
    hub = Hub()
    loop = SocketLoop(hub, ping_seconds=1)
    try:
        _live, answering = connect(loop)
        silent_live, silent = connect(loop, answer_pings=False)
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            answering.messages(timeout=0.1)
        assert answering.pings >= 2
        assert hub.count("tabang") == 1 and silent_live.closing  # unsubscribed at once
        silent.messages(timeout=1)
        assert silent.close_code == 1008
    finally:
        loop.stop(timeout=1)


def test_heartbeat_carries_the_last_number_sent():
    hub = Hub()
    loop = SocketLoop(hub, heartbeat_seconds=1, now_iso=lambda: "2026-11-30T09:00:00+08:00")
    try:
        _live, peer = connect(loop)
        hub.dispatch("tabang", {"type": "call"})
        got = peer.messages(timeout=3, until=lambda m: m and m[-1]["type"] == "heartbeat")
        assert got[-1] == {"type": "heartbeat", "at": "2026-11-30T09:00:00+08:00", "seq": 1}
    finally:
        loop.stop(timeout=1)


def test_a_flooding_client_is_cut_off(loop):
    live, peer = connect(loop)
    for _ in range(50):
        peer.send("x")
    peer.messages(timeout=2)
    assert peer.close_code == 1008 and loop.hub.count() == 0


def test_a_client_close_is_answered_and_forgotten(loop):
    live, peer = connect(loop)
    peer.messages(until=lambda m: m)
    peer.sock.sendall(peer.ws.send(CloseConnection(1000)))
    peer.messages(timeout=1)
    assert peer.close_code == 1000
    peer.sock.close()
    deadline = time.monotonic() + 3
    while (loop.count() or not live.closed) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.closed and loop.count() == 0 and loop.hub.count() == 0


def test_stopping_closes_every_socket_with_1001(loop):
    peers = [connect(loop)[1] for _ in range(3)]
    loop.stop_flag.set()  # the worker was asked to stop: the loop notices within 1 s
    for peer in peers:
        peer.messages(timeout=3)
        assert peer.close_code == 1001
    # A board arriving while the worker stops is told to go as well.
    _live, late = connect(loop)
    late.messages(timeout=3)
    assert late.close_code == 1001


def test_snapshot_cache_builds_once_per_number():
    cache = SnapshotCache(ttl=60)
    builds = []

    def build():
        builds.append(1)
        time.sleep(0.05)
        return "state"
    threads = [threading.Thread(target=cache.get, args=("tabang", 3, build))
               for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(builds) == 1
    assert cache.get("tabang", 4, lambda: "newer") == "newer"
    assert cache.get("anggana", 4, lambda: "other") == "other"
