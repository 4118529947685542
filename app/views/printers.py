"""Printing over HTTP: the ticket as PDF and ESC/POS (API), the kiosk's print status
and reprint, the supervisor's printer page and the kiosk settings (admin)."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import login_required

from printers import render_ticket_escpos, render_ticket_pdf
from printers.layout import ticket_blocks

from ..domain import accounts, queueing
from ..errors import Conflict, Invalid
from ..models.printing import PAPER_WIDTHS, PRINT_MODES, QR_MODES
from ..printing import kiosks, queue, tickets
from ..web import openapi
from ..web.auth import signed_in_user
from ..web.inputs import now
from ..web.responses import file_response, htmx, page_or_fragment
from ..web.urls import ticket_page_url

bp = Blueprint("printers", __name__)

openapi.add_operations([
    ("get", "/api/v1/tickets/{id}/ticket.pdf",
     "The printed ticket as PDF, as wide as the roll (query: width=58|80, kiosk=code)",
     None, None, {"200": "application/pdf", "404": "unknown_ticket / unknown_kiosk",
                  "422": "invalid_width"}),
    ("get", "/api/v1/tickets/{id}/ticket.escpos",
     "The printed ticket as ESC/POS bytes (query: width=58|80, qr=native|raster, "
     "kiosk=code)", None, None,
     {"200": "application/octet-stream", "404": "unknown_ticket / unknown_kiosk",
      "422": "invalid_width / invalid_qr_mode"}),
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


# --- supervisor and admin ----------------------------------------------------------

def _site_for_manager(site_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(signed_in_user(), site, ("supervisor",),
                               f"Halaman printer {site.name} hanya untuk supervisor lokasi "
                               "ini dan admin.")
    return site


@bp.get("/printers/<site_code>")
@login_required
def overview(site_code):
    site = _site_for_manager(site_code)
    return page_or_fragment("printers/overview.html", "printers/_overview.html", site=site,
                            modes=PRINT_MODES, **queue.overview(site, now()))


@bp.post("/printers/<site_code>/jobs/<int:job_id>/retry")
@login_required
def retry(site_code, job_id):
    site = _site_for_manager(site_code)
    queue.retry_job(site, job_id, now())
    if htmx:
        return render_template("printers/_overview.html", site=site, modes=PRINT_MODES,
                               notice="Dikirim ulang ke antrean cetak.",
                               **queue.overview(site, now()))
    return redirect(url_for("printers.overview", site_code=site.code), code=303)


def _form_context(site, kiosk=None, values=None, error=None):
    return {"site": site, "kiosk": kiosk, "values": values or {}, "error": error,
            "modes": PRINT_MODES, "widths": PAPER_WIDTHS, "qr_modes": QR_MODES}


@bp.get("/printers/<site_code>/kiosks/new")
@login_required
def new_kiosk(site_code):
    site = _site_for_manager(site_code)
    return render_template("printers/kiosk_form.html", **_form_context(
        site, values={"print_mode": "browser-html", "paper_width": 80, "port": 9100,
                      "qr_mode": "native", "active": True}))


@bp.route("/printers/<site_code>/kiosks/<kiosk_code>", methods=["GET", "POST"])
@login_required
def edit_kiosk(site_code, kiosk_code):
    site = _site_for_manager(site_code)
    creating = kiosk_code == "_new"
    kiosk = None if creating else kiosks.get_kiosk(site, kiosk_code)
    if request.method == "GET":
        if creating:  # the new-kiosk form's own address, opened again (back, bookmark)
            return redirect(url_for("printers.new_kiosk", site_code=site.code))
        values = {k: getattr(kiosk, k) for k in ("code", "name", "print_mode", "host",
                                                 "port", "paper_width", "qr_mode",
                                                 "active")}
        return render_template("printers/kiosk_form.html",
                               **_form_context(site, kiosk, values))
    values = {k: request.form.get(k, "")[:255] for k in (
        "code", "name", "print_mode", "host", "port", "paper_width", "qr_mode")}
    values["active"] = request.form.get("active") == "on"
    try:
        kiosks.save_kiosk(site, values, None if creating else kiosk.code)
    except (Invalid, Conflict) as exc:
        return render_template("printers/kiosk_form.html", **_form_context(
            site, kiosk, values, exc.message)), exc.status
    return redirect(url_for("printers.overview", site_code=site.code), code=303)
