"""The OpenAPI document of what exists. Each feature's view module calls
`add_operations([...])` with its rows; a test fails when a route under /api/ is missing."""

ERROR = {"$ref": "#/components/schemas/Error"}
TICKET = {"$ref": "#/components/schemas/Ticket"}

# (method, path, summary, auth, request schema or None, {status: description})
OPERATIONS = [
    ("get", "/healthz", "Health check", None, None, {"200": "ok"}),
    ("get", "/api/v1/openapi.json", "This document", None, None, {"200": "OpenAPI 3.1"}),
    ("post", "/api/v1/auth/token", "Exchange username and password for a bearer token",
     None, {"username": "string", "password": "string"},
     {"200": "token, role, sites", "401": "invalid_credentials",
      "403": "password_change_required (a one-time password not yet changed)",
      "429": "too_many_attempts"}),
    ("get", "/api/v1/catalogue/version", "The catalogue version this server runs (and, at "
     "the centre, the one each hall runs)", None, None,
     {"200": "version, updated_at, sites"}),
    ("get", "/api/v1/sites", "Halls", None, None, {"200": "sites"}),
    ("get", "/api/v1/sites/{site}/services", "Services of a hall and whether they are open",
     None, None, {"200": "services", "404": "unknown_site"}),
    ("post", "/api/v1/sites/{site}/tickets", "Issue a ticket (kiosk)", None,
     {"service": "string", "priority_group": "string?"},
     {"201": "ticket", "404": "unknown_site / unknown_service",
      "409": "service_closed / quota_reached", "422": "invalid field"}),
    ("get", "/api/v1/tickets/{id}", "A ticket by its random id", None, None,
     {"200": "ticket", "404": "unknown_ticket"}),
    ("get", "/api/v1/sites/{site}/counters", "Counters of a hall", None, None,
     {"200": "counters"}),
    ("post", "/api/v1/sites/{site}/counters/{code}/call-next", "Call the next ticket",
     "operator", None, {"200": "ticket", "204": "nobody waits", "409": "counter_busy / "
                        "counter_paused", "403": "another hall"}),
    ("post", "/api/v1/sites/{site}/counters/{code}/recall", "Call the current ticket again",
     "operator", None, {"200": "ticket", "409": "no_current_ticket"}),
    ("post", "/api/v1/sites/{site}/counters/{code}/status", "Open, pause or close a counter",
     "operator", {"status": "open|paused|closed"}, {"200": "counter", "409": "counter_busy"}),
    ("post", "/api/v1/tickets/{id}/start", "Start serving a called ticket", "operator", None,
     {"200": "ticket", "409": "invalid_transition"}),
    ("post", "/api/v1/tickets/{id}/no-show", "Mark a called ticket as not present",
     "operator", None, {"200": "ticket", "409": "invalid_transition"}),
    ("post", "/api/v1/tickets/{id}/requeue", "Return a no-show to the queue", "operator",
     None, {"200": "ticket", "409": "invalid_transition"}),
    ("post", "/api/v1/tickets/{id}/finish", "Finish with an outcome", "operator",
     {"outcome": "completed|case|info_only|rejected"},
     {"200": "ticket", "409": "invalid_transition", "422": "invalid_outcome"}),
    ("post", "/api/v1/tickets/{id}/transfer", "Move to another service's lane", "operator",
     {"service": "string"}, {"200": "ticket", "409": "invalid_transition"}),
]


def add_operations(rows: list[tuple]) -> None:
    known = {(method, path) for method, path, *_ in OPERATIONS}
    OPERATIONS.extend(row for row in rows if (row[0], row[1]) not in known)


def _schema(fields: dict) -> dict:
    props, required = {}, []
    for name, kind in fields.items():
        optional = kind.endswith("?")
        base = kind.rstrip("?")
        props[name] = ({"type": "string", "enum": base.split("|")} if "|" in base
                       else {"type": base})
        if not optional:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


def document() -> dict:
    paths: dict = {}
    for method, path, summary, auth, body, responses in OPERATIONS:
        op = {"summary": summary,
              "responses": {code: ({"description": text, "content": {"application/json": {
                  "schema": ERROR}}} if code[0] == "4" else {"description": text})
                  for code, text in responses.items()}}
        if auth:
            op["security"] = [{"bearer": []}]
            op["responses"].setdefault("401", {"description": "no or invalid token"})
        if body:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(body)}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mini MPP Antrian API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {
                    "type": "object", "properties": {"code": {"type": "string"},
                                                     "message": {"type": "string"}}}}},
                "Ticket": {"type": "object", "properties": {k: {"type": "string"} for k in (
                    "id", "number", "site", "service", "status", "counter", "issued_at",
                    "track_url")}},
            },
        },
    }
