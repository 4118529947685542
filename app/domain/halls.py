"""Halls (sites): the MPP Induk and the Mini MPPs, created and edited by an admin, and
each hall's online booking settings per service.

A hall's code is its address everywhere (/k/<code>, /boards/<code>, the centre's
feed), so it is fixed once created. An inactive hall keeps its history but issues no
ticket (queueing.issue_ticket answers 409 `site_inactive`).

Every verb takes the acting `audit.Actor` and `now`, runs one write transaction and
records its audit entry inside it.
"""
import datetime as dt
import re

import peewee as pw

from .. import events
from ..clock import iso
from ..db import write_transaction
from ..errors import Conflict, Invalid, NotFound
from ..models import Service, Site, SiteService
from . import audit, booking, catalogue, catalogue_feed, plaintext

CODE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
REGION = re.compile(r"^64\.02\.\d{2}$")  # Kemendagri: Kutai Kartanegara's kecamatan
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,28}$")
KINDS = {"induk": "MPP Induk", "mini": "Mini MPP"}
FIELDS = ("code", "name", "kind", "region_code", "address", "phone", "active")

# Online booking settings: the ranges of `flask mpp booking-settings` (app/cli.py).
BOOKING_RANGES = {"slot_minutes": (5, 240), "capacity": (0, 500), "early_minutes": (0, 600),
                  "grace_minutes": (0, 600), "horizon_days": (0, 120)}
BOOKING_LABELS = {"slot_minutes": "Lama slot (menit)", "capacity": "Kapasitas per slot",
                  "early_minutes": "Check-in paling awal (menit)",
                  "grace_minutes": "Toleransi terlambat (menit)",
                  "horizon_days": "Jangkauan pemesanan (hari)",
                  "walk_in_share": "Bagian untuk datang langsung"}


def _bad(field: str, message: str):
    raise Invalid(message, code="invalid_field", field=field)


def all_sites() -> list[Site]:
    return list(Site.select().order_by(Site.kind, Site.name))  # 'induk' before 'mini'


def get(code: str) -> Site:
    site = Site.get_or_none(Site.code == (code or "")[:40])
    if site is None:
        raise NotFound(f"Lokasi '{(code or '')[:40]}' tidak dikenal.", code="unknown_site")
    return site


def site_values(site: Site) -> dict:
    return {name: getattr(site, name) for name in FIELDS}


def validate(values: dict, creating: bool) -> dict:
    """Clean hall fields, or Invalid (422) naming the field. On update the code is not
    read (it is fixed)."""
    clean = {}
    for name in ("code", "name", "kind", "region_code", "address", "phone"):
        if values.get(name) is not None and not isinstance(values[name], str):
            _bad(name, f"Kolom '{name}' harus berupa teks.")
    if creating:
        code = str(values.get("code") or "").strip().lower()
        if not CODE.match(code):
            _bad("code", "Kode lokasi: huruf kecil, angka atau '-', 1-40 karakter, "
                         "tidak diawali atau diakhiri '-' (contoh: kota-bangun).")
        clean["code"] = code
    name = plaintext.single_line(str(values.get("name") or ""), "name", "Nama lokasi")
    if not 3 <= len(name) <= 120:
        _bad("name", "Nama lokasi wajib diisi (3-120 karakter).")
    clean["name"] = name
    kind = str(values.get("kind") or "").strip()
    if kind not in KINDS:
        _bad("kind", "Jenis lokasi harus 'induk' atau 'mini'.")
    clean["kind"] = kind
    region = str(values.get("region_code") or "").strip()
    if not REGION.match(region):
        _bad("region_code", "Kode wilayah Kemendagri harus berformat 64.02.NN "
                            "(contoh: 64.02.12).")
    clean["region_code"] = region
    address = plaintext.single_line(str(values.get("address") or ""), "address", "Alamat")
    if len(address) > 200:
        _bad("address", "Alamat paling banyak 200 karakter.")
    clean["address"] = address
    phone = plaintext.single_line(str(values.get("phone") or ""), "phone", "Nomor telepon")
    if phone and not PHONE.match(phone):
        _bad("phone", "Nomor telepon tidak valid (angka, spasi, +, -, paling banyak 30).")
    clean["phone"] = phone
    active = values.get("active", True)
    if not isinstance(active, bool):
        _bad("active", "Kolom 'active' harus true atau false.")
    clean["active"] = active
    return clean


def create_site(actor: audit.Actor, values: dict, now: dt.datetime) -> Site:
    catalogue.centre_only()  # a hall's identity is the centre's
    clean = validate(values, creating=True)
    try:
        with write_transaction():
            if Site.select().where(Site.code == clean["code"]).exists():
                raise Conflict(f"Kode lokasi '{clean['code']}' sudah dipakai.",
                               code="duplicate_site", field="code")
            site = Site.create(**clean)
            audit.record(actor, "site.create", f"site {site.code}", now,
                         site_code=site.code, after=clean)
            catalogue_feed.changed([site.id], now)
    except pw.IntegrityError:  # a concurrent create of the same code
        raise Conflict(f"Kode lokasi '{clean['code']}' sudah dipakai.",
                       code="duplicate_site", field="code") from None
    return site


def update_site(actor: audit.Actor, code: str, values: dict, now: dt.datetime) -> Site:
    """Change a hall's name, kind, region, contact and active flag (not its code)."""
    if values.get("code") not in (None, "", code):
        _bad("code", "Kode lokasi tidak dapat diubah setelah dibuat.")
    catalogue.centre_only()
    clean = validate(values, creating=False)
    with write_transaction():
        site = get(code)
        before = site_values(site)
        for name, value in clean.items():
            setattr(site, name, value)
        site.save()
        old, new = audit.changed(before, site_values(site))
        if new:
            audit.record(actor, "site.update", f"site {site.code}", now,
                         site_code=site.code, before=old, after=new)
            catalogue_feed.changed([site.id], now)  # the centre owns a hall's identity
    return site


# --- online booking settings per service of a hall -------------------------------------

def booking_rows(site: Site) -> list[tuple[Service, booking.Settings]]:
    """Every service offered at the hall with its booking settings (defaults if unset)."""
    services = (Service.select().join(SiteService, on=(SiteService.service == Service.id))
                .where((SiteService.site == site) & (SiteService.active == True))  # noqa: E712
                .order_by(Service.prefix, Service.code))
    return [(service, booking.settings_for(site, service)) for service in services]


def validate_booking(values: dict) -> dict:
    """Booking settings from a form or JSON, in the CLI's ranges; missing keys are left
    as they are."""
    clean = {}
    unknown = set(values) - set(booking.DEFAULTS)
    if unknown:
        _bad(sorted(unknown)[0], f"Pengaturan tidak dikenal: {', '.join(sorted(unknown))}.")
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            _bad("enabled", "Pemesanan online: pilih aktif atau tidak.")
        clean["enabled"] = values["enabled"]
    for name, (low, high) in BOOKING_RANGES.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            _bad(name, f"{BOOKING_LABELS[name]} harus bilangan bulat {low}-{high}.")
        clean[name] = value
    if "walk_in_share" in values:
        value = values["walk_in_share"]
        try:
            share = float(value) if not isinstance(value, bool) else -1.0
        except (TypeError, ValueError):
            share = -1.0
        if not 0 <= share <= 1:
            _bad("walk_in_share", "Bagian untuk datang langsung harus antara 0 dan 1 "
                                  "(contoh: 0.5 = separuh kuota).")
        clean["walk_in_share"] = round(share, 3)
    return clean


def update_booking_settings(actor: audit.Actor, site: Site, service: Service,
                            values: dict, now: dt.datetime) -> booking.Settings:
    """Change how one service is booked online at one hall (booking.set_settings), with
    its audit entry and the live `catalogue_changed` event in the same transaction."""
    clean = validate_booking(values)
    booking.offered(site, service)  # 404 when the hall does not offer it
    with write_transaction():
        before = vars(booking.settings_for(site, service))
        result = booking.set_settings(site, service, **clean)  # a savepoint inside ours
        old, new = audit.changed(before, vars(result))
        if new:
            audit.record(actor, "booking_settings.update",
                         f"booking {site.code}/{service.code}", now, site_code=site.code,
                         before=old, after=new)
            events.publish_after_commit(site.code, {"type": "catalogue_changed",
                                                    "at": iso(now)})
    return result
