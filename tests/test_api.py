"""HTTP tests for every API row of the queue core and its errors."""
import re

import pytest

from app.models import Ticket, TicketEvent


def take(api, service="ADM-KTP", site="tabang", **extra):
    r = api.post(f"/api/v1/sites/{site}/tickets", json={"service": service, **extra})
    assert r.status_code == 201, r.json
    return r.json


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_sites_lists_induk_and_twenty_minis(client):
    sites = client.get("/api/v1/sites").json["sites"]
    assert len(sites) == 21
    assert sites[0] == {"code": "induk", "name": "MPP Induk Kutai Kartanegara",
                        "kind": "induk", "region_code": "64.02.06"}
    tabang = next(s for s in sites if s["code"] == "tabang")
    assert (tabang["kind"], tabang["region_code"]) == ("mini", "64.02.12")
    assert "kota-bangun-darat" in {s["code"] for s in sites}


def test_services_of_a_hall(client, api):
    take(api)
    rows = client.get("/api/v1/sites/tabang/services").json["services"]
    ktp = next(r for r in rows if r["code"] == "ADM-KTP")
    assert ktp["open"] is True and ktp["waiting"] == 1 and ktp["prefix"] == "A"
    assert ktp["agency"] == "Dinas Kependudukan dan Pencatatan Sipil"
    assert "SMS-PKB" not in {r["code"] for r in rows}  # Samsat is at the Induk only


def test_unknown_site_is_404(client):
    r = client.get("/api/v1/sites/nowhere/services")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_site"


def test_issue_ticket(client, api):
    body = take(api, priority_group="ibu_hamil")
    assert body["number"] == "A001" and body["status"] == "waiting"
    assert len(body["id"]) == 32 and body["track_url"].endswith("/t/" + body["id"])
    assert body["issued_at"].startswith("2026-11-30T09:00") and body["issued_at"].endswith("+08:00")
    assert body["priority_group"] == "ibu_hamil"
    second = take(api)
    assert (second["number"], second["waiting_before"]) == ("A002", 1)


@pytest.mark.parametrize("payload, status, code", [
    ({"service": "NOPE"}, 404, "unknown_service"),
    ({}, 422, "missing_field"),
    ({"service": 12}, 422, "invalid_field"),
    ({"service": ["ADM-KTP"]}, 422, "invalid_field"),
    ({"service": "ADM-KTP", "priority_group": "vip"}, 422, "invalid_priority_group"),
    ({"service": "SMS-PKB"}, 404, "not_offered"),
])
def test_issue_ticket_errors(api, payload, status, code):
    r = api.post("/api/v1/sites/tabang/tickets", json=payload)
    assert (r.status_code, r.json["error"]["code"]) == (status, code)
    assert Ticket.select().count() == 0


@pytest.mark.parametrize("data, content_type, status, code", [
    ("{not json", "application/json", 400, "invalid_json"),
    ("[1, 2]", "application/json", 400, "invalid_json"),
    ("service=ADM-KTP", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("\xff\xfe", "application/json", 400, "invalid_json"),
    ("[" * 20000, "application/json", 400, "invalid_json"),
])
def test_malformed_bodies(client, data, content_type, status, code):
    r = client.post("/api/v1/sites/tabang/tickets", data=data, content_type=content_type)
    assert (r.status_code, r.json["error"]["code"]) == (status, code)


def test_oversized_body_is_413(client):
    r = client.post("/api/v1/sites/tabang/tickets", data="x" * (2 * 1024 * 1024),
                    content_type="application/json")
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("path", [
    "/api/v1/tickets/../../etc/passwd", "/api/v1/tickets/%2e%2e%2fsecret",
    "/api/v1/tickets/1", "/api/v1/tickets/" + "0" * 32, "/api/v1/tickets/' OR 1=1 --",
    "/api/v1/sites/..%2f..%2f/services",
])
def test_path_tricks_are_4xx_json(client, path):
    r = client.get(path)
    assert r.status_code in (404, 405)
    assert r.json["error"]["code"] in ("unknown_ticket", "not_found", "unknown_site",
                                       "method_not_allowed")


def test_closed_and_quota(client, api, app):
    from app.clock import Clock
    app.clock = Clock("2026-11-28T09:00:00+08:00")  # a Saturday
    r = api.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
    assert r.status_code == 409 and r.json["error"]["code"] == "service_closed"
    assert "Senin, 30 November 2026 pukul 08:00" in r.json["error"]["message"]
    app.clock = Clock("2026-11-30T09:00:00+08:00")
    for _ in range(30):
        take(api, "IMI-PASPOR", site="induk")
    r = api.post("/api/v1/sites/induk/tickets", json={"service": "IMI-PASPOR"})
    assert r.status_code == 409 and r.json["error"]["code"] == "quota_reached"


def test_get_ticket(client, api):
    ticket = take(api)
    r = client.get(f"/api/v1/tickets/{ticket['id']}")
    assert r.status_code == 200 and r.json["number"] == "A001"
    assert set(r.json) >= {"id", "number", "site", "service", "status", "counter",
                           "issued_at", "waiting_before", "estimated_wait_minutes",
                           "track_url"}


def test_counters(client):
    rows = client.get("/api/v1/sites/tabang/counters").json["counters"]
    assert [c["code"] for c in rows] == ["L1", "L2", "L3"]
    assert rows[0]["services"][:2] == ["ADM-KK", "ADM-KTP"] and rows[0]["current"] is None


def test_auth_token(client):
    r = client.post("/api/v1/auth/token", json={"username": "operator.tabang",
                                                 "password": "demo"})
    assert r.status_code == 200
    assert (r.json["role"], r.json["sites"]) == ("operator", ["tabang"])
    bad = client.post("/api/v1/auth/token", json={"username": "operator.tabang",
                                                   "password": "nope"})
    assert bad.status_code == 401 and bad.json["error"]["code"] == "invalid_credentials"


def test_login_is_throttled(client):
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "admin", "password": "x"})
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo"})
    assert r.status_code == 429 and r.json["error"]["code"] == "too_many_attempts"
    other = client.post("/api/v1/auth/token", json={"username": "operator.tabang",
                                                     "password": "demo"})
    assert other.status_code == 200


def test_password_spraying_from_one_client_is_slowed_down(client):
    """Slowed down, not locked out: the wait is short (tests/test_login_limits.py)."""
    for i in range(30):
        client.post("/api/v1/auth/token", json={"username": f"user{i}", "password": "x"})
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 30


def test_call_next_needs_a_token(client):
    r = client.post("/api/v1/sites/tabang/counters/L1/call-next")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.post("/api/v1/sites/tabang/counters/L1/call-next",
                    headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"


def test_operator_only_at_own_hall(api):
    api.login("operator.anggana")
    r = api.post("/api/v1/sites/tabang/counters/L1/call-next")
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_officer_cannot_call(api):
    api.login("officer.imigrasi")
    assert api.post("/api/v1/sites/tabang/counters/L1/call-next").status_code == 403


def test_call_recall_start_finish(api):
    ticket = take(api)
    api.login("operator.tabang")
    r = api.post("/api/v1/sites/tabang/counters/L1/call-next")
    assert r.status_code == 200 and r.json["ticket"]["id"] == ticket["id"]
    assert r.json["ticket"]["counter"] == "L1" and r.json["ticket"]["status"] == "called"
    assert api.post("/api/v1/sites/tabang/counters/L1/recall").json["ticket"]["number"] == "A001"
    assert api.post(f"/api/v1/tickets/{ticket['id']}/start").json["status"] == "serving"
    done = api.post(f"/api/v1/tickets/{ticket['id']}/finish", json={"outcome": "completed"})
    assert done.status_code == 200 and done.json["status"] == "done"
    assert api.post("/api/v1/sites/tabang/counters/L1/call-next").status_code == 204
    r = api.post("/api/v1/sites/tabang/counters/L1/recall")
    assert r.status_code == 409 and r.json["error"]["code"] == "no_current_ticket"


def test_finishing_a_waiting_ticket_is_409(api):
    ticket = take(api)
    api.login("operator.tabang")
    r = api.post(f"/api/v1/tickets/{ticket['id']}/finish", json={"outcome": "completed"})
    assert r.status_code == 409 and r.json["error"]["code"] == "invalid_transition"
    assert Ticket.get_by_id(ticket["id"]).status == "waiting"


def test_finish_needs_a_known_outcome(api):
    ticket = take(api)
    api.login("operator.tabang")
    api.post("/api/v1/sites/tabang/counters/L1/call-next")
    r = api.post(f"/api/v1/tickets/{ticket['id']}/finish", json={"outcome": "great"})
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_outcome"


def test_no_show_requeue_transfer(api):
    ticket = take(api)
    api.login("operator.tabang")
    api.post("/api/v1/sites/tabang/counters/L1/call-next")
    assert api.post(f"/api/v1/tickets/{ticket['id']}/no-show").json["status"] == "no_show"
    assert api.post(f"/api/v1/tickets/{ticket['id']}/requeue").json["status"] == "waiting"
    moved = api.post(f"/api/v1/tickets/{ticket['id']}/transfer", json={"service": "PTN-SK"})
    assert moved.status_code == 200
    assert (moved.json["service"], moved.json["number"]) == ("PTN-SK", "A001")
    assert api.post(f"/api/v1/tickets/{ticket['id']}/bogus").status_code == 404
    kinds = [e.kind for e in TicketEvent.select().order_by(TicketEvent.id)]
    assert kinds == ["issued", "called", "no_show", "requeue", "transfer"]


def test_acting_on_another_halls_ticket_is_403(api):
    ticket = take(api, site="anggana")
    api.login("operator.tabang")
    r = api.post(f"/api/v1/tickets/{ticket['id']}/start")
    assert r.status_code == 403


def test_pause_and_resume_counter(api):
    api.login("operator.tabang")
    r = api.post("/api/v1/sites/tabang/counters/L1/status", json={"status": "paused"})
    assert r.status_code == 200 and r.json["status"] == "paused"
    take(api)
    r = api.post("/api/v1/sites/tabang/counters/L1/call-next")
    assert r.status_code == 409 and r.json["error"]["code"] == "counter_paused"
    r = api.post("/api/v1/sites/tabang/counters/L1/status", json={"status": "sleeping"})
    assert r.status_code == 422


def test_wrong_method_is_405_json(client):
    r = client.delete("/api/v1/sites")
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]


def _route_paths(rule) -> list[str]:
    """A route in the document's spelling, `{}` for each path parameter; an
    `any(a, b)` converter stands for one path per choice."""
    texts = [rule.rule]
    choices = re.search(r"<any\(([^)]*)\):[^>]+>", rule.rule)
    if choices:
        texts = [rule.rule.replace(choices.group(0), option.strip().strip("'\""))
                 for option in choices.group(1).split(",")]
    return [re.sub(r"<[^>]+>", "{}", text) for text in texts]


def test_openapi_matches_the_routes(app, client):
    """Every /api/ route (and /healthz, /readyz) is in the document with the same path
    parameters and the same methods, and the document lists nothing that is not routed.
    A view behind a token declares security; a rate-limited view declares 429."""
    doc = client.get("/api/v1/openapi.json").json
    described = {}
    for path, ops in doc["paths"].items():
        entry = described.setdefault(re.sub(r"\{[^}]+\}", "{}", path), (path, {}))
        entry[1].update({m.upper(): op for m, op in ops.items()})
    routed, problems = {}, []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/readyz")):
            continue
        view = app.view_functions[rule.endpoint]
        for shape in _route_paths(rule):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.setdefault(shape, set()).add(method)
                op = described.get(shape, (None, {}))[1].get(method)
                if op is None:
                    problems.append(f"{method} {rule.rule}: route missing from the OpenAPI "
                                    "document (add its row with openapi.add_operations; "
                                    "path parameters as {name} in the same places)")
                    continue
                if getattr(view, "requires_token", False) and not op.get("security"):
                    problems.append(f"{method} {rule.rule}: needs a token, but its row "
                                    "has no auth (4th field)")
                if getattr(view, "rate_limit", None) and "429" not in op["responses"]:
                    problems.append(f"{method} {rule.rule}: rate limited "
                                    f"({view.rate_limit}), but its row lists no 429")
    for shape, (path, ops) in described.items():
        for method in set(ops) - routed.get(shape, set()):
            problems.append(f"{method} {path}: in the OpenAPI document but no route "
                            "answers it")
    assert not problems, "the OpenAPI document and the routes differ:\n" + "\n".join(
        sorted(problems))


def test_unexpected_error_is_generic_with_incident_id(app, client, caplog):
    @app.get("/api/v1/_boom")
    def boom():
        raise RuntimeError("secret detail")
    r = client.get("/api/v1/_boom")
    assert r.status_code == 500
    assert "secret detail" not in r.get_data(as_text=True)
    incident = r.json["error"]["detail"]["incident"]
    assert incident in r.json["error"]["message"]
    assert any(incident in rec.getMessage() for rec in caplog.records)
