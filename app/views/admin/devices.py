"""A hall's devices at /admin/lokasi/<site>/perangkat (admin and that hall's supervisor),
one page: kiosks and their printers (state, jobs needing attention, reprint, the kiosk
form), the boards' running text and reading style, and board links showing some
counters or services (`/boards/<site>?counters=..&services=..`), and the hall's
registered boards: pairing a TV by the code it shows, revoking one
(`app.domain.board_devices`).

These pages used to live at /printers/<site> and /boards/<site>/teks; those addresses
now redirect here (app/views/printers.py, app/views/boards.py)."""
from flask import redirect, render_template, request, url_for
from flask_login import login_required

from boards import speech
from boards.state import update_board

from ...domain import accounts, board_devices, halls, queueing
from ...errors import Conflict, Invalid, NotFound
from ...models.printing import PAPER_WIDTHS, PRINT_MODES, QR_MODES
from ...printing import kiosks, queue
from ...web.auth import current_actor, signed_in_user
from ...web.inputs import now
from ...web.responses import htmx
from .shell import add_hall_page, bp

add_hall_page("admin.devices", "Perangkat", "Devices", ("admin", "supervisor"),
              place=20)
KIOSK_FIELDS = ("code", "name", "print_mode", "host", "port", "paper_width", "qr_mode")


def _site(site_code):
    site = halls.get(site_code)
    accounts.require_site_role(signed_in_user(), site, ("supervisor",),
                               f"Perangkat {site.name} hanya diatur oleh admin atau "
                               "supervisor lokasi ini.")
    return site


def _printers(site, **extra) -> dict:
    return {"site": site, "modes": PRINT_MODES, **queue.overview(site, now()), **extra}


def _board_links(site) -> dict:
    """The hall's board, one board per active counter, and the link the small form
    builds from the counters and services ticked."""
    counters = queueing.counters_of(site)
    served = queueing.services_by_counter(counters)
    services = queueing.services_at(site)
    codes = {c.code for c in counters}
    offered = {s.code for s in services}
    chosen_counters = [c for c in request.args.getlist("counters") if c in codes]
    chosen_services = [s for s in request.args.getlist("services") if s in offered]
    built = None
    if chosen_counters or chosen_services:
        params = {}
        if chosen_counters:
            params["counters"] = ",".join(chosen_counters)
        if chosen_services:
            params["services"] = ",".join(chosen_services)
        built = url_for("boards.board", site_code=site.code, **params)
    return {"board_counters": counters, "board_served": served,
            "board_services": services, "chosen_counters": chosen_counters,
            "chosen_services": chosen_services, "built_link": built,
            "registered_boards": board_devices.devices_of(site),
            "board_notice": {"terdaftar": "Papan terdaftar; TV menampilkan papan dalam "
                                          "beberapa detik.",
                             "dicabut": "Papan dicabut; TV itu kembali menampilkan kode "
                                        "pemasangan."}.get(request.args.get("papan", ""))}


@bp.get("/admin/lokasi/<site_code>/perangkat")
@login_required
def devices(site_code):
    site = _site(site_code)
    return render_template("admin/devices.html", **_printers(site), **_board_links(site),
                           reading_styles=speech.READING_STYLES,
                           saved=request.args.get("teks") == "disimpan")


@bp.get("/admin/lokasi/<site_code>/perangkat/printer")
@login_required
def devices_printers(site_code):
    """The kiosks-and-printers region, refreshed by htmx every few seconds."""
    site = _site(site_code)
    return render_template("admin/_devices_printers.html", **_printers(site))


@bp.post("/admin/lokasi/<site_code>/perangkat/printer/<int:job_id>/cetak-ulang")
@login_required
def devices_retry(site_code, job_id):
    site = _site(site_code)
    queue.retry_job(site, job_id, now(), current_actor())
    if htmx:
        return render_template("admin/_devices_printers.html", **_printers(
            site, notice="Dikirim ulang ke antrean cetak."))
    return redirect(url_for("admin.devices", site_code=site.code), code=303)


def _kiosk_form(site, kiosk=None, values=None, error=None, status=200):
    return render_template("admin/devices_kiosk.html", site=site, kiosk=kiosk,
                           values=values or {}, error=error, modes=PRINT_MODES,
                           widths=PAPER_WIDTHS, qr_modes=QR_MODES), status


@bp.get("/admin/lokasi/<site_code>/perangkat/kiosk/baru")
@login_required
def kiosk_new(site_code):
    site = _site(site_code)
    return _kiosk_form(site, values={"print_mode": "browser-html", "paper_width": 80,
                                     "port": 9100, "qr_mode": "native", "active": True})


@bp.route("/admin/lokasi/<site_code>/perangkat/kiosk/<kiosk_code>", methods=["GET", "POST"])
@login_required
def kiosk_edit(site_code, kiosk_code):
    site = _site(site_code)
    creating = kiosk_code == "_new"
    kiosk = None if creating else kiosks.get_kiosk(site, kiosk_code)
    if request.method == "GET":
        if creating:  # the new-kiosk form's own address, opened again (back, bookmark)
            return redirect(url_for("admin.kiosk_new", site_code=site.code))
        values = {k: getattr(kiosk, k) for k in (*KIOSK_FIELDS, "active")}
        return _kiosk_form(site, kiosk, values)
    values = {k: request.form.get(k, "")[:255] for k in KIOSK_FIELDS}
    values["active"] = request.form.get("active") == "on"
    try:
        kiosks.save_kiosk(site, values, None if creating else kiosk.code,
                          actor=current_actor(), now=now())
    except (Invalid, Conflict) as exc:
        return _kiosk_form(site, kiosk, values, exc.message, exc.status)
    return redirect(url_for("admin.devices", site_code=site.code), code=303)


@bp.route("/admin/lokasi/<site_code>/perangkat/teks", methods=["GET", "POST"])
@login_required
def devices_running_text(site_code):
    """The boards' running text and reading style (a form on the devices page): htmx
    swaps the form; a plain POST comes back to the page."""
    site = _site(site_code)
    error = None
    if request.method == "POST":
        try:
            site = update_board(site, now(), current_actor(),
                                running_text=request.form.get("text", ""),
                                reading_style=request.form.get("reading_style") or None)
        except Invalid as exc:
            error = exc
    elif not htmx:
        return redirect(url_for("admin.devices", site_code=site.code) + "#papan")
    status = error.status if error else 200
    context = {"reading_styles": speech.READING_STYLES,
               "saved": request.method == "POST" and error is None,
               "text_error": error.message if error else None,
               "draft": request.form.get("text") if error else None}
    if htmx:
        if error:  # shown in the page's #flash by static/app.js, the form kept as typed
            raise error
        return render_template("admin/_devices_running_text.html", site=site, **context)
    if error:
        return render_template("admin/devices.html", **_printers(site),
                               **_board_links(site), **context), status
    return redirect(url_for("admin.devices", site_code=site.code, teks="disimpan")
                    + "#papan", code=303)


@bp.post("/admin/lokasi/<site_code>/perangkat/papan")
@login_required
def board_pair(site_code):
    """Register the TV showing the code typed in as a board of this hall."""
    site = _site(site_code)
    try:
        board_devices.pair(site, request.form.get("code", ""), request.form.get("name", ""),
                           now(), current_actor())
    except (Invalid, NotFound) as exc:
        return render_template("admin/devices.html", **_printers(site), **_board_links(site),
                               reading_styles=speech.READING_STYLES, pair_error=exc.message,
                               pair_values={"code": request.form.get("code", "")[:20],
                                            "name": request.form.get("name", "")[:80]}
                               ), exc.status
    return redirect(url_for("admin.devices", site_code=site.code, papan="terdaftar")
                    + "#papan-terdaftar", code=303)


@bp.post("/admin/lokasi/<site_code>/perangkat/papan/<int:board_id>/cabut")
@login_required
def board_revoke(site_code, board_id):
    site = _site(site_code)
    board_devices.revoke(site, board_id, now(), current_actor())
    return redirect(url_for("admin.devices", site_code=site.code, papan="dicabut")
                    + "#papan-terdaftar", code=303)
