"""The print worker: claims jobs from the queue and sends them to network printers.

Runs as a daemon thread in each gunicorn worker (gunicorn.conf.py, PRINT_WORKER=on) or
on its own: `flask --app wsgi mpp print-worker`. Any number of them may run against one
database; the lease in `queue.claim` keeps them from sending a job twice.
"""
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import replace

from printers import render_receipt_escpos, render_ticket_escpos
from printers.data import receipt_from_json, ticket_from_json
from printers.network import PrinterError, send

from ..clock import to_local
from ..db import database
from . import queue

log = logging.getLogger("mpp.printers.worker")


def render_job(job) -> bytes:
    """The job's snapshot as ESC/POS, its times in WITA (snapshots stored before the
    renderers took local times carry UTC)."""
    kiosk = job.kiosk
    if job.kind == "receipt":
        receipt = receipt_from_json(job.data)
        if receipt.received_at:
            receipt = replace(receipt, received_at=to_local(receipt.received_at))
        return render_receipt_escpos(receipt, kiosk.paper_width, kiosk.qr_mode)
    ticket = ticket_from_json(job.data)
    ticket = replace(ticket, issued_at=to_local(ticket.issued_at))
    return render_ticket_escpos(ticket, kiosk.paper_width, kiosk.qr_mode)


class PrintWorker:
    def __init__(self, app, owner: str | None = None, clock=None):
        settings = app.config["SETTINGS"]
        self.clock = clock or app.clock  # anything with now() -> aware datetime
        self.timeout = float(settings["PRINT_TIMEOUT_SECONDS"])
        self.retry_max = float(settings["PRINT_RETRY_MAX_SECONDS"])
        self.give_up = dt.timedelta(minutes=float(settings["PRINT_GIVE_UP_MINUTES"]))
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop_event = threading.Event()

    def run_once(self) -> str | None:
        """Send at most one job. Returns 'printed', 'retry', 'failed' or None (idle)."""
        now = self.clock.now()
        if not queue.has_due_jobs(now):
            return None
        job = queue.claim(self.owner, now, self.give_up)
        if job is None:
            return None
        kiosk = job.kiosk
        if kiosk.print_mode != "escpos-network" or not kiosk.host:
            queue.mark_dead(job, self.owner, "Kiosk tidak lagi memakai printer jaringan.")
            return "failed"
        try:
            payload = render_job(job)
        except Exception:  # a snapshot we cannot render will not render on retry either
            log.exception("print job %s could not be rendered", job.id)
            queue.mark_dead(job, self.owner, "Data tiket tidak dapat dicetak.")
            return "failed"
        try:
            send(kiosk.host, kiosk.port, payload, timeout=self.timeout)
        except PrinterError as exc:
            next_try = queue.mark_failed(job, self.owner, self.clock.now(), str(exc),
                                         self.retry_max)
            log.info("print job %s to kiosk %s not sent (%s); next try %s", job.id,
                     kiosk.code, exc, next_try)
            return "retry"
        queue.mark_printed(job, self.owner, self.clock.now())
        log.info("print job %s sent to kiosk %s", job.id, kiosk.code)
        return "printed"

    def run(self, poll_seconds: float = 1.0) -> None:
        """Until stopped: send what is due, else sleep until woken or the poll ends."""
        database.connect(reuse_if_open=True)
        try:
            while not self.stop_event.is_set():
                try:
                    outcome = self.run_once()
                except Exception:  # the database is away for a moment: keep going
                    log.exception("print worker error")
                    outcome = None
                    if not database.is_closed() and database.in_transaction():
                        database.rollback()
                if outcome is None:
                    queue.wait_for_work(poll_seconds)
        finally:
            if not database.is_closed():
                database.close()

    def stop(self) -> None:
        self.stop_event.set()
        queue.wake()


def start_background(app, poll_seconds: float = 1.0) -> PrintWorker | None:
    """Start this process's worker thread (once), when PRINT_WORKER is on."""
    if app.config["SETTINGS"]["PRINT_WORKER"].lower() != "on":
        return None
    worker = PrintWorker(app)
    thread = threading.Thread(target=worker.run, args=(poll_seconds,),
                              name="print-worker", daemon=True)
    thread.start()
    app.extensions["print_worker"] = worker
    log.info("print worker %s started", worker.owner)
    return worker
