"""The OpenAPI 3.1 document of what exists. Each feature's view module calls
`add_operations([...])` with its rows; tests fail when a route under /api/ is missing,
when a route's path parameters or methods differ from its row, and when the document
is not valid OpenAPI 3.1.

A row is a tuple:

    (method, path, summary, auth, request fields or None, {status: description}[, extra])

- `path` uses `{name}` for each path parameter; the parameters are derived from it.
- `auth`: None (public) or who may call it (a bearer token, the `bearer` scheme).
- request fields: {"name": "kind"}; kind is a JSON type (`string`, `integer`, `number`,
  `boolean`, `array`, `object`) or `a|b|c` for a choice, `?` at the end for optional,
  anything after a space a description ("string? (supervisor, operator)").
- responses: every status the operation itself answers. The statuses the shared
  plumbing answers are added here, so no row needs to repeat them: 404 when the path has
  parameters, 401/403 with auth, 400/413/415/422 with a JSON body, 414 (from the
  HTTP server) with query parameters.
- `extra` (optional dict):
  - `query`: {"name": "kind"} query parameters (same kinds; optional unless stated:
    here `!` at the end makes one required),
  - `headers`: {"Name": "kind"} header parameters (same rule),
  - `multipart`: {"field": "binary"} a multipart/form-data body instead of JSON,
  - `security`: "hall_signature" for the centre's signed sync routes (X-MPP-* headers),
    "gateway_signature" for the notification gateways' callbacks (X-Notify-* headers),
  - `content`: {status: media type or None} what a success answer is (default:
    application/json, or the media type the description starts with; None: any),
  - `schema`: {status: JSON schema} of a JSON success answer (default: an object);
    `REF["Ticket"]` and the other `SCHEMAS` below are there to share.
"""
import re

ERROR = {"$ref": "#/components/schemas/Error"}
JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object"}
MEDIA_TYPE = re.compile(r"^(application|text|image)/[\w.+-]+")
PLUMBING = {
    "path": {"404": "not_found / unknown_* (no such item)"},
    "auth": {"401": "unauthorized / invalid_token (no or invalid token)",
             "403": "forbidden / password_change_required"},
    "json": {"400": "invalid_json (not JSON, or not an object) / csrf_failed",
             "413": "payload_too_large", "415": "unsupported_media_type (not JSON)",
             "422": "missing_field / invalid_field"},
    "multipart": {"413": "payload_too_large", "422": "invalid file"},
    # gunicorn answers a request line over its limit (4094 bytes) before the app, in HTML
    "query": {"414": "URI too long (the HTTP server, before the app: not JSON)"},
    "signed": {"401": "unsigned / malformed_signature / unknown_site_key / clock_skew / "
                      "bad_signature / replayed"},
}

def _nullable(kind: str) -> dict:
    return {"type": [kind, "null"]}


SCHEMAS = {
    "Health": {"type": "object", "required": ["status"],
               "properties": {"status": {"const": "ok"}, "database": {"const": "ok"}}},
    "Ticket": {"type": "object", "required": [
        "id", "number", "site", "service", "status", "issued_at", "track_url"],
        "properties": {
            "id": {"type": "string"}, "number": {"type": "string"},
            "site": {"type": "string"}, "service": {"type": "string"},
            "service_name": {"type": "string"}, "status": {"type": "string"},
            "status_label": {"type": "string"}, "priority_group": _nullable("string"),
            "source": {"type": "string"}, "counter": _nullable("string"),
            "counter_name": _nullable("string"), "outcome": _nullable("string"),
            "issued_at": {"type": "string", "format": "date-time"},
            "called_at": {"type": ["string", "null"], "format": "date-time"},
            "waiting_before": {"type": "integer"},
            "estimated_wait_minutes": {"type": "integer"},
            "track_url": {"type": "string"}}},
    # The public list: the number a counter serves, never its ticket's id (`/t/<id>`).
    "PublicCounters": {"type": "object", "required": ["counters"], "properties": {
        "counters": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "services", "status", "current"],
            "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "number": {"type": ["integer", "null"]},
                "services": {"type": "array", "items": {"type": "string"}},
                "status": {"type": "string"},
                "current": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["number", "status"],
                    "additionalProperties": False,
                    "properties": {"number": {"type": "string"},
                                   "status": {"type": "string"}}}]}}}}}},
}
REF = {name: {"$ref": f"#/components/schemas/{name}"} for name in SCHEMAS}


# (method, path, summary, auth, request schema or None, {status: description}[, extra])
OPERATIONS = [
    ("get", "/healthz", "Health check: the process answers (no database involved)", None,
     None, {"200": "status ok"}, {"schema": {"200": REF["Health"]}}),
    ("get", "/readyz", "Readiness: the database answers", None, None,
     {"200": "status ok, database ok", "503": "database_unavailable"},
     {"schema": {"200": REF["Health"]}}),
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
      "409": "service_closed / quota_reached", "422": "invalid field",
      "429": "too_many_requests"}, {"schema": {"201": REF["Ticket"]}}),
    ("get", "/api/v1/tickets/{id}", "A ticket by its random id", None, None,
     {"200": "ticket", "404": "unknown_ticket"}, {"schema": {"200": REF["Ticket"]}}),
    ("get", "/api/v1/sites/{site}/counters", "Counters of a hall (public: the number each "
     "counter serves, never a ticket's id)", None, None,
     {"200": "counters", "404": "unknown_site"},
     {"schema": {"200": REF["PublicCounters"]}}),
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
     {"service": "string"}, {"200": "ticket", "404": "unknown_service",
                             "409": "invalid_transition"}),
]


def add_operations(rows: list[tuple]) -> None:
    known = {(method, path) for method, path, *_ in OPERATIONS}
    OPERATIONS.extend(row for row in rows if (row[0], row[1]) not in known)


def path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def field_schema(kind: str) -> tuple[dict, bool, str]:
    """'string? (note)' -> ({'type': 'string'}, optional, 'note')."""
    head, _, note = kind.strip().partition(" ")
    optional = head.endswith("?")
    head = head.rstrip("?")
    if head in JSON_TYPES:
        schema = {"type": head}
    else:
        schema = {"type": "string", "enum": head.split("|")}
    return schema, optional, note.strip(" ()")


def _schema(fields: dict) -> dict:
    """A JSON body. An optional field may also be null: the views read null as absent."""
    props, required = {}, []
    for name, kind in fields.items():
        schema, optional, note = field_schema(kind)
        if optional:
            schema = {**schema, "type": [schema["type"], "null"]}
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        else:
            required.append(name)
        props[name] = {**schema, "description": note} if note else schema
    return {"type": "object", "properties": props, "required": required}


def _parameters(place: str, fields: dict) -> list[dict]:
    out = []
    for name, kind in fields.items():
        head, _, rest = kind.strip().partition(" ")
        required = head.endswith("!")
        schema, _optional, note = field_schema(f"{head.rstrip('!')} {rest}")
        param = {"name": name, "in": place, "required": required, "schema": schema}
        if note:
            param["description"] = note
        out.append(param)
    return out


def _response(code: str, text: str, content: dict, schemas: dict) -> dict:
    answer = {"description": text}
    if code == "414":
        return answer
    if code[0] in "45":
        answer["content"] = {"application/json": {"schema": ERROR}}
        return answer
    if code == "204":
        return answer
    media = content.get(code, "")
    if media == "":
        found = MEDIA_TYPE.match(text)
        media = found.group(0) if found else "application/json"
    if media == "application/json":
        answer["content"] = {media: {"schema": schemas.get(code, {"type": "object"})}}
    elif media:
        answer["content"] = {media: {}}
    return answer


def operation(row: tuple) -> dict:
    method, path, summary, auth, body, responses, *rest = row
    extra = rest[0] if rest else {}
    statuses = dict(responses)
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in path_parameters(path)]
    params += _parameters("query", extra.get("query", {}))
    params += _parameters("header", extra.get("headers", {}))
    added = {}
    if path_parameters(path):
        added.update(PLUMBING["path"])
    if extra.get("query"):
        added.update(PLUMBING["query"])
    op = {"summary": summary, "operationId": f"{method}:{path}"}
    if params:
        op["parameters"] = params
    if extra.get("security") in ("hall_signature", "gateway_signature"):
        op["security"] = [{extra["security"]: []}]
        added.update(PLUMBING["signed"])
    if auth:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Who may call it: {auth}."
        added.update(PLUMBING["auth"])
    if body:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema(body)}}}
        added.update(PLUMBING["json"])
    elif extra.get("multipart"):
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": list(extra["multipart"]),
                       "properties": {name: {"type": "string", "contentMediaType":
                                             "application/octet-stream"}
                                      for name in extra["multipart"]}}}}}
        added.update(PLUMBING["multipart"])
    for code, text in added.items():
        statuses.setdefault(code, text)
    op["responses"] = {code: _response(code, text, extra.get("content", {}),
                                       extra.get("schema", {}))
                       for code, text in sorted(statuses.items())}
    return op


def document() -> dict:
    paths: dict = {}
    for row in OPERATIONS:
        paths.setdefault(row[1], {})[row[0]] = operation(row)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mini MPP Antrian API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "hall_signature": {
                    "type": "apiKey", "in": "header", "name": "X-MPP-Signature",
                    "description": "A hall's HMAC-SHA256 (hex) of method, path and query, "
                    "X-MPP-Timestamp, X-MPP-Nonce and the body, with the hall's key "
                    "(SYNC_KEYS); X-MPP-Site names the hall"},
                "gateway_signature": {
                    "type": "apiKey", "in": "header", "name": "X-Notify-Signature",
                    "description": "A notification gateway's HMAC-SHA256 of "
                    "X-Notify-Timestamp, X-Notify-Nonce and the body's hash, with "
                    "NOTIFY_CALLBACK_SECRET"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "object", "required": ["code", "message"],
                              "properties": {"code": {"type": "string"},
                                             "message": {"type": "string"},
                                             "detail": {"type": "object"}}}}},
                **SCHEMAS,
            },
        },
    }
