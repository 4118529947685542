"""Closures (`/admin/lokasi/<site>/tutup`): a hall closed from one day to another, whole
or some of its services, with the reason citizens see on the kiosk and the booking
page; `site` = `all` gives every hall an extra day off (admin only). Admins and the
hall's own supervisor. API `GET/POST /api/v1/admin/sites/{site}/closures`,
`DELETE .../closures/{id}`."""
from flask import g, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from ...domain import accounts, catalogue, queueing
from ...errors import DomainError, Invalid
from ...models import Site
from ...web import openapi
from ...web.auth import current_actor, signed_in_user, token_required
from ...web.inputs import json_body, now
from ...web.plumbing import csrf
from .shell import add_hall_page, add_section, bp, hall_chooser

EVERY_HALL = "all"
add_section("admin.closures_sites", "Hari tutup", "Closures", ("admin", "supervisor"),
            place=60)
add_hall_page("admin.closures_page", "Tutup", "Closures", ("admin", "supervisor"), place=50)
openapi.add_operations([
    ("get", "/api/v1/admin/sites/{site}/closures",
     "Closures ending today or later (`all`: the days off of every hall)",
     "admin or supervisor of the hall", None,
     {"200": "closures [id, site, from, to, reason, services, created_by, created_at]",
      "403": "another hall / all without admin", "404": "unknown_site"}),
    ("post", "/api/v1/admin/sites/{site}/closures",
     "Close the hall (or some services) from-to; booked appointments on those days need "
     "`confirm: true` and are then cancelled with the reason",
     "admin or supervisor of the hall",
     {"from": "string", "to": "string?", "reason": "string", "services": "array?",
      "confirm": "boolean?"},
     {"201": "id, affected_appointments", "403": "another hall / all without admin",
      "404": "unknown_site", "409": "appointments_affected (detail.affected_appointments)",
      "422": "invalid_date / missing_field / unknown_service"}),
    ("delete", "/api/v1/admin/sites/{site}/closures/{id}", "Reopen: remove a closure",
     "admin or supervisor of the hall", None,
     {"200": "the removed closure", "403": "another hall", "404": "unknown_closure"}),
])


def _site(user, code: str) -> Site | None:
    """The hall (None for every hall), after checking the user may act there."""
    if code == EVERY_HALL:
        accounts.require_admin(user, "Hanya admin yang menetapkan hari libur semua lokasi.")
        return None
    site = queueing.get_site(code)
    accounts.require_site_role(user, site, ("supervisor",))
    return site


@bp.get("/admin/tutup")
@login_required
def closures_sites():
    return hall_chooser("admin.closures_page", "Hari tutup", "Closures", every_hall=True)


def _page(site, error="", status=200, affected=0, form=None, done=None):
    return render_template(
        "admin/closures.html", user=signed_in_user(), site=site,
        site_code=site.code if site else EVERY_HALL,
        closures=catalogue.closures(site, now()),
        services=queueing.services_at(site) if site else catalogue.services(),
        error=error, affected=affected, form=form or MultiDict(), done=done), status


@bp.get("/admin/lokasi/<site_code>/tutup")
@login_required
def closures_page(site_code):
    site = _site(signed_in_user(), site_code)
    done = request.args.get("cancelled")
    return _page(site, done=int(done) if done and done.isdecimal() else None)


@bp.post("/admin/lokasi/<site_code>/tutup")
@login_required
def closures_create(site_code):
    site = _site(signed_in_user(), site_code)
    form = request.form
    services = form.getlist("services") if form.get("scope") == "some" else None
    if form.get("scope") == "some" and not services:
        return _page(site, "Pilih paling sedikit satu layanan, atau tutup seluruh lokasi.",
                     422, form=form)
    try:
        result = catalogue.create_closure(current_actor(), now(), site, form.get("from"),
                                          form.get("to"), form.get("reason"), services,
                                          confirm=form.get("confirm") == "on")
    except DomainError as exc:
        return _page(site, exc.message, exc.status,
                     exc.detail.get("affected_appointments", 0), form)
    return redirect(url_for("admin.closures_page", site_code=site_code,
                            cancelled=result.affected_appointments), 303)


@bp.post("/admin/lokasi/<site_code>/tutup/<batch>/hapus")
@login_required
def closures_delete(site_code, batch):
    site = _site(signed_in_user(), site_code)
    catalogue.delete_closure(current_actor(), now(), site, batch)
    return redirect(url_for("admin.closures_page", site_code=site_code), 303)


@bp.get("/api/v1/admin/sites/<site_code>/closures")
@token_required
def closures_api(site_code):
    site = _site(g.api_user, site_code)
    return jsonify(closures=[c.as_dict() for c in catalogue.closures(site, now())])


@bp.post("/api/v1/admin/sites/<site_code>/closures")
@csrf.exempt
@token_required
def closures_api_create(site_code):
    site = _site(g.api_user, site_code)
    body = json_body()
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise Invalid("'confirm' harus true atau false.", code="invalid_field", field="confirm")
    result = catalogue.create_closure(current_actor(), now(), site, body.get("from"),
                                      body.get("to"), body.get("reason"),
                                      body.get("services"), confirm=confirm)
    return jsonify(id=result.id, affected_appointments=result.affected_appointments), 201


@bp.delete("/api/v1/admin/sites/<site_code>/closures/<batch>")
@csrf.exempt
@token_required
def closures_api_delete(site_code, batch):
    site = _site(g.api_user, site_code)
    gone = catalogue.delete_closure(current_actor(), now(), site, batch)
    return jsonify(gone.as_dict())
