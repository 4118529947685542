"""Fixtures. The schema and demo data are built once per session into a template
SQLite file; each test gets its own copy (a file copy, not a rebuild)."""
import datetime as dt
import shutil

import pytest

from app import create_app
from app.clock import WITA
from app.db import database

from . import pg
from .servers import OPEN_MONDAY

# Monday 30 November 2026, 09:00 WITA: every demo hall is open.
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=WITA)


def at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=WITA)


def queue_in_order(site, service_ids, now: dt.datetime) -> list:
    """The hall's waiting tickets of these services today, in queue order as Python sorts
    them (`queueing.queue_key`): the oracle for the SQL orderings."""
    from app.clock import as_utc_naive, local_day
    from app.domain import queueing
    from app.models import Ticket
    waiting = Ticket.select().where((Ticket.site == site) & (Ticket.day == local_day(now))
                                    & (Ticket.status == "waiting")
                                    & Ticket.service.in_(service_ids))
    return sorted(waiting, key=lambda t: queueing.queue_key(t, as_utc_naive(now)))


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("template")
    app = create_app({"DATA_DIR": str(path), "SECRET_KEY": "test"})
    with app.app_context():
        from app.cli import setup
        setup()
    _release_connections()  # checkpoints the WAL into the file copied below
    return path


@pytest.fixture
def app(template_dir, tmp_path):
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test",
                      "MPP_CLOCK_START": OPEN_MONDAY, "TESTING": True})
    database.connect(reuse_if_open=True)
    yield app
    _release_connections()


def _release_connections():
    """Close the connection and, for a PostgreSQL pool, every pooled connection, so
    the database can be dropped or copied."""
    if not database.is_closed():
        database.close()
    close_all = getattr(database.obj, "close_all", None)
    if close_all:
        close_all()


@pytest.fixture(scope="session")
def pg_session_db(tmp_path_factory):
    """One PostgreSQL database per run, migrated with the demo data loaded and a
    pristine copy of every table kept aside; `pg_app` restores it before each test
    (about 20 ms, where a CREATE DATABASE ... TEMPLATE costs 0.25 s here)."""
    if not pg.available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = pg.new_name("session")
    url = pg.create_database(name)
    try:
        app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("pg-session")),
                          "DATABASE_URL": url, "SECRET_KEY": "test"})
        with app.app_context():
            from app.cli import setup
            setup()
        _release_connections()
        with pg.connect(name) as conn:
            restore = pg.snapshot(conn)
        yield name, url, restore
    finally:
        pg.drop_database(name)


@pytest.fixture
def pg_database():
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    if not pg.available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = pg.new_name()
    url = pg.create_database(name)
    yield url
    pg.drop_database(name)


@pytest.fixture
def pg_app(pg_session_db, tmp_path):
    """Like `app`, on PostgreSQL: the run's database, restored to the freshly
    migrated demo data before the test."""
    name, url, restore = pg_session_db
    with pg.connect(name) as conn:
        restore(conn)
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "test",
                      "MPP_CLOCK_START": OPEN_MONDAY, "TESTING": True})
    database.connect(reuse_if_open=True)
    yield app
    _release_connections()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """The domain layer with a connection open, for direct domain tests."""
    return database


class Api:
    """The JSON API through the test client, with a bearer token when logged in."""

    def __init__(self, client):
        self.client = client
        self.headers = {}

    def login(self, username, password="demo"):
        r = self.client.post("/api/v1/auth/token",
                             json={"username": username, "password": password})
        assert r.status_code == 200, r.json
        self.headers = {"Authorization": f"Bearer {r.json['token']}"}
        return self

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self.headers, **kw)


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def published():
    """The events the domain publishes after commit, as (site code, event)."""
    from app import events
    seen = []

    class Recorder:
        def publish(self, site_code, event):
            seen.append((site_code, event))

    previous = events.publisher()
    events.install(Recorder())
    yield seen
    events.install(previous)
