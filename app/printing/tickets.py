"""A ticket on paper: its plain TicketPrint, its print job after it was issued, and the
citizen's reprint at the kiosk."""
import datetime as dt
import logging
from dataclasses import dataclass

from printers.data import TicketPrint, ticket_to_json

from ..clock import as_utc_naive, local_day, to_local
from ..domain import estimates, queueing
from ..errors import Conflict
from ..models import Kiosk, PrintJob, Ticket
from . import queue

log = logging.getLogger("mpp.printers")
KIOSK_REPRINT_WINDOW = dt.timedelta(minutes=15)
KIOSK_REPRINT_MAX = 2   # network jobs per ticket from the kiosk itself, after the first


@dataclass
class PrintOutcome:
    """What the kiosk screen needs to know about the paper side of a ticket."""
    mode: str                      # the kiosk's print mode
    paper_width: int
    paper: TicketPrint | None = None  # what the ticket says, for browser printing
    job: PrintJob | None = None    # escpos-network: the stored job
    problem: str | None = None     # could not even queue it: say so on screen


def ticket_print(ticket: Ticket, now: dt.datetime, page_url: str) -> TicketPrint:
    ahead = queueing.waiting_before(ticket, now)
    wait = (estimates.estimated_wait_minutes(ticket.site, ticket.service, ahead)
            if ticket.status == "waiting" else 0)
    return TicketPrint(
        hall_name=ticket.site.name, service_name=ticket.service.name, number=ticket.number,
        issued_at=to_local(ticket.issued_at), waiting_before=ahead,
        estimated_wait_minutes=wait, track_url=page_url,
        priority_label=queueing.PRIORITY_GROUPS.get(ticket.priority_group or ""),
        appointment=ticket.source == "appointment")


def queue_ticket(ticket: Ticket, kiosk: Kiosk, now: dt.datetime, page_url: str,
                 reprint: bool = False) -> PrintOutcome:
    """Store the print job of a ticket that already exists. Never raises: the ticket
    is issued whatever happens to its paper copy, and the screen is the fallback."""
    outcome = PrintOutcome(mode=kiosk.print_mode, paper_width=kiosk.paper_width)
    try:
        outcome.paper = ticket_print(ticket, now, page_url)
        if kiosk.print_mode != "escpos-network" or kiosk.id is None:
            return outcome
        data = ticket_to_json(outcome.paper)
        outcome.job = queue.enqueue(kiosk, "ticket", data, now, ticket=ticket,
                                    reprint=reprint)
    except Exception:
        log.exception("could not queue the print job of ticket %s", ticket.number)
        outcome.problem = ("Tiket tidak dapat dikirim ke printer. Catat nomor Anda atau "
                           "pindai kode QR di layar.")
    return outcome


def kiosk_reprint(ticket: Ticket, kiosk: Kiosk, now: dt.datetime,
                  page_url: str) -> PrintOutcome:
    """The citizen's 'print again' at the kiosk: soon after issuing, a few times."""
    if ticket.site_id != kiosk.site_id or ticket.status != "waiting" or \
            ticket.day != local_day(now) or \
            as_utc_naive(now) - ticket.issued_at > KIOSK_REPRINT_WINDOW:
        raise Conflict("Tiket ini tidak dapat dicetak ulang di kiosk. Silakan hubungi "
                       "petugas.", code="reprint_not_allowed")
    if kiosk.print_mode == "escpos-network":
        if queue.jobs_of_ticket(ticket.id) > KIOSK_REPRINT_MAX:
            raise Conflict("Batas cetak ulang tercapai. Silakan hubungi petugas.",
                           code="reprint_limit")
    return queue_ticket(ticket, kiosk, now, page_url, reprint=True)
