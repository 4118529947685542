"""Staff accounts, their API tokens, their console sessions and failed logins (throttling
across workers)."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Agency, Site


class User(BaseModel):
    username = pw.CharField(unique=True, max_length=80)
    password_hash = pw.CharField()
    role = pw.CharField(max_length=12)  # admin | operator | supervisor | officer
    site = pw.ForeignKeyField(Site, null=True)
    agency = pw.ForeignKeyField(Agency, null=True)
    full_name = pw.CharField(default="")
    active = pw.BooleanField(default=True)  # disabled, never deleted: history stays
    must_change_password = pw.BooleanField(default=False)  # after a one-time password
    last_login_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(null=True)


class ApiToken(BaseModel):
    token_hash = pw.CharField(unique=True, max_length=64)
    user = pw.ForeignKeyField(User, backref="tokens")
    created_at = pw.DateTimeField()
    expires_at = pw.DateTimeField()


class StaffSession(BaseModel):
    """A console login. The session cookie carries a random id, this row its digest:
    logging out, a password change or a disabled account deletes the row, and a cookie
    saved before then no longer signs anyone in."""
    id_hash = pw.CharField(unique=True, max_length=64)
    user = pw.ForeignKeyField(User, backref="sessions")
    created_at = pw.DateTimeField()
    expires_at = pw.DateTimeField(index=True)


class LoginAttempt(BaseModel):
    """Failed logins, for throttling across workers: one row per failure, with the
    username tried and the client address."""
    key = pw.CharField(max_length=200, index=True)  # "username|client"
    at = pw.DateTimeField()
    username = pw.CharField(max_length=80, default="", index=True)
    client = pw.CharField(max_length=100, default="", index=True)
    # Counted against the account while its password is checked; the address's
    # slow-down counts settled failures only, so a hall's operators signing in at the
    # same moment from one address are not slowed down by each other.
    pending = pw.BooleanField(default=False)
