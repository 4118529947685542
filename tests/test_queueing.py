"""Domain tests: numbering, call-next ordering, transitions, with a fixed `now`."""
import datetime as dt

import pytest

from app.domain import queueing
from app.errors import Conflict, Invalid
from app.models import Counter, Site, Ticket, TicketEvent

from .conftest import MONDAY_9, at


def site(code="tabang"):
    return Site.get(Site.code == code)


def counter(code="L1", site_code="tabang"):
    return Counter.get((Counter.site == site(site_code)) & (Counter.code == code))


def issue(service="ADM-KTP", now=MONDAY_9, site_code="tabang", **kw):
    return queueing.issue_ticket(site(site_code), queueing.get_service(service), now, **kw)


def test_numbers_run_per_prefix_without_gaps(db):
    numbers = [issue("ADM-KTP").number, issue("ADM-KK").number, issue("IZN-NIB").number,
               issue("ADM-LAHIR").number]
    assert numbers == ["A001", "A002", "B001", "A003"]


def test_numbers_restart_each_local_day_and_per_site(db):
    assert issue(now=at(30, 9)).number == "A001"
    assert issue(now=at(30, 9), site_code="anggana").number == "A001"
    # 1 December 08:30 WITA is 00:30 UTC: still a new local day.
    assert issue(now=at(1, 8, 30, month=12)).number == "A001"
    assert issue(now=at(30, 10)).number == "A002"


def test_four_digits_past_999(db):
    from app.domain.numbering import format_number
    assert format_number("A", 7) == "A007"
    assert format_number("A", 999) == "A999"
    assert format_number("A", 1000) == "A1000"


def test_a_refused_ticket_leaves_no_gap(db):
    issue("ADM-KTP")
    with pytest.raises(Invalid):
        issue("ADM-KTP", priority_group="vip")
    assert issue("ADM-KTP").number == "A002"


def test_call_next_takes_priority_first_then_issue_time(db):
    first = issue(now=MONDAY_9)
    second = issue(now=MONDAY_9 + dt.timedelta(minutes=1))
    elderly = issue(now=MONDAY_9 + dt.timedelta(minutes=2), priority_group="lansia")
    order = [queueing.call_next(counter(), MONDAY_9 + dt.timedelta(minutes=5 + i)).id
             for i in range(1)]
    assert order == [elderly.id]
    queueing.finish(elderly.id, "completed", MONDAY_9 + dt.timedelta(minutes=6))
    assert queueing.call_next(counter(), MONDAY_9 + dt.timedelta(minutes=7)).id == first.id
    queueing.no_show(first.id, MONDAY_9 + dt.timedelta(minutes=8))
    assert queueing.call_next(counter(), MONDAY_9 + dt.timedelta(minutes=9)).id == second.id


def test_due_appointment_goes_before_walk_ins(db):
    walk_in = issue(now=MONDAY_9)
    appointment = issue(now=MONDAY_9 + dt.timedelta(minutes=5), source="appointment",
                        due_at=MONDAY_9 + dt.timedelta(minutes=10))
    # Not yet due: the walk-in who came first is first.
    assert queueing.waiting_before(appointment, MONDAY_9 + dt.timedelta(minutes=6)) == 1
    called = queueing.call_next(counter(), MONDAY_9 + dt.timedelta(minutes=11))
    assert called.id == appointment.id
    assert queueing.waiting_before(Ticket.get_by_id(walk_in.id), MONDAY_9) == 0


def test_sql_order_and_python_key_agree(db):
    tickets = [issue(now=MONDAY_9 + dt.timedelta(minutes=m), priority_group=p)
               for m, p in [(0, None), (1, "anak"), (2, None), (3, "disabilitas")]]
    tickets.append(issue(now=MONDAY_9 + dt.timedelta(minutes=4), source="appointment",
                         due_at=MONDAY_9 + dt.timedelta(minutes=1)))
    now = MONDAY_9 + dt.timedelta(minutes=5)
    from_sql = [t.id for t in queueing.waiting_in_lane(site(), "A", now.date(), now)]
    from_python = [t.id for t in sorted(Ticket.select(), key=lambda t: queueing.queue_key(
        t, now.astimezone(dt.timezone.utc).replace(tzinfo=None)))]
    assert from_sql == from_python
    assert from_sql[:2] == [tickets[1].id, tickets[3].id]


def test_counter_only_calls_its_services(db):
    issue("IZN-NIB")  # counter L2's service
    assert queueing.call_next(counter("L1"), MONDAY_9) is None
    assert queueing.call_next(counter("L2"), MONDAY_9).number == "B001"


def test_busy_counter_cannot_call_again(db):
    issue(), issue()
    queueing.call_next(counter(), MONDAY_9)
    with pytest.raises(Conflict) as exc:
        queueing.call_next(counter(), MONDAY_9)
    assert exc.value.code == "counter_busy"


def test_paused_counter_cannot_call(db):
    issue()
    queueing.set_counter_status(counter(), "paused", MONDAY_9)
    with pytest.raises(Conflict) as exc:
        queueing.call_next(counter(), MONDAY_9)
    assert exc.value.code == "counter_paused"
    queueing.set_counter_status(counter(), "open", MONDAY_9)
    assert queueing.call_next(counter(), MONDAY_9) is not None


@pytest.mark.parametrize("action", ["start", "no_show", "finish", "requeue"])
def test_invalid_transitions_are_conflicts(db, action):
    ticket = issue()
    args = ("completed",) if action == "finish" else ()
    with pytest.raises(Conflict) as exc:
        getattr(queueing, action)(ticket.id, *args, MONDAY_9)
    assert exc.value.code == "invalid_transition"
    assert Ticket.get_by_id(ticket.id).status == "waiting"


def test_full_life_of_a_ticket(db):
    ticket = issue()
    queueing.call_next(counter(), MONDAY_9)
    queueing.recall(counter(), MONDAY_9)
    queueing.start(ticket.id, MONDAY_9 + dt.timedelta(minutes=1))
    done = queueing.finish(ticket.id, "case", MONDAY_9 + dt.timedelta(minutes=9))
    assert (done.status, done.outcome, done.call_count) == ("done", "case", 2)
    kinds = [e.kind for e in done.events.order_by(TicketEvent.id)]
    assert kinds == ["issued", "called", "recalled", "start", "finish"]


def test_no_show_returns_to_queue_keeping_number_and_place(db):
    first = issue(now=MONDAY_9)
    issue(now=MONDAY_9 + dt.timedelta(minutes=1))
    queueing.call_next(counter(), MONDAY_9 + dt.timedelta(minutes=2))
    queueing.no_show(first.id, MONDAY_9 + dt.timedelta(minutes=3))
    back = queueing.requeue(first.id, MONDAY_9 + dt.timedelta(minutes=4))
    assert (back.status, back.number, back.counter) == ("waiting", "A001", None)
    assert queueing.call_next(counter(), MONDAY_9 + dt.timedelta(minutes=5)).id == first.id


def test_transfer_keeps_number_and_place(db):
    moved = issue("ADM-KTP", now=MONDAY_9)
    later = issue("IZN-NIB", now=MONDAY_9 + dt.timedelta(minutes=1))
    queueing.call_next(counter("L1"), MONDAY_9 + dt.timedelta(minutes=2))
    ticket = queueing.transfer(moved.id, queueing.get_service("PTN-SK"),
                               MONDAY_9 + dt.timedelta(minutes=3))
    assert (ticket.number, ticket.status, ticket.service.code) == ("A001", "waiting", "PTN-SK")
    # L2 serves PTN-SK and IZN-NIB: the transferred ticket was issued first.
    assert queueing.call_next(counter("L2"), MONDAY_9 + dt.timedelta(minutes=4)).id == moved.id
    assert later.status == "waiting"


def test_closing_a_busy_counter_is_refused(db):
    issue()
    queueing.call_next(counter(), MONDAY_9)
    with pytest.raises(Conflict):
        queueing.set_counter_status(counter(), "closed", MONDAY_9)


def test_a_transferred_ticket_counts_the_people_ahead_in_its_new_lane(db):
    for m in range(3):
        issue("ADM-KTP", now=MONDAY_9 + dt.timedelta(minutes=m))
    moved = issue("ADM-KTP", now=MONDAY_9 + dt.timedelta(minutes=3))
    assert queueing.waiting_before(moved, MONDAY_9) == 3
    issue("IZN-NIB", now=MONDAY_9 + dt.timedelta(minutes=4))  # B001, issued after it
    moved = queueing.transfer(moved.id, queueing.get_service("PTN-SK"),
                              MONDAY_9 + dt.timedelta(minutes=5))  # lane P
    assert queueing.waiting_before(Ticket.get_by_id(moved.id), MONDAY_9) == 0
    into_b = issue("ADM-KTP", now=MONDAY_9 + dt.timedelta(minutes=6))
    into_b = queueing.transfer(into_b.id, queueing.get_service("IZN-NIB"),
                               MONDAY_9 + dt.timedelta(minutes=7))
    assert queueing.waiting_before(Ticket.get_by_id(into_b.id), MONDAY_9) == 1  # B001
