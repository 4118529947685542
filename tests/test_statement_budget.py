"""The SQL statements of the two hottest requests, counted on the request's own thread
(the board publisher's reads run on its thread): issuing a ticket through the API and
call-next. A change that adds one fails here; a change that removes one lowers the
number (and says so in its commit).

Counted: every statement SQLite is handed on the request thread, with the catalogue
cache warm and rate limits off (the kiosk's limiter adds its own transaction): the
PRAGMAs around BEGIN IMMEDIATE (app/db.py) count, a trigger's statements do not (they
run inside the statement that fires them)."""
import shutil
import threading

import pytest

from app import create_app
from app.db import database

from .conftest import _release_connections
from .servers import OPEN_MONDAY

TICKET_STATEMENTS = 10  # was 17 before migration 0600 and the catalogue cache, 11 before the
# estimate read its service times and open counters in one statement
CALL_NEXT_STATEMENTS = 13  # was 22; 12 + the hall's open "tinggal 3 nomor lagi" watches (notify)


@pytest.fixture
def traced(template_dir, tmp_path):
    """An app without rate limits whose connections report the statements run on this
    thread (consecutive repeats are one statement: trigger bodies repeat it)."""
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "TESTING": True,
                      "MPP_CLOCK_START": OPEN_MONDAY, "RATE_LIMITS": "off"})
    seen: list[str] = []
    me = threading.get_ident()

    def trace(sql):
        if threading.get_ident() == me and (not seen or seen[-1] != sql):
            seen.append(sql)

    pool = database.obj
    connect = pool._connect

    def traced_connect():
        conn = connect()
        conn.set_trace_callback(trace)
        return conn

    pool._connect = traced_connect
    yield app, seen
    _release_connections()


def test_statements_of_a_ticket_and_a_call(traced):
    app, seen = traced
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "operator.tabang",
                                                    "password": "demo"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # warm: the catalogue cache, a lane with people in it, L1 open
        assert client.post("/api/v1/sites/tabang/tickets",
                           json={"service": "ADM-KTP"}).status_code == 201
    called = client.post("/api/v1/sites/tabang/counters/L1/call-next", headers=auth)
    client.post(f"/api/v1/tickets/{called.json['ticket']['id']}/finish",
                json={"outcome": "completed"}, headers=auth)

    seen.clear()
    r = client.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
    assert r.status_code == 201 and r.json["waiting_before"] == 2
    assert len(seen) == TICKET_STATEMENTS, "\n".join(seen)

    seen.clear()
    r = client.post("/api/v1/sites/tabang/counters/L1/call-next", headers=auth)
    assert r.status_code == 200 and r.json["ticket"]["number"] == "A002"
    assert len(seen) == CALL_NEXT_STATEMENTS, "\n".join(seen)
