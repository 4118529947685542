"""The postgres lane: the core's domain and HTTP tests again, on PostgreSQL.

`app` is overridden for this module with `pg_app` (a fresh copy of a migrated demo
database per test), so the domain tests imported below run unchanged against
PostgreSQL: numbering upsert, call-next with FOR UPDATE / SKIP LOCKED, transitions,
opening windows, quotas and holidays.
"""
import datetime as dt

import pytest

from app.db import database, is_sqlite
from app.models import NumberSequence, Site, Ticket, TicketEvent, User

from .conftest import MONDAY_9
from .test_api import *  # noqa: F401,F403
from .test_calendar import *  # noqa: F401,F403 - collected again here, on PostgreSQL
from .test_fast_paths import (  # noqa: F401
    test_numbers_from_the_returning_upsert,
    test_people_ahead_is_the_place_in_the_sorted_lane,
    test_prepared_inserts_store_what_the_models_read_back,
)
from .test_queueing import *  # noqa: F401,F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    return pg_app


def test_the_lane_really_runs_on_postgresql(db):
    assert not is_sqlite()
    assert database.execute_sql("SELECT current_database()").fetchone()[0].startswith(
        "mpp_test_")


def test_setup_migrates_an_empty_database_and_is_idempotent(pg_database, tmp_path):
    from app import create_app
    from app.cli import setup

    from .conftest import _release_connections
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": pg_database,
                      "SECRET_KEY": "test"})
    try:
        with app.app_context():
            from app.cli import MIGRATIONS
            every = sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.py"))
            assert setup() == every
            assert setup() == []  # a restart: nothing re-applied, demo not doubled
        database.connect()
        assert Site.select().count() == 21
        assert User.select().where(User.username == "operator.tabang").exists()
    finally:
        _release_connections()


def test_numbering_upsert_counts_per_site_prefix_day(db):
    from app.domain import numbering
    tabang = Site.get(Site.code == "tabang")
    day = MONDAY_9.date()
    with database.atomic():
        assert [numbering.take_next(tabang, "A", day) for _ in range(3)] == [1, 2, 3]
    # A rolled-back issue takes its increment with it: no gap.
    with pytest.raises(RuntimeError):
        with database.atomic():
            numbering.take_next(tabang, "A", day)
            raise RuntimeError
    assert NumberSequence.get(site=tabang, prefix="A", day=day).last == 3


# --- the HTTP API on PostgreSQL ------------------------------------------------------

def test_issue_call_finish_over_http(api):
    r = api.post("/api/v1/sites/tabang/tickets", json={"service": "INFO"})
    assert r.status_code == 201, r.json
    ticket = r.json
    assert (ticket["number"], ticket["waiting_before"]) == ("R001", 0)
    second = api.post("/api/v1/sites/tabang/tickets",
                      json={"service": "INFO", "priority_group": "lansia"}).json
    assert second["number"] == "R002"

    api.login("operator.tabang")
    called = api.post("/api/v1/sites/tabang/counters/L3/call-next").json["ticket"]
    assert (called["number"], called["counter"]) == ("R002", "L3")  # priority first
    other = api.post("/api/v1/sites/tabang/counters/L2/call-next").json["ticket"]
    assert other["number"] == "R001"
    assert api.post("/api/v1/sites/tabang/counters/L1/call-next").status_code == 204
    busy = api.post("/api/v1/sites/tabang/counters/L2/call-next")
    assert (busy.status_code, busy.json["error"]["code"]) == (409, "counter_busy")

    done = api.post(f"/api/v1/tickets/{other['id']}/finish", json={"outcome": "completed"})
    assert (done.status_code, done.json["status"]) == (200, "done")
    assert [e.kind for e in TicketEvent.select().where(TicketEvent.ticket == other["id"])
            .order_by(TicketEvent.id)] == ["issued", "called", "finish"]


def test_errors_over_http_are_4xx_json(api):
    assert api.post("/api/v1/sites/nowhere/tickets", json={"service": "INFO"}).status_code \
        == 404
    assert api.post("/api/v1/sites/tabang/tickets", json={"service": "SMS-PKB"}).json[
        "error"]["code"] == "not_offered"
    waiting = api.post("/api/v1/sites/tabang/tickets", json={"service": "INFO"}).json
    api.login("operator.tabang")
    r = api.post(f"/api/v1/tickets/{waiting['id']}/finish", json={"outcome": "completed"})
    assert (r.status_code, r.json["error"]["code"]) == (409, "invalid_transition")
    r = api.post("/api/v1/sites/anggana/counters/L1/call-next")
    assert r.status_code == 403
    r = api.get("/api/v1/tickets/" + "f" * 32)
    assert r.status_code == 404
    assert Ticket.get_by_id(waiting["id"]).status == "waiting"


def test_quota_counts_inside_the_locked_transaction(db):
    from app.domain import queueing
    from app.errors import Conflict
    tabang = Site.get(Site.code == "tabang")
    skck = queueing.get_service("POL-SKCK")  # 20 a day at a Mini MPP
    for minute in range(20):
        queueing.issue_ticket(tabang, skck, MONDAY_9 + dt.timedelta(minutes=minute))
    with pytest.raises(Conflict) as exc:
        queueing.issue_ticket(tabang, skck, MONDAY_9 + dt.timedelta(minutes=30))
    assert exc.value.code == "quota_reached"
    assert NumberSequence.get(site=tabang, prefix="C").last == 20


def test_pg_app_restores_the_demo_database_between_tests(db, pg_session_db):
    """The reset `pg_app` relies on: every table and id sequence back as migrated."""
    from app.domain import queueing
    from app.models import Closure, Counter

    from . import pg
    name, _url, restore = pg_session_db
    tabang = Site.get(Site.code == "tabang")
    first = queueing.issue_ticket(tabang, queueing.get_service("INFO"), MONDAY_9)
    event_id = TicketEvent.get(TicketEvent.ticket == first.id).id
    Closure.create(site=tabang, day=MONDAY_9.date(), reason="test")
    Counter.update(status="paused").execute()
    database.close()
    with pg.connect(name) as conn:
        restore(conn)
    database.connect()
    assert (Ticket.select().count(), Closure.select().count()) == (0, 0)
    assert not Counter.select().where(Counter.status == "paused").exists()
    again = queueing.issue_ticket(tabang, queueing.get_service("INFO"), MONDAY_9)
    assert again.number == "R001"
    assert TicketEvent.get(TicketEvent.ticket == again.id).id == event_id


def test_kiosk_console_and_ticket_page_on_postgresql(app, client):
    """The HTML side of the core on PostgreSQL: kiosk, console, public ticket page."""
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF itself is tested on SQLite
    page = client.get("/k/tabang")
    assert page.status_code == 200 and "Informasi dan Pengaduan" in page.text
    issued = client.post("/k/tabang/tickets", data={"service": "INFO"})
    assert issued.status_code == 201 and "R001" in issued.text
    ticket = Ticket.get(Ticket.number == "R001")
    assert client.get(f"/t/{ticket.id}").status_code == 200

    login = client.post("/loket/masuk", data={"username": "operator.tabang",
                                              "password": "demo"})
    assert login.status_code == 302
    assert client.get("/loket/").status_code == 200
    called = client.post("/loket/tabang/L2/call-next", headers={"HX-Request": "true"})
    assert called.status_code == 200 and "R001" in called.text
    assert Ticket.get_by_id(ticket.id).status == "called"
    panel = client.get("/loket/tabang/L2")
    assert panel.status_code == 200 and "R001" in panel.text
    done = client.post("/loket/tabang/L2/finish", headers={"HX-Request": "true"},
                       data={"ticket": ticket.id, "outcome": "completed"})
    assert done.status_code == 200
    assert Ticket.get_by_id(ticket.id).status == "done"
