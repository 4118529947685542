"""Halls at /admin/lokasi: the list (admins: every hall; a supervisor: their own), a
new hall and a hall's details (admin). Each row links to the hall's own pages
(`add_hall_page`). API: `GET /api/v1/admin/sites`."""
from flask import abort, g, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import accounts, catalogue_feed, halls
from ...errors import Conflict, Invalid
from ...web import openapi
from ...web.auth import current_actor, signed_in_user, token_required
from ...web.inputs import now
from .shell import add_section, bp, hall_pages_for

add_section("admin.halls_page", "Lokasi", "Halls", ("admin", "supervisor"), place=10)
openapi.add_operations([
    ("get", "/api/v1/admin/sites",
     "The halls with their contact details and active flag (a supervisor: their own)",
     "admin or supervisor (own hall)", None,
     {"200": "sites", "403": "not an admin or supervisor"}),
])


def site_dict(site) -> dict:
    return {"code": site.code, "name": site.name, "kind": site.kind,
            "region_code": site.region_code, "address": site.address, "phone": site.phone,
            "active": site.active}


def _visible_sites(user):
    if user.role == "admin":
        return halls.all_sites()
    if user.role == "supervisor" and user.site_id:
        return [user.site]
    abort(403)


@bp.app_context_processor
def hall_navigation():
    """A hall's pages for its row and for the header of each of them."""
    return {"hall_pages": hall_pages_for, "site_kinds": halls.KINDS}


@bp.get("/admin/lokasi")
@login_required
def halls_page():
    user = signed_in_user()
    return render_template("admin/halls.html", user=user, sites=_visible_sites(user),
                           catalogue=catalogue_feed.current_version(),
                           running=catalogue_feed.site_versions(),
                           behind=catalogue_feed.behind())


def _form(site=None, values=None, error=None, field=None, status=200):
    return render_template("admin/halls_form.html", site=site, values=values or {},
                           error=error, error_field=field), status


def _values() -> dict:
    values = {k: request.form.get(k, "")[:250] for k in (
        "code", "name", "kind", "region_code", "address", "phone")}
    values["active"] = request.form.get("active") == "on"
    return values


@bp.route("/admin/lokasi/baru", methods=["GET", "POST"])
@login_required
def hall_new():
    accounts.require_admin(signed_in_user(), "Hanya admin yang dapat menambah lokasi.")
    if request.method == "GET":
        return _form(values={"kind": "mini", "active": True})
    values = _values()
    try:
        site = halls.create_site(current_actor(), values, now())
    except (Invalid, Conflict) as exc:
        return _form(None, values, exc.message, exc.detail.get("field"), exc.status)
    return redirect(url_for("admin.halls_page", dibuat=site.code), code=303)


@bp.route("/admin/lokasi/<site_code>/ubah", methods=["GET", "POST"])
@login_required
def hall_edit(site_code):
    accounts.require_admin(signed_in_user(), "Hanya admin yang dapat mengubah data lokasi.")
    site = halls.get(site_code)
    if request.method == "GET":
        return _form(site, halls.site_values(site))
    values = _values()
    try:
        halls.update_site(current_actor(), site.code, values, now())
    except (Invalid, Conflict) as exc:
        return _form(site, {**values, "code": site.code}, exc.message,
                     exc.detail.get("field"), exc.status)
    return redirect(url_for("admin.halls_page", diubah=site.code), code=303)


@bp.get("/api/v1/admin/sites")
@token_required
def sites_api():
    user = g.api_user
    if user.role not in ("admin", "supervisor"):
        accounts.require_admin(user, "Hanya admin atau supervisor yang dapat melihat lokasi.")
    return jsonify(sites=[site_dict(s) for s in _visible_sites(user)])
