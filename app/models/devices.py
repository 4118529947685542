"""A hall's registered boards (TVs) and the pairing codes they show before that."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Site


class BoardDevice(BaseModel):
    """A TV registered as a board of its hall by a supervisor. Its credential (a long
    random cookie) is stored hashed (sha256): set when the TV claims it after pairing,
    or at once for a board registered without a code (`board_devices.register`)."""
    site = pw.ForeignKeyField(Site, backref="board_devices")
    name = pw.CharField(max_length=80)
    credential_hash = pw.CharField(max_length=64, null=True, unique=True)
    paired_at = pw.DateTimeField()
    paired_by = pw.CharField(max_length=80, default="")
    claimed_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)
    revoked_by = pw.CharField(max_length=80, default="")


class BoardPairing(BaseModel):
    """A pairing code shown by an unregistered TV. The TV holds the secret (a cookie,
    stored hashed here); a supervisor entering the code links the pairing to a new
    `BoardDevice`, and the TV then claims the device's credential once."""
    site = pw.ForeignKeyField(Site, backref="board_pairings")
    code = pw.CharField(max_length=8)
    secret_hash = pw.CharField(max_length=64, unique=True)
    address = pw.CharField(max_length=100, default="")
    created_at = pw.DateTimeField()
    expires_at = pw.DateTimeField()
    device = pw.ForeignKeyField(BoardDevice, null=True, backref="pairings")
    claimed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("site", "code"), False),)
