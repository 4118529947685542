"""Boards in process: the state, the hub, event enrichment, the pages and the refusals.
Real websocket traffic is in test_boards_live.py (real gunicorn processes)."""
import datetime as dt
import json
import threading

import pytest

from app import create_app, events
from app.domain import queueing
from app.models import AuditEntry, Counter, Site
from boards import wordclips
from boards.hub import Hub
from boards.setup import board_capacity, fanout_warning
from boards.sockets import FD_RESERVE
from boards.state import board_state, enrich, filter_state, update_board

from . import boardkit
from .conftest import MONDAY_9
from .pages import csrf_from

UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}


def site(code="tabang"):
    return Site.get(Site.code == code)


def counter(code="L1", site_code="tabang"):
    return Counter.get((Counter.site == site(site_code)) & (Counter.code == code))


def issue(service="ADM-KTP", site_code="tabang", minutes=0):
    return queueing.issue_ticket(site(site_code), queueing.get_service(service),
                                 MONDAY_9 + dt.timedelta(minutes=minutes))


def later(minutes):
    return MONDAY_9 + dt.timedelta(minutes=minutes)


class Board:
    """The receiving end of a subscription: what a socket would have been sent."""

    def __init__(self, hub, site_code="tabang", writable=True):
        self.hub = hub
        self.sent: list[dict] = []
        self.is_writable = writable
        self.sub = hub.subscribe(site_code, self.write, lambda: self.is_writable)

    def write(self, text):
        self.sent.append(json.loads(text))

    def connect(self, seq=0):
        """Send the snapshot (as the websocket handler does): live from then on."""
        self.sub.send_snapshot(lambda: (seq, json.dumps({"type": "snapshot", "seq": seq})))

    def take(self):
        self.hub.flush()
        out, self.sent = self.sent, []
        return [m for m in out if m["type"] != "snapshot"]


@pytest.fixture
def hall_hub(app):
    """A live board of tabang on the app's own hub, fed by the installed publisher."""
    board = Board(app.extensions["boards"].hub)
    board.connect()
    yield board
    board.hub.unsubscribe(board.sub)


def messages(board):
    return board.take()


# --- board_state ----------------------------------------------------------------------

def test_state_of_a_quiet_hall(db):
    state = board_state(site(), MONDAY_9)
    assert state["site"]["code"] == "tabang"
    assert state["latest"] is None and state["recent_calls"] == []
    assert [c["code"] for c in state["counters"]] == ["L1", "L2", "L3"]
    assert all(c["current"] is None for c in state["counters"])
    assert "ADM-KTP" in state["counters"][0]["services"]
    assert all(s["waiting"] == 0 for s in state["services"])
    assert state["running_text"].startswith("Selamat datang")
    json.dumps(state)  # one structure for page, snapshot and API: plain JSON


def test_state_after_calls(db):
    first, second, _third = issue(), issue(minutes=1), issue("IZN-NIB", minutes=2)
    queueing.call_next(counter("L1"), later(5))
    queueing.finish(first.id, "completed", later(6))
    queueing.call_next(counter("L1"), later(7))
    queueing.recall(counter("L1"), later(8))
    state = board_state(site(), later(9))
    assert state["latest"]["number"] == second.number
    assert state["latest"]["counter"] == "L1" and state["latest"]["counter_number"] == 1
    assert state["latest"]["speech"] == "Nomor antrian A dua, silakan menuju loket satu"
    assert state["latest"]["audio"] == "/boards/tabang/suara/A002-1.wav"
    assert [c["number"] for c in state["recent_calls"]] == ["A002", "A001"]  # one line each
    l1 = state["counters"][0]
    assert l1["status"] == "open" and l1["current"]["number"] == "A002"
    waiting = {s["code"]: s["waiting"] for s in state["services"]}
    assert waiting["IZN-NIB"] == 1 and waiting["ADM-KTP"] == 0


def test_state_is_per_hall_and_per_day(db):
    issue(site_code="anggana")
    queueing.call_next(counter("L1", "anggana"), later(1))
    assert board_state(site(), later(2))["latest"] is None
    assert board_state(site("anggana"), later(2))["latest"]["number"] == "A001"
    tomorrow = later(24 * 60)
    assert board_state(site("anggana"), tomorrow)["latest"] is None


def test_reading_style_digits(db):
    Site.update(reading_style="digits").where(Site.code == "tabang").execute()
    issue()
    queueing.call_next(counter("L1"), later(1))
    assert (board_state(site(), later(2))["latest"]["speech"]
            == "Nomor antrian A nol nol satu, silakan menuju loket satu")


def test_filters(db):
    issue(), issue("IZN-NIB")
    queueing.call_next(counter("L1"), later(1))
    queueing.call_next(counter("L2"), later(2))
    state = board_state(site(), later(3))
    only_l1 = filter_state(state, ["L1"], [])
    assert [c["code"] for c in only_l1["counters"]] == ["L1"]
    assert only_l1["latest"]["number"] == "A001"
    assert {s["code"] for s in only_l1["services"]} <= set(state["counters"][0]["services"])
    only_nib = filter_state(state, [], ["IZN-NIB"])
    assert [s["code"] for s in only_nib["services"]] == ["IZN-NIB"]
    assert only_nib["latest"]["number"] == "B001"
    assert "L1" not in [c["code"] for c in only_nib["counters"]]
    assert filter_state(state, [], []) is state


# --- the hub --------------------------------------------------------------------------

def test_hub_numbers_events_per_hall_and_keeps_halls_apart():
    hub = Hub()
    a, b = Board(hub, "tabang"), Board(hub, "anggana")
    a.connect(), b.connect()
    hub.dispatch("tabang", {"type": "call", "number": "A001"})
    hub.dispatch("tabang", {"type": "call", "number": "A002"})
    hub.dispatch("anggana", {"type": "call", "number": "A001"})
    assert [(m["number"], m["seq"]) for m in a.take()] == [("A001", 1), ("A002", 2)]
    assert [m["seq"] for m in b.take()] == [1]
    assert hub.current_seq("tabang") == 2  # a new board's snapshot is current to 2
    hub.unsubscribe(a.sub), hub.unsubscribe(b.sub)
    assert hub.count() == 0


def test_events_while_the_snapshot_is_built_follow_it():
    hub = Hub()
    board = Board(hub)

    def build():
        seq = hub.current_seq("tabang")
        hub.dispatch("tabang", {"type": "call", "number": "A001"})  # meanwhile
        hub.flush()
        assert board.sent == []  # not live yet: buffered
        return seq, json.dumps({"type": "snapshot", "seq": seq})
    board.sub.send_snapshot(build)
    assert [(m["type"], m["seq"]) for m in board.sent] == [("snapshot", 0), ("call", 1)]
    assert board.sub.last_seq == 1


def test_a_board_that_stops_reading_is_not_waited_for():
    hub = Hub()
    slow, fast = Board(hub), Board(hub)
    slow.connect(), fast.connect()
    slow.is_writable = False
    hub.dispatch("tabang", {"type": "call", "number": "A001"})
    hub.flush()
    assert slow.sent[-1]["type"] == "snapshot" and fast.take()[0]["number"] == "A001"
    assert slow.sub.needs_snapshot and slow.sub.wake.is_set()
    slow.is_writable = True
    slow.connect(seq=hub.current_seq("tabang"))  # its handler sends a fresh snapshot
    hub.dispatch("tabang", {"type": "call", "number": "A002"})
    assert [m["seq"] for m in slow.take()] == [2]


def test_a_closed_board_is_dropped_quietly():
    hub = Hub()
    board = Board(hub)
    board.connect()

    def broken(_text):
        raise OSError("broken pipe")
    board.sub._send = broken
    hub.dispatch("tabang", {"type": "call"})
    hub.flush()
    assert board.sub.closed and board.sub.wake.is_set()


def test_hub_capacity():
    hub = Hub(capacity=2)
    boards = [Board(hub), Board(hub)]
    assert not hub.would_accept()
    from boards.hub import HubFull
    with pytest.raises(HubFull):
        Board(hub)
    hub.unsubscribe(boards[0].sub)
    assert hub.would_accept()


def test_concurrent_dispatch_gives_unique_consecutive_numbers():
    hub = Hub()
    board = Board(hub)
    board.connect()
    threads = [threading.Thread(target=lambda: [hub.dispatch("tabang", {"type": "x"})
                                                for _ in range(50)]) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(m["seq"] for m in board.take()) == list(range(1, 201))


def test_resync_all_asks_every_board_for_a_snapshot():
    hub = Hub()
    boards = [Board(hub, "tabang"), Board(hub, "anggana")]
    hub.resync_all()
    assert all(b.sub.needs_snapshot and b.sub.wake.is_set() for b in boards)


def test_capacity_is_a_real_limit_within_the_open_file_limit(caplog):
    assert board_capacity({}, fd_limit=lambda wanted: wanted) == 2000
    assert board_capacity({"BOARD_MAX_CONNECTIONS": "50"}, fd_limit=lambda w: w) == 50
    with caplog.at_level("WARNING", logger="mpp.boards"):  # systemd's soft limit, unraised
        assert board_capacity({}, fd_limit=lambda wanted: 1024) == 1024 - FD_RESERVE
    assert "open-file limit (1024)" in caplog.text


def test_loud_warning_with_several_workers_and_no_broker(template_dir, tmp_path, caplog):
    assert fanout_warning({"WEB_CONCURRENCY": "1", "REDIS_URL": ""}) is None
    assert fanout_warning({"WEB_CONCURRENCY": "3", "REDIS_URL": "redis://x"}) is None
    with caplog.at_level("WARNING", logger="mpp.boards"):
        create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "WEB_CONCURRENCY": "3"})
    assert "BOARDS WILL MISS CALLS" in caplog.text


# --- events from the domain reach the hub, enriched -----------------------------------

def test_a_call_reaches_the_hall_after_commit_with_speech_and_waiting(db, hall_hub):
    issue(), issue(minutes=1)
    queueing.call_next(counter("L1"), later(2))
    got = messages(hall_hub)
    assert [m["type"] for m in got] == ["issued", "issued", "call"]
    call = got[-1]
    assert call["speech"] == "Nomor antrian A satu, silakan menuju loket satu"
    assert call["audio"] == "/boards/tabang/suara/A001-1.wav"
    assert call["waiting"] == {"ADM-KTP": 1}
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)


def test_nothing_is_published_for_a_rolled_back_call(db, hall_hub):
    issue()
    messages(hall_hub)
    queueing.set_counter_status(counter("L1"), "paused", later(1))
    with pytest.raises(Exception):
        queueing.call_next(counter("L1"), later(2))  # paused: refused, rolled back
    assert [m["type"] for m in messages(hall_hub)] == ["counter_paused"]


def test_another_halls_events_do_not_reach_this_hall(db, hall_hub):
    issue(site_code="anggana")
    queueing.call_next(counter("L1", "anggana"), later(1))
    assert messages(hall_hub) == []


def test_enrich_leaves_other_events_alone(db):
    event = {"type": "counter_paused", "counter": "L1"}
    assert enrich("tabang", event) == event
    assert enrich("nowhere", {"type": "call", "number": "A001", "counter_number": 1,
                              "at": None})["type"] == "call"


def test_a_broken_publisher_does_not_undo_a_call(db):
    class Broken:
        def publish(self, site_code, event):
            raise ConnectionError("broker down")
    saved = events.publisher()
    events.install(Broken())
    try:
        issue()
        assert queueing.call_next(counter("L1"), later(1)).status == "called"
    finally:
        events.install(saved)


# --- pages ----------------------------------------------------------------------------

def test_board_page(client, db):
    issue()
    queueing.call_next(counter("L1"), later(0))
    client.set_cookie(boardkit.COOKIE, boardkit.register("tabang"))
    r = client.get("/boards/tabang")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Mini MPP Tabang" in html and "A001" in html and "LOKET 1" in html
    assert "Aktifkan suara" in html and "board.js" in html
    assert "<script>" not in html  # CSP: no inline scripts
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_board_page_filters_and_htmx_partial(client, db):
    r = client.get("/boards/tabang?counters=L2,<x>&services=", headers={"HX-Request": "true"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<html" not in html and 'data-counter="L2"' in html
    assert 'data-counter="L1"' not in html and "&lt;x&gt;" not in html


def test_unknown_hall(client, db):
    assert client.get("/boards/atlantis").status_code == 404
    r = client.get("/ws/boards/atlantis", headers=UPGRADE)
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_site"


def test_websocket_handshake_checks_origin(client, db):
    r = client.get("/ws/boards/tabang", headers={**UPGRADE, "Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json["error"]["code"] == "origin_not_allowed"
    r = client.get("/ws/boards/tabang", headers={**UPGRADE, "Origin": "null"})
    assert r.status_code == 403


def test_websocket_refused_when_the_worker_is_full(app, client, db):
    hub = app.extensions["boards"].hub
    hub.capacity = 3
    held = []
    while hub.would_accept():
        held.append(Board(hub))
    try:
        r = client.get("/ws/boards/tabang", headers=UPGRADE)
        assert r.status_code == 503 and r.json["error"]["code"] == "boards_full"
        assert r.headers["Retry-After"] == "30"
        assert "BOARD_MAX_CONNECTIONS" in r.json["error"]["message"]
    finally:
        for board in held:
            hub.unsubscribe(board.sub)


def test_status_endpoint(client, db):
    body = client.get("/boards/tabang/status.json").json
    assert body["fanout"] == "in-process" and body["connected_here"] == 0


def test_call_audio(client, db):
    issue()
    with client.get("/boards/tabang/suara/A001-3.wav") as r:
        assert r.status_code == 200 and r.mimetype == "audio/wav"
        assert r.data[:4] == b"RIFF" and len(r.data) > 10000
        with client.get("/boards/tabang/suara/A001-3.wav") as again:
            assert again.data == r.data  # from the cache
    # Only numbers given out at this hall today, at one of its counters.
    for bad in ("A002-1", "A001-9", "Z001-1", "A001", "a001-1", "A001-1;rm", "A1234567-1"):
        assert client.get(f"/boards/tabang/suara/{bad}.wav").status_code == 404, bad
    assert client.get("/boards/anggana/suara/A001-1.wav").status_code == 404


# --- running text ---------------------------------------------------------------------

def test_running_text_via_api(api, app, db, hall_hub):
    url = "/api/v1/sites/tabang/running-text"
    assert api.post(url, json={"text": "x"}).status_code == 401
    api.login("operator.tabang")
    r = api.post(url, json={"text": "x"})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    api.login("supervisor.anggana")
    assert api.post(url, json={"text": "x"}).status_code == 403
    api.login("supervisor.tabang")
    assert api.post(url, json={"text": "x" * 501}).status_code == 422
    assert api.post(url, json={"text": 12}).status_code == 422
    assert api.post(url, data="{", content_type="application/json").status_code == 400
    r = api.post(url, json={"text": "  Loket 3 tutup\tpukul 11.00  "})
    assert r.status_code == 200 and r.json["running_text"] == "Loket 3 tutup pukul 11.00"
    assert messages(hall_hub)[-1]["text"] == "Loket 3 tutup pukul 11.00"
    assert site().running_text == "Loket 3 tutup pukul 11.00"
    assert api.post(url, json={"text": "x", "reading_style": "roman"}).status_code == 422
    api.login("admin")
    r = api.post(url, json={"text": "Admin", "reading_style": "digits"})
    assert r.status_code == 200 and r.json["reading_style"] == "digits"
    assert "/api/v1/sites/{site}/running-text" in api.get("/api/v1/openapi.json").json["paths"]


def _login(client, username):
    return client.post("/loket/masuk", data={"username": username, "password": "demo"},
                       follow_redirects=False)


def test_running_text_form(app, db):
    """The form is on the hall's devices page (/admin/lokasi/<site>/perangkat)."""
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    text_url = "/admin/lokasi/tabang/perangkat/teks"
    assert client.get("/admin/lokasi/tabang/perangkat").status_code in (302, 401)
    _login(client, "operator.tabang")
    assert client.get("/admin/lokasi/tabang/perangkat").status_code == 403
    assert client.post(text_url, data={"text": "x"}).status_code == 403
    client.post("/loket/keluar")
    _login(client, "supervisor.tabang")
    page = client.get("/admin/lokasi/tabang/perangkat")
    assert page.status_code == 200 and "Teks berjalan" in page.get_data(as_text=True)
    r = client.post(text_url, data={"text": "Istirahat 12.00-13.00",
                                    "reading_style": "digits"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Tersimpan" in r.get_data(as_text=True)
    assert site().running_text == "Istirahat 12.00-13.00"
    assert site().reading_style == "digits"
    entry = AuditEntry.get(AuditEntry.action == "board.update")
    assert (entry.actor, entry.site_code) == ("supervisor.tabang", "tabang")
    assert entry.after == {"running_text": "Istirahat 12.00-13.00", "reading_style": "digits"}
    r = client.post(text_url, data={"text": "x", "reading_style": "roman"})
    assert r.status_code == 422 and site().running_text == "Istirahat 12.00-13.00"
    assert "tidak dikenal" in r.get_data(as_text=True)
    r = client.post(text_url, data={"text": "Buka pukul 08.00", "reading_style": "whole"})
    assert r.status_code == 303 and "teks=disimpan" in r.headers["Location"]
    assert site().running_text == "Buka pukul 08.00"
    assert client.get("/admin/lokasi/anggana/perangkat").status_code == 403


def test_old_running_text_address_redirects(app, db):
    client = app.test_client()
    token = csrf_from(client.get("/loket/masuk").get_data(as_text=True))
    for method in (client.get, client.post):  # 308: a POST stays a POST
        r = method("/boards/tabang/teks", data={"csrf_token": token})
        assert r.status_code == 308
        assert r.headers["Location"].endswith("/admin/lokasi/tabang/perangkat/teks")


def test_update_board_domain(db):
    from app.errors import Invalid
    with pytest.raises(Invalid):
        update_board(site(), MONDAY_9, running_text="x" * 501)
    with pytest.raises(Invalid):
        update_board(site(), MONDAY_9, reading_style="roman")
    assert update_board(site(), MONDAY_9, running_text="").running_text == ""
    update_board(site(), MONDAY_9, reading_style="digits")
    assert site().reading_style == "digits" and site().running_text == ""


def test_shared_frames_are_valid_websocket_frames():
    from wsproto.frame_protocol import FrameProtocol

    from boards.hub import text_frame
    for text in ("", "x" * 125, "é" * 100, "y" * 70000):
        reader = FrameProtocol(client=True, extensions=[])
        reader.receive_bytes(text_frame(text))
        frames = list(reader.received_frames())
        assert len(frames) == 1 and frames[0].payload == text and frames[0].frame_finished


def test_redis_down_fails_fast_then_skips():
    import redis

    from boards.hub import RedisFanout

    from .servers import free_port
    fanout = RedisFanout(Hub(), f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(redis.ConnectionError):
        fanout.send("tabang", {"type": "call"})
    fanout.send("tabang", {"type": "call"})  # skipped for a few seconds: no wait


def test_without_espeak_the_board_speaks_with_the_word_clips(client, db, monkeypatch):
    issue()
    monkeypatch.setenv("PATH", "/nonexistent")
    assert board_state(site(), MONDAY_9)["voice"] == {"server": True}
    with client.get("/boards/tabang/suara/A001-2.wav") as r:
        assert r.status_code == 200 and r.data[:4] == b"RIFF"
    client.set_cookie(boardkit.COOKIE, boardkit.register("tabang"))
    page = client.get("/boards/tabang").get_data(as_text=True)
    assert 'data-server-voice="yes"' in page and 'data-server-voice-engine="rekaman"' in page
    assert client.get("/boards/tabang/status.json").json["server_voice_engine"] == "rekaman"


def test_without_espeak_nor_clips_the_board_is_told_to_use_the_browser_voice(
        client, db, monkeypatch, tmp_path):
    issue()
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(wordclips, "CLIP_DIR", tmp_path / "no-clips")
    assert board_state(site(), MONDAY_9)["voice"] == {"server": False}
    r = client.get("/boards/tabang/suara/A001-2.wav")
    assert r.status_code == 404
    client.set_cookie(boardkit.COOKIE, boardkit.register("tabang"))
    page = client.get("/boards/tabang").get_data(as_text=True)
    assert 'data-server-voice="no"' in page and 'data-server-voice-engine=""' in page
