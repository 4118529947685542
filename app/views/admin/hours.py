"""A hall's weekly opening hours (`/admin/lokasi/<site>/jam`): the hall's own windows
and any service's narrower ones, several a day (a lunch break). Admins edit; the hall's
supervisor reads. API `GET/PUT /api/v1/admin/sites/{site}/hours`."""
from flask import abort, g, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import accounts, calendar, catalogue, queueing
from ...errors import DomainError, Invalid
from ...web import openapi
from ...web.auth import current_actor, signed_in_user, token_required
from ...web.inputs import json_body, now
from ...web.plumbing import csrf
from .shell import add_hall_page, add_section, bp, hall_chooser

add_section("admin.hours_sites", "Jam layanan", "Opening hours", ("admin", "supervisor"),
            place=50)
add_hall_page("admin.hours_page", "Jam", "Hours", ("admin", "supervisor"), place=40)
openapi.add_operations([
    ("get", "/api/v1/admin/sites/{site}/hours",
     "The hall's weekly windows (WITA, weekday 0 = Monday; with `service`: that service's "
     "own, narrowing the hall's)", "admin or supervisor of the hall", None,
     {"200": "windows [weekday, start, end, service?]", "403": "another hall",
      "404": "unknown_site"}),
    ("put", "/api/v1/admin/sites/{site}/hours",
     "Replace the hall's weekly windows; booked appointments outside them need "
     "`confirm: true` and are then cancelled", "admin",
     {"windows": "array", "confirm": "boolean?"},
     {"200": "windows, cancelled_appointments", "403": "not an admin",
      "404": "unknown_site",
      "409": "appointments_affected (detail.affected_appointments)",
      "422": "invalid_time / invalid_window / overlapping_windows / invalid_weekday / "
             "unknown_service"}),
])
BLANK_ROWS = 4


def _reader(user, site) -> None:
    accounts.require_site_role(user, site, ("supervisor",))


@bp.get("/admin/jam")
@login_required
def hours_sites():
    return hall_chooser("admin.hours_page", "Jam layanan", "Opening hours")


def _page(site, rows, error="", status=200, affected=0, saved=None, typed=None):
    user = signed_in_user()
    return render_template(
        "admin/hours.html", user=user, site=site,
        rows=typed if typed is not None else [r.as_dict() for r in rows],
        blank=BLANK_ROWS if user.role == "admin" else 0, days=calendar.DAY_NAMES,
        services=queueing.services_at(site), editable=user.role == "admin", error=error,
        affected=affected, saved=saved), status


@bp.get("/admin/lokasi/<site_code>/jam")
@login_required
def hours_page(site_code):
    site = queueing.get_site(site_code)
    _reader(signed_in_user(), site)
    saved = request.args.get("saved")
    return _page(site, catalogue.hours(site),
                 saved=int(saved) if saved and saved.isdecimal() else None)


def _form_windows() -> list[dict]:
    form = request.form
    days, starts, ends, scopes = (form.getlist(k) for k in ("weekday", "start", "end",
                                                           "service"))
    if not len(days) == len(starts) == len(ends) == len(scopes):
        abort(400)
    rows = []
    for day, start, end, scope in zip(days, starts, ends, scopes):
        if not start.strip() and not end.strip():
            continue  # an empty row
        rows.append({"weekday": day, "start": start, "end": end, "service": scope or None})
    return rows


@bp.post("/admin/lokasi/<site_code>/jam")
@login_required
def hours_save(site_code):
    site = queueing.get_site(site_code)
    accounts.require_admin(signed_in_user())
    windows = _form_windows()
    try:
        _rows, cancelled = catalogue.set_hours(current_actor(), now(), site, windows,
                                               confirm=request.form.get("confirm") == "on")
    except DomainError as exc:  # the rows as typed, with why and how many are affected
        rows = [{**w, "weekday": int(w["weekday"]) if str(w["weekday"]).isdecimal() else 0}
                for w in windows]
        return _page(site, [], exc.message, exc.status,
                     exc.detail.get("affected_appointments", 0), typed=rows)
    return redirect(url_for("admin.hours_page", site_code=site.code, saved=cancelled), 303)


@bp.get("/api/v1/admin/sites/<site_code>/hours")
@token_required
def hours_api(site_code):
    site = queueing.get_site(site_code)
    _reader(g.api_user, site)
    return jsonify(windows=[r.as_dict() for r in catalogue.hours(site)])


@bp.put("/api/v1/admin/sites/<site_code>/hours")
@csrf.exempt
@token_required
def hours_api_save(site_code):
    site = queueing.get_site(site_code)
    accounts.require_admin(g.api_user)
    body = json_body()
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise Invalid("'confirm' harus true atau false.", code="invalid_field", field="confirm")
    rows, cancelled = catalogue.set_hours(current_actor(), now(), site, body.get("windows"),
                                          confirm=confirm)
    return jsonify(windows=[r.as_dict() for r in rows], cancelled_appointments=cancelled)
