"""Visit facts: a hand-made morning at Tabang folded into one fact per ticket, with the
waits and service times worked out by hand; the facts that change go up from a hall's
box exactly once, and the centre keeps the newest copy of each."""
import datetime as dt
import json

import pytest

from app.clock import as_utc_naive
from app.domain import forwarding, link_rows, queueing, visits
from app.models import ForwardingMessage, Site, Ticket, VisitFact

from .conftest import at


def tabang():
    return Site.get(Site.code == "tabang")


def morning():
    """08:00 A001 (KTP) and 08:05 A002 (KTP) and 08:10 R001 (INFO) arrive. L1 calls A001
    at 08:20, starts 08:22, finishes 08:40; calls A002 at 08:41, no-show 08:45, requeued
    08:50, called again 08:55 and finished 09:00 without a start; R001 is transferred to
    KTP at 08:30 and stays waiting."""
    site = tabang()
    ktp, info = queueing.get_service("ADM-KTP"), queueing.get_service("INFO")
    l1 = queueing.get_counter(site, "L1")
    first = queueing.issue_ticket(site, ktp, at(30, 8, 0))
    second = queueing.issue_ticket(site, ktp, at(30, 8, 5))
    third = queueing.issue_ticket(site, info, at(30, 8, 10))
    queueing.call_next(l1, at(30, 8, 20), "operator.tabang")
    queueing.start(first.id, at(30, 8, 22), "operator.tabang")
    queueing.transfer(third.id, ktp, at(30, 8, 30), "supervisor.tabang")
    queueing.finish(first.id, "completed", at(30, 8, 40), "operator.tabang")
    queueing.call_next(l1, at(30, 8, 41), "operator.tabang")
    queueing.no_show(second.id, at(30, 8, 45), "operator.tabang")
    queueing.requeue(second.id, at(30, 8, 50), "supervisor.tabang")
    called = queueing.call_next(l1, at(30, 8, 55), "operator.tabang")
    assert called.id == second.id
    queueing.finish(second.id, "info_only", at(30, 9, 0), "operator.tabang")
    return first, second, third


def fact(ticket):
    return VisitFact.get(VisitFact.ticket_ref == ticket.id)


def test_a_morning_folded_into_facts(db):
    first, second, third = morning()
    assert visits.refresh(at(30, 9, 5)) == 3
    a1 = fact(first)
    assert (a1.day, a1.weekday, a1.hour) == (dt.date(2026, 11, 30), 0, 8)
    assert (a1.status, a1.outcome, a1.source) == ("done", "completed", "kiosk")
    assert (a1.wait_seconds, a1.service_seconds, a1.calls) == (20 * 60, 18 * 60, 1)
    assert a1.within_target is True  # the demo's target is 30 minutes
    assert (a1.counter_code, a1.operator) == ("L1", "operator.tabang")
    a2 = fact(second)
    # Waited from 08:05 to its first call at 08:41; served without a start: 0 minutes.
    assert (a2.wait_seconds, a2.requeues, a2.calls, a2.outcome) == (36 * 60, 1, 2, "info_only")
    assert a2.within_target is False and a2.service_seconds == 0
    r1 = fact(third)
    assert (r1.status, r1.transfers, r1.called_at, r1.wait_seconds) == ("waiting", 1, None, None)
    assert r1.service.code == "ADM-KTP" and r1.first_service.code == "INFO"
    assert r1.operator == "supervisor.tabang"
    # Nothing moved since: the next refresh writes nothing.
    assert visits.refresh(at(30, 9, 6)) == 0
    assert VisitFact.select().count() == 3


def test_an_appointment_waits_from_its_slot(db):
    site = tabang()
    ticket = queueing.issue_ticket(site, queueing.get_service("ADM-KTP"), at(30, 9, 0),
                                   source="appointment", due_at=at(30, 9, 30))
    queueing.call_next(queueing.get_counter(site, "L1"), at(30, 9, 40))
    visits.refresh(at(30, 9, 41))
    assert fact(ticket).wait_seconds == 10 * 60 and fact(ticket).source == "appointment"


@pytest.fixture
def hall_box():
    link_rows.configure("site", ["tabang"])
    yield
    link_rows.configure("all-in-one")


def _sent():
    rows = ForwardingMessage.select().where(ForwardingMessage.kind == visits.KIND)
    return [json.loads(r.body) for r in rows.order_by(ForwardingMessage.id)]


def test_a_halls_box_sends_each_change_once(db, hall_box):
    first, second, third = morning()
    visits.refresh(at(30, 9, 5))
    visits.refresh(at(30, 9, 6))
    [message] = _sent()
    assert message["tracking_code"] == "visits:tabang"
    assert sorted(f["ticket_ref"] for f in message["data"]["facts"]) == sorted(
        t.id for t in (first, second, third))
    assert "nik" not in json.dumps(message).lower()
    queueing.call_next(queueing.get_counter(tabang(), "L1"), at(30, 9, 10))
    visits.refresh(at(30, 9, 11))
    later = _sent()[1]["data"]["facts"]
    assert [f["ticket_ref"] for f in later] == [third.id]
    assert later[0]["status"] == "called" and later[0]["service"] == "ADM-KTP"


def _wire_batch(site_code, facts, taken):
    body = {"id": link_rows.new_uid(), "kind": visits.KIND, "site": site_code,
            "tracking_code": f"visits:{site_code}",
            "data": {"taken_at": taken.isoformat(), "facts": facts}}
    return {"body": link_rows.canonical(body)}


def test_the_centre_keeps_the_newest_copy_of_each_fact(db, hall_box):
    first, second, third = morning()
    visits.refresh(at(30, 9, 5))
    facts = _sent()[0]["data"]["facts"]
    # The centre's copy: received into a database that does not hold the tickets.
    VisitFact.delete().execute()
    Ticket.update(site=Site.get(Site.code == "induk")).execute()  # not Tabang's any more
    older = [dict(f, status="waiting", changed_at="2026-11-30T00:01:00") for f in facts]
    newer, stale = _wire_batch("tabang", facts, at(30, 9, 5)), _wire_batch(
        "tabang", older, at(30, 8, 1))
    results = forwarding.receive_batch(tabang(), [newer, stale, newer], at(30, 9, 6),
                                       "/nonexistent", 1000)
    assert [r["status"] for r in results] == ["stored", "stored", "duplicate"]
    assert VisitFact.select().count() == 3
    assert fact(first).status == "done" and fact(first).site.code == "tabang"
    assert fact(first).issued_at == as_utc_naive(at(30, 8, 0))
    bad = _wire_batch("tabang", [dict(facts[0], service="NO-SUCH")], at(30, 9, 7))
    assert forwarding.receive_batch(tabang(), [bad], at(30, 9, 7), "/x", 1000)[0][
        "status"] == "refused"


def test_a_hall_cannot_overwrite_another_halls_fact(db, hall_box):
    first, _second, _third = morning()
    visits.refresh(at(30, 9, 5))
    facts = _sent()[0]["data"]["facts"]
    forged = _wire_batch("induk", [dict(f, status="cancelled", changed_at="2027-01-01T00:00:00")
                                   for f in facts], at(30, 9, 6))
    forwarding.receive_batch(Site.get(Site.code == "induk"), [forged], at(30, 9, 6), "/x", 1000)
    assert fact(first).status == "done" and fact(first).site.code == "tabang"


def test_the_live_queue_and_the_pulse(db):
    first, second, third = morning()
    figures = visits.live(tabang(), at(30, 9, 10))
    # R001 waits since 08:10 (its arrival; the transfer keeps its place).
    assert figures["waiting"] == 1 and figures["longest_wait_seconds"] == 60 * 60
    assert figures["served_today"] == 2
    pulse = visits.pulse(tabang(), at(30, 9, 10))
    visits.record_pulse(tabang(), {k: str(v) for k, v in pulse.items()}, at(30, 9, 10))
    row = visits.reported_pulse(tabang())
    assert (row.waiting, row.served_today, row.longest_wait_seconds) == (1, 2, 3600)
    assert row.data_until == as_utc_naive(at(30, 9, 10))
    # Garbage still counts as contact and keeps the figures.
    visits.record_pulse(tabang(), {"waiting": "-1", "until": "x"}, at(30, 9, 12))
    row = visits.reported_pulse(tabang())
    assert row.contact_at == as_utc_naive(at(30, 9, 12)) and row.waiting == 1
