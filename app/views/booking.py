"""Online appointments: the public booking pages (/booking), the kiosk check-in
(/k/<site>/check-in) and their JSON API rows. Thin: parse, call one domain function,
render. The NIK travels only in request bodies (or the X-NIK header), never in a URL."""
from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from printers.qr import qr_svg_data_uri

from .. import serializers
from ..clock import iso, to_local
from ..domain import booking, calendar, codes, contact, queueing
from ..errors import DomainError, Invalid
from ..models import Site
from ..web import openapi
from ..web.inputs import field, json_body, now
from ..web.plumbing import csrf
from ..web.ratelimit import check, limit, too_many
from ..web.responses import page_or_fragment
from ..web.urls import ticket_page_url

bp = Blueprint("booking", __name__)
api_bp = Blueprint("booking_api", __name__)
csrf.exempt(api_bp)
bp.add_app_template_global(calendar.describe_day, "describe_day")
KIOSK_RETURN_SECONDS = 20
GRANTS = 10  # appointments a browser session may view without typing the NIK again


def _secret() -> str:
    return current_app.config["SETTINGS"]["NIK_HASH_KEY"] or current_app.config["SECRET_KEY"]


def _manage_prefix() -> str:
    return url_for("booking.manage", code="X", _external=True)[:-1]


def qr_data_uri(code: str) -> str:
    payload = booking.qr_payload(code, _manage_prefix())
    return qr_svg_data_uri(payload, scale=6)


def appointment_dict(appt, moment) -> dict:
    start, end = to_local(appt.start_at), to_local(appt.end_at)
    status = booking.status_of(appt, moment)
    checkin_from, checkin_until = booking.checkin_window(
        appt, booking.settings_for(appt.site, appt.service))
    return {
        "code": appt.code,
        "code_display": booking.format_code(appt.code),
        "site": appt.site.code, "site_name": appt.site.name,
        "service": appt.service.code, "service_name": appt.service.name,
        "date": appt.day.isoformat(), "date_label": calendar.describe_day(appt.day),
        "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "starts_at": iso(appt.start_at),
        "status": status, "status_label": booking.STATUS_LABELS[status],
        "name": appt.name, "nik": appt.nik_masked, "phone": contact.mask_phone(appt.phone),
        "email": contact.mask_email(appt.email),
        "ticket": ({"id": appt.ticket.id, "number": appt.ticket.number}
                   if appt.ticket_id else None),
        "requirements": appt.service.requirements,
        "checkin_from": f"{checkin_from:%H:%M}", "checkin_until": f"{checkin_until:%H:%M}",
        "manage_url": _manage_prefix() + appt.code,
    }


def slot_dict(slot) -> dict:
    return {"start": f"{slot.start:%H:%M}", "end": f"{slot.end:%H:%M}",
            "capacity": slot.capacity, "available": slot.available}


# --- JSON API --------------------------------------------------------------------------

def _site_service(site_code, service_code):
    return queueing.get_site(site_code), queueing.get_service(service_code)


@api_bp.get("/api/v1/sites/<site_code>/services/<service_code>/slots")
def api_slots(site_code, service_code):
    site, service = _site_service(site_code, service_code)
    day = booking.parse_date(request.args.get("date", ""))
    plan = booking.day_plan(site, service, day, now())
    body = {"date": day.isoformat(), "site": site.code, "service": service.code,
            "slots": [slot_dict(s) for s in plan.slots]}
    if plan.closed_reason:
        body["closed_reason"] = plan.closed_reason
    return jsonify(body)


@api_bp.get("/api/v1/sites/<site_code>/services/<service_code>/booking-days")
def api_booking_days(site_code, service_code):
    site, service = _site_service(site_code, service_code)
    days = booking.bookable_days(site, service, now())
    return jsonify(days=[{"date": d.day.isoformat(), "label": calendar.describe_day(d.day),
                          "available": d.available} for d in days])


@api_bp.post("/api/v1/appointments")
@limit("RATE_LIMIT_BOOKING")
def api_create():
    body = json_body()
    site, service = _site_service(field(body, "site", max_length=40),
                                  field(body, "service", max_length=40))
    result = booking.book(
        site, service, field(body, "date", max_length=10), field(body, "start", max_length=5),
        field(body, "name", max_length=100), field(body, "nik", max_length=40),
        field(body, "phone", max_length=30), field(body, "email", required=False,
                                                   max_length=254),
        now(), _secret(), _manage_prefix())
    data = appointment_dict(result.appointment, now())
    data["warnings"] = result.warnings
    return jsonify(data), 201


def _nik_from_request():
    nik = request.headers.get("X-NIK") or request.args.get("nik")
    if not nik:
        raise Invalid("NIK wajib dikirim (header X-NIK).", code="missing_field", field="nik")
    return nik[:40]


@api_bp.get("/api/v1/appointments/<code>")
@limit("RATE_LIMIT_LOOKUP")
def api_view(code):
    appt = booking.for_citizen(code, _nik_from_request(), _secret())
    return jsonify(appointment_dict(appt, now()))


@api_bp.post("/api/v1/appointments/<code>/cancel")
@limit("RATE_LIMIT_BOOKING")
def api_cancel(code):
    nik = field(json_body(), "nik", max_length=40)
    appt = booking.cancel(code, nik, now(), _secret())
    return jsonify(appointment_dict(appt, now()))


@api_bp.post("/api/v1/appointments/<code>/reschedule")
@limit("RATE_LIMIT_BOOKING")
def api_reschedule(code):
    body = json_body()
    appt = booking.reschedule(code, field(body, "nik", max_length=40),
                              field(body, "date", max_length=10),
                              field(body, "start", max_length=5), now(), _secret(),
                              _manage_prefix())
    return jsonify(appointment_dict(appt, now()))


@api_bp.post("/api/v1/sites/<site_code>/check-in")
@limit("RATE_LIMIT_CHECKIN")
def api_check_in(site_code):
    site = queueing.get_site(site_code)
    code = field(json_body(), "code", max_length=300)
    appt, ticket = booking.check_in(site, code, now())
    data = serializers.ticket_dict(ticket, now(), ticket_page_url(ticket.id))
    data["due_at"] = iso(ticket.due_at)
    data["appointment"] = {"code": appt.code, "start": f"{to_local(appt.start_at):%H:%M}"}
    return jsonify(data), 201


openapi.add_operations([
    ("get", "/api/v1/sites/{site}/services/{service}/slots",
     "Appointment slots of a day (WITA) with places left; ?date=YYYY-MM-DD", None, None,
     {"200": "date, slots [start, end, capacity, available], closed_reason?",
      "404": "unknown_site / unknown_service", "422": "invalid_date"},
     {"query": {"date": "string! (YYYY-MM-DD, WITA)"}}),
    ("get", "/api/v1/sites/{site}/services/{service}/booking-days",
     "The coming days that can be booked, with places left", None, None,
     {"200": "days [date, label, available]", "404": "unknown_site / unknown_service"}),
    ("post", "/api/v1/appointments", "Book an appointment (rate limited)", None,
     {"site": "string", "service": "string", "date": "string", "start": "string",
      "name": "string", "nik": "string", "phone": "string", "email": "string?"},
     {"201": "appointment: code, date, start, end, status, nik (masked), manage_url, "
             "warnings", "404": "unknown_site / unknown_service",
      "409": "slot_full / duplicate_booking / day_closed / slot_passed",
      "422": "invalid_nik / invalid_phone / invalid_email / invalid_date / invalid_slot "
             "/ invalid_name", "429": "too_many_requests"}),
    ("get", "/api/v1/appointments/{code}",
     "View an appointment: NIK in the X-NIK header (or ?nik=, discouraged)", None, None,
     {"200": "appointment", "404": "unknown_appointment (or NIK does not match)",
      "422": "missing_field (no NIK)", "429": "too_many_requests"},
     {"headers": {"X-NIK": "string (the NIK the appointment was booked with)"},
      "query": {"nik": "string (discouraged: use X-NIK)"}}),
    ("post", "/api/v1/appointments/{code}/cancel", "Cancel an appointment", None,
     {"nik": "string"},
     {"200": "appointment", "404": "unknown_appointment",
      "409": "appointment_cancelled / already_checked_in / appointment_past",
      "429": "too_many_requests"}),
    ("post", "/api/v1/appointments/{code}/reschedule",
     "Move an appointment to another slot, keeping its code", None,
     {"nik": "string", "date": "string", "start": "string"},
     {"200": "appointment", "404": "unknown_appointment",
      "409": "slot_full / duplicate_booking / same_slot / appointment_cancelled",
      "422": "invalid_date / invalid_slot", "429": "too_many_requests"}),
    ("post", "/api/v1/sites/{site}/check-in",
     "Check in at the kiosk with the booking code (or the scanned QR text)", None,
     {"code": "string"},
     {"201": "ticket (source appointment, due_at = slot start)",
      "404": "unknown_site / unknown_appointment",
      "409": "wrong_site / too_early / expired / already_checked_in / "
             "appointment_cancelled", "422": "invalid_code", "429": "too_many_requests"}),
])


# --- public pages ------------------------------------------------------------------------

def _grant(code: str) -> None:
    codes = [c for c in session.get("appointments", []) if c != code]
    session["appointments"] = (codes + [code])[-GRANTS:]


def _granted(code: str) -> bool:
    return code in session.get("appointments", [])


def _form_values() -> dict:
    return {k: (request.form.get(k) or "")[:254] for k in
            ("site", "service", "date", "start", "name", "nik", "phone", "email")}


def _wizard(args: dict, moment) -> dict:
    """Everything the booking page shows for the choices made so far."""
    ctx = {"step": "site", "values": args}
    sites = list(Site.select().order_by(Site.kind, Site.name))  # the Induk first
    if not args.get("site"):
        return {**ctx, "sites": sites}
    site = queueing.get_site(args["site"])
    ctx.update(site=site, step="service")
    if not args.get("service"):
        return {**ctx, "services": queueing.services_at(site)}
    service = queueing.get_service(args["service"])
    booking.offered(site, service)
    ctx.update(service=service, step="date",
               days=booking.days_to_show(site, service, moment))
    if not args.get("date"):
        return ctx
    plan = booking.day_plan(site, service, booking.parse_date(args["date"]), moment)
    ctx.update(step="form", plan=plan,
               open_slots=[s for s in plan.slots if s.end > moment])
    return ctx


def _wizard_or_dates(args: dict) -> dict:
    """The wizard; a date out of range falls back to the list of dates, with why."""
    try:
        return _wizard(args, now())
    except DomainError as exc:
        if exc.code != "invalid_date":
            raise
        ctx = _wizard({**args, "date": ""}, now())
        ctx["error"] = exc.message
        return ctx


@bp.get("/booking")
def start():
    args = {k: (request.args.get(k) or "")[:40] for k in ("site", "service", "date")}
    return render_template("booking.html", **_wizard_or_dates(args))


@bp.post("/booking")
@limit("RATE_LIMIT_BOOKING")
def create():
    values = _form_values()
    try:
        site, service = _site_service(values["site"], values["service"])
        result = booking.book(site, service, values["date"], values["start"], values["name"],
                              values["nik"], values["phone"], values["email"] or None,
                              now(), _secret(), _manage_prefix())
    except DomainError as exc:
        ctx = _wizard_or_dates({k: values[k] for k in ("site", "service", "date")})
        ctx.update(values=values, error=exc.message)
        return render_template("booking.html", **ctx,
                               error_field=exc.detail.get("field"),
                               error_code=exc.code), exc.status
    _grant(result.appointment.code)
    session["booking_created"] = {"code": result.appointment.code,
                                  "warnings": result.warnings}
    return redirect(url_for("booking.manage", code=result.appointment.code), 303)


def _manage_page(appt, status=200, **extra):
    return render_template("booking_manage.html", a=appointment_dict(appt, now()),
                           qr=qr_data_uri(appt.code), **extra), status


@bp.get("/booking/janji/<code>")
def manage(code):
    appt = booking.find(code) if _granted(code) else None
    if appt is None:
        return render_template("booking_lookup.html", code=code[:20])
    created = session.pop("booking_created", None)
    created = created if created and created.get("code") == appt.code else None
    return _manage_page(appt, created=bool(created),
                        warnings=created["warnings"] if created else [])


@bp.route("/booking/cek", methods=["GET", "POST"])
def lookup():
    if request.method == "GET":
        return render_template("booking_lookup.html", code="")
    wait = _limited("RATE_LIMIT_LOOKUP")
    if wait:
        return wait
    code, nik = request.form.get("code", "")[:40], request.form.get("nik", "")[:40]
    try:
        appt = booking.for_citizen(code, nik, _secret())
    except DomainError as exc:
        return render_template("booking_lookup.html", code=code, error=exc.message), exc.status
    _grant(appt.code)
    return redirect(url_for("booking.manage", code=appt.code), 303)


@bp.post("/booking/janji/<code>/batal")
@limit("RATE_LIMIT_BOOKING")
def cancel(code):
    try:
        appt = booking.cancel(code, request.form.get("nik", "")[:40], now(), _secret())
    except DomainError as exc:
        if not _granted(code):
            return render_template("booking_lookup.html", code=code[:20],
                                   error=exc.message), exc.status
        return _manage_page(booking.find(code), exc.status, error=exc.message)
    _grant(appt.code)
    return _manage_page(appt, notice="Janji temu sudah dibatalkan. "
                                     "(The appointment is cancelled.)")


@bp.route("/booking/janji/<code>/ubah", methods=["GET", "POST"])
def reschedule(code):
    if not _granted(code):
        return redirect(url_for("booking.manage", code=code[:20]))
    appt = booking.find(code)
    if request.method == "POST":
        wait = _limited("RATE_LIMIT_BOOKING")
        if wait:
            return wait
        form = _form_values()
        try:
            appt = booking.reschedule(code, form["nik"], form["date"], form["start"], now(),
                                      _secret(), _manage_prefix())
        except DomainError as exc:
            return _reschedule_page(appt, form["date"], exc.message, exc.status)
        return _manage_page(appt, notice="Jadwal sudah diubah; kode tetap sama. "
                                         "(Rescheduled; the code stays the same.)")
    return _reschedule_page(appt, (request.args.get("date") or "")[:10])


def _limited(name: str):
    """For views where only the POST is limited."""
    wait = check(name)
    return too_many(wait) if wait else None


def _reschedule_page(appt, date_text, error=None, status=200):
    moment = now()
    plan = None
    if date_text:
        try:
            plan = booking.day_plan(appt.site, appt.service, booking.parse_date(date_text),
                                    moment)
        except DomainError as exc:
            error, status = exc.message, exc.status
    return render_template(
        "booking_reschedule.html", a=appointment_dict(appt, moment),
        days=booking.bookable_days(appt.site, appt.service, moment), plan=plan,
        open_slots=[s for s in plan.slots if s.end > moment] if plan else [],
        date=date_text, error=error), status


# --- kiosk check-in ----------------------------------------------------------------------

def _kiosk(template, site, status=200, **ctx):
    return page_or_fragment("kiosk_checkin.html", f"_partials/{template}.html",
                            partial=template, site=site, **ctx), status


@bp.get("/k/<site_code>/check-in")
def kiosk_checkin(site_code):
    site = queueing.get_site(site_code)
    return _kiosk("kiosk_checkin", site, keys=codes.READABLE_ALPHABET)


@bp.post("/k/<site_code>/check-in")
@limit("RATE_LIMIT_CHECKIN")
def kiosk_checkin_submit(site_code):
    site = queueing.get_site(site_code)
    try:
        appt, ticket = booking.check_in(site, request.form.get("code", "")[:300], now())
    except DomainError as exc:
        return _kiosk("kiosk_checkin", site, exc.status, keys=codes.READABLE_ALPHABET,
                      error=exc.message, error_code=exc.code,
                      walk_in=exc.detail.get("service") if exc.code == "expired" else None)
    data = serializers.ticket_dict(ticket, now(), ticket_page_url(ticket.id))
    return _kiosk("kiosk_checkin_ticket", site, 201, ticket=data,
                  slot=f"{to_local(appt.start_at):%H:%M}", priority_label=None,
                  return_after=KIOSK_RETURN_SECONDS)
