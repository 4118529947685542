"""The catalogue on its way from the centre to the halls, as numbered versions.

The centre owns the catalogue: agencies, services and their public standards, and per
hall its identity, what it offers (quota), its opening hours and the closures the
centre decides. Every change raises one version number (`changed`, inside the change's
own transaction) and, at the centre (`central` role), puts on each affected hall's feed
that hall's whole catalogue as it is after the change. A hall pulls its feed with the
cases' signed link and applies a catalogue only when it is newer than the one it runs
(`apply_catalogue`): twice or out of order changes nothing, and a hall that was offline
for a week applies the newest one and carries on with it. In `all-in-one` one database
is both sides: the version is raised and every hall runs it at once.

What a hall decides itself stays out of the catalogue and is never overwritten: its
counters, devices, running text, its own closures (`origin = "hall"`) and its staff.
"""
import datetime as dt
import logging

import peewee as pw

from .. import events
from ..clock import as_utc_naive, iso
from ..db import database, lock_or_create, write_transaction
from ..models import (
    Agency,
    CatalogueVersion,
    Closure,
    OpeningWindow,
    Service,
    Site,
    SiteService,
)
from . import forwarding, link_rows, seed

log = logging.getLogger("mpp.catalogue")
KIND = "catalogue"
SITE_FIELDS = ("name", "kind", "region_code", "address", "phone", "active")
SERVICE_FIELDS = ("name", "prefix", "mini", "standard_minutes", "target_wait_minutes",
                  "fee", "processing_days", "standard", "requirements")


def _row(site_id: int | None) -> CatalogueVersion:
    """The version row (locked until commit), made on first use."""
    where = (CatalogueVersion.site.is_null() if site_id is None
             else CatalogueVersion.site == site_id)
    return lock_or_create(CatalogueVersion.select().where(where),
                          lambda: CatalogueVersion.create(site=site_id, version=0))


def current_version() -> dict:
    """The centre's version (in all-in-one, everyone's)."""
    row = CatalogueVersion.get_or_none(CatalogueVersion.site.is_null())
    return {"version": row.version if row else 0,
            "updated_at": iso(row.updated_at) if row and row.updated_at else None}


def site_versions() -> dict[str, int]:
    """The version each hall runs: applied (at a hall) or last reported (at the centre)."""
    rows = (CatalogueVersion.select(Site.code, CatalogueVersion.version)
            .join(Site).where(CatalogueVersion.site.is_null(False)).tuples())
    return dict(rows)


def behind() -> set[str]:
    """Halls that run an older catalogue than the newest one meant for them."""
    rows = (CatalogueVersion.select(Site.code).join(Site)
            .where(CatalogueVersion.site.is_null(False)
                   & (CatalogueVersion.version < CatalogueVersion.target)).tuples())
    return {code for (code,) in rows}


def changed(site_ids: list[int] | None, now: dt.datetime) -> int:
    """Inside the transaction of a catalogue change: a new version for the halls in
    `site_ids` (None: every hall). Returns the version."""
    if seed.active():
        return 0
    if link_rows.role() == "site":  # a hall's box: the centre numbers catalogues
        return running_version(Site.get_by_id(site_ids[0])) if site_ids else 0
    naive = as_utc_naive(now)
    row = _row(None)
    version = row.version + 1
    (CatalogueVersion.update(version=version, updated_at=naive)
     .where(CatalogueVersion.id == row.id).execute())
    sites = list(Site.select() if site_ids is None
                 else Site.select().where(Site.id.in_(site_ids)))
    for site in sites:
        if link_rows.role() == "central":
            link_rows.feed(site.id, KIND, snapshot(site, version), naive)
            _set_site_target(site.id, version)
        else:  # one database: the hall runs the new catalogue now
            _set_site_version(site.id, version, naive)
        events.publish_after_commit(site.code, {"type": "catalogue_changed",
                                                "version": version, "at": iso(now)})
    return version


def _set_site_version(site_id: int, version: int, naive: dt.datetime) -> None:
    """The version a hall runs (applied here, or reported to the centre)."""
    row = _row(site_id)
    (CatalogueVersion.update(version=version, target=max(row.target, version),
                             updated_at=naive)
     .where(CatalogueVersion.id == row.id).execute())


def _set_site_target(site_id: int, version: int) -> None:
    row = _row(site_id)
    CatalogueVersion.update(target=version).where(CatalogueVersion.id == row.id).execute()


def snapshot(site: Site, version: int) -> dict:
    """One hall's catalogue, whole: what the hall needs to run without the centre."""
    services = list(Service.select(Service, Agency).join(Agency).order_by(Service.code))
    return {
        "version": version,
        "site": {"code": site.code, **{f: getattr(site, f) for f in SITE_FIELDS}},
        "agencies": [{"code": a.code, "name": a.name}
                     for a in Agency.select().order_by(Agency.code)],
        "services": [{"code": s.code, "agency": s.agency.code,
                      **{f: getattr(s, f) for f in SERVICE_FIELDS}} for s in services],
        "offer": [{"service": link.service.code, "daily_quota": link.daily_quota,
                   "active": link.active}
                  for link in SiteService.select(SiteService, Service).join(Service)
                  .where(SiteService.site == site)],
        "windows": [{"service": w.service.code if w.service_id else None,
                     "weekday": w.weekday, "opens": w.opens.strftime("%H:%M"),
                     "closes": w.closes.strftime("%H:%M")}
                    for w in OpeningWindow.select().where(OpeningWindow.site == site)
                    .order_by(OpeningWindow.weekday, OpeningWindow.opens)],
        "closures": [{"all_sites": c.site_id is None, "day": c.day.isoformat(),
                      "reason": c.reason, "services": c.services, "batch": c.batch}
                     for c in Closure.select().where(
                         ((Closure.site == site) | Closure.site.is_null())
                         & (Closure.origin == "centre")).order_by(Closure.day)],
    }


def apply_catalogue(site: Site, body: dict, naive: dt.datetime) -> None:
    """At a hall, inside the feed's transaction: the centre's catalogue, if newer than
    the one this hall runs. Rows are updated in place and never deleted, so tickets and
    cases keep their services; a service the hall no longer offers is switched off. A
    section the body lacks is left as it is; a catalogue that cannot be read is skipped
    (the hall keeps the one it runs) rather than stopping the rest of its feed."""
    version = body.get("version") if isinstance(body, dict) else None
    hall = body.get("site") if isinstance(body, dict) else None
    if not isinstance(version, int) or not isinstance(hall, dict) \
            or hall.get("code") != site.code:
        log.warning("catalogue for another hall or without a version skipped")
        return
    row = _row(site.id)
    if version <= row.version:
        return
    try:
        with database.atomic():
            _apply_sections(site, body, naive)
    except (KeyError, TypeError, ValueError, AttributeError, pw.DoesNotExist,
            pw.IntegrityError):
        log.warning("catalogue v%s for %s could not be read; the hall keeps v%s",
                    version, site.code, row.version)
        return
    _set_site_version(site.id, version, naive)
    events.publish_after_commit(site.code, {"type": "catalogue_changed", "version": version,
                                            "at": iso(naive)})


def _apply_sections(site: Site, body: dict, naive: dt.datetime) -> None:
    agencies = {a.code: a.id for a in Agency.select()}
    for item in body.get("agencies", []):
        agency, _ = Agency.get_or_create(code=item["code"], defaults={"name": item["name"]})
        if agency.name != item["name"]:
            Agency.update(name=item["name"]).where(Agency.id == agency.id).execute()
        agencies[agency.code] = agency.id
    services = {s.code: s.id for s in Service.select(Service.id, Service.code)}
    for item in body.get("services", []):
        values = {f: item[f] for f in SERVICE_FIELDS if f in item}
        values["agency"] = agencies[item["agency"]]
        if item["code"] in services:
            Service.update(**values).where(Service.id == services[item["code"]]).execute()
        else:
            services[item["code"]] = Service.create(code=item["code"], **values).id
    Site.update(**{f: body["site"][f] for f in SITE_FIELDS if f in body["site"]}).where(
        Site.id == site.id).execute()
    if "offer" in body:
        offered = {services[item["service"]]: item for item in body["offer"]}
        for link in SiteService.select().where(SiteService.site == site):
            item = offered.pop(link.service_id, None)
            SiteService.update(active=bool(item and item.get("active", True)),
                               daily_quota=item.get("daily_quota") if item
                               else link.daily_quota).where(SiteService.id == link.id).execute()
        for service_id, item in offered.items():
            SiteService.create(site=site, service=service_id,
                               daily_quota=item.get("daily_quota"),
                               active=item.get("active", True))
    if "windows" in body:
        windows = [{"site": site, "weekday": int(w["weekday"]),
                    "service": services[w["service"]] if w.get("service") else None,
                    "opens": dt.time.fromisoformat(w["opens"]),
                    "closes": dt.time.fromisoformat(w["closes"])} for w in body["windows"]]
        OpeningWindow.delete().where(OpeningWindow.site == site).execute()
        for window in windows:
            OpeningWindow.create(**window)
    if "closures" in body:
        closures = [{"site": None if c["all_sites"] else site,
                     "day": dt.date.fromisoformat(c["day"]), "reason": str(c["reason"]),
                     "services": c.get("services"), "batch": c.get("batch", ""),
                     "origin": "centre", "created_at": naive} for c in body["closures"]]
        Closure.delete().where(((Closure.site == site) | Closure.site.is_null())
                               & (Closure.origin == "centre")).execute()
        for closure in closures:
            Closure.create(**closure)


def report(site: Site, version: int, now: dt.datetime) -> None:
    """At the centre: the version a hall says it runs (sent with each pull)."""
    with write_transaction():
        _set_site_version(site.id, version, as_utc_naive(now))


def running_version(site: Site) -> int:
    row = CatalogueVersion.get_or_none(CatalogueVersion.site == site)
    return row.version if row else 0


forwarding.register_update_kind(KIND, apply_catalogue)
