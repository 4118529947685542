"""The monthly report as a PDF (`GET /api/v1/reports/monthly.pdf?site=&month=YYYY-MM`):
a hall's month, or the whole kabupaten's without `site`. Who sees what is the reports'
scope (`reports.scope`): an admin every hall and the kabupaten, an officer their own
agency (in one hall or all), a supervisor their own hall (also without `site`); by
bearer token or a signed-in session."""
from flask import Blueprint, g, request

from ..domain import reports
from ..printing import monthly_report
from ..web import openapi
from ..web.auth import token_or_session_required
from ..web.inputs import now
from ..web.responses import file_response

bp = Blueprint("monthly_report", __name__)

openapi.add_operations([
    ("get", "/api/v1/reports/monthly.pdf",
     "The Laporan Bulanan Pelayanan as an A4 PDF (query: site = a hall's code, omitted: "
     "the whole kabupaten, or a supervisor's own hall; month = YYYY-MM, WITA, default: "
     "this month): headline figures, arrivals and served per day, mean wait per "
     "service, tables per hall or per counter and per service, bookings, cases, halls "
     "whose data is not complete. A bearer token or a signed-in session",
     "admin; officer (own agency); supervisor (own hall)", None,
     {"200": "application/pdf",
      "401": "unauthorized / invalid_token (neither a token nor a session)",
      "403": "forbidden (not report staff, or a hall outside the caller's scope) / "
             "password_change_required",
      "404": "unknown_site", "422": "invalid_month (not YYYY-MM)"},
     {"query": {"site": "string", "month": "string (YYYY-MM)"}}),
])


@bp.get("/api/v1/reports/monthly.pdf")
@token_or_session_required
def monthly_pdf():
    moment = now()
    first, last = reports.month_period(request.args.get("month"), moment)
    f = reports.scope(g.api_user, first, last, site_code=request.args.get("site"))
    labels = monthly_report.Labels(hall_name=f.site.name if f.site else None, month=first,
                                   generated_at=moment,
                                   agency_name=f.agency.name if f.agency else None)
    body = monthly_report.render(reports.summary(f, moment), labels)
    place = f.site.code if f.site else "kabupaten"
    return file_response(body, "application/pdf",
                         f"laporan-bulanan-{place}-{first:%Y-%m}.pdf")
