"""Users, API tokens, console sessions, login limits and who may act where.

Sessions end on the server: a console login is a `StaffSession` row whose random id
only the cookie knows (the row keeps its digest); logging out deletes it, and a password
change, a reset or a disabled account deletes every session and API token of the user
(`end_all_access`). Tokens expire after TOKEN_LIFETIME_HOURS (the view passes it).

Login limits, over a 15-minute window of failed logins (`LoginAttempt`, one row per
failure with the username tried and the client address):
- per (account, address): 5 failures lock that account from that address;
- per account, from any address: 10 failures lock the account (a supervisor of its hall,
  or an admin, unlocks it: `users.unlock_user`);
- per address, whatever the usernames: past 10 failures the address is slowed down,
  never locked out: each further attempt waits 2, 4, 8 ... at most 30 seconds after the
  last failure, so the colleagues behind one hall's address still sign in within a minute.
Every 429 carries how long to wait (`retry_after`); every lock is in the audit trail.
"""
import datetime as dt
import hashlib
import math
import secrets
import threading

import peewee as pw
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import as_utc_naive, iso
from ..db import Param, prepared, write_transaction
from ..errors import DomainError, Forbidden
from ..models import ApiToken, LoginAttempt, Site, StaffSession, User
from . import audit

TOKEN_LIFETIME = dt.timedelta(hours=12)  # the default of TOKEN_LIFETIME_HOURS
THROTTLE_WINDOW = dt.timedelta(minutes=15)
THROTTLE_MAX_FAILURES = 5             # per (account, address)
THROTTLE_MAX_ACCOUNT_FAILURES = 10    # per account, from any address
THROTTLE_FREE_CLIENT_FAILURES = 10    # per address before it is slowed down
THROTTLE_MAX_CLIENT_DELAY = 30        # seconds: the longest an address waits
# Compared against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
# One scrypt hash (werkzeug's n=2**15, r=8) takes 32 MiB and about 0.1 s of one core.
# Sixteen sign-ins at once (a shift starting at the centre) took one worker to 600 MiB;
# hashes take turns on HASH_SLOTS per process instead: the cores are busy either way,
# and the requests that don't hash keep some of them.
HASH_SLOTS = 2
_hashing = threading.BoundedSemaphore(HASH_SLOTS)


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"


class PasswordChangeRequired(DomainError):
    status = 403
    code = "password_change_required"


def hash_password(password: str) -> str:
    with _hashing:
        return generate_password_hash(password, method="scrypt")


def password_matches(password_hash: str, password: str) -> bool:
    with _hashing:
        return check_password_hash(password_hash, password)


def secret_digest(secret: str) -> str:
    """A random secret as stored (API token, session id, a board's credential or pairing
    secret): 256 random bits need no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


# --- login limits ----------------------------------------------------------------------

def _name_key(username: str) -> str:
    return (username or "").strip().lower()[:80]


def _wait_until_below(where, limit: int, since: dt.datetime) -> dt.datetime | None:
    """When the failures matching `where` (in the window) drop below `limit`: None when
    they already are."""
    rows = (LoginAttempt.select(LoginAttempt.at)
            .where(where & (LoginAttempt.at >= since)).order_by(LoginAttempt.at))
    count = rows.count()
    if count < limit:
        return None
    return rows.offset(count - limit).limit(1).scalar() + THROTTLE_WINDOW


def _client_delay(client: str, since: dt.datetime) -> dt.datetime | None:
    """An address past its free failures waits a little after its last failure."""
    failures = (LoginAttempt.select(pw.fn.COUNT(LoginAttempt.id), pw.fn.MAX(LoginAttempt.at))
                .where((LoginAttempt.client == client) & (LoginAttempt.at >= since)
                       & (LoginAttempt.pending == False))  # noqa: E712
                .tuples().first())
    count, last = failures if failures else (0, None)
    if not count or count <= THROTTLE_FREE_CLIENT_FAILURES:
        return None
    delay = min(THROTTLE_MAX_CLIENT_DELAY, 2 ** (count - THROTTLE_FREE_CLIENT_FAILURES))
    return last + dt.timedelta(seconds=delay)


def _refuse_until(until: dt.datetime, now: dt.datetime, message: str):
    seconds = max(1, math.ceil((until - as_utc_naive(now)).total_seconds()))
    minutes = math.ceil(seconds / 60)
    when = f"{seconds} detik" if seconds < 120 else f"{minutes} menit"
    raise TooManyAttempts(f"{message} Coba lagi dalam {when}.", retry_after=seconds)


def _check_limits(username: str, client: str, now: dt.datetime) -> None:
    since = as_utc_naive(now - THROTTLE_WINDOW)
    moment = as_utc_naive(now)
    account = LoginAttempt.username == username
    for until in (_wait_until_below(account, THROTTLE_MAX_ACCOUNT_FAILURES, since),
                  _wait_until_below(account & (LoginAttempt.client == client),
                                    THROTTLE_MAX_FAILURES, since)):
        if until is not None and until > moment:
            _refuse_until(until, now, "Terlalu banyak percobaan masuk: akun ini dikunci "
                          "sementara (supervisor dapat membukanya).")
    until = _client_delay(client, since)
    if until is not None and until > moment:
        _refuse_until(until, now, "Terlalu banyak percobaan masuk dari alamat ini.")


def _audit_locks(failure: LoginAttempt, now: dt.datetime) -> None:
    """The failure that locks an existing account (from its address, or at all) writes
    `user.lock` to the audit trail: counted up to this failure, so that two failures at
    once still write it once."""
    since = as_utc_naive(now - THROTTLE_WINDOW)
    upto = LoginAttempt.select().where((LoginAttempt.username == failure.username)
                                       & (LoginAttempt.at >= since)
                                       & (LoginAttempt.id <= failure.id))
    locks = []
    if upto.where(LoginAttempt.client == failure.client).count() == THROTTLE_MAX_FAILURES:
        locks.append("account_address")
    if upto.count() == THROTTLE_MAX_ACCOUNT_FAILURES:
        locks.append("account")
    user = User.get_or_none(User.username == failure.username) if locks else None
    for scope in locks if user else ():
        audit.record(audit.Actor("system", "system", client=failure.client), "user.lock",
                     f"user {user.username}", now,
                     site_code=user.site.code if user.site_id else "",
                     after={"scope": scope, "until": iso(as_utc_naive(now) + THROTTLE_WINDOW)})


def locked_usernames(usernames: list[str], now: dt.datetime) -> set[str]:
    """Which of these accounts are locked from everywhere, or from some address."""
    since = as_utc_naive(now - THROTTLE_WINDOW)
    recent = LoginAttempt.at >= since
    if not usernames:
        return set()
    names = [_name_key(name) for name in usernames]
    account = (LoginAttempt.select(LoginAttempt.username)
               .where(LoginAttempt.username.in_(names) & recent)
               .group_by(LoginAttempt.username)
               .having(pw.fn.COUNT(LoginAttempt.id) >= THROTTLE_MAX_ACCOUNT_FAILURES))
    pair = (LoginAttempt.select(LoginAttempt.username)
            .where(LoginAttempt.username.in_(names) & recent)
            .group_by(LoginAttempt.username, LoginAttempt.client)
            .having(pw.fn.COUNT(LoginAttempt.id) >= THROTTLE_MAX_FAILURES))
    return {row.username for row in account} | {row.username for row in pair}


def clear_failures(username: str) -> int:
    """Forget an account's failed logins (inside the caller's transaction): it is no
    longer locked, from anywhere. The address limits count on without them."""
    return LoginAttempt.delete().where(LoginAttempt.username == _name_key(username)).execute()


def authenticate(username: str, password: str, client: str, now: dt.datetime) -> User | None:
    """The active user with these credentials, or None. A locked account (from this
    address or at all) or a slowed-down address raise TooManyAttempts (with
    `retry_after`) before the password is checked. The attempt counts as a failure
    while its password is checked (the check and the count in one transaction, so that
    parallel guesses cannot slip past a limit); a success takes it back and is the
    user's last login."""
    name = _name_key(username)
    client = (client or "unknown")[:100]
    with write_transaction():
        _check_limits(name, client, now)
        failure = LoginAttempt.create(key=f"{name}|{client}", username=name, client=client,
                                      at=as_utc_naive(now), pending=True)
    user = User.get_or_none((User.username == username) & (User.active == True))  # noqa: E712
    ok = password_matches(user.password_hash if user else _DUMMY_HASH, password)
    with write_transaction():
        if ok and user:
            # Its own attempt and the pair's settled failures; attempts of the same
            # pair still being checked stay counted until they settle.
            LoginAttempt.delete().where(
                (LoginAttempt.id == failure.id)
                | ((LoginAttempt.username == name) & (LoginAttempt.client == client)
                   & (LoginAttempt.pending == False))).execute()  # noqa: E712
            user.last_login_at = as_utc_naive(now)
            User.update(last_login_at=user.last_login_at).where(User.id == user.id).execute()
            return user
        LoginAttempt.update(pending=False).where(LoginAttempt.id == failure.id).execute()
        LoginAttempt.delete().where(
            LoginAttempt.at < as_utc_naive(now - THROTTLE_WINDOW)).execute()
        _audit_locks(failure, now)
    return None


def require_password_current(user: User) -> None:
    """Refuse API tokens to an account that must first change its one-time password
    (in the console, at /loket/kata-sandi)."""
    if user.must_change_password:
        raise PasswordChangeRequired(
            "Kata sandi sementara harus diganti dahulu: masuk di /loket lalu ganti kata "
            "sandi.")


# --- API tokens ----------------------------------------------------------------------

def issue_token(user: User, now: dt.datetime, lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
    token = secrets.token_urlsafe(32)
    with write_transaction():
        ApiToken.create(token_hash=secret_digest(token), user=user, created_at=as_utc_naive(now),
                        expires_at=as_utc_naive(now + lifetime))
        ApiToken.delete().where(ApiToken.expires_at < as_utc_naive(now)).execute()
    return token


# Every staff API request starts here: prepared, rendered to SQL once (app/db.py).
_USER_FOR_TOKEN = prepared(lambda: (
    User.select().join(ApiToken, on=(ApiToken.user == User.id))
    .where((ApiToken.token_hash == Param("digest"))
           & (ApiToken.expires_at > Param("now")) & (User.active == True))  # noqa: E712
    .limit(1)))


def user_for_token(token: str, now: dt.datetime) -> User | None:
    return _USER_FOR_TOKEN.first(User, digest=secret_digest(token), now=as_utc_naive(now))


def revoke_token(token: str) -> bool:
    """End one API token (the caller's logout); whether it existed."""
    with write_transaction():
        return ApiToken.delete().where(ApiToken.token_hash == secret_digest(token)).execute() > 0


# --- console sessions ------------------------------------------------------------------

def start_session(user: User, now: dt.datetime, lifetime: dt.timedelta) -> str:
    """A new console session for `user`; the random id goes into the cookie alone."""
    session_id = secrets.token_urlsafe(32)
    with write_transaction():
        StaffSession.create(id_hash=secret_digest(session_id), user=user,
                            created_at=as_utc_naive(now),
                            expires_at=as_utc_naive(now + lifetime))
        StaffSession.delete().where(StaffSession.expires_at < as_utc_naive(now)).execute()
    return session_id


def user_for_session(session_id: str, user_id: int, now: dt.datetime) -> User | None:
    """The active user of a live session, or None when it ended (logout, password
    change, disabled account) or expired."""
    if not session_id:
        return None
    row = (StaffSession.select(StaffSession, User).join(User)
           .where((StaffSession.id_hash == secret_digest(session_id))
                  & (StaffSession.user == user_id)
                  & (StaffSession.expires_at > as_utc_naive(now))
                  & (User.active == True))  # noqa: E712
           .first())
    return row.user if row else None


def end_session(session_id: str) -> None:
    """Logout: the session's row goes, and with it every copy of the cookie."""
    if session_id:
        with write_transaction():
            StaffSession.delete().where(StaffSession.id_hash == secret_digest(session_id)).execute()


def end_all_access(user: User | int) -> None:
    """Every console session and API token of `user` ends now (inside the caller's
    transaction): a password change, a reset, a disabled account."""
    StaffSession.delete().where(StaffSession.user == user).execute()
    ApiToken.delete().where(ApiToken.user == user).execute()


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
