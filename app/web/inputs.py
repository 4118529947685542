"""What a view reads from the request: the JSON body, typed fields, the caller, `now`."""
from flask import current_app, request

from ..errors import DomainError, Invalid


class BadRequest(DomainError):
    status = 400
    code = "invalid_json"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


def now():
    return current_app.clock.now()


def json_body() -> dict:
    if request.mimetype != "application/json":
        if not request.get_data(cache=True):
            return {}
        raise DomainError("Kirim data sebagai JSON (Content-Type: application/json).",
                          code="unsupported_media_type", status=415)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # "[[[[..." nested deeper than the parser goes
        raise BadRequest("Data JSON terlalu bertingkat.") from None
    if data is None:
        raw = request.get_data(cache=True)
        if not raw.strip():
            return {}
        raise BadRequest("Data JSON tidak dapat dibaca.")
    if not isinstance(data, dict):
        raise BadRequest("Data JSON harus berupa objek.")
    return data


def field(body: dict, name: str, kind=str, required: bool = True, max_length: int = 200):
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"Kolom '{name}' wajib diisi.", code="missing_field", field=name)
        return None
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"Kolom '{name}' harus berupa teks.", code="invalid_field",
                          field=name)
        if len(value) > max_length:
            raise Invalid(f"Kolom '{name}' terlalu panjang.", code="invalid_field",
                          field=name)
        return value.strip()
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise Invalid(f"Kolom '{name}' harus berupa bilangan bulat.", code="invalid_field",
                      field=name)
    if kind is list and not isinstance(value, list):
        raise Invalid(f"Kolom '{name}' harus berupa daftar.", code="invalid_field",
                      field=name)
    return value


def client_address() -> str:
    return request.remote_addr or "unknown"
