"""The audit trail: who changed what, filtered by hall, person, action and days, as a
page, a CSV file and the API (`GET /api/v1/admin/audit`). Admins read every hall; a
supervisor reads their own hall's entries."""
import csv
import datetime as dt
import io
import json

from flask import abort, g, jsonify, request
from flask_login import login_required

from ...clock import iso, to_local
from ...domain import audit, calendar
from ...web import openapi
from ...web.auth import signed_in_user, token_required
from ...web.responses import file_response, page_or_fragment
from .shell import add_section, bp

add_section("admin.audit_page", "Jejak audit", "Audit trail", ("admin", "supervisor"),
            place=90)
openapi.add_operations([
    ("get", "/api/v1/admin/audit",
     "The audit trail, newest first (query: site, actor, action, from, to as YYYY-MM-DD)",
     "admin or supervisor (own hall)", None,
     {"200": "entries", "403": "not an admin or supervisor / another hall",
      "422": "invalid_date"},
     {"query": {"site": "string", "actor": "string", "action": "string",
                "from": "string (YYYY-MM-DD)", "to": "string (YYYY-MM-DD)"}}),
])


def _day(name: str) -> dt.date | None:
    return calendar.query_day(request.args.get(name), name)


def _filters(user) -> dict:
    """The query's filters; a supervisor is held to their own hall."""
    if user.role not in ("admin", "supervisor"):
        abort(403)
    site = (request.args.get("site") or "").strip()[:40]
    if user.role == "supervisor":
        if not user.site_id:  # a supervisor of no hall reads no hall's trail
            abort(403)
        own = user.site.code
        if site and site != own:
            abort(403)
        site = own
    return {"site_code": site, "actor": (request.args.get("actor") or "").strip()[:80],
            "action": (request.args.get("action") or "").strip()[:60],
            "day_from": _day("from"), "day_to": _day("to")}


def entry_dict(entry) -> dict:
    return {"at": iso(entry.at), "actor": entry.actor, "role": entry.role,
            "site": entry.site_code, "action": entry.action, "object": entry.object,
            "before": entry.before, "after": entry.after, "client": entry.client}


@bp.get("/admin/audit")
@login_required
def audit_page():
    user = signed_in_user()
    filters = _filters(user)
    rows = audit.entries(**filters)
    return page_or_fragment("admin/audit.html", "admin/_audit_rows.html", user=user,
                            entries=rows, filters=filters, args=request.args)


@bp.get("/admin/audit.csv")
@login_required
def audit_csv():
    filters = _filters(signed_in_user())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["waktu_wita", "pelaku", "peran", "lokasi", "tindakan", "objek",
                     "sebelum", "sesudah", "alamat_klien"])
    for e in audit.entries(**filters, limit=100_000):
        writer.writerow([to_local(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.role,
                         e.site_code, e.action, e.object,
                         json.dumps(e.before, ensure_ascii=False) if e.before else "",
                         json.dumps(e.after, ensure_ascii=False) if e.after else "",
                         e.client])
    return file_response(out.getvalue().encode("utf-8-sig"), "text/csv",
                         "jejak-audit.csv", inline=False)


@bp.get("/api/v1/admin/audit")
@token_required
def audit_api():
    filters = _filters(g.api_user)
    return jsonify(entries=[entry_dict(e) for e in audit.entries(**filters)])
