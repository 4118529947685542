"""The SKM/IKM survey over HTTP: a citizen's answer sheet (`POST /api/v1/surveys`, or the
form on a counter's tablet `/survei/<site>/<counter>` and behind the ticket's QR code
`/survei/t/<ticket>`), and a hall's published figures (`GET /api/v1/sites/<site>/ikm`,
the public page `/ikm/<site>`), never the sheets themselves. The staff's report
(`GET /api/v1/sites/<site>/ikm.pdf`, the hall's supervisor or an admin) adds the
respondent profile and the suggestions, numbers that look personal masked."""
from flask import Blueprint, g, jsonify, render_template, request

from ..domain import accounts, ikm, queueing, skm_report, survey
from ..errors import DomainError
from ..printing import skm_report as skm_pdf
from ..web import openapi
from ..web.auth import optional_user, token_or_session_required
from ..web.inputs import field, json_body, now
from ..web.plumbing import csrf
from ..web.ratelimit import limit
from ..web.responses import file_response, page_or_fragment

bp = Blueprint("survey", __name__)
csrf.exempt(bp)

openapi.add_operations([
    ("post", "/api/v1/surveys", "A citizen's SKM answer sheet (9 answers 1-4, unsur U1-U9; "
     "at most one per ticket)", None,
     {"site": "string", "service": "string?", "ticket_id": "string?", "answers": "array",
      "comment": "string?", "profile": "object?"},
     {"201": "stored", "404": "unknown_site / unknown_service / unknown_ticket",
      "409": "ticket_not_done / already_answered", "422": "invalid_answers / invalid_field",
      "429": "too_many_requests"}),
    ("get", "/api/v1/sites/{site}/ikm", "A hall's published IKM over a period (query: "
     "from, to as YYYY-MM-DD; default: this year)", None, None,
     {"200": "responses, unsur (code, name, nrr), ikm, grade, grade_label, weakest, "
             "sample_needed", "404": "unknown_site", "422": "invalid_date"},
     {"query": {"from": "string (YYYY-MM-DD)", "to": "string (YYYY-MM-DD)"}}),
    ("get", "/api/v1/sites/{site}/ikm.pdf", "The Laporan Hasil SKM of a hall as an A4 PDF "
     "(query: from, to as YYYY-MM-DD, WITA days; default: this year so far): per-unsur "
     "table, IKM and grade, per service and agency, respondent profile, suggestions with "
     "NIK and phone numbers masked, the sample. A bearer token or a signed-in session",
     "supervisor of the hall or admin", None,
     {"200": "application/pdf", "401": "unauthorized / invalid_token (neither a token nor "
      "a session)", "403": "forbidden (not the hall's supervisor or an admin) / "
      "password_change_required", "404": "unknown_site", "422": "invalid_date"},
     {"query": {"from": "string (YYYY-MM-DD)", "to": "string (YYYY-MM-DD)"}}),
])
REPORT_ROLES = ("supervisor",)  # and admin, everywhere


@bp.post("/api/v1/surveys")
@limit("RATE_LIMIT_SURVEY")
def submit():
    body = json_body()
    site = queueing.get_site(field(body, "site", max_length=40))
    ticket_id = body.get("ticket_id")
    service_code = field(body, "service", required=ticket_id is None, max_length=40)
    service = queueing.get_service(service_code) if service_code else None
    sheet = survey.submit(site, service, body.get("answers"), now(), ticket_id=ticket_id,
                          comment=body.get("comment"), profile=body.get("profile"))
    return jsonify(id=sheet.id, site=site.code, service=sheet.service.code), 201


@bp.get("/api/v1/sites/<site_code>/ikm")
def figures(site_code):
    site = queueing.get_site(site_code)
    first, last = survey.period(request.args.get("from"), request.args.get("to"), now())
    result = survey.figures(site, first, last)
    served = queueing.served_between(site, first, last)
    return jsonify(**result.as_dict(), site=site.code, **{"from": first.isoformat(),
                   "to": last.isoformat()}, served=served,
                   sample_needed=ikm.sample_size(served),
                   sample_enough=ikm.sample_enough(result.responses, served))


@bp.get("/api/v1/sites/<site_code>/ikm.pdf")
@token_or_session_required
def report_pdf(site_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(g.api_user, site, REPORT_ROLES,
                               "Laporan SKM hanya untuk supervisor lokasi ini atau admin.")
    moment = now()
    first, last = survey.period(request.args.get("from"), request.args.get("to"), moment)
    body = skm_pdf.report_pdf(skm_report.report(site, first, last), moment)
    return file_response(body, "application/pdf",
                         f"laporan-skm-{site.code}-{first.isoformat()}-{last.isoformat()}.pdf")


# --- the pages -------------------------------------------------------------------------

@bp.get("/ikm/<site_code>")
def public_page(site_code):
    """A hall's published IKM for a period, for anyone: figures and counts only."""
    site = queueing.get_site(site_code)
    first, last = survey.period(request.args.get("from"), request.args.get("to"), now())
    user = optional_user()
    return render_template(
        "ikm.html", site=site, r=skm_report.published(site, first, last),
        unsur_grade=skm_report.unsur_grade, decimal=skm_report.decimal,
        whole=skm_report.whole,
        may_download=user is not None and accounts.has_site_role(user, site.id,
                                                                 REPORT_ROLES))


THANKS_SECONDS = 8  # the tablet thanks the citizen, then waits for the next one


def _form_context(site, ticket, **extra):
    return {"site": site, "ticket": ticket, "unsur": ikm.UNSUR,
            "profile_choices": survey.PROFILE_CHOICES, **extra}


@bp.get("/survei/<site_code>/<counter_code>")
def tablet(site_code, counter_code):
    """The tablet beside a counter: the survey of the ticket it just finished, else a
    quiet screen that looks again every few seconds."""
    site = queueing.get_site(site_code)
    counter = queueing.get_counter(site, counter_code)
    ticket = survey.pending_for_counter(counter, now())
    return page_or_fragment("survey_tablet.html", "_partials/survey_tablet.html",
                            **_form_context(site, ticket, counter=counter))


@bp.get("/survei/t/<ticket_id>")
def for_ticket(ticket_id):
    """The survey behind the ticket's QR code, once the visit is over."""
    ticket = queueing.get_ticket(ticket_id)
    return render_template("survey_ticket.html", **_form_context(
        ticket.site, ticket, done=ticket.status == "done",
        answered=survey.answered(ticket.id)))


@bp.post("/survei/<site_code>")
@limit("RATE_LIMIT_SURVEY")
def submit_form(site_code):
    site = queueing.get_site(site_code)
    form = request.form
    answers = [int(form.get(code, "0")) if form.get(code, "").isdecimal() else 0
               for code in ikm.CODES]
    profile = {key: form.get(key) for key in survey.PROFILE_CHOICES if form.get(key)}
    counter_code = form.get("counter", "")[:20]
    try:
        survey.submit(site, None, answers, now(), ticket_id=form.get("ticket_id", "")[:32],
                      comment=form.get("comment"), profile=profile or None)
    except DomainError as exc:
        return render_template("_partials/survey_done.html", site=site, ok=False,
                               message=exc.message, counter_code=counter_code,
                               seconds=THANKS_SECONDS), exc.status
    return render_template("_partials/survey_done.html", site=site, ok=True,
                           counter_code=counter_code, seconds=THANKS_SECONDS)
