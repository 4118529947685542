"""Boards as registered devices of their hall.

A TV opening a hall's board page without a credential shows a pairing code
(`open_board`: "4F7K-2Q") and keeps a pairing secret (a cookie). A supervisor of that
hall, or an admin, enters the code with a name (`pair`): a `BoardDevice` exists from
then on, and the TV's next look (`poll`, or reloading the page) claims the device's
credential, a long random string set as a long-lived HttpOnly cookie and stored here
only as its sha256. The board socket then admits the TV as a registered board of that
hall (`authenticate`), with the hall's own allowance of sockets instead of the small
per-address one of unregistered clients (`boards.hub`). Supervisors see the hall's
boards (`devices_of`) and revoke them (`revoke`: the credential stops working at once,
and the hall's open sockets of that board are closed). Pairing and revocation are in
the audit trail. `register` makes a board without a code (tests, benchmarks, scripts
on the box itself).
"""
import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass

from .. import events
from ..clock import as_utc_naive
from ..db import write_transaction
from ..errors import DomainError, Forbidden, Invalid, NotFound
from ..models import BoardDevice, BoardPairing, Site
from . import audit
from .accounts import secret_digest as hashed

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off a TV
CODE_LENGTH = 6
PAIRING_MINUTES = 15  # a code is valid this long after the TV showed it
CLAIM_HOURS = 24  # after the supervisor's pairing, the TV has this long to claim
PENDING_MAX = 200  # codes waiting at once in one hall (anyone may open the page)
PENDING_PER_ADDRESS = 5  # ... and from one address, so one client cannot block the rest
NAME_MAX = 80
SECRET_MAX = 200  # longer cookies are not ours
REVOKED_EVENT = "board_revoked"  # handled by the hub: never reaches a board as such


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def format_code(code: str) -> str:
    """"4F7K2Q" as shown on the TV and typed by the supervisor: "4F7K-2Q"."""
    return f"{code[:4]}-{code[4:]}"


def normalise_code(text: str | None) -> str:
    """The code as typed ("4f7k 2q", "4F7K-2Q") in its stored form, or Invalid."""
    code = re.sub(r"[\s-]", "", (text or "")[:20]).upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        raise Invalid("Kode pemasangan terdiri dari 6 huruf dan angka seperti yang tampil "
                      "di TV, mis. 4F7K-2Q.", code="invalid_pairing_code", field="code")
    return code


def clean_name(text: str | None) -> str:
    name = (text or "").strip()
    if not name:
        raise Invalid("Beri nama papan ini, mis. \"TV ruang tunggu 1\".",
                      code="missing_field", field="name")
    if len(name) > NAME_MAX:
        raise Invalid(f"Nama papan paling banyak {NAME_MAX} karakter.",
                      code="invalid_field", field="name")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise Invalid("Nama papan tidak boleh memuat karakter kendali.",
                      code="invalid_field", field="name")
    return name


@dataclass
class BoardAccess:
    """What the board page of one browser gets (`open_board`): a registered `device`
    (with `new_credential` to set when it was claimed just now), else the `pairing`
    to show (with `new_secret` to set when it was started just now)."""
    device: BoardDevice | None = None
    new_credential: str | None = None
    pairing: BoardPairing | None = None
    new_secret: str | None = None

    @property
    def code(self) -> str:
        return format_code(self.pairing.code) if self.pairing else ""


def authenticate(site: Site, credential: str | None) -> BoardDevice | None:
    """The hall's registered, unrevoked board holding `credential`, else None."""
    if not credential or len(credential) > SECRET_MAX:
        return None
    return (BoardDevice.select()
            .where(BoardDevice.credential_hash == hashed(credential),
                   BoardDevice.site == site.id, BoardDevice.revoked_at.is_null())
            .first())


def socket_device(site: Site, credential: str | None) -> BoardDevice | None:
    """Who opens a board socket of `site`: its registered board holding `credential`,
    or None (an unregistered client). Forbidden (`board_revoked`) for the credential of
    a board revoked since: it pairs again."""
    device = authenticate(site, credential)
    if device is None and credential and len(credential) <= SECRET_MAX and (
            BoardDevice.select().where(BoardDevice.credential_hash == hashed(credential),
                                       BoardDevice.revoked_at.is_null(False)).exists()):
        raise Forbidden(f"Papan ini sudah dicabut dari daftar papan {site.name}; buka ulang "
                        "halaman papan untuk kode pemasangan baru.", code="board_revoked")
    return device


def open_board(site: Site, credential: str | None, secret: str | None, now: dt.datetime,
               address: str = "") -> BoardAccess:
    """The board page: the registered device, or the TV's pairing claimed now, or its
    pairing code still waiting, or a new code (Conflict 429 when too many wait)."""
    device = authenticate(site, credential)
    if device is not None:
        return BoardAccess(device=device)
    with write_transaction():
        pairing = _pairing(site, secret)
        utc = as_utc_naive(now)
        if pairing is not None and pairing.device_id is not None:
            credential = _claim(pairing, utc)
            if credential:
                return BoardAccess(device=pairing.device, new_credential=credential)
        elif pairing is not None and pairing.expires_at > utc:
            return BoardAccess(pairing=pairing)
        return _start(site, utc, address)


def poll(site: Site, secret: str | None, now: dt.datetime) -> BoardAccess | None:
    """What the pairing screen asks every few seconds: its pairing still waiting, or the
    device's credential once a supervisor entered the code (claimed once), or None
    (expired, unknown or claimed already: the page asks for a new code)."""
    with write_transaction():
        pairing = _pairing(site, secret)
        utc = as_utc_naive(now)
        if pairing is None:
            return None
        if pairing.device_id is not None:
            credential = _claim(pairing, utc)
            return BoardAccess(device=pairing.device, new_credential=credential) \
                if credential else None
        return BoardAccess(pairing=pairing) if pairing.expires_at > utc else None


def pair(site: Site, code: str, name: str, now: dt.datetime,
         actor: audit.Actor) -> BoardDevice:
    """A supervisor (the view checked who) registers the TV showing `code` as a board
    of `site` named `name`. NotFound when no TV of this hall shows that code."""
    code, name = normalise_code(code), clean_name(name)
    utc = as_utc_naive(now)
    with write_transaction():
        pairing = (BoardPairing.select()
                   .where(BoardPairing.site == site.id, BoardPairing.code == code,
                          BoardPairing.device.is_null(), BoardPairing.expires_at > utc)
                   .order_by(BoardPairing.created_at.desc()).first())
        if pairing is None:
            raise NotFound(f"Tidak ada papan {site.name} yang menampilkan kode "
                           f"{format_code(code)}, atau kodenya sudah kedaluwarsa. Buka "
                           "ulang halaman papan di TV untuk kode baru.",
                           code="unknown_pairing_code")
        device = BoardDevice.create(site=site, name=name, paired_at=utc,
                                    paired_by=actor.username[:80])
        taken = (BoardPairing.update(device=device)
                 .where(BoardPairing.id == pairing.id, BoardPairing.device.is_null())
                 .execute())
        if not taken:  # paired by someone else in the same moment
            raise NotFound("Kode pemasangan ini baru saja dipakai.",
                           code="unknown_pairing_code")
        audit.record(actor, "board.pair", f"board:{device.id}", now, site.code,
                     after={"name": name, "code": format_code(code),
                            "address": pairing.address})
    return device


def register(site: Site, name: str, now: dt.datetime,
             actor: audit.Actor | str = audit.SYSTEM) -> tuple[BoardDevice, str]:
    """A registered board and its credential at once, without a TV showing a code
    (tests, benchmarks, a script on the box). Audited as `board.register`."""
    name = clean_name(name)
    credential = new_secret()
    utc = as_utc_naive(now)
    with write_transaction():
        device = BoardDevice.create(site=site, name=name, paired_at=utc, claimed_at=utc,
                                    credential_hash=hashed(credential),
                                    paired_by=getattr(actor, "username", actor)[:80])
        audit.record(actor, "board.register", f"board:{device.id}", now, site.code,
                     after={"name": name})
    return device, credential


def revoke(site: Site, device_id: int, now: dt.datetime,
           actor: audit.Actor) -> BoardDevice:
    """The board's credential stops working; its open sockets are closed (after commit,
    through the hub of every worker). Revoking a revoked board changes nothing."""
    with write_transaction():
        device = BoardDevice.get_or_none(BoardDevice.id == device_id,
                                         BoardDevice.site == site.id)
        if device is None:
            raise NotFound("Papan tidak dikenal di lokasi ini.", code="unknown_board")
        if device.revoked_at is not None:
            return device
        device.revoked_at = as_utc_naive(now)
        device.revoked_by = actor.username[:80]
        device.save()
        audit.record(actor, "board.revoke", f"board:{device.id}", now, site.code,
                     before={"name": device.name})
        events.publish_after_commit(site.code, {"type": REVOKED_EVENT, "device": device.id})
    return device


def devices_of(site: Site, limit: int = 200) -> list[BoardDevice]:
    """The hall's boards, registered ones first, newest first."""
    return list(BoardDevice.select()
                .where(BoardDevice.site == site.id)
                .order_by(BoardDevice.revoked_at.is_null(False), BoardDevice.paired_at.desc(),
                          BoardDevice.id.desc())
                .limit(limit))


def as_dict(device: BoardDevice) -> dict:
    """The JSON shape of a board (never its credential)."""
    def iso(value):
        return value.replace(tzinfo=dt.timezone.utc).isoformat() if value else None
    return {"id": device.id, "name": device.name, "paired_at": iso(device.paired_at),
            "paired_by": device.paired_by, "claimed": device.claimed_at is not None,
            "revoked_at": iso(device.revoked_at), "revoked_by": device.revoked_by or None,
            "status": ("dicabut" if device.revoked_at else
                       "aktif" if device.claimed_at else "menunggu TV")}


# --- inside the transaction ------------------------------------------------------------

def _pairing(site: Site, secret: str | None) -> BoardPairing | None:
    if not secret or len(secret) > SECRET_MAX:
        return None
    return (BoardPairing.select()
            .where(BoardPairing.secret_hash == hashed(secret), BoardPairing.site == site.id,
                   BoardPairing.claimed_at.is_null())
            .first())


def _claim(pairing: BoardPairing, utc: dt.datetime) -> str | None:
    """The device's credential, made now and handed out once."""
    device = pairing.device
    if device.revoked_at is not None or device.claimed_at is not None \
            or utc - device.paired_at > dt.timedelta(hours=CLAIM_HOURS):
        return None
    taken = (BoardPairing.update(claimed_at=utc)
             .where(BoardPairing.id == pairing.id, BoardPairing.claimed_at.is_null())
             .execute())
    if not taken:
        return None
    credential = new_secret()
    device.credential_hash = hashed(credential)
    device.claimed_at = utc
    device.save()
    return credential


def _start(site: Site, utc: dt.datetime, address: str) -> BoardAccess:
    # Codes nobody entered are of no use a day later.
    (BoardPairing.delete()
     .where(BoardPairing.site == site.id, BoardPairing.device.is_null(),
            BoardPairing.expires_at < utc - dt.timedelta(days=1))
     .execute())
    waiting = (BoardPairing.select()
               .where(BoardPairing.site == site.id, BoardPairing.device.is_null(),
                      BoardPairing.expires_at > utc))
    address = (address or "")[:100]
    if waiting.where(BoardPairing.address == address).count() >= PENDING_PER_ADDRESS \
            or waiting.count() >= PENDING_MAX:
        raise DomainError("Terlalu banyak kode pemasangan menunggu di lokasi ini; coba "
                          "lagi beberapa menit lagi.", code="pairing_busy", status=429)
    taken = {p.code for p in BoardPairing.select(BoardPairing.code).where(
        BoardPairing.site == site.id, BoardPairing.expires_at > utc)}
    code = _new_code()
    while code in taken:
        code = _new_code()
    secret = new_secret()
    pairing = BoardPairing.create(site=site, code=code, secret_hash=hashed(secret),
                                  address=address, created_at=utc,
                                  expires_at=utc + dt.timedelta(minutes=PAIRING_MINUTES))
    return BoardAccess(pairing=pairing, new_secret=secret)


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
