"""Kiosks and their print settings: which printer a ticket goes to, and how."""
import datetime as dt
import ipaddress
import re

import peewee as pw

from .. import events
from ..clock import iso
from ..db import write_transaction
from ..domain import audit, hall_state, plaintext
from ..errors import Conflict, Invalid, NotFound
from ..models import Kiosk, Site
from ..models.printing import PAPER_WIDTHS, PRINT_MODES, QR_MODES

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def kiosks_of(site: Site) -> list[Kiosk]:
    return list(Kiosk.select().where(Kiosk.site == site).order_by(Kiosk.code))


def default_kiosk(site: Site) -> Kiosk:
    """An unsaved browser kiosk, for a hall without any configured."""
    return Kiosk(site=site, code="", name="Kiosk", print_mode="browser-html",
                 paper_width=80, qr_mode="native")


def kiosk_for(site: Site, code: str | None = None) -> Kiosk:
    """The kiosk a screen runs as: `?kiosk=<code>`, else the hall's first active one."""
    if code:
        kiosk = Kiosk.get_or_none((Kiosk.site == site) & (Kiosk.code == code)
                                  & (Kiosk.active == True))  # noqa: E712
        if kiosk is None:
            raise NotFound(f"Kiosk '{code[:20]}' tidak dikenal di {site.name}.",
                           code="unknown_kiosk")
        return kiosk
    first = (Kiosk.select().where((Kiosk.site == site) & (Kiosk.active == True))  # noqa
             .order_by(Kiosk.id).first())
    return first or default_kiosk(site)


def get_kiosk(site: Site, code: str) -> Kiosk:
    kiosk = Kiosk.get_or_none((Kiosk.site == site) & (Kiosk.code == code))
    if kiosk is None:
        raise NotFound("Kiosk tidak ditemukan.", code="unknown_kiosk")
    return kiosk


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOSTNAME.match(host))


def validate(values: dict) -> dict:
    """Clean kiosk settings or raise Invalid (422) naming the field."""
    def bad(name, message):
        raise Invalid(message, code="invalid_field", field=name)

    code = str(values.get("code") or "").strip().lower()
    if not CODE.match(code):
        bad("code", "Kode kiosk: huruf kecil, angka atau '-', paling banyak 20.")
    name = plaintext.single_line(str(values.get("name") or ""), "name", "Nama kiosk")
    if not 1 <= len(name) <= 80:
        bad("name", "Nama kiosk wajib diisi (paling banyak 80 huruf).")
    mode = values.get("print_mode")
    if mode not in PRINT_MODES:
        bad("print_mode", "Mode cetak tidak dikenal.")
    try:
        width = int(values.get("paper_width"))
    except (TypeError, ValueError):
        width = 0
    if width not in PAPER_WIDTHS:
        bad("paper_width", "Lebar kertas harus 58 atau 80 mm.")
    qr_mode = values.get("qr_mode") or "native"
    if qr_mode not in QR_MODES:
        bad("qr_mode", "Mode kode QR tidak dikenal.")
    host = str(values.get("host") or "").strip()
    try:
        port = int(values.get("port") or 9100)
    except (TypeError, ValueError):
        port = 0
    if mode == "escpos-network":
        if not host or not _valid_host(host):
            bad("host", "Alamat printer (IP atau nama host) tidak valid.")
        if not 1 <= port <= 65535:
            bad("port", "Port printer harus 1-65535 (biasanya 9100).")
    elif host and not _valid_host(host):
        bad("host", "Alamat printer (IP atau nama host) tidak valid.")
    return {"code": code, "name": name, "print_mode": mode, "paper_width": width,
            "qr_mode": qr_mode, "host": host, "port": port if 1 <= port <= 65535 else 9100,
            "active": bool(values.get("active", True))}


KIOSK_FIELDS = ("code", "name", "print_mode", "host", "port", "paper_width", "qr_mode",
                "active")


def _audit(actor, now, action, kiosk, before=None, after=None) -> None:
    """The kiosk's audit entry and the hall's `catalogue_changed`, in the caller's
    transaction (only when the view says who acts)."""
    if actor is None or now is None:
        return
    audit.record(actor, action, f"kiosk {kiosk.site.code}/{kiosk.code}", now,
                 site_code=kiosk.site.code, before=before, after=after)
    events.publish_after_commit(kiosk.site.code, {"type": "catalogue_changed",
                                                  "at": iso(now)})
    hall_state.changed(kiosk.site, now)


def save_kiosk(site: Site, values: dict, existing_code: str | None = None,
               actor: audit.Actor | None = None, now: dt.datetime | None = None) -> Kiosk:
    """Create a kiosk, or update `existing_code`'s settings; with `actor` and `now`,
    audited (`kiosk.create` / `kiosk.update`) in the same transaction."""
    clean = validate(values)
    try:
        with write_transaction():
            if existing_code is None:
                kiosk = Kiosk.create(site=site, **clean)
                _audit(actor, now, "kiosk.create", kiosk, after=clean)
                return kiosk
            kiosk = get_kiosk(site, existing_code)
            before = {k: getattr(kiosk, k) for k in KIOSK_FIELDS}
            changed_printer = (kiosk.host, kiosk.port, kiosk.print_mode) != (
                clean["host"], clean["port"], clean["print_mode"])
            for key, value in clean.items():
                setattr(kiosk, key, value)
            if changed_printer:
                kiosk.printer_state, kiosk.printer_error = "unknown", ""
                kiosk.printer_checked_at = None
            kiosk.save()
            old, new = audit.changed(before, {k: getattr(kiosk, k) for k in KIOSK_FIELDS})
            if new:
                _audit(actor, now, "kiosk.update", kiosk, before=old, after=new)
            return kiosk
    except pw.IntegrityError:
        raise Conflict(f"Kode kiosk '{clean['code']}' sudah dipakai di {site.name}.",
                       code="duplicate_kiosk")
