"""Printing over HTTP: the ticket as PDF and ESC/POS (API), the kiosk's print status
and reprint. The supervisor's printer page and the kiosk settings moved to
/admin/lokasi/<site>/perangkat; their old addresses here redirect there."""
from flask import Blueprint, abort, redirect, render_template, request, url_for

from printers import render_ticket_escpos, render_ticket_pdf
from printers.layout import ticket_blocks

from ..domain import queueing
from ..errors import Invalid
from ..models.printing import QR_MODES
from ..printing import kiosks, queue, tickets
from ..web import openapi
from ..web.inputs import now
from ..web.responses import file_response
from ..web.urls import ticket_page_url

bp = Blueprint("printers", __name__)

openapi.add_operations([
    ("get", "/api/v1/tickets/{id}/ticket.pdf",
     "The printed ticket as PDF, as wide as the roll (query: width=58|80, kiosk=code)",
     None, None, {"200": "application/pdf", "404": "unknown_ticket / unknown_kiosk",
                  "422": "invalid_width"},
     {"query": {"width": "58|80", "kiosk": "string"}}),
    ("get", "/api/v1/tickets/{id}/ticket.escpos",
     "The printed ticket as ESC/POS bytes (query: width=58|80, qr=native|raster, "
     "kiosk=code)", None, None,
     {"200": "application/octet-stream", "404": "unknown_ticket / unknown_kiosk",
      "422": "invalid_width / invalid_qr_mode"},
     {"query": {"width": "58|80", "qr": "native|raster", "kiosk": "string"}}),
])


@bp.app_template_global()
def paper_blocks(paper):
    """The printed ticket's blocks, for the printable HTML (browser-html kiosks)."""
    return ticket_blocks(paper)


# --- API ---------------------------------------------------------------------------

def _paper(ticket):
    """Width and QR mode: from the query, else from ?kiosk=, else 80 mm / native."""
    code = request.args.get("kiosk")
    kiosk = kiosks.kiosk_for(ticket.site, code[:20]) if code else None
    width = request.args.get("width")
    if width is None:
        width = kiosk.paper_width if kiosk else 80
    elif width not in ("58", "80"):
        raise Invalid("Lebar kertas harus 58 atau 80 (mm).", code="invalid_width")
    qr = request.args.get("qr") or (kiosk.qr_mode if kiosk else "native")
    if qr not in QR_MODES:
        raise Invalid("Mode QR harus native atau raster.", code="invalid_qr_mode")
    return int(width), qr


@bp.get("/api/v1/tickets/<ticket_id>/ticket.pdf")
def ticket_pdf(ticket_id):
    ticket = queueing.get_ticket(ticket_id)
    width, _qr = _paper(ticket)
    paper = tickets.ticket_print(ticket, now(), ticket_page_url(ticket.id))
    return file_response(render_ticket_pdf(paper, width), "application/pdf",
                         f"tiket-{ticket.number}.pdf")


@bp.get("/api/v1/tickets/<ticket_id>/ticket.escpos")
def ticket_escpos(ticket_id):
    ticket = queueing.get_ticket(ticket_id)
    width, qr = _paper(ticket)
    paper = tickets.ticket_print(ticket, now(), ticket_page_url(ticket.id))
    return file_response(render_ticket_escpos(paper, width, qr), "application/octet-stream",
                         f"tiket-{ticket.number}.bin", inline=False)


# --- kiosk -------------------------------------------------------------------------

def _kiosk_ticket(site_code, ticket_id):
    site = queueing.get_site(site_code)
    ticket = queueing.get_ticket(ticket_id)
    if ticket.site_id != site.id:
        abort(404)
    code = (request.values.get("kiosk") or "")[:20] or None
    return site, ticket, kiosks.kiosk_for(site, code), code


@bp.get("/k/<site_code>/tickets/<ticket_id>/print-status")
def kiosk_print_status(site_code, ticket_id):
    site, ticket, kiosk, code = _kiosk_ticket(site_code, ticket_id)
    return render_template("printers/_print_status.html", site=site, ticket=ticket,
                           job=queue.latest_job(ticket.id), kiosk_code=code)


@bp.post("/k/<site_code>/tickets/<ticket_id>/reprint")
def kiosk_reprint(site_code, ticket_id):
    site, ticket, kiosk, code = _kiosk_ticket(site_code, ticket_id)
    printout = tickets.kiosk_reprint(ticket, kiosk, now(), ticket_page_url(ticket.id))
    return render_template("printers/_kiosk_print.html", site=site, ticket_id=ticket.id,
                           printout=printout, kiosk_code=code)


# --- the old addresses of the printer pages ---------------------------------------
# The kiosks-and-printers page moved to the hall's devices page in the administration
# (app/views/admin/devices.py); 308 keeps a form's POST a POST.

@bp.get("/printers/<site_code>")
def overview(site_code):
    return redirect(url_for("admin.devices", site_code=site_code), code=308)


@bp.post("/printers/<site_code>/jobs/<int:job_id>/retry")
def retry(site_code, job_id):
    return redirect(url_for("admin.devices_retry", site_code=site_code, job_id=job_id),
                    code=308)


@bp.get("/printers/<site_code>/kiosks/new")
def new_kiosk(site_code):
    return redirect(url_for("admin.kiosk_new", site_code=site_code), code=308)


@bp.route("/printers/<site_code>/kiosks/<kiosk_code>", methods=["GET", "POST"])
def edit_kiosk(site_code, kiosk_code):
    return redirect(url_for("admin.kiosk_edit", site_code=site_code, kiosk_code=kiosk_code),
                    code=308)
