"""A hall's counters at /admin/lokasi/<site>/loket (admin and that hall's supervisor):
the list, a new counter, a counter's name, number, services in order and active flag.
API: `GET/POST /api/v1/admin/sites/{site}/counters`, `PATCH .../counters/{code}`."""
from flask import g, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import accounts, counters, halls, queueing
from ...errors import Conflict, Invalid
from ...web import openapi
from ...web.auth import current_actor, signed_in_user, token_required
from ...web.inputs import json_body, now
from ...web.plumbing import csrf
from .shell import add_hall_page, bp

add_hall_page("admin.counters_page", "Loket", "Counters", ("admin", "supervisor"),
              place=10)
# services: service codes in the order the counter serves and lists them.
COUNTER_BODY = {"code": "string", "name": "string", "number": "integer?",
                "services": "array", "active": "boolean?"}
COUNTER_PATCH = {"code": "string?", "name": "string?", "number": "integer?",
                 "services": "array?", "active": "boolean?"}
openapi.add_operations([
    ("get", "/api/v1/admin/sites/{site}/counters",
     "The hall's counters, inactive ones too, each with its services in order",
     "admin or supervisor of the hall", None,
     {"200": "counters", "403": "not an admin or this hall's supervisor",
      "404": "unknown_site"}),
    ("post", "/api/v1/admin/sites/{site}/counters",
     "A new counter (number optional: the next free one)",
     "admin or supervisor of the hall", COUNTER_BODY,
     {"201": "the counter", "403": "not an admin or this hall's supervisor",
      "409": "duplicate_counter / duplicate_number",
      "422": "invalid_field / no_services / unknown_service / service_not_offered"}),
    ("patch", "/api/v1/admin/sites/{site}/counters/{code}",
     "Change a counter: name, number, services (in order), active; the code is fixed",
     "admin or supervisor of the hall", COUNTER_PATCH,
     {"200": "the counter", "403": "not an admin or this hall's supervisor",
      "404": "unknown_counter", "409": "duplicate_number / counter_busy",
      "422": "invalid_field / no_services / service_not_offered"}),
])


def _site(site_code, user):
    site = halls.get(site_code)
    accounts.require_site_role(user, site, ("supervisor",),
                               f"Loket {site.name} hanya diatur oleh admin atau supervisor "
                               "lokasi ini.")
    return site


@bp.get("/admin/lokasi/<site_code>/loket")
@login_required
def counters_page(site_code):
    site = _site(site_code, signed_in_user())
    rows = [(c, queueing.services_of_counter(c)) for c in counters.counters_of(site)]
    return render_template("admin/counters.html", site=site, rows=rows)


def _form_values() -> dict:
    """The form: services ticked, in the order of their 'Urutan' numbers (ties and
    blanks keep the page's order)."""
    ticked = request.form.getlist("services")
    order = []
    for index, code in enumerate(ticked):
        raw = (request.form.get(f"position-{code}") or "").strip()
        order.append((int(raw) if raw.isdecimal() else 10_000 + index, index, code))
    return {"code": request.form.get("code", "")[:40], "name": request.form.get("name", "")[:120],
            "number": request.form.get("number", "")[:6],
            "services": [code[:40] for _, _, code in sorted(order)],
            "active": request.form.get("active") == "on"}


def _form(site, counter, values, error=None, field=None, status=200):
    """The form lists the counter's services first, in its order, then the others."""
    chosen = list(values.get("services") or [])
    offered = sorted(queueing.services_at(site), key=lambda s: (
        chosen.index(s.code) if s.code in chosen else len(chosen)))
    return render_template("admin/counters_form.html", site=site, counter=counter,
                           values=values, offered=offered, error=error,
                           error_field=field), status


@bp.route("/admin/lokasi/<site_code>/loket/baru", methods=["GET", "POST"])
@login_required
def counter_new(site_code):
    site = _site(site_code, signed_in_user())
    if request.method == "GET":
        return _form(site, None, {"active": True, "services": []})
    values = _form_values()
    try:
        counters.create_counter(current_actor(), site, values, now())
    except (Invalid, Conflict) as exc:
        return _form(site, None, values, exc.message, exc.detail.get("field"), exc.status)
    return redirect(url_for("admin.counters_page", site_code=site.code,
                            dibuat=values["code"]), code=303)


@bp.route("/admin/lokasi/<site_code>/loket/<counter_code>", methods=["GET", "POST"])
@login_required
def counter_edit(site_code, counter_code):
    site = _site(site_code, signed_in_user())
    counter = counters.get(site, counter_code)
    if request.method == "GET":
        return _form(site, counter, counters.counter_values(counter))
    values = _form_values()
    values.pop("code")
    try:
        counters.update_counter(current_actor(), site, counter.code, values, now())
    except (Invalid, Conflict) as exc:
        return _form(site, counter, {**values, "code": counter.code}, exc.message,
                     exc.detail.get("field"), exc.status)
    return redirect(url_for("admin.counters_page", site_code=site.code,
                            diubah=counter.code), code=303)


# --- API ---------------------------------------------------------------------------

API_KEYS = ("code", "name", "number", "services", "active")


@bp.get("/api/v1/admin/sites/<site_code>/counters")
@token_required
def counters_api(site_code):
    site = _site(site_code, g.api_user)
    return jsonify(counters=[counters.counter_dict(c) for c in counters.counters_of(site)])


@bp.post("/api/v1/admin/sites/<site_code>/counters")
@csrf.exempt
@token_required
def counter_create_api(site_code):
    site = _site(site_code, g.api_user)
    body = json_body()
    counter = counters.create_counter(current_actor(), site,
                                      {k: body[k] for k in API_KEYS if k in body}, now())
    return jsonify(counters.counter_dict(counter)), 201


@bp.patch("/api/v1/admin/sites/<site_code>/counters/<counter_code>")
@csrf.exempt
@token_required
def counter_update_api(site_code, counter_code):
    site = _site(site_code, g.api_user)
    body = json_body()
    counter = counters.update_counter(current_actor(), site, counter_code,
                                      {k: body[k] for k in API_KEYS if k in body}, now())
    return jsonify(counters.counter_dict(counter))
