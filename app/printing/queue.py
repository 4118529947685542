"""The print queue: jobs stored after a ticket is issued, sent by workers.

Guarantees and the choice behind them
-------------------------------------
* Issuing never waits for a printer: the ticket commits first (queueing.issue_ticket);
  the job is stored in its own short transaction right after, and a worker sends it.
* Two workers never send the same job at the same time: `claim` takes a lease in one
  write transaction (BEGIN IMMEDIATE on SQLite; FOR UPDATE SKIP LOCKED plus a
  conditional UPDATE on PostgreSQL). One printer has at most one job in flight, and
  its jobs go out in the order they were stored.
* After a successful send the job is marked printed at once, conditioned on still
  holding the lease. The one window left is between the printer accepting the last
  byte and that commit (milliseconds): if the process dies exactly there, the lease
  runs out and the job is sent again. We chose at-least-once in that window over
  marking it printed before sending (at-most-once), because a lost ticket strands a
  citizen while a rare duplicate costs a few centimetres of paper. Everything else —
  printer off, refused, out of paper, timed out — leaves the job pending, retried with
  exponential backoff, so it prints exactly once when the printer comes back.
* A job that could not be sent within PRINT_GIVE_UP_MINUTES is marked failed (a stale
  ticket printing an hour later helps nobody); the supervisor sees it and can retry.
"""
import datetime as dt
import logging
import threading
import time

import peewee as pw

from ..clock import as_utc_naive
from ..db import lock_rows, skip_locked, write_transaction
from ..domain import audit
from ..errors import Conflict, NotFound
from ..models import Kiosk, PrintJob, Site

log = logging.getLogger("mpp.printers")
LEASE = dt.timedelta(seconds=60)   # well above connect + send timeouts
RETRY_BASE_SECONDS = 2
_wake = threading.Event()


def wake() -> None:
    """Tell this process's worker a job is waiting (saves a poll interval)."""
    _wake.set()


def wait_for_work(seconds: float) -> None:
    _wake.wait(seconds)
    _wake.clear()


def backoff(attempts: int, max_seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=min(max_seconds, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def enqueue(kiosk: Kiosk, kind: str, data: dict, now: dt.datetime, ticket=None,
            reprint: bool = False) -> PrintJob:
    now_naive = as_utc_naive(now)
    with write_transaction():
        # Behind the kiosk's jobs still waiting for a retry, so the roll keeps its order.
        latest = (PrintJob.select(pw.fn.MAX(PrintJob.next_try_at))
                  .where((PrintJob.kiosk == kiosk) & (PrintJob.status == "pending"))
                  .scalar())
        job = PrintJob.create(ticket=ticket, kiosk=kiosk, kind=kind, data=data,
                              reprint=reprint, created_at=now_naive,
                              next_try_at=max(now_naive, latest or now_naive))
    wake()
    return job


def has_due_jobs(now: dt.datetime) -> bool:
    """A cheap read, so idle workers do not take the write lock every poll."""
    return (PrintJob.select(PrintJob.id)
            .where((PrintJob.status == "pending")
                   & (PrintJob.next_try_at <= as_utc_naive(now)))
            .exists())


def claim(owner: str, now: dt.datetime, give_up_after: dt.timedelta) -> PrintJob | None:
    """Lease the oldest due job whose printer has nothing else in flight, or None."""
    now_naive = as_utc_naive(now)
    with write_transaction():
        (PrintJob.update(status="failed", lease_owner=None, lease_until=None,
                         last_error=PrintJob.last_error.concat(
                             " (tidak terkirim; dihentikan)"))
         .where((PrintJob.status == "pending")
                & (PrintJob.created_at < as_utc_naive(now - give_up_after))
                & ((PrintJob.lease_until.is_null()) | (PrintJob.lease_until < now_naive)))
         .execute())
        in_flight = (PrintJob.select(PrintJob.kiosk)
                     .where((PrintJob.status == "pending")
                            & (PrintJob.lease_until > now_naive)))
        candidate = skip_locked(
            PrintJob.select()
            .where((PrintJob.status == "pending") & (PrintJob.next_try_at <= now_naive)
                   & ((PrintJob.lease_until.is_null()) | (PrintJob.lease_until < now_naive))
                   & (PrintJob.kiosk.not_in(in_flight)))
            .order_by(PrintJob.next_try_at, PrintJob.id)
            .limit(1)).first()
        if candidate is None:
            return None
        # PostgreSQL: two claims can both see the printer idle before either commits;
        # the printer's row lock orders them, and the second sees the first's lease.
        lock_rows(Kiosk.select().where(Kiosk.id == candidate.kiosk_id)).get()
        busy = (PrintJob.select().where(
            (PrintJob.kiosk == candidate.kiosk_id) & (PrintJob.status == "pending")
            & (PrintJob.lease_until > now_naive) & (PrintJob.id != candidate.id)).exists())
        if busy:
            return None
        taken = (PrintJob.update(lease_owner=owner, lease_until=now_naive + LEASE,
                                 attempts=PrintJob.attempts + 1)
                 .where((PrintJob.id == candidate.id) & (PrintJob.status == "pending")
                        & ((PrintJob.lease_until.is_null())
                           | (PrintJob.lease_until < now_naive)))
                 .execute())
        if taken != 1:  # pragma: no cover - the transaction above serialises claims
            return None
    return PrintJob.select(PrintJob, Kiosk).join(Kiosk).where(
        PrintJob.id == candidate.id).get()


def mark_printed(job: PrintJob, owner: str, now: dt.datetime) -> bool:
    """Record the send at once. Retries a busy database rather than letting the lease
    lapse (which would print the ticket twice)."""
    now_naive = as_utc_naive(now)
    for attempt in range(5):
        try:
            with write_transaction():
                done = (PrintJob.update(status="printed", printed_at=now_naive,
                                        lease_owner=None, lease_until=None, last_error="")
                        .where((PrintJob.id == job.id) & (PrintJob.lease_owner == owner)
                               & (PrintJob.status == "pending"))
                        .execute())
                Kiosk.update(printer_state="ok", printer_error="",
                             printer_checked_at=now_naive).where(
                    Kiosk.id == job.kiosk_id).execute()
            if done != 1:
                log.warning("print job %s was printed but its lease had passed", job.id)
            return done == 1
        except pw.OperationalError:
            log.warning("could not record print job %s as printed, retrying", job.id)
            time.sleep(0.2 * (attempt + 1))
    log.error("print job %s printed but not recorded; it may print again", job.id)
    return False


def mark_failed(job: PrintJob, owner: str, now: dt.datetime, error: str,
                retry_max_seconds: float) -> dt.datetime:
    """Back off this job and the printer's other pending jobs; remember the error."""
    now_naive = as_utc_naive(now)
    next_try = now_naive + backoff(job.attempts, retry_max_seconds)
    with write_transaction():
        (PrintJob.update(lease_owner=None, lease_until=None, next_try_at=next_try,
                         last_error=error[:200])
         .where((PrintJob.id == job.id) & (PrintJob.lease_owner == owner)).execute())
        (PrintJob.update(next_try_at=next_try)
         .where((PrintJob.kiosk == job.kiosk_id) & (PrintJob.status == "pending")
                & (PrintJob.id != job.id) & (PrintJob.next_try_at < next_try)
                & (PrintJob.lease_until.is_null()))
         .execute())
        Kiosk.update(printer_state="error", printer_error=error[:200],
                     printer_checked_at=now_naive).where(Kiosk.id == job.kiosk_id).execute()
    return next_try


def mark_dead(job: PrintJob, owner: str, error: str) -> None:
    """A job that no retry can help (the kiosk no longer prints to a network printer,
    the snapshot cannot be rendered): failed at once, for the supervisor to see."""
    with write_transaction():
        (PrintJob.update(status="failed", lease_owner=None, lease_until=None,
                         last_error=error[:200])
         .where((PrintJob.id == job.id) & (PrintJob.lease_owner == owner)).execute())


def retry_job(site: Site, job_id: int, now: dt.datetime, actor=None) -> PrintJob:
    """Supervisor: send a failed job again, or print a printed one once more; with
    `actor`, audited (`print.retry` / `print.reprint`) in the same transaction."""
    job = (PrintJob.select(PrintJob, Kiosk).join(Kiosk)
           .where((PrintJob.id == job_id) & (Kiosk.site == site)).first())
    if job is None:
        raise NotFound("Pekerjaan cetak tidak ditemukan.", code="unknown_print_job")
    if job.kiosk.print_mode != "escpos-network":
        raise Conflict("Kiosk ini tidak lagi memakai printer jaringan.",
                       code="not_network_printer")
    if job.status == "failed":
        now_naive = as_utc_naive(now)
        with write_transaction():
            (PrintJob.update(status="pending", attempts=0, created_at=now_naive,
                             next_try_at=now_naive, lease_owner=None, lease_until=None)
             .where((PrintJob.id == job.id) & (PrintJob.status == "failed")).execute())
            _audit(actor, "print.retry", job, site, now)
        wake()
        return PrintJob.get_by_id(job.id)
    if job.status == "pending":
        raise Conflict("Pekerjaan ini masih dalam antrean cetak.", code="already_queued")
    with write_transaction():
        again = enqueue(job.kiosk, job.kind, job.data, now, ticket=job.ticket_id,
                        reprint=True)
        _audit(actor, "print.reprint", job, site, now)
    return again


def _audit(actor, action: str, job: PrintJob, site: Site, now: dt.datetime) -> None:
    if actor is not None:
        audit.record(actor, action, f"print job {job.id} ({job.kind})", now,
                     site_code=site.code, after={"kiosk": job.kiosk.code})


def latest_job(ticket_id: str) -> PrintJob | None:
    return (PrintJob.select().where(PrintJob.ticket == ticket_id)
            .order_by(PrintJob.id.desc()).first())


def jobs_of_ticket(ticket_id: str) -> int:
    return PrintJob.select().where(PrintJob.ticket == ticket_id).count()


def overview(site: Site, now: dt.datetime, limit: int = 50) -> dict:
    """What the supervisor sees: each kiosk with its printer's state and queue, and the
    jobs that failed or are still waiting."""
    kiosks = list(Kiosk.select().where(Kiosk.site == site).order_by(Kiosk.code))
    counts = {}
    rows = (PrintJob.select(PrintJob.kiosk, PrintJob.status, pw.fn.COUNT(PrintJob.id))
            .join(Kiosk).where(Kiosk.site == site)
            .group_by(PrintJob.kiosk, PrintJob.status).tuples())
    for kiosk_id, status, n in rows:
        counts.setdefault(kiosk_id, {})[status] = n
    trouble = list(PrintJob.select(PrintJob, Kiosk).join(Kiosk)
                   .where((Kiosk.site == site) & (PrintJob.status.in_(("pending", "failed"))))
                   .order_by(PrintJob.id.desc()).limit(limit))
    recent = list(PrintJob.select(PrintJob, Kiosk).join(Kiosk)
                  .where((Kiosk.site == site) & (PrintJob.status == "printed"))
                  .order_by(PrintJob.printed_at.desc()).limit(10))
    return {"kiosks": [{"kiosk": k, "counts": counts.get(k.id, {})} for k in kiosks],
            "trouble": trouble, "recent": recent}

