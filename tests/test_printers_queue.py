"""The print queue against a real TCP listener on loopback standing in for the printer:
jobs arrive, survive a printer that is down or out of paper, and print exactly once."""
import datetime as dt
import time

import pytest

from app.domain import queueing
from app.models import Kiosk, PrintJob, Site, Ticket
from app.printing import kiosks, queue, tickets
from app.printing.worker import PrintWorker

from .conftest import MONDAY_9
from .escpos_parser import parse
from .fake_printer import FakePrinter, print_with_worker_threads
from .servers import free_port

GIVE_UP = dt.timedelta(minutes=30)


class StepClock:
    """Time as a parameter: the worker reads `now` from here."""

    def __init__(self, start=MONDAY_9):
        self.moment = start

    def now(self):
        return self.moment

    def advance(self, seconds):
        self.moment += dt.timedelta(seconds=seconds)


def track(ticket_id):
    return f"http://hall.local/t/{ticket_id}"


def network_kiosk(port, site_code="tabang", code="k1", **extra):
    site = Site.get(Site.code == site_code)
    values = {"code": code, "name": f"Kiosk {code}", "print_mode": "escpos-network",
              "host": "127.0.0.1", "port": port, "paper_width": 80, "qr_mode": "native",
              **extra}
    existing = code if Kiosk.get_or_none((Kiosk.site == site) & (Kiosk.code == code)) else None
    return kiosks.save_kiosk(site, values, existing)


def issue(kiosk, now=MONDAY_9, service_code="ADM-KTP"):
    """What the kiosk view does: issue the ticket, then queue its print."""
    ticket = queueing.issue_ticket(kiosk.site, queueing.get_service(service_code), now)
    return ticket, tickets.queue_ticket(ticket, kiosk, now, track(ticket.id))


def test_the_job_arrives_at_the_printer(app, db):
    with FakePrinter() as printer:
        kiosk = network_kiosk(printer.port)
        ticket, printout = issue(kiosk)
        assert printout.job is not None and printout.problem is None
        worker = PrintWorker(app, clock=StepClock())
        assert worker.run_once() == "printed"
        assert worker.run_once() is None
        assert printer.wait_for_jobs(1)
    out = parse(printer.jobs[0])
    assert out.commands[0][0] == "init" and out.commands[-1][0] == "cut"
    assert ticket.number in out.text() and out.qr_data == [track(ticket.id)]
    job = PrintJob.get_by_id(printout.job.id)
    assert job.status == "printed" and job.printed_at and job.attempts == 1
    assert Kiosk.get_by_id(kiosk.id).printer_state == "ok"


def test_printer_down_ticket_still_issued_then_printed_exactly_once(app, db):
    port = free_port()                       # nothing listens there yet
    kiosk = network_kiosk(port)
    clock = StepClock()
    ticket, printout = issue(kiosk)
    assert Ticket.get_by_id(ticket.id).status == "waiting"
    worker = PrintWorker(app, clock=clock)
    assert worker.run_once() == "retry"
    job = PrintJob.get_by_id(printout.job.id)
    assert job.status == "pending" and job.attempts == 1 and "127.0.0.1" in job.last_error
    assert Kiosk.get_by_id(kiosk.id).printer_state == "error"
    # A second ticket while the printer is down queues behind the first.
    second, printout2 = issue(kiosk, now=MONDAY_9 + dt.timedelta(seconds=1))
    assert worker.run_once() is None          # both wait for the backoff
    with FakePrinter(port=port) as printer:
        clock.advance(1)
        assert worker.run_once() is None      # still backing off
        clock.advance(2)
        assert worker.run_once() == "printed"
        assert worker.run_once() == "printed"
        for _ in range(3):
            clock.advance(60)
            assert worker.run_once() is None
        assert printer.wait_for_jobs(2)
        time.sleep(0.3)
    numbers = [parse(job).lines for job in printer.jobs]
    assert len(printer.jobs) == 2, "each job exactly once"
    assert ticket.number in parse(printer.jobs[0]).text()   # in the order issued
    assert second.number in parse(printer.jobs[1]).text()
    assert numbers[0] != numbers[1]
    assert PrintJob.select().where(PrintJob.status == "printed").count() == 2


def test_out_of_paper_waits_for_paper(app, db):
    clock = StepClock()
    with FakePrinter(paper=False) as printer:
        kiosk = network_kiosk(printer.port)
        ticket, printout = issue(kiosk)
        worker = PrintWorker(app, clock=clock)
        assert worker.run_once() == "retry"
        assert PrintJob.get_by_id(printout.job.id).last_error == "Kertas printer habis."
        assert printer.jobs == []
        printer.paper = True
        clock.advance(5)
        assert worker.run_once() == "printed"
        assert printer.wait_for_jobs(1)
        clock.advance(120)
        assert worker.run_once() is None
    assert len(printer.jobs) == 1


def test_printer_without_status_support_still_prints(app, db):
    with FakePrinter(answers_status=False) as printer:
        kiosk = network_kiosk(printer.port)
        issue(kiosk)
        assert PrintWorker(app, clock=StepClock()).run_once() == "printed"
        assert printer.wait_for_jobs(1)


def test_lease_keeps_two_workers_off_one_job(app, db):
    kiosk = network_kiosk(free_port())
    _, printout = issue(kiosk)
    now = MONDAY_9
    first = queue.claim("worker-a", now, GIVE_UP)
    assert first.id == printout.job.id
    assert queue.claim("worker-b", now, GIVE_UP) is None
    # Worker A dies with the lease; after it runs out, B may take the job.
    later = now + queue.LEASE + dt.timedelta(seconds=1)
    again = queue.claim("worker-b", later, GIVE_UP)
    assert again.id == first.id and again.attempts == 2
    # A waking up late cannot record a send it no longer owns.
    assert queue.mark_printed(first, "worker-a", later) is False
    assert queue.mark_printed(again, "worker-b", later) is True


def test_one_job_in_flight_per_printer(app, db):
    a = network_kiosk(free_port(), code="k1")
    b = network_kiosk(free_port(), code="k2")
    _, p1 = issue(a)
    _, p2 = issue(a)
    _, p3 = issue(b)
    one = queue.claim("w1", MONDAY_9, GIVE_UP)
    two = queue.claim("w2", MONDAY_9, GIVE_UP)
    assert (one.id, two.id) == (p1.job.id, p3.job.id)   # not p2: k1 is busy
    assert queue.claim("w3", MONDAY_9, GIVE_UP) is None


def test_many_worker_threads_print_every_job_once(app, db):
    with FakePrinter() as printer:
        kiosk_a = network_kiosk(printer.port, code="k1")
        kiosk_b = network_kiosk(printer.port, code="k2")
        issued = [issue(kiosk_a if i % 2 else kiosk_b)[0] for i in range(16)]
        assert print_with_worker_threads(app, printer, 16, timeout=30)
    printed = sorted(line for job in printer.jobs for line, w, *_ in parse(job).lines
                     if w >= 4)
    assert printed == sorted(t.number for t in issued)
    assert PrintJob.select().where(PrintJob.status != "printed").count() == 0


def test_give_up_then_supervisor_retry(app, db):
    port = free_port()
    kiosk = network_kiosk(port)
    _, printout = issue(kiosk)
    clock = StepClock(MONDAY_9 + GIVE_UP + dt.timedelta(minutes=1))
    worker = PrintWorker(app, clock=clock)
    assert worker.run_once() is None
    job = PrintJob.get_by_id(printout.job.id)
    assert job.status == "failed"
    with FakePrinter(port=port) as printer:
        queue.retry_job(kiosk.site, job.id, clock.now())
        assert PrintJob.get_by_id(job.id).status == "pending"
        assert worker.run_once() == "printed"
        assert printer.wait_for_jobs(1)
        # Reprinting a printed job is a new job.
        again = queue.retry_job(kiosk.site, job.id, clock.now())
        assert again.id != job.id and again.reprint
        assert worker.run_once() == "printed"
        assert printer.wait_for_jobs(2)


def test_kiosk_switched_to_browser_fails_its_pending_jobs(app, db):
    kiosk = network_kiosk(free_port())
    _, printout = issue(kiosk)
    Kiosk.update(print_mode="browser-html").where(Kiosk.id == kiosk.id).execute()
    assert PrintWorker(app, clock=StepClock()).run_once() == "failed"
    assert PrintJob.get_by_id(printout.job.id).status == "failed"


def test_issuing_survives_a_job_that_cannot_be_stored(app, db):
    kiosk = network_kiosk(free_port())
    Kiosk.delete().where(Kiosk.id == kiosk.id).execute()   # gone under the kiosk's feet
    ticket, printout = issue(kiosk)
    assert Ticket.get_by_id(ticket.id).number == ticket.number
    assert printout.job is None and "Catat nomor" in printout.problem


def test_browser_kiosks_store_no_job(app, db):
    kiosk = kiosks.kiosk_for(Site.get(Site.code == "tabang"))
    assert kiosk.print_mode == "browser-html"
    ticket, printout = issue(kiosk)
    assert printout.job is None and printout.paper.number == ticket.number
    assert PrintJob.select().count() == 0


@pytest.mark.parametrize("bad", [
    {"host": "not a host!"}, {"port": 70000}, {"paper_width": 70}, {"print_mode": "fax"},
    {"code": "Bad Code"}, {"name": ""}, {"qr_mode": "hologram"}])
def test_kiosk_settings_are_validated(app, db, bad):
    from app.errors import Invalid
    values = {"code": "k9", "name": "Kiosk 9", "print_mode": "escpos-network",
              "host": "192.168.1.50", "port": 9100, "paper_width": 80, "qr_mode": "native"}
    kiosks.save_kiosk(Site.get(Site.code == "tabang"), values)  # the good one is fine
    with pytest.raises(Invalid):
        kiosks.save_kiosk(Site.get(Site.code == "tabang"), {**values, **bad}, "k9")


def test_cli_print_worker_once(app, db):
    with FakePrinter() as printer:
        kiosk = network_kiosk(printer.port)
        ticket, _ = issue(kiosk)
        result = app.test_cli_runner().invoke(args=["mpp", "print-worker", "--once"])
        assert result.exit_code == 0, result.output
        assert result.output.split() == ["printed"]
        assert printer.wait_for_jobs(1)
    assert ticket.number in parse(printer.jobs[0]).text()
