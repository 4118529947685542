"""Who is asking: API callers by bearer token, pages by the login session. The rules of
who may do what live in `app.domain.accounts`; this module only finds the user."""
from functools import wraps

from flask import g, request
from flask_login import current_user

from ..domain import accounts
from ..domain.audit import Actor
from .inputs import Unauthorized, client_address, now


def token_required(view):
    """API views: a valid bearer token, its user in `g.api_user`."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Perlu token: Authorization: Bearer <token>.")
        user = accounts.user_for_token(token.strip(), now())
        if user is None:
            raise Unauthorized("Token tidak berlaku atau sudah kedaluwarsa.",
                               code="invalid_token")
        g.api_user = user
        return view(*args, **kwargs)
    return wrapper


def signed_in_user():
    """The staff member behind a page request (after `login_required`)."""
    return current_user.user


def current_actor() -> Actor:
    """Who is acting, for the audit trail: the API caller or the signed-in user, and
    the client address."""
    user = getattr(g, "api_user", None) or signed_in_user()
    return Actor.of(user, client_address())
