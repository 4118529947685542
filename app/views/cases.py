"""Case pages: "Buka berkas" from the console, the case at the hall (upload, receipt,
picked up), public tracking at /lacak, the officers' inbox at /pusat, and the hall
supervisor's link status."""
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import login_required

from ..domain import accounts, attachments, cases, forwarding, queueing
from ..domain.contact import mask_phone
from ..domain.nik import mask_nik
from ..errors import DomainError, NotFound
from ..models import Agency, Service, Site
from ..printing import receipts
from ..web.auth import current_actor, signed_in_user
from ..web.inputs import client_address, now
from ..web.ratelimit import limit
from ..web.responses import attachment_response, file_response, page_or_fragment
from ..web.urls import case_tracking_url

bp = Blueprint("cases", __name__)


# --- "Buka berkas" at the counter ----------------------------------------------------

def _serving_ticket(site_code, counter_code, ticket_id):
    site = queueing.get_site(site_code)
    accounts.require_site_role(signed_in_user(), site)
    counter = queueing.get_counter(site, counter_code)
    ticket = queueing.get_ticket(ticket_id)
    if ticket.site_id != site.id or ticket.counter_id != counter.id:
        raise NotFound("Tiket ini tidak dilayani di loket ini.", code="unknown_ticket")
    return counter, ticket


@bp.route("/loket/<site_code>/<counter_code>/berkas", methods=["GET", "POST"])
@login_required
def open_case(site_code, counter_code):
    ticket_id = request.values.get("ticket", "")
    counter, ticket = _serving_ticket(site_code, counter_code, ticket_id)
    form = request.form
    service = ticket.service
    error = None
    if request.method == "POST":
        try:
            service = queueing.get_service(form.get("service", ""))
            case = cases.open_case(
                ticket.id, service,
                {"name": form.get("name"), "nik": form.get("nik"), "phone": form.get("phone")},
                form.getlist("requirement"), form.get("notes"), now(), current_actor())
        except DomainError as exc:
            error = exc.message
        else:
            return redirect(url_for("cases.hall_case", code=case.tracking_code), code=303)
    return render_template(
        "case_open.html", site=counter.site, counter=counter, ticket=ticket,
        service=service, services=queueing.services_at(counter.site), form=form,
        error=error), (422 if error else 200)


# --- the case at the hall ------------------------------------------------------------

def _hall_case(code):
    case = cases.get_case(code)
    cases.require_hall_staff(signed_in_user(), case)
    return case


def _case_context(case, **extra):
    return {"case": case, "history": cases.history(case),
            "attachments": cases.attachments_of(case), "statuses": cases.STATUSES,
            "nik_masked": mask_nik(case.applicant_nik),
            "phone_masked": mask_phone(case.applicant_phone),
            "track_url": case_tracking_url(case.tracking_code), **extra}


@bp.get("/loket/berkas")
@login_required
def hall_cases():
    """Find a case by its code, and the hall's recent cases (needs_fix, pick-up)."""
    user = signed_in_user()
    if user.role not in ("operator", "supervisor", "admin"):
        abort(403)
    code = request.args.get("kode", "")
    if code:
        normal = cases.normalise_code(code)
        if normal:
            return redirect(url_for("cases.hall_case", code=normal), code=303)
    site = user.site if user.site_id else queueing.get_site(request.args.get("site", "induk"))
    accounts.require_site_role(user, site)
    return render_template("case_list.html", site=site, statuses=cases.STATUSES,
                           recent=cases.cases_at_site(site, limit=50),
                           error="Kode tidak valid." if code else None)


@bp.get("/loket/berkas/<code>")
@login_required
def hall_case(code):
    return render_template("case_hall.html", **_case_context(_hall_case(code)))


@bp.post("/loket/berkas/<code>/lampiran")
@login_required
def hall_upload(code):
    case = _hall_case(code)
    limit = int(current_app.config["SETTINGS"]["UPLOAD_MAX_BYTES"])
    upload = request.files.get("file")
    error = None
    try:
        if upload is None:
            raise attachments.Invalid("Pilih berkas dulu.", code="missing_field")
        attachments.add_attachment(case.tracking_code, upload.filename,
                                   upload.stream.read(limit + 1), now(), signed_in_user(),
                                   current_app.config["ATTACHMENT_DIR"], limit)
    except DomainError as exc:
        error = exc.message
    context = _case_context(cases.get_case(code), upload_error=error)
    return (page_or_fragment("case_hall.html", "_partials/case_attachments.html", **context),
            422 if error else 200)


@bp.post("/loket/berkas/<code>/diambil")
@login_required
def hall_picked_up(code):
    cases.set_status_hall(code, "picked_up", now(), signed_in_user(), request.form.get("note"),
                          client=client_address())
    return redirect(url_for("cases.hall_case", code=code), code=303)


@bp.get("/loket/berkas/<code>/lampiran/<uid>")
@login_required
def hall_download(code, uid):
    return attachment_response(_hall_case(code), uid)


@bp.get("/loket/berkas/<code>/tanda-terima.pdf")
@login_required
def hall_receipt(code):
    case = _hall_case(code)
    return file_response(receipts.receipt_pdf(case, case_tracking_url(case.tracking_code)),
                         "application/pdf", f"{case.tracking_code}.pdf")


# --- public tracking -----------------------------------------------------------------

@bp.get("/lacak")
@limit("RATE_LIMIT_TRACK")
def track_form():
    code = request.args.get("kode", "")
    if code:
        normal = cases.normalise_code(code)
        if normal:
            return redirect(url_for("cases.track_case", code=normal), code=303)
        return render_template("case_track.html", error="Kode tidak valid. Contoh: "
                               "KK-7H3M-Q9XP.", code=code[:40]), 404
    return render_template("case_track.html")


@bp.get("/lacak/<code>")
@limit("RATE_LIMIT_TRACK")
def track_case(code):
    try:
        data = cases.public_dict(cases.get_case(code))
    except NotFound as exc:
        return render_template("case_track.html", error=exc.message, code=code[:40]), 404
    return render_template("case_track.html", case=data)


# --- the centre: officers ------------------------------------------------------------

def _require_centre():
    if current_app.config["MPP_ROLE"] == "site":
        abort(404)
    if signed_in_user().role not in ("officer", "admin"):
        abort(403)


@bp.get("/pusat/berkas")
@login_required
def inbox():
    _require_centre()
    args = request.args
    filters = {k: args.get(k, "")[:40] for k in ("site", "agency", "service", "status")}
    rows = cases.inbox(signed_in_user(), **filters)
    return page_or_fragment(
        "case_inbox.html", "_partials/case_inbox_rows.html", cases_rows=rows,
        filters=filters, statuses=cases.STATUSES,
        sites=list(Site.select().order_by(Site.kind.desc(), Site.name)),
        agencies=list(Agency.select().order_by(Agency.name)),
        services=list(Service.select().order_by(Service.prefix, Service.code)))


@bp.get("/pusat/berkas/<code>")
@login_required
def officer_case(code):
    _require_centre()
    case = cases.get_case(code)
    cases.require_officer(signed_in_user(), case)
    return render_template("case_officer.html", next_statuses=[
        s for s in cases.TRANSITIONS[case.status] if s in cases.OFFICER_STATUSES],
        **_case_context(case))


@bp.post("/pusat/berkas/<code>/status")
@login_required
def officer_status(code):
    _require_centre()
    form = request.form
    try:
        cases.set_status_central(code, form.get("status", ""), now(), signed_in_user(),
                                 form.get("note"), form.get("missing"),
                                 client=client_address())
    except DomainError as exc:
        case = cases.get_case(code)
        cases.require_officer(signed_in_user(), case)
        return render_template("case_officer.html", error=exc.message, next_statuses=[
            s for s in cases.TRANSITIONS[case.status] if s in cases.OFFICER_STATUSES],
            **_case_context(case)), exc.status
    return redirect(url_for("cases.officer_case", code=code), code=303)


@bp.get("/pusat/berkas/<code>/lampiran/<uid>")
@login_required
def officer_download(code, uid):
    _require_centre()
    case = cases.get_case(code)
    cases.require_officer(signed_in_user(), case)
    return attachment_response(case, uid)


# --- the hall supervisor: the link ---------------------------------------------------

@bp.get("/pengawas/<site_code>/tautan")
@login_required
def link_status(site_code):
    site = queueing.get_site(site_code)
    user = signed_in_user()
    accounts.require_site_role(user, site, ("supervisor",))
    return page_or_fragment("link_status.html", "_partials/link_status.html", site=site,
                            link=forwarding.link_status(site, now()),
                            recent=cases.cases_at_site(site, limit=20),
                            statuses=cases.STATUSES)
