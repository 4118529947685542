"""The tuned paths give the same answers as the plain ones: people ahead by COUNT
equals the place in the sorted lane, the RETURNING upsert numbers like before, and the
SQLite writer wait neither loses a write nor waits forever."""
import datetime as dt
import threading

import peewee
import pytest

from app.db import database, is_sqlite, write_transaction
from app.domain import queueing
from app.models import Site, Ticket

from .conftest import MONDAY_9


def _issue(service, minutes, **kw):
    tabang = Site.get(Site.code == "tabang")
    return queueing.issue_ticket(tabang, queueing.get_service(service),
                                 MONDAY_9 + dt.timedelta(minutes=minutes), **kw)


def test_people_ahead_is_the_place_in_the_sorted_lane(db):
    # Same issue instants (ties broken by id), priorities, appointments due and not.
    for minute, kw in [(0, {}), (0, {}), (1, {"priority_group": "anak"}), (2, {}),
                       (2, {"priority_group": "lansia"}),
                       (3, {"source": "appointment", "due_at": MONDAY_9}),
                       (3, {"source": "appointment",
                            "due_at": MONDAY_9 + dt.timedelta(hours=2)}),
                       (4, {})]:
        _issue("ADM-KTP", minute, **kw)
        _issue("ADM-KK", minute)
    # One called ticket is no longer in the lane.
    tabang = Site.get(Site.code == "tabang")
    from app.models import Counter
    queueing.call_next(Counter.get(site=tabang, code="L1"), MONDAY_9 + dt.timedelta(minutes=5))
    for now in (MONDAY_9 + dt.timedelta(minutes=6), MONDAY_9 + dt.timedelta(hours=3)):
        lane = queueing.waiting_in_lane(tabang, "A", now.date(), now)
        assert len(lane) == 15
        assert [queueing.waiting_before(t, now) for t in lane] == list(range(len(lane)))
    called = Ticket.get(Ticket.status == "called")
    assert queueing.waiting_before(called, MONDAY_9) == 0


def test_numbers_from_the_returning_upsert(db):
    numbers = [_issue(s, 0).number for s in ("INFO", "ADM-KTP", "INFO", "ADM-KK", "INFO")]
    assert numbers == ["R001", "A001", "R002", "A002", "R003"]


def test_prepared_inserts_store_what_the_models_read_back(db):
    from app.models import TicketEvent
    issued = _issue("ADM-KTP", 3, priority_group="lansia")
    stored = Ticket.get_by_id(issued.id)
    assert (stored.number, stored.priority_group, stored.status, stored.source,
            stored.call_count, stored.counter_id, stored.due_at) == (
        "A001", "lansia", "waiting", "kiosk", 0, None, None)
    assert stored.issued_at == issued.issued_at == dt.datetime(2026, 11, 30, 1, 3)
    assert stored.day == dt.date(2026, 11, 30)
    event = TicketEvent.get(TicketEvent.ticket == issued.id)
    assert (event.kind, event.at, event.detail) == (
        "issued", stored.issued_at, {"priority_group": "lansia", "source": "kiosk"})


def test_a_waiting_writer_gets_the_lock_when_it_is_released(db):
    if not is_sqlite():
        pytest.skip("SQLite's writer lock")
    holding, release = threading.Event(), threading.Event()

    def hold_the_writer_lock():
        database.connect(reuse_if_open=True)
        with write_transaction():
            _issue("INFO", 0)
            holding.set()
            release.wait(5)
        database.close()

    holder = threading.Thread(target=hold_the_writer_lock)
    holder.start()
    assert holding.wait(5)
    threading.Timer(0.2, release.set).start()
    second = _issue("INFO", 1)  # waits on BEGIN IMMEDIATE, then goes through
    holder.join(5)
    assert second.number == "R002"


def test_a_writer_gives_up_after_the_wait_limit(db, monkeypatch):
    if not is_sqlite():
        pytest.skip("SQLite's writer lock")
    holding, release = threading.Event(), threading.Event()

    def hold_the_writer_lock():
        database.connect(reuse_if_open=True)
        with write_transaction():
            holding.set()
            release.wait(5)
        database.close()

    holder = threading.Thread(target=hold_the_writer_lock)
    holder.start()
    try:
        assert holding.wait(5)
        monkeypatch.setattr(database.obj, "WRITE_WAIT_SECONDS", 0.05)
        with pytest.raises(peewee.OperationalError, match="locked"):
            _issue("INFO", 1)
        assert not database.in_transaction()
    finally:
        release.set()
        holder.join(5)
    monkeypatch.undo()
    assert _issue("INFO", 2).number == "R001"  # nothing half-written, no gap
