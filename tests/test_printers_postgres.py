"""The print queue on PostgreSQL (the central role): several worker threads, one
printer each in flight, every job printed exactly once."""

import pytest

from app import create_app
from app.db import database

from .fake_printer import FakePrinter, print_with_worker_threads

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def pg_app(pg_database, tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test",
                      "DATABASE_URL": pg_database,
                      "MPP_CLOCK_START": "2026-11-30T09:00:00+08:00"})
    with app.app_context():
        from app.cli import setup
        setup()
    database.connect(reuse_if_open=True)
    yield app
    if not database.is_closed():
        database.close()
    database.obj.close_all()


def test_workers_on_postgres_print_every_job_once(pg_app):
    from app.domain import queueing
    from app.models import PrintJob, Site
    from app.printing import kiosks, tickets

    from .escpos_parser import parse

    site = Site.get(Site.code == "tabang")
    now = pg_app.clock.now()
    with FakePrinter() as printer:
        made = [kiosks.save_kiosk(site, {"code": code, "name": code,
                                         "print_mode": "escpos-network",
                                         "host": "127.0.0.1", "port": printer.port,
                                         "paper_width": 80})
                for code in ("p1", "p2", "p3")]
        issued = []
        for i in range(15):
            ticket = queueing.issue_ticket(site, queueing.get_service("ADM-KTP"), now)
            tickets.queue_ticket(ticket, made[i % 3], now, f"http://x/t/{ticket.id}")
            issued.append(ticket)
        assert print_with_worker_threads(pg_app, printer, 15, timeout=40)
    printed = sorted(line for job in printer.jobs for line, w, *_ in parse(job).lines
                     if w >= 4)
    assert printed == sorted(t.number for t in issued)
    assert PrintJob.select().where(PrintJob.status == "printed").count() == 15
