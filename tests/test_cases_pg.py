"""The centre's feed on PostgreSQL: a hall's sequence is the commit order, so a reader's
cursor can never pass a row that is still being written."""
import datetime as dt
import threading
import time

import pytest

from app import create_app
from app.db import database, write_transaction
from app.domain import forwarding, link_rows
from app.models import Site

pytestmark = [pytest.mark.postgres]
NAIVE = dt.datetime(2026, 11, 30, 1, 0)


@pytest.fixture
def pg_app(pg_database, tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": pg_database,
                      "MPP_ROLE": "central", "SECRET_KEY": "t"})
    with app.app_context():
        from app.cli import setup
        setup(load_demo=True)
    database.connect(reuse_if_open=True)
    yield app
    link_rows.configure("all-in-one")
    if not database.is_closed():
        database.close()
    database.obj.close_all()


def _writer(label, started=None, release=None, done=None):
    database.connect(reuse_if_open=True)
    try:
        site_id = Site.get(Site.code == "tabang").id
        with write_transaction():
            seq = link_rows.feed(site_id, "case.status", {"n": label}, NAIVE).seq
            if started:
                started.set()
            if release:
                release.wait(10)
        if done is not None:
            done[label] = seq
    finally:
        database.close()


def test_feed_sequence_is_commit_order(pg_app):
    site = Site.get(Site.code == "tabang")
    started, release, done = threading.Event(), threading.Event(), {}
    _writer("zero", done=done)  # the hall's counter row exists from now on
    slow = threading.Thread(target=_writer, args=("slow", started, release, done))
    slow.start()
    assert started.wait(10)
    fast = threading.Thread(target=_writer, args=("fast", None, None, done))
    fast.start()
    time.sleep(0.5)
    assert "fast" not in done  # waits on the hall's counter row
    page = forwarding.updates_since(site, 0)
    assert [u["seq"] for u in page["updates"]] == [1] and page["cursor"] == 1
    release.set()
    slow.join(10)
    fast.join(10)
    assert done == {"zero": 1, "slow": 2, "fast": 3}
    page = forwarding.updates_since(site, 1)
    assert [(u["seq"], u["body"]["n"]) for u in page["updates"]] == [(2, "slow"),
                                                                       (3, "fast")]
