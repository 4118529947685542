"""Staff accounts: creating, editing, disabling and enabling them, one-time passwords and
changing one's own password. Accounts are never deleted: their history stays.

Who manages whom (`actor` is an `audit.Actor`, built from the signed-in user):
- an admin manages every account, `system` (the CLI) too;
- a supervisor sees and manages only the operators of their own hall: they cannot
  create admins, supervisors or officers, nor touch another hall;
- nobody raises their own role or disables themself, and the last active admin is
  neither disabled nor demoted.
Every change writes its audit entry (`user.create`, `user.update`, `user.disable`,
`user.enable`, `user.reset_password`, `user.change_password`, `user.unlock`) in its own
transaction; a password never reaches the trail. Disabling, a reset and a password
change end every console session and API token of the account at once
(`accounts.end_all_access`); unlocking forgets its failed logins (`accounts`' limits).
"""
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import peewee as pw

from ..clock import as_utc_naive, iso
from ..db import write_transaction
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import Agency, Site, User
from . import accounts, audit, hall_state, passwords, plaintext
from .accounts import hash_password, password_matches

ROLES = ("admin", "supervisor", "operator", "officer")
ROLE_NAMES = {"admin": "Admin", "supervisor": "Supervisor", "operator": "Operator",
              "officer": "Petugas instansi"}
HALL_ROLES = ("supervisor", "operator")  # these belong to a hall
RANK = {"operator": 1, "officer": 1, "supervisor": 2, "admin": 3}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")
MAX_NAME = 120


@dataclass(frozen=True)
class Created:
    user: User
    one_time_password: str | None  # shown once; None when the password was given


def user_dict(user: User) -> dict:
    """The API's shape of an account (DESIGN: GET /api/v1/admin/users)."""
    return {"username": user.username, "name": user.full_name, "role": user.role,
            "site": user.site.code if user.site_id else None,
            "agency": user.agency.code if user.agency_id else None,
            "active": bool(user.active), "last_login_at": iso(user.last_login_at),
            "locked": bool(getattr(user, "locked", False))}


def _trail(user: User) -> dict:
    """What the audit trail keeps of an account (never a password)."""
    return {"name": user.full_name, "role": user.role,
            "site": user.site.code if user.site_id else None,
            "agency": user.agency.code if user.agency_id else None,
            "active": bool(user.active)}


# --- who may see and manage whom -------------------------------------------------------

def may_manage_accounts(role: str) -> bool:
    return role in ("admin", "supervisor", "system")


def require_manager(actor: audit.Actor) -> None:
    if not may_manage_accounts(actor.role):
        raise Forbidden("Hanya admin atau supervisor yang dapat mengelola pengguna.")


def _in_scope(actor: audit.Actor, role: str, site_code: str | None) -> bool:
    if actor.role in ("admin", "system"):
        return True
    return (actor.role == "supervisor" and role == "operator"
            and bool(actor.site_code) and site_code == actor.site_code)


def _require_scope(actor: audit.Actor, role: str, site_code: str | None) -> None:
    if not _in_scope(actor, role, site_code):
        if actor.role == "supervisor":
            raise Forbidden("Supervisor hanya dapat mengelola operator di lokasinya sendiri.")
        raise Forbidden("Hanya admin yang dapat mengelola akun ini.")


def visible(actor: audit.Actor, search: str = "", now: dt.datetime | None = None
            ) -> list[User]:
    """The accounts this actor may see, matching `search` (username, name, hall code or
    name, role), by role then username. With `now`, each says whether it is `locked`
    (too many failed logins)."""
    require_manager(actor)
    query = (User.select(User, Site, Agency)
             .join(Site, pw.JOIN.LEFT_OUTER, on=(User.site == Site.id))
             .switch(User)
             .join(Agency, pw.JOIN.LEFT_OUTER, on=(User.agency == Agency.id)))
    if actor.role == "supervisor":
        query = query.where((User.role == "operator") & (Site.code == actor.site_code))
    words = (search or "").strip().lower().split()
    for word in words[:5]:
        like = f"%{word[:80]}%"
        roles = [role for role, name in ROLE_NAMES.items()
                 if word in role or word in name.lower()]
        query = query.where(
            (User.username ** like) | (User.full_name ** like) | (Site.code ** like)
            | (Site.name ** like) | User.role.in_(roles or [""]))
    order = pw.Case(User.role, [(r, i) for i, r in enumerate(ROLES)], len(ROLES))
    rows = list(query.order_by(order, User.username).limit(1000))
    if now is not None:
        locked = accounts.locked_usernames([u.username for u in rows], now)
        for user in rows:
            user.locked = user.username in locked
    return rows


def is_locked(user: User, now: dt.datetime) -> bool:
    """Whether too many failed logins lock this account (from everywhere or from some
    address)."""
    return user.username in accounts.locked_usernames([user.username], now)


def get_visible(actor: audit.Actor, username: str) -> User:
    """One account this actor may manage; 404 when there is none, 403 when it is
    someone else's to manage."""
    require_manager(actor)
    user = _get(username)
    _require_scope(actor, user.role, user.site.code if user.site_id else None)
    return user


def _get(username: str) -> User:
    user = (User.select(User).where(User.username == (username or "").strip().lower())
            .first())
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.", code="unknown_user")
    return user


def active_admin_exists() -> bool:
    return User.select().where((User.role == "admin") & (User.active == True)).exists()  # noqa: E712


def _other_active_admins(user: User) -> int:
    return (User.select().where((User.role == "admin") & (User.active == True)  # noqa: E712
                                & (User.id != user.id)).count())


# --- validation --------------------------------------------------------------------------

def _username(raw: str) -> str:
    username = (raw or "").strip().lower()
    if not USERNAME.match(username):
        raise Invalid("Nama pengguna 3-80 karakter: huruf kecil, angka, titik, garis bawah "
                      "atau tanda hubung, diawali huruf atau angka.",
                      code="invalid_username", field="username")
    return username


def _name(raw: str | None) -> str:
    name = plaintext.single_line(raw or "", "name", "Nama lengkap")
    if not name:
        raise Invalid("Nama lengkap wajib diisi.", code="missing_field", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"Nama lengkap maksimal {MAX_NAME} karakter.", code="invalid_field",
                      field="name")
    return name


def _placement(role: str, site_code: str | None, agency_code: str | None):
    """(site, agency) for this role: a hall for supervisors and operators, an agency for
    officers, neither for admins."""
    if role not in ROLES:
        raise Invalid("Peran harus admin, supervisor, operator atau officer.",
                      code="invalid_role", field="role")
    site = agency = None
    if role in HALL_ROLES:
        if not site_code:
            raise Invalid("Pilih lokasi (hall) untuk supervisor dan operator.",
                          code="missing_field", field="site")
        site = Site.get_or_none(Site.code == site_code.strip())
        if site is None:
            raise Invalid("Lokasi tidak dikenal.", code="unknown_site", field="site")
    if role == "officer":
        if not agency_code:
            raise Invalid("Pilih instansi untuk petugas instansi.", code="missing_field",
                          field="agency")
        agency = Agency.get_or_none(Agency.code == agency_code.strip())
        if agency is None:
            raise Invalid("Instansi tidak dikenal.", code="unknown_agency", field="agency")
    return site, agency


@lru_cache(maxsize=4)
def _demo_hash(password: str) -> str:
    # One hash for the shared demo password keeps the demo's first start fast.
    return hash_password(password)


# --- verbs ------------------------------------------------------------------------------

def create_user(actor: audit.Actor, now: dt.datetime, username: str, name: str, role: str,
                site: str | None = None, agency: str | None = None,
                password: str | None = None, demo: bool = False) -> Created:
    """A new account. Without `password` it gets a one-time password (returned, shown
    once) that must be changed at the first login. `demo=True` is for the demo loader
    alone: its shared password (`demo`) skips the policy, and loading seed data writes
    no audit entry."""
    if not demo:
        require_manager(actor)
    username = _username(username)
    name = _name(name)
    site_obj, agency_obj = _placement(role, site, agency)
    if not demo:
        _require_scope(actor, role, site_obj.code if site_obj else None)
    one_time = None
    if password is None:
        one_time = passwords.one_time_password(username)
        password_hash = hash_password(one_time)
    elif demo:
        password_hash = _demo_hash(password)
    else:
        passwords.check(password, username)
        password_hash = hash_password(password)
    with write_transaction():
        if User.select().where(pw.fn.LOWER(User.username) == username).exists():
            raise Conflict(f"Nama pengguna '{username}' sudah dipakai.",
                           code="username_taken", field="username")
        user = User.create(username=username, password_hash=password_hash, role=role,
                           site=site_obj, agency=agency_obj, full_name=name, active=True,
                           must_change_password=one_time is not None,
                           created_at=as_utc_naive(now))
        if not demo:
            audit.record(actor, "user.create", f"user {username}", now,
                         site_code=site_obj.code if site_obj else "",
                         after={"username": username, **_trail(user)})
            hall_state.changed(site_obj, now)
    return Created(user, one_time)


def update_user(actor: audit.Actor, now: dt.datetime, username: str, *,
                name: str | None = None, role: str | None = None, site: str | None = None,
                agency: str | None = None, active: bool | None = None) -> User:
    """Change name, role, hall or agency (`user.update`) and/or disable or enable the
    account (`user.disable` / `user.enable`), all in one transaction. Disabling ends the
    account's console sessions and API tokens at once."""
    require_manager(actor)
    with write_transaction():
        user = _get(username)
        before = _trail(user)
        before_site = before["site"]
        _require_scope(actor, user.role, before_site)
        new_role = role if role is not None else user.role
        placement_changes = role is not None or site is not None or agency is not None
        if placement_changes:
            site_code = site if site is not None else (
                before_site if new_role in HALL_ROLES else None)
            agency_code = agency if agency is not None else (
                before["agency"] if new_role == "officer" else None)
            site_obj, agency_obj = _placement(new_role, site_code, agency_code)
            _require_scope(actor, new_role, site_obj.code if site_obj else None)
            user.role, user.site, user.agency = new_role, site_obj, agency_obj
        if name is not None:
            user.full_name = _name(name)
        if active is not None:
            user.active = bool(active)
        myself = user.username == actor.username
        if myself and RANK.get(user.role, 0) > RANK.get(before["role"], 0):
            raise Forbidden("Anda tidak dapat menaikkan peran akun Anda sendiri.",
                            code="own_role")
        if myself and before["active"] and not user.active:
            raise Forbidden("Anda tidak dapat menonaktifkan akun Anda sendiri.",
                            code="own_account")
        if (before["role"] == "admin" and before["active"]
                and (user.role != "admin" or not user.active)
                and _other_active_admins(user) == 0):
            raise Conflict("Ini admin aktif terakhir: tidak dapat dinonaktifkan atau "
                           "diturunkan perannya.", code="last_admin")
        after = _trail(user)
        user.save()
        site_code = after["site"] or before_site or ""
        label = f"user {user.username}"
        fields_before = {k: v for k, v in before.items() if k != "active"}
        fields_after = {k: v for k, v in after.items() if k != "active"}
        old, new = audit.changed(fields_before, fields_after)
        if new:
            audit.record(actor, "user.update", label, now, site_code=site_code,
                         before=old, after=new)
        if before["active"] != after["active"]:
            if not after["active"]:
                accounts.end_all_access(user)
            audit.record(actor, "user.enable" if after["active"] else "user.disable",
                         label, now, site_code=site_code, before={"active": before["active"]},
                         after={"active": after["active"]})
        if new or before["active"] != after["active"]:
            hall_state.changed(user.site_id, now)
            if before_site and before_site != after["site"]:  # moved away from a hall
                hall_state.changed(Site.get(Site.code == before_site), now)
    return user


def disable_user(actor: audit.Actor, now: dt.datetime, username: str) -> User:
    return update_user(actor, now, username, active=False)


def enable_user(actor: audit.Actor, now: dt.datetime, username: str) -> User:
    return update_user(actor, now, username, active=True)


def reset_password(actor: audit.Actor, now: dt.datetime, username: str) -> str:
    """A new one-time password (returned, to be shown once); the account must change it
    at its next login, and its console sessions and API tokens end now."""
    require_manager(actor)
    user = get_visible(actor, username)
    one_time = passwords.one_time_password(user.username)
    password_hash = hash_password(one_time)
    with write_transaction():
        user = _get(username)
        _require_scope(actor, user.role, user.site.code if user.site_id else None)
        User.update(password_hash=password_hash, must_change_password=True).where(
            User.id == user.id).execute()
        accounts.end_all_access(user)
        audit.record(actor, "user.reset_password", f"user {user.username}", now,
                     site_code=user.site.code if user.site_id else "",
                     after={"must_change_password": True})
    return one_time


def change_password(user: User, now: dt.datetime, current: str, new: str, repeat: str,
                    client: str = "") -> None:
    """The account's own password change (forced after a one-time password): the current
    password, the new one twice, the policy, and not the same as before. Every session
    and API token of the account ends, the one it was changed in too: the console signs
    its user in again (`accounts.start_session`)."""
    if not password_matches(user.password_hash, current or ""):
        raise Invalid("Kata sandi sekarang salah.", code="wrong_password", field="current")
    if new != repeat:
        raise Invalid("Kedua kata sandi baru tidak sama.", code="passwords_differ",
                      field="repeat")
    passwords.check(new, user.username, field="new")
    if password_matches(user.password_hash, new):
        raise Invalid("Kata sandi baru harus berbeda dari yang lama.",
                      code="same_password", field="new")
    password_hash = hash_password(new)
    with write_transaction():
        User.update(password_hash=password_hash, must_change_password=False).where(
            User.id == user.id).execute()
        accounts.end_all_access(user)
        audit.record(audit.Actor.of(user, client), "user.change_password",
                     f"user {user.username}", now,
                     site_code=user.site.code if user.site_id else "")
    user.password_hash, user.must_change_password = password_hash, False


def unlock_user(actor: audit.Actor, now: dt.datetime, username: str) -> User:
    """Unlock an account locked by failed logins (`user.unlock`): a supervisor for the
    operators of their hall, an admin for anyone. Its failures are forgotten."""
    require_manager(actor)
    with write_transaction():
        user = _get(username)
        site_code = user.site.code if user.site_id else ""
        _require_scope(actor, user.role, site_code or None)
        was_locked = is_locked(user, now)
        accounts.clear_failures(user.username)
        audit.record(actor, "user.unlock", f"user {user.username}", now,
                     site_code=site_code, before={"locked": was_locked},
                     after={"locked": False})
    user.locked = False
    return user


def options(actor: audit.Actor) -> dict:
    """What the create and edit forms offer this actor: roles, halls and agencies."""
    if actor.role == "supervisor":
        return {"roles": ["operator"],
                "sites": list(Site.select().where(Site.code == actor.site_code)),
                "agencies": []}
    return {"roles": list(ROLES),
            "sites": list(Site.select().order_by(Site.kind.desc(), Site.name)),
            "agencies": list(Agency.select().order_by(Agency.name))}
