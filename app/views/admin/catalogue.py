"""The centre's catalogue: agencies (`/admin/instansi`), services with their public
service standards (`/admin/layanan`) and what each hall offers
(`/admin/lokasi/<site>/layanan`), as pages and the admin API. Admin only."""
from flask import g, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import accounts, catalogue, queueing
from ...errors import DomainError, Invalid
from ...web import openapi
from ...web.auth import current_actor, signed_in_user, token_required
from ...web.inputs import field, json_body, now
from ...web.plumbing import csrf
from ...web.responses import page_or_fragment
from .shell import add_hall_page, add_section, bp, hall_chooser

add_section("admin.agencies_page", "Instansi", "Agencies", place=30)
add_section("admin.services_page", "Layanan", "Services", place=20)
add_section("admin.offer_sites", "Layanan per lokasi", "Each hall's offer", place=40)
add_hall_page("admin.offer_page", "Layanan", "Services", ("admin",), place=30)
openapi.add_operations([
    ("get", "/api/v1/admin/agencies", "Agencies", "admin", None,
     {"200": "agencies [code, name]", "403": "not an admin"}),
    ("post", "/api/v1/admin/agencies", "Create an agency", "admin",
     {"code": "string", "name": "string"},
     {"201": "agency", "403": "not an admin", "409": "duplicate_code",
      "422": "invalid_code / missing_field"}),
    ("patch", "/api/v1/admin/agencies/{code}", "Rename an agency (the code is fixed)",
     "admin", {"name": "string"},
     {"200": "agency", "403": "not an admin", "404": "unknown_agency",
      "422": "missing_field"}),
    ("get", "/api/v1/admin/services", "Services of the catalogue (?q= searches)", "admin",
     None, {"200": "services", "403": "not an admin"}, {"query": {"q": "string"}}),
    ("post", "/api/v1/admin/services", "Create a service", "admin",
     {"code": "string", "name": "string", "agency": "string", "prefix": "string",
      "requirements": "array?", "target_wait_minutes": "integer?", "fee": "string?",
      "processing_days": "integer?", "standard": "string?", "standard_minutes": "integer?"},
     {"201": "service", "403": "not an admin", "409": "duplicate_code",
      "422": "invalid_code / invalid_prefix / unknown_agency / missing_field / "
             "invalid_field"}),
    ("patch", "/api/v1/admin/services/{code}", "Change a service (the code is fixed)",
     "admin",
     {"name": "string?", "agency": "string?", "prefix": "string?", "requirements": "array?",
      "target_wait_minutes": "integer?", "fee": "string?", "processing_days": "integer?",
      "standard": "string?", "standard_minutes": "integer?"},
     {"200": "service", "403": "not an admin", "404": "unknown_service",
      "409": "prefix_taken (another agency's lane at a hall offering it)",
      "422": "invalid_prefix / unknown_agency / invalid_field"}),
    ("put", "/api/v1/admin/sites/{site}/services/{service}",
     "Whether a hall offers a service, its daily quota and the share kept for booking",
     "admin", {"offered": "boolean", "daily_quota": "integer?", "booking_share": "number?",
               "confirm": "boolean?"},
     {"200": "offer: service, offered, daily_quota, booking_share, issued_today",
      "403": "not an admin", "404": "unknown_site / unknown_service",
      "409": "quota_below_issued / prefix_taken / appointments_affected (send confirm)",
      "422": "invalid_field"}),
])


def _admin(user) -> None:
    accounts.require_admin(user)


# --- agencies ----------------------------------------------------------------------------

def _agencies_page(error: str = "", status: int = 200, form: dict | None = None):
    return render_template("admin/catalogue_agencies.html", user=signed_in_user(),
                           agencies=catalogue.agencies(), error=error, form=form or {}), status


@bp.get("/admin/instansi")
@login_required
def agencies_page():
    _admin(signed_in_user())
    return _agencies_page()


@bp.post("/admin/instansi")
@login_required
def agencies_create():
    _admin(signed_in_user())
    try:
        catalogue.create_agency(current_actor(), now(), request.form.get("code"),
                                request.form.get("name"))
    except DomainError as exc:
        return _agencies_page(exc.message, exc.status, request.form)
    return redirect(url_for("admin.agencies_page"), 303)


@bp.post("/admin/instansi/<code>")
@login_required
def agencies_rename(code):
    _admin(signed_in_user())
    try:
        catalogue.rename_agency(current_actor(), now(), code, request.form.get("name"))
    except DomainError as exc:
        return _agencies_page(exc.message, exc.status)
    return redirect(url_for("admin.agencies_page"), 303)


@bp.get("/api/v1/admin/agencies")
@token_required
def agencies_api():
    _admin(g.api_user)
    return jsonify(agencies=[catalogue.agency_dict(a) for a in catalogue.agencies()])


@bp.post("/api/v1/admin/agencies")
@csrf.exempt
@token_required
def agencies_api_create():
    _admin(g.api_user)
    body = json_body()
    agency = catalogue.create_agency(current_actor(), now(), field(body, "code", max_length=40),
                                     field(body, "name"))
    return jsonify(catalogue.agency_dict(agency)), 201


@bp.patch("/api/v1/admin/agencies/<code>")
@csrf.exempt
@token_required
def agencies_api_rename(code):
    _admin(g.api_user)
    agency = catalogue.rename_agency(current_actor(), now(), code,
                                     field(json_body(), "name"))
    return jsonify(catalogue.agency_dict(agency))


# --- services ----------------------------------------------------------------------------

@bp.get("/admin/layanan")
@login_required
def services_page():
    _admin(signed_in_user())
    q = (request.args.get("q") or "").strip()[:80]
    return page_or_fragment("admin/catalogue_services.html", "admin/_catalogue_service_rows.html",
                            user=signed_in_user(), services=catalogue.services(q), q=q)


def _service_form(service=None, values=None, error="", status=200, field_name=""):
    values = values or (catalogue.service_dict(service) if service else {})
    if isinstance(values.get("requirements"), list):
        values = {**values, "requirements": "\n".join(values["requirements"])}
    return render_template("admin/catalogue_service_form.html", user=signed_in_user(),
                           service=service, values=values, agencies=catalogue.agencies(),
                           mini_modes=catalogue.MINI_MODES, error=error,
                           error_field=field_name), status


def _form_values() -> dict:
    values = {name: request.form.get(name, "") for name in catalogue.SERVICE_FIELDS}
    values["mini"] = values["mini"] or "yes"  # a form from before the field existed
    return values


@bp.get("/admin/layanan/baru")
@login_required
def service_new():
    _admin(signed_in_user())
    return _service_form(values={"standard_minutes": 10})


@bp.post("/admin/layanan/baru")
@login_required
def service_create():
    _admin(signed_in_user())
    values = _form_values()
    try:
        service = catalogue.create_service(current_actor(), now(), request.form.get("code"),
                                           **values)
    except DomainError as exc:
        return _service_form(None, {**values, "code": request.form.get("code", "")},
                             exc.message, exc.status, exc.detail.get("field", ""))
    return redirect(url_for("admin.service_edit", code=service.code, saved=1), 303)


@bp.get("/admin/layanan/<code>")
@login_required
def service_edit(code):
    _admin(signed_in_user())
    return _service_form(catalogue.get_service(code))


@bp.post("/admin/layanan/<code>")
@login_required
def service_update(code):
    _admin(signed_in_user())
    service = catalogue.get_service(code)
    values = _form_values()
    try:
        catalogue.update_service(current_actor(), now(), code, **values)
    except DomainError as exc:
        return _service_form(service, {**values, "code": service.code}, exc.message,
                             exc.status, exc.detail.get("field", ""))
    return redirect(url_for("admin.service_edit", code=code, saved=1), 303)


@bp.get("/api/v1/admin/services")
@token_required
def services_api():
    _admin(g.api_user)
    return jsonify(services=[catalogue.service_dict(s)
                             for s in catalogue.services(request.args.get("q", ""))])


def _service_fields(body: dict) -> dict:
    """The body's service fields; any other key is refused by name (422)."""
    values = {k: v for k, v in body.items() if k != "code"}
    unknown = sorted(set(values) - set(catalogue.SERVICE_FIELDS))
    if unknown:
        raise Invalid(f"Kolom tidak dikenal: {', '.join(unknown)[:200]}.",
                      code="invalid_field", field=unknown[0][:40])
    return values


@bp.post("/api/v1/admin/services")
@csrf.exempt
@token_required
def services_api_create():
    _admin(g.api_user)
    body = json_body()
    code = field(body, "code", max_length=40)
    service = catalogue.create_service(current_actor(), now(), code, **_service_fields(body))
    return jsonify(catalogue.service_dict(service)), 201


@bp.patch("/api/v1/admin/services/<code>")
@csrf.exempt
@token_required
def services_api_update(code):
    _admin(g.api_user)
    body = json_body()
    if "code" in body and body["code"] != code:
        raise Invalid("Kode layanan tidak dapat diubah.", code="code_fixed", field="code")
    service = catalogue.update_service(current_actor(), now(), code, **_service_fields(body))
    return jsonify(catalogue.service_dict(service))


# --- each hall's offer -------------------------------------------------------------------

@bp.get("/admin/layanan-lokasi")
@login_required
def offer_sites():
    return hall_chooser("admin.offer_page", "Layanan per lokasi", "Each hall's offer",
                        supervisors=False)


@bp.get("/admin/lokasi/<site_code>/layanan")
@login_required
def offer_page(site_code):
    _admin(signed_in_user())
    site = queueing.get_site(site_code)
    return render_template("admin/catalogue_offer.html", user=signed_in_user(), site=site,
                           offers=catalogue.offers(site, now()))


def _percent(value: str):
    value = (value or "").strip().rstrip("%").strip()
    if not value:
        return None
    if not value.isdecimal() or int(value) > 100:
        raise Invalid("Porsi janji temu daring: 0-100 %.", code="invalid_field",
                      field="booking_share")
    return int(value) / 100


@bp.post("/admin/lokasi/<site_code>/layanan/<service_code>")
@login_required
def offer_update(site_code, service_code):
    _admin(signed_in_user())
    site = queueing.get_site(site_code)
    service = catalogue.get_service(service_code)
    result = catalogue.set_offer(current_actor(), now(), site, service,
                                 request.form.get("offered") == "on",
                                 request.form.get("daily_quota", ""),
                                 _percent(request.form.get("booking_share", "")),
                                 confirm=request.form.get("confirm") == "on")
    return page_or_fragment("admin/catalogue_offer.html", "admin/_catalogue_offer_row.html",
                            user=signed_in_user(), site=site, o=result, saved=True,
                            offers=catalogue.offers(site, now()))


@bp.put("/api/v1/admin/sites/<site_code>/services/<service_code>")
@csrf.exempt
@token_required
def offer_api(site_code, service_code):
    _admin(g.api_user)
    site = queueing.get_site(site_code)
    service = catalogue.get_service(service_code)
    body = json_body()
    if "offered" not in body:
        raise Invalid("Kolom 'offered' wajib diisi.", code="missing_field", field="offered")
    confirm = body.get("confirm")
    if confirm is not None and not isinstance(confirm, bool):
        raise Invalid("'confirm' harus true atau false.", code="invalid_field", field="confirm")
    result = catalogue.set_offer(current_actor(), now(), site, service, body.get("offered"),
                                 body.get("daily_quota"), body.get("booking_share"),
                                 confirm=confirm is True)
    return jsonify(result.as_dict())
