"""The SKM/IKM survey over HTTP: a citizen's answer sheet (`POST /api/v1/surveys`) and a
hall's published figures (`GET /api/v1/sites/<site>/ikm`), never the sheets themselves."""
from flask import Blueprint, jsonify, request

from ..domain import ikm, queueing, survey
from ..web import openapi
from ..web.inputs import field, json_body, now
from ..web.plumbing import csrf
from ..web.ratelimit import limit

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
             "sample_needed", "404": "unknown_site", "422": "invalid_date"}),
])


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
