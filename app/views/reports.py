"""Reports over HTTP: the page `/laporan` (filters, headline figures, charts, tables,
downloads), the summary as JSON (`GET /api/v1/reports/summary`), the same as CSV and
XLSX files, and one hall's day (`GET /api/v1/sites/<site>/stats`).

Who sees what is the domain's (`reports.scope`): a supervisor their own hall, an
officer their own agency, an admin everything; the API takes a bearer token or the
signed-in session (the page's download links)."""
from flask import Blueprint, g, jsonify, request
from flask_login import login_required

from ..clock import local_day
from ..domain import accounts, calendar, queueing, reports
from ..reporting import charts, exports, tables
from ..web import openapi
from ..web.auth import signed_in_user, token_or_session_required
from ..web.inputs import now
from ..web.responses import file_response, page_or_fragment

bp = Blueprint("reports", __name__)

QUERY = ("query: site, agency, service (codes; narrowed to the caller's scope), period "
         "(day|week|month|range), from, to (YYYY-MM-DD, WITA days; day, week and month "
         "are the ones around `from`; default: this month so far)")
SCOPE_ERRORS = {
    "401": "unauthorized / invalid_token (neither a token nor a signed-in session)",
    "403": "forbidden (an operator; a supervisor asking for another hall; an officer "
           "asking for another agency or its service) / password_change_required",
    "404": "unknown_site / unknown_agency / unknown_service",
    "422": "invalid_date / invalid_field (period) / range_too_long (over 400 days)"}
WHO = "supervisor (own hall), officer (own agency), admin"
PARAMS = {"site": "string", "agency": "string", "service": "string",
          "period": "day|week|month|range", "from": "string (YYYY-MM-DD)",
          "to": "string (YYYY-MM-DD)"}
openapi.add_operations([
    ("get", "/api/v1/reports/summary", "A period's report: arrived, served, no_show, "
     "no_show_rate, cancelled, transferred, wait_minutes (mean, p50, p90, max), "
     "service_minutes (mean, p90), within_target_pct, cases, bookings, incomplete_sites, "
     "by_site, by_agency, by_service, by_counter, by_operator, by_day, by_hour (weekday "
     f"x hour); times ISO 8601 in WITA ({QUERY})", WHO, None,
     {"200": "the summary", **SCOPE_ERRORS}, {"query": PARAMS}),
    ("get", "/api/v1/reports/export.csv", "The report as one CSV file (UTF-8 with BOM): "
     "a section per table (Ringkasan, Per lokasi, Per instansi, Per layanan, Per loket, "
     f"Per petugas, Per hari, Jam kedatangan, Booking, Berkas) ({QUERY})", WHO, None,
     {"200": "text/csv", **SCOPE_ERRORS}, {"query": PARAMS}),
    ("get", "/api/v1/reports/export.xlsx", "The report as an XLSX workbook, a worksheet "
     f"per section ({QUERY})", WHO, None, {"200": exports.XLSX, **SCOPE_ERRORS},
     {"query": PARAMS}),
    ("get", "/api/v1/sites/{site}/stats", "One WITA day of one hall: issued, served, "
     "no_show, waiting (now, when the day is today), wait_minutes and service_minutes "
     "(mean, p90), by_service (query: date as YYYY-MM-DD, default today)",
     "supervisor of the hall, admin", None,
     {"200": "site, date, issued, served, no_show, waiting, wait_minutes, "
             "service_minutes, by_service",
      "401": SCOPE_ERRORS["401"],
      "403": "forbidden (not the hall's supervisor or an admin) / password_change_required",
      "404": "unknown_site", "422": "invalid_date"},
     {"query": {"date": "string (YYYY-MM-DD, WITA; default: today)"}}),
])


def _filters(user, moment, default_kind=None) -> reports.Filters:
    args = request.args
    kind = args.get("period")
    if not (kind or args.get("from") or args.get("to")):
        kind = default_kind
    first, last = reports.period(kind, args.get("from"), args.get("to"), moment)
    return reports.scope(user, first, last, args.get("site"), args.get("agency"),
                         args.get("service"))


def _names(f: reports.Filters) -> dict:
    return {k: getattr(f, k).name for k in ("site", "agency", "service") if getattr(f, k)}


@bp.get("/api/v1/reports/summary")
@token_or_session_required
def summary_api():
    moment = now()
    return jsonify(reports.summary(_filters(g.api_user, moment), moment))


def _export(ext: str):
    moment = now()
    f = _filters(g.api_user, moment)
    summary = reports.summary(f, moment)
    every = tables.all_tables(summary, _names(f))
    name = exports.filename(summary["period"], ext)
    if ext == "csv":
        return file_response(exports.csv_bytes(every), exports.CSV, name, inline=False)
    title = f"Laporan {tables.period_text(f.first, f.last)}"
    return file_response(exports.xlsx_bytes(every, title, moment), exports.XLSX, name,
                         inline=False)


@bp.get("/api/v1/reports/export.csv")
@token_or_session_required
def export_csv():
    return _export("csv")


@bp.get("/api/v1/reports/export.xlsx")
@token_or_session_required
def export_xlsx():
    return _export("xlsx")


@bp.get("/api/v1/sites/<site_code>/stats")
@token_or_session_required
def day_stats(site_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(g.api_user, site, ("supervisor",),
                               "Statistik harian hanya untuk supervisor lokasi ini atau admin.")
    moment = now()
    day = calendar.query_day(request.args.get("date"), "date") or local_day(moment)
    return jsonify(reports.day_stats(site, day, moment))


# --- the page --------------------------------------------------------------------------

@bp.app_template_filter("angka")
def angka(value, kind="num"):
    return tables.number(value, kind)


@bp.get("/laporan")
@login_required
def page():
    """The report of the chosen period and scope; this month by default. htmx asks for
    the report alone (the form stays)."""
    user = signed_in_user()
    moment = now()
    f = _filters(user, moment, default_kind="month")
    summary = reports.summary(f, moment)
    query = {k: v for k, v in f.as_dict().items() if v}
    breakdowns = tables.breakdown_tables(summary)
    context = {
        "user": user, "f": f, "summary": summary, "names": _names(f),
        "choices": reports.choices(user), "args": request.args,
        "kind": request.args.get("period") or ("month" if not request.args.get("from")
                                               else "range"),
        "period_text": tables.period_text(f.first, f.last),
        "query": query, "month": f.first.strftime("%Y-%m"),
        "per_day": charts.per_day(summary), "per_service": charts.wait_per_service(summary),
        "heat": charts.heat_map(summary),
        "breakdowns": {key: table.only(tables.PAGE_KEYS)
                       for key, table in breakdowns.items()},
        "local_text": tables.local_text,
    }
    return page_or_fragment("reports.html", "_partials/report.html", **context)
