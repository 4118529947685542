"""Staff accounts, their API tokens and failed logins (throttling across workers)."""
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


class LoginAttempt(BaseModel):
    """Failed logins, for throttling across workers."""
    key = pw.CharField(max_length=200, index=True)
    at = pw.DateTimeField()
