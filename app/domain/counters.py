"""A hall's counters as its supervisor (or an admin) sets them up: code, name, the
number spoken in a call ("loket tiga"), the services served in order, active.

The order of services is `CounterService.position`: the console lists them in it. An
inactive counter stays for history (its tickets keep pointing at it) but is not offered
in the console and cannot call (queueing). Every change is audited and announced to the
hall's screens as `catalogue_changed` in its transaction.
"""
import datetime as dt
import re

import peewee as pw

from .. import events
from ..clock import iso
from ..db import lock_rows, write_transaction
from ..errors import Conflict, Invalid
from ..models import Counter, CounterService, Service, Site, SiteService
from . import audit, hall_state, plaintext, queueing

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
MAX_NUMBER = 999


def _bad(field: str, message: str, code: str = "invalid_field"):
    raise Invalid(message, code=code, field=field)


def counters_of(site: Site) -> list[Counter]:
    """Every counter of the hall, inactive ones too, by number."""
    return queueing.counters_of(site, include_inactive=True)


def get(site: Site, code: str) -> Counter:
    return queueing.get_counter(site, (code or "")[:20])


def counter_values(counter: Counter) -> dict:
    return {"code": counter.code, "name": counter.name, "number": counter.number,
            "services": [s.code for s in queueing.services_of_counter(counter)],
            "active": counter.active}


def _services(site: Site, codes) -> list[Service]:
    """The services named, in the order given: each known, offered at the hall, once."""
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        _bad("services", "Kolom 'services' harus berupa daftar kode layanan.")
    codes = [c.strip() for c in codes if c.strip()]
    if not codes:
        _bad("services", "Loket harus melayani paling sedikit satu layanan.",
             code="no_services")
    if len(set(codes)) != len(codes):
        _bad("services", "Setiap layanan cukup dipilih sekali.", code="duplicate_service")
    known = {s.code: s for s in Service.select().where(Service.code.in_(codes))}
    offered = {row.service_id for row in SiteService.select().where(
        (SiteService.site == site) & (SiteService.active == True))}  # noqa: E712
    out = []
    for code in codes:
        service = known.get(code)
        if service is None:
            _bad("services", f"Layanan '{code[:40]}' tidak dikenal.", code="unknown_service")
        if service.id not in offered:
            _bad("services", f"Layanan {service.name} tidak tersedia di {site.name}.",
                 code="service_not_offered")
        out.append(service)
    return out


def validate(site: Site, values: dict, existing: Counter | None) -> tuple[dict, list | None]:
    """Clean counter fields and the ordered services (None: leave them as they are)."""
    clean = {}
    for name in ("code", "name"):
        if values.get(name) is not None and not isinstance(values[name], str):
            _bad(name, f"Kolom '{name}' harus berupa teks.")
    if existing is None:
        code = str(values.get("code") or "").strip()
        if not CODE.match(code):
            _bad("code", "Kode loket: huruf, angka atau '-', paling banyak 20 "
                         "(contoh: L4).")
        clean["code"] = code
    elif values.get("code") not in (None, "", existing.code):
        _bad("code", "Kode loket tidak dapat diubah; buat loket baru bila perlu.")
    if existing is None or "name" in values:
        name = plaintext.single_line(str(values.get("name") or ""), "name", "Nama loket")
        if not 1 <= len(name) <= 80:
            _bad("name", "Nama loket wajib diisi (paling banyak 80 karakter).")
        clean["name"] = name
    number = values.get("number")
    if isinstance(number, str):
        number = number.strip()
        number = int(number) if number.isdecimal() else (None if not number else number)
    if number is not None:
        if isinstance(number, bool) or not isinstance(number, int) or not (
                1 <= number <= MAX_NUMBER):
            _bad("number", f"Nomor loket harus bilangan bulat 1-{MAX_NUMBER}.")
        clean["number"] = number
    if "active" in values:
        if not isinstance(values["active"], bool):
            _bad("active", "Kolom 'active' harus true atau false.")
        clean["active"] = values["active"]
    services = None
    if existing is None or "services" in values:
        services = _services(site, values.get("services"))
    return clean, services


def _require_unique(site: Site, clean: dict, counter_id: int | None) -> None:
    others = Counter.select().where(Counter.site == site)
    if counter_id is not None:
        others = others.where(Counter.id != counter_id)
    if "code" in clean and others.where(Counter.code == clean["code"]).exists():
        raise Conflict(f"Kode loket '{clean['code']}' sudah ada di {site.name}.",
                       code="duplicate_counter", field="code")
    if "number" in clean and others.where(Counter.number == clean["number"]).exists():
        raise Conflict(f"Nomor loket {clean['number']} sudah dipakai di {site.name}.",
                       code="duplicate_number", field="number")


def _set_services(counter: Counter, services: list[Service]) -> None:
    CounterService.delete().where(CounterService.counter == counter).execute()
    for position, service in enumerate(services):
        CounterService.create(counter=counter, service=service, position=position)


def _changed(site: Site, now: dt.datetime) -> None:
    events.publish_after_commit(site.code, {"type": "catalogue_changed", "at": iso(now)})
    hall_state.changed(site, now)


def create_counter(actor: audit.Actor, site: Site, values: dict,
                   now: dt.datetime) -> Counter:
    """A new counter; without a number it takes the next free one."""
    clean, services = validate(site, values, None)
    try:
        with write_transaction():
            if "number" not in clean:
                top = (Counter.select(pw.fn.MAX(Counter.number))
                       .where(Counter.site == site).scalar())
                clean["number"] = (top or 0) + 1
            _require_unique(site, clean, None)
            counter = Counter.create(site=site, status="closed",
                                     **{"active": True, **clean})
            _set_services(counter, services)
            audit.record(actor, "counter.create", f"counter {site.code}/{counter.code}",
                         now, site_code=site.code, after=counter_values(counter))
            _changed(site, now)
    except pw.IntegrityError:  # a concurrent create of the same code
        raise Conflict(f"Kode loket '{clean['code']}' sudah ada di {site.name}.",
                       code="duplicate_counter", field="code") from None
    return counter


def update_counter(actor: audit.Actor, site: Site, code: str, values: dict,
                   now: dt.datetime) -> Counter:
    """Change a counter's name, number, services (in order) or active flag. A counter
    still serving a ticket cannot be made inactive; an inactive one is closed."""
    existing = get(site, code)
    clean, services = validate(site, values, existing)
    with write_transaction():
        counter = lock_rows(Counter.select().where(Counter.id == existing.id)).get()
        before = counter_values(counter)
        _require_unique(site, clean, counter.id)
        if clean.get("active") is False and counter.active:
            if queueing.current_ticket(counter) is not None:
                raise Conflict("Selesaikan nomor yang sedang dilayani sebelum menonaktifkan "
                               "loket.", code="counter_busy", field="active")
            counter.status = "closed"
        for name, value in clean.items():
            setattr(counter, name, value)
        counter.save()
        if services is not None:
            _set_services(counter, services)
        old, new = audit.changed(before, counter_values(counter))
        if new:
            audit.record(actor, "counter.update", f"counter {site.code}/{counter.code}",
                         now, site_code=site.code, before=old, after=new)
            _changed(site, now)
    return counter


def counter_dict(counter: Counter) -> dict:
    """The API's shape of a counter for administration."""
    return {**counter_values(counter), "status": counter.status}
