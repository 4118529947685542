"""Migration 0600's fast ticket path gives the answers of the plain queries: the
catalogue cache sees every change (from this process, another connection, or a rolled
back transaction), the trigger-kept waiting counts equal a GROUP BY after every kind of
transition, call-next's head of the queue is the first of the sorted lane, the people
ahead of a walk-in are its place in the lane, and board events leave in commit order."""
import datetime as dt
import sqlite3
import threading

import peewee as pw
import pytest

from app.db import close_read_scope, database, open_read_scope, write_transaction
from app.domain import catalogue_cache, queueing
from app.models import (
    CatalogueGeneration,
    Counter,
    Service,
    Site,
    Ticket,
    TicketEvent,
    WaitingCount,
)

from .conftest import MONDAY_9, queue_in_order
from .test_boards import Board


def later(minutes):
    return MONDAY_9 + dt.timedelta(minutes=minutes)


def tabang():
    return Site.get(Site.code == "tabang")


def issue(service="ADM-KTP", minutes=0, **kw):
    return queueing.issue_ticket(tabang(), queueing.get_service(service), later(minutes),
                                 **kw)


def generation():
    return CatalogueGeneration.get_by_id(1).generation


def other_connection(app):
    """Another process's view of the same file: a plain sqlite3 connection."""
    return sqlite3.connect(app.config["DATA_DIR"] / "mpp.sqlite3", isolation_level=None)


# --- the catalogue cache --------------------------------------------------------------

def test_a_change_from_another_process_reaches_the_next_read(app, db):
    assert queueing.get_site("tabang").name == "Mini MPP Tabang"
    before = generation()
    other = other_connection(app)
    other.execute("UPDATE site SET name = 'Mini MPP Tabang Baru' WHERE code = 'tabang'")
    other.execute("UPDATE service SET name = 'KTP-el' WHERE code = 'ADM-KTP'")
    other.close()
    assert generation() == before + 2
    assert queueing.get_site("tabang").name == "Mini MPP Tabang Baru"
    assert queueing.get_service("ADM-KTP").name == "KTP-el"


def test_a_request_checks_once_and_again_after_its_own_write(app, db):
    open_read_scope()
    try:
        assert queueing.get_site("tabang").running_text != "baru"
        other = other_connection(app)
        other.execute("UPDATE site SET running_text = 'baru' WHERE code = 'tabang'")
        other.close()
        assert queueing.get_site("tabang").running_text != "baru"  # checked once
        with write_transaction():
            pass  # a write transaction ends: the request reads what it changed
        assert queueing.get_site("tabang").running_text == "baru"
    finally:
        close_read_scope()


def test_a_counters_status_is_not_catalogue_but_its_name_is(db):
    counter = queueing.get_counter(tabang(), "L1", status_now=False)
    before = generation()
    queueing.set_counter_status(counter, "paused", later(0))
    assert generation() == before
    Counter.update(name="Loket Satu").where(Counter.id == counter.id).execute()
    assert generation() == before + 1
    assert queueing.get_counter(tabang(), "L1", status_now=False).name == "Loket Satu"


def test_a_rolled_back_change_never_reaches_the_cache(db):
    before = generation()
    with pytest.raises(RuntimeError):
        with write_transaction():
            Service.update(name="Salah").where(Service.code == "ADM-KTP").execute()
            assert queueing.get_service("ADM-KTP").name == "Salah"  # its own change
            raise RuntimeError
    assert generation() == before
    assert queueing.get_service("ADM-KTP").name == "KTP Elektronik"


def test_rows_handed_out_are_copies(db):
    site = queueing.get_site("tabang")
    site.name = "dirubah pemanggil"
    assert queueing.get_site("tabang").name == "Mini MPP Tabang"


def test_an_offer_switched_off_elsewhere_stops_tickets(app, db):
    issue()
    other = other_connection(app)
    other.execute("UPDATE site_service SET active = 0 WHERE site_id = "
                  "(SELECT id FROM site WHERE code = 'tabang') AND service_id = "
                  "(SELECT id FROM service WHERE code = 'ADM-KTP')")
    other.close()
    with pytest.raises(Exception) as refused:
        issue(minutes=1)
    assert getattr(refused.value, "code", "") == "not_offered"


def test_the_cache_is_per_database(app, db):
    assert catalogue_cache.current() is catalogue_cache.current()


# --- waiting counts kept by triggers --------------------------------------------------

def grouped():
    return {(s, v, str(d)): n for s, v, d, n in (
        Ticket.select(Ticket.site, Ticket.service, Ticket.day, pw.fn.COUNT(Ticket.id))
        .where(Ticket.status == "waiting")
        .group_by(Ticket.site, Ticket.service, Ticket.day).tuples())}


def kept():
    return {(s, v, str(d)): n for s, v, d, n in (
        WaitingCount.select(WaitingCount.site, WaitingCount.service, WaitingCount.day,
                            WaitingCount.waiting)
        .where(WaitingCount.waiting != 0).tuples())}


def test_waiting_counts_follow_every_transition(db):
    tickets = [issue("ADM-KTP", m) for m in range(4)] + [issue("ADM-KK", 4),
                                                         issue("INFO", 5)]
    assert kept() == grouped() and sum(kept().values()) == 6
    l1 = Counter.get(site=tabang(), code="L1")
    first = queueing.call_next(l1, later(6))
    assert kept() == grouped()
    queueing.no_show(first.id, later(7))
    queueing.requeue(first.id, later(8))
    assert kept() == grouped()
    queueing.transfer(tickets[1].id, queueing.get_service("ADM-KK"), later(9))
    queueing.cancel(tickets[2].id, later(10))
    assert kept() == grouped()
    called = queueing.call_next(l1, later(11))
    queueing.transfer(called.id, queueing.get_service("INFO"), later(12))  # waiting again
    queueing.finish(queueing.call_next(l1, later(13)).id, "completed", later(14))
    assert kept() == grouped()
    TicketEvent.delete().where(TicketEvent.ticket == tickets[5].id).execute()
    Ticket.delete().where(Ticket.id == tickets[5].id).execute()
    assert kept() == grouped()
    assert queueing.waiting_counts(tabang(), later(15)) == {
        code: n for code, n in (Ticket.select(Service.code, pw.fn.COUNT(Ticket.id))
                                .join(Service)
                                .where((Ticket.site == tabang())
                                       & (Ticket.status == "waiting"))
                                .group_by(Service.code).tuples())}


# --- the head of the queue and the people ahead ---------------------------------------

def mixed_lane():
    for minute, kw in [(0, {}), (0, {}), (1, {"priority_group": "anak"}), (2, {}),
                       (2, {"priority_group": "lansia"}),
                       (3, {"source": "appointment", "due_at": later(30)}),
                       (3, {"source": "appointment", "due_at": later(-5)}),
                       (4, {"priority_group": "lansia", "source": "appointment",
                            "due_at": later(45)}),
                       (5, {}), (6, {"service": "ADM-KK"}), (7, {"service": "ADM-LAHIR"})]:
        issue(kw.pop("service", "ADM-KTP"), minute, **kw)


def test_call_next_takes_the_first_of_the_sorted_lane(db):
    mixed_lane()
    l1 = Counter.get(site=tabang(), code="L1")
    services = queueing.counter_services(l1)
    called = []
    for step in range(12):
        now = later(10 + step * 5)  # the appointment due at +30 and +45 become due
        expected = queue_in_order(tabang(), services, now)[:1]
        ticket = queueing.call_next(l1, now)
        if not expected:
            assert ticket is None
            break
        assert ticket.id == expected[0].id
        called.append(ticket.number)
        queueing.finish(ticket.id, "completed", now)
    assert len(called) == 11


def test_people_ahead_of_every_ticket_is_its_place(db):
    mixed_lane()
    for minutes in (6, 40, 60):
        now = later(minutes)
        lane = queueing.waiting_in_lane(tabang(), "A", now.date(), now)
        assert [queueing.waiting_before(t, now) for t in lane] == list(range(len(lane)))


# --- board events in commit order -----------------------------------------------------

def test_board_events_leave_in_commit_order(app, db):
    board = Board(app.extensions["boards"].hub)
    board.connect()
    service = queueing.get_service("ADM-KTP")
    errors = []

    def kiosk():
        try:
            site = queueing.get_site("tabang")
            for _ in range(15):
                queueing.issue_ticket(site, service, later(1))
        except Exception as exc:  # pragma: no cover - shown below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=kiosk) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [m for m in board.take() if m["type"] == "issued"]
    board.hub.unsubscribe(board.sub)
    assert errors == []
    assert len(got) == 90
    # numbers are taken in commit order (one writer at a time): so are the events
    assert [m["number"] for m in got] == [f"A{n:03d}" for n in range(1, 91)]
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
    assert got[-1]["waiting"] == {"ADM-KTP": 90}
