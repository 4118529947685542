"""Who is asking: API callers by bearer token, pages by the login session. The rules of
who may do what live in `app.domain.accounts`; this module only finds the user."""
from functools import wraps

from flask import g, request
from flask_login import current_user

from ..domain import accounts
from ..domain.audit import Actor
from .inputs import Unauthorized, client_address, now


def bearer_token() -> str:
    """The caller's bearer token; 401 without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Perlu token: Authorization: Bearer <token>.")
    return token.strip()


def _token_user():
    user = accounts.user_for_token(bearer_token(), now())
    if user is None:
        raise Unauthorized("Token tidak berlaku atau sudah kedaluwarsa.",
                           code="invalid_token")
    return user


def token_required(view):
    """API views: a valid bearer token, its user in `g.api_user`."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.api_user = _token_user()
        return view(*args, **kwargs)
    wrapper.requires_token = True  # the OpenAPI test checks such views declare security
    return wrapper


def token_or_session_required(view):
    """Staff downloads under /api/ that a signed-in person also opens from a page (the
    SKM report): the bearer token's user when the request carries a token, else the
    signed-in user, in `g.api_user`; 401 for anyone else."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.headers.get("Authorization"):
            g.api_user = _token_user()
        else:
            user = optional_user()
            if user is None:
                raise Unauthorized("Perlu masuk sebagai petugas atau token: "
                                   "Authorization: Bearer <token>.")
            accounts.require_password_current(user)
            g.api_user = user
        return view(*args, **kwargs)
    wrapper.requires_token = True
    return wrapper


def signed_in_user():
    """The staff member behind a page request (after `login_required`)."""
    return current_user.user


def optional_user():
    """The signed-in staff member on a public page, or None for a citizen."""
    return current_user.user if current_user.is_authenticated else None


def current_actor() -> Actor:
    """Who is acting, for the audit trail: the API caller or the signed-in user, and
    the client address."""
    user = getattr(g, "api_user", None) or signed_in_user()
    return Actor.of(user, client_address())
