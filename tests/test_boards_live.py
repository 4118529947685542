"""Boards against real gunicorn processes and real websockets (websocket-client).

- one worker, in-process transport (a hall's own box);
- 500 boards on make run's defaults, and a console's socket;
- three workers with Redis pub/sub and PostgreSQL (the central role): a call handled by
  any worker reaches every board of that hall, whichever worker holds it.
"""
import json
import os
import resource
import socket
import threading
import time
import uuid

import pytest
import requests
import websocket

from app.config import SETTINGS

from . import boardkit
from .pages import csrf_from
from .servers import Server


def ws_url(server, site):
    return server.url.replace("http://", "ws://") + f"/ws/boards/{site}"


def close_code(board, frames: int = 50) -> int | None:
    """Read until the server's close frame; its status code (None if it never came)."""
    board.ws.settimeout(10)
    for _ in range(frames):
        try:
            opcode, data = board.ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big") if len(data) >= 2 else None
    return None


class Board:
    """A websocket board: keeps the snapshot and the events it has seen. It is a
    registered board of its hall (a device registered through the domain, its
    credential as its cookie: `boardkit`), unless `credential` says otherwise ("" for an
    unregistered client)."""

    def __init__(self, server, site, credential=None):
        self.site = site
        if credential is None:
            credential = boardkit.credential_for(server, site)
        options = {"cookie": boardkit.cookie(credential)} if credential else {}
        for attempt in range(50):
            self.ws = websocket.WebSocket()
            try:
                self.ws.connect(ws_url(server, site), timeout=10, **options)
                break
            except websocket.WebSocketBadStatusException as exc:
                self.ws.shutdown()
                # A full worker refuses with 503; board.js retries the same way and
                # the next attempt usually lands on another worker.
                if exc.status_code != 503 or attempt == 49:
                    raise
                time.sleep(0.05)
        self.snapshot = self.expect("snapshot")
        self.seq = self.snapshot["seq"]

    def recv(self, timeout):
        self.ws.settimeout(timeout)
        try:
            data = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        if data == "":  # a close frame
            raise websocket.WebSocketConnectionClosedException("closed by the server")
        return json.loads(data)

    def expect(self, kind, timeout=10, number=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if msg is None:
                break
            if msg["type"] == kind and (number is None or msg.get("number") == number):
                return msg
        raise AssertionError(f"{self.site} board got no {kind} {number or ''}")

    def events(self, quiet=0.5):
        out = []
        while (msg := self.recv(quiet)) is not None:
            out.append(msg)
        return out

    def close(self):
        try:
            self.ws.close()
        except (websocket.WebSocketException, OSError):
            pass  # the server closed it already
        finally:
            self.ws.shutdown()  # close() skips the socket when already disconnected


class Operator:
    def __init__(self, server, username="operator.tabang"):
        self.server = server
        self.headers = {"Authorization": f"Bearer {server.token(username)}"}

    def issue(self, site="tabang", service="ADM-KTP"):
        r = requests.post(f"{self.server.url}/api/v1/sites/{site}/tickets",
                          json={"service": service}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def call_next(self, site="tabang", counter="L1"):
        r = requests.post(f"{self.server.url}/api/v1/sites/{site}/counters/{counter}/call-next",
                          headers=self.headers, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["ticket"]

    def finish(self, ticket_id):
        r = requests.post(f"{self.server.url}/api/v1/tickets/{ticket_id}/finish",
                          json={"outcome": "completed"}, headers=self.headers, timeout=10)
        assert r.status_code == 200, r.text


def refusal(url, **options) -> int:
    """The status of a refused handshake (the socket closed, not left to the GC)."""
    ws = websocket.WebSocket()
    try:
        ws.connect(url, timeout=10, **options)
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code
    finally:
        ws.shutdown()
    raise AssertionError("the handshake was accepted")


def connected(server, site):
    return requests.get(f"{server.url}/boards/{site}/status.json", timeout=5).json()


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def check_call_reaches_only_that_hall(server, n_hall=30, n_other=8):
    hall = [Board(server, "tabang") for _ in range(n_hall)]
    other = [Board(server, "anggana") for _ in range(n_other)]
    try:
        op = Operator(server)
        op.issue()
        ticket = op.call_next()
        for board in hall:
            call = board.expect("call", number=ticket["number"])
            assert call["counter"] == "L1" and call["counter_number"] == 1
            assert call["speech"] == "Nomor antrian A satu, silakan menuju loket satu"
            assert call["seq"] > board.seq
        for board in other:
            assert [m for m in board.events(quiet=0.3) if m["type"] != "heartbeat"] == []
        return hall, ticket
    finally:
        for board in hall + other:
            board.close()


def check_reconnect_gets_latest_state(server):
    op = Operator(server)
    board = Board(server, "tabang")
    board.close()
    op.issue(service="IZN-NIB")
    called = op.call_next(counter="L2")
    op.finish(called["id"])
    op.issue(service="IZN-NIB")
    again = op.call_next(counter="L2")
    board = Board(server, "tabang")  # the drop missed both calls: the snapshot has them
    try:
        snap = board.snapshot
        assert snap["latest"]["number"] == again["number"]
        numbers = [c["number"] for c in snap["recent_calls"]]
        assert numbers[:2] == [again["number"], called["number"]]
        l2 = next(c for c in snap["counters"] if c["code"] == "L2")
        assert l2["current"]["number"] == again["number"]
    finally:
        board.close()


@pytest.mark.slow
def test_single_worker_in_process(tmp_path):
    with Server(tmp_path / "srv", workers=1, threads=64) as server:
        hall, _ticket = check_call_reaches_only_that_hall(server, n_hall=30, n_other=8)
        check_reconnect_gets_latest_state(server)

        # A board asks for a resync (it saw a gap): it gets a fresh snapshot.
        board = Board(server, "tabang")
        board.ws.send(json.dumps({"type": "resync"}))
        assert board.expect("snapshot")["latest"] is not None
        board.ws.send("not json")  # ignored, the socket stays up
        board.ws.send(json.dumps({"type": "resync"}))
        board.expect("snapshot")
        board.close()

        # A client that floods the socket is cut off.
        flood = Board(server, "tabang")
        for _ in range(200):
            flood.ws.send("x")
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            for _ in range(20):
                flood.recv(0.5)
        flood.close()

        # Boards that reconnect many times, some dropping without a close frame,
        # leave nothing behind: no subscription, no open descriptor.
        status = connected(server, "tabang")
        assert wait_until(lambda: connected(server, "tabang")["connected_here"] == 0)
        descriptors = open_descriptors(status["pid"])
        for i in range(25):
            b = Board(server, "tabang")
            if i % 2:
                b.ws.sock.shutdown(socket.SHUT_RDWR)
                b.ws.sock.close()
            else:
                b.close()
        assert wait_until(lambda: connected(server, "tabang")["connected_here"] == 0), \
            connected(server, "tabang")
        assert wait_until(lambda: open_descriptors(status["pid"]) <= descriptors), \
            (open_descriptors(status["pid"]), descriptors)
        assert "Traceback" not in server.log()


def open_descriptors(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
def test_refusals_from_a_real_server(tmp_path):
    with Server(tmp_path / "srv", workers=1, threads=4,
                env={"BOARD_MAX_CONNECTIONS": "2"}) as server:
        assert refusal(ws_url(server, "tabang"), origin="http://evil.example") == 403
        assert refusal(ws_url(server, "atlantis")) == 404
        # At most 2 sockets in this worker: the third board is refused, with a reason ...
        boards = [Board(server, "tabang"), Board(server, "tabang")]
        assert connected(server, "tabang")["connected_here"] == 2
        assert refusal(ws_url(server, "tabang")) == 503
        assert "maximum of 2 board and console sockets" in server.log()
        # ... and the kiosk still answers (4 threads, 2 boards: the boards hold none).
        r = requests.post(f"{server.url}/api/v1/sites/tabang/tickets",
                          json={"service": "ADM-KTP"}, timeout=5)
        assert r.status_code == 201
        for b in boards:
            assert b.expect("issued")["number"] == r.json()["number"]
        boards[1].close()

        # A graceful stop (a deploy, a restart) tells boards to go away at once, so
        # they reconnect to the next worker instead of holding the stop for its timeout.
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        assert close_code(boards[0]) == 1001  # "going away": reconnect elsewhere now
        stopping.join()
        boards[0].close()


def login_session(server, username="operator.tabang"):
    session = requests.Session()
    page = session.get(f"{server.url}/loket/masuk", timeout=10).text
    r = session.post(f"{server.url}/loket/masuk", timeout=10, allow_redirects=False,
                     data={"username": username, "password": "demo",
                           "csrf_token": csrf_from(page)})
    assert r.status_code == 302, r.text
    return session


def open_boards(server, n, threads=8):
    """N boards at once from a few threads; any refusal fails."""
    boards, errors = [], []
    lock = threading.Lock()
    cookie = boardkit.cookie(boardkit.credential_for(server, "tabang"))

    def opener(count):
        for _ in range(count):
            try:
                board = Board.__new__(Board)
                board.site = "tabang"
                board.ws = websocket.WebSocket()
                board.ws.connect(ws_url(server, "tabang"), timeout=20, cookie=cookie)
                board.snapshot = board.expect("snapshot", timeout=20)
                board.seq = board.snapshot["seq"]
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                boards.append(board)
    workers = [threading.Thread(target=opener, args=(n // threads + (i < n % threads),))
               for i in range(threads)]
    [w.start() for w in workers]
    [w.join() for w in workers]
    return boards, errors


@pytest.mark.slow
def test_500_boards_on_the_default_settings(tmp_path):
    """make run's defaults (one worker, GUNICORN_THREADS threads): 500 boards connect
    without one refusal, each gets its snapshot and then the next call, and a kiosk's
    ticket and a console's page are answered meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:  # 500 client sockets in this process
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2048), hard))
    workers, threads = (int(SETTINGS[name][0])
                        for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS"))
    with Server(tmp_path / "srv", workers=workers, threads=threads) as server:
        console = login_session(server)
        op = Operator(server)
        boards, errors = open_boards(server, 500)
        try:
            assert errors == [] and len(boards) == 500
            assert connected(server, "tabang")["connected_here"] == 500
            assert {b.snapshot["type"] for b in boards} == {"snapshot"}

            started = time.monotonic()
            ticket = op.issue()
            page = console.get(f"{server.url}/loket/tabang/L1/antrean", timeout=10)
            answered = time.monotonic() - started
            assert page.status_code == 200 and ticket["number"] in page.text
            assert answered < 2, f"a kiosk and a console took {answered:.2f} s"
            called = op.call_next()

            missing = []

            def check(part):
                for board in part:
                    try:
                        board.expect("call", number=called["number"], timeout=20)
                    except AssertionError:
                        missing.append(board)
            readers = [threading.Thread(target=check, args=(boards[i::8],))
                       for i in range(8)]
            [r.start() for r in readers]
            [r.join() for r in readers]
            assert missing == [], f"{len(missing)} boards missed the call"
        finally:
            for board in boards:
                board.close()
        assert wait_until(lambda: connected(server, "tabang")["connected_here"] == 0,
                          timeout=20)
        assert "Traceback" not in server.log()


@pytest.mark.slow
def test_a_console_socket_is_for_signed_in_staff_of_that_hall(tmp_path):
    with Server(tmp_path / "srv", workers=1, threads=8,
                env={"BOARD_ALLOWED_ORIGINS": "http://signage.example"}) as server:
        url = server.url.replace("http://", "ws://") + "/ws/loket/tabang"
        assert refusal(url) == 401
        other = login_session(server, "operator.anggana")
        cookie = "; ".join(f"{k}={v}" for k, v in other.cookies.items())
        assert refusal(url, cookie=cookie) == 403
        staff = login_session(server)
        cookie = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())
        # A board's extra Origins are not a console's: only the same origin.
        assert refusal(url, cookie=cookie, origin="http://signage.example") == 403
        ws = websocket.WebSocket()
        ws.connect(url, cookie=cookie, origin=server.url, timeout=10)
        try:
            assert json.loads(ws.recv())["type"] == "snapshot"
            ticket = Operator(server).issue()
            ws.settimeout(5)
            event = json.loads(ws.recv())
            assert (event["type"], event["number"]) == ("issued", ticket["number"])
        finally:
            ws.close()


def test_a_console_socket_gets_its_counters_waiting_list_pushed(tmp_path):
    """With `?counter=`, a change of the hall's queue pushes that counter's waiting list
    down the console's socket (boards/console_lists.py): the page asks for nothing."""
    with Server(tmp_path / "srv", workers=1, threads=8) as server:
        staff = login_session(server)
        cookie = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())
        url = server.url.replace("http://", "ws://") + "/ws/loket/tabang"
        assert refusal(url + "?counter=L9", cookie=cookie, origin=server.url) == 404
        ws = websocket.WebSocket()
        ws.connect(url + "?counter=L1", cookie=cookie, origin=server.url, timeout=10)

        def next_list():
            ws.settimeout(5)
            while True:
                msg = json.loads(ws.recv())
                if msg["type"] == "waiting":
                    return msg

        try:
            assert json.loads(ws.recv())["type"] == "snapshot"
            operator = Operator(server)
            first, second = operator.issue(), operator.issue(service="ADM-KK")
            pushed = next_list()
            while second["number"] not in pushed["html"]:  # the two may come as one
                pushed = next_list()
            assert pushed["counter"] == "L1" and first["number"] in pushed["html"]
            called = operator.call_next()
            assert called["number"] == first["number"]
            pushed = next_list()
            assert first["number"] not in pushed["html"] and second["number"] in pushed["html"]
        finally:
            ws.close()


@pytest.mark.slow
def test_a_silent_board_is_dropped_by_the_ping(tmp_path):
    """A board that stops answering pings (a TV switched off at the wall) is closed by
    the server and leaves nothing behind."""
    with Server(tmp_path / "srv", workers=1, threads=12,
                env={"BOARD_PING_SECONDS": "1"}) as server:
        silent = Board(server, "tabang")  # websocket-client only pongs while reading
        live = Board(server, "tabang")
        assert connected(server, "tabang")["connected_here"] == 2
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:  # the live board keeps reading (and ponging)
            live.recv(0.2)
        assert wait_until(lambda: connected(server, "tabang")["connected_here"] == 1)
        silent.close(), live.close()




@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_with_redis(tmp_path, pg_database):
    prefix = f"test-boards-{uuid.uuid4().hex[:8]}:"
    # One worker could take every board now that boards hold no thread (the kernel
    # hands connections to whichever worker is quickest): a limit of 24 per worker
    # spreads 45 boards over at least two, as a full worker refuses and the board retries.
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "BOARD_CHANNEL_PREFIX": prefix,
           "DATABASE_URL": pg_database, "BOARD_MAX_CONNECTIONS": "24"}
    with Server(tmp_path / "srv", workers=3, threads=32, env=env) as server:
        assert "BOARDS WILL MISS CALLS" not in server.log()
        hall = [Board(server, "tabang") for _ in range(45)]
        try:
            workers = {b.snapshot["worker"] for b in hall}
            assert len(workers) >= 2, "boards all landed on one worker; nothing crossed"
        finally:
            for b in hall:
                b.close()
        hall, _ = check_call_reaches_only_that_hall(server, n_hall=45, n_other=9)
        check_reconnect_gets_latest_state(server)
        assert connected(server, "tabang")["fanout"] == "redis"
        assert "Traceback" not in server.log()


@pytest.mark.slow
def test_several_workers_without_redis_warn_loudly(tmp_path):
    with Server(tmp_path / "srv", workers=2, threads=4) as server:
        assert wait_until(lambda: "BOARDS WILL MISS CALLS" in server.log(), timeout=5)
