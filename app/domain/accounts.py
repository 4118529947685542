"""Users, API tokens, login throttling and who may act where."""
import datetime as dt
import hashlib
import secrets

import peewee as pw
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import as_utc_naive
from ..db import Param, prepared, write_transaction
from ..errors import DomainError, Forbidden
from ..models import ApiToken, LoginAttempt, Site, User

TOKEN_LIFETIME = dt.timedelta(hours=12)
THROTTLE_WINDOW = dt.timedelta(minutes=15)
THROTTLE_MAX_FAILURES = 5            # per username and client
THROTTLE_MAX_CLIENT_FAILURES = 30    # per client, whatever the usernames tried
# Compared against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"


class PasswordChangeRequired(DomainError):
    status = 403
    code = "password_change_required"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _failures(key: str, since: dt.datetime) -> int:
    return (LoginAttempt.select(pw.fn.COUNT(LoginAttempt.id))
            .where((LoginAttempt.key == key) & (LoginAttempt.at >= since)).scalar())


def authenticate(username: str, password: str, client: str, now: dt.datetime) -> User | None:
    """The active user with these credentials, or None. Too many recent failures for
    this username from this client, or from this client at all, raise TooManyAttempts
    before the password is checked. A success is the user's last login."""
    user_key = f"{username.lower()[:80]}|{client[:100]}"
    client_key = f"*|{client[:100]}"
    since = as_utc_naive(now - THROTTLE_WINDOW)
    if (_failures(user_key, since) >= THROTTLE_MAX_FAILURES
            or _failures(client_key, since) >= THROTTLE_MAX_CLIENT_FAILURES):
        raise TooManyAttempts("Terlalu banyak percobaan masuk. Coba lagi 15 menit lagi.")
    user = User.get_or_none((User.username == username) & (User.active == True))  # noqa: E712
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    with write_transaction():
        if ok and user:
            LoginAttempt.delete().where(LoginAttempt.key == user_key).execute()
            user.last_login_at = as_utc_naive(now)
            User.update(last_login_at=user.last_login_at).where(User.id == user.id).execute()
            return user
        LoginAttempt.insert_many([{"key": user_key, "at": as_utc_naive(now)},
                                  {"key": client_key, "at": as_utc_naive(now)}]).execute()
        LoginAttempt.delete().where(LoginAttempt.at < since).execute()
    return None


def require_password_current(user: User) -> None:
    """Refuse API tokens to an account that must first change its one-time password
    (in the console, at /loket/kata-sandi)."""
    if user.must_change_password:
        raise PasswordChangeRequired(
            "Kata sandi sementara harus diganti dahulu: masuk di /loket lalu ganti kata "
            "sandi.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, now: dt.datetime) -> str:
    token = secrets.token_urlsafe(32)
    with write_transaction():
        ApiToken.create(token_hash=_digest(token), user=user, created_at=as_utc_naive(now),
                        expires_at=as_utc_naive(now + TOKEN_LIFETIME))
        ApiToken.delete().where(ApiToken.expires_at < as_utc_naive(now)).execute()
    return token


# Every staff API request starts here: prepared, rendered to SQL once (app/db.py).
_USER_FOR_TOKEN = prepared(lambda: (
    User.select().join(ApiToken, on=(ApiToken.user == User.id))
    .where((ApiToken.token_hash == Param("digest"))
           & (ApiToken.expires_at > Param("now")) & (User.active == True))  # noqa: E712
    .limit(1)))


def user_for_token(token: str, now: dt.datetime) -> User | None:
    return _USER_FOR_TOKEN.first(User, digest=_digest(token), now=as_utc_naive(now))


def site_codes(user: User) -> list[str]:
    if user.role in ("admin", "officer"):
        return [s.code for s in Site.select(Site.code).order_by(Site.id)]
    return [user.site.code] if user.site_id else []


HALL_STAFF = ("operator", "supervisor")


def has_site_role(user: User, site_id: int, roles: tuple[str, ...] = HALL_STAFF) -> bool:
    """The one rule of who acts in a hall: its own staff in one of `roles`, and admin
    everywhere."""
    return user.role == "admin" or (user.role in roles and user.site_id == site_id)


def require_site_role(user: User, site: Site, roles: tuple[str, ...] = HALL_STAFF,
                      message: str | None = None) -> None:
    if not has_site_role(user, site.id, roles):
        raise Forbidden(message or f"Akun ini tidak berwenang di {site.name}.")


def require_admin(user: User, message: str | None = None) -> None:
    if user.role != "admin":
        raise Forbidden(message or "Hanya admin yang dapat melakukan ini.")
