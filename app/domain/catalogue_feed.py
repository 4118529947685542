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
from ..db import database, lock_rows, write_transaction
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
    row = lock_rows(CatalogueVersion.select().where(where)).first()
    if row is None:
        try:
            with database.atomic():
                CatalogueVersion.create(site=site_id, version=0)
        except pw.IntegrityError:
            pass
        row = lock_rows(CatalogueVersion.select().where(where)).first()
    return row


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


def changed(site_ids: list[int] | None, now: dt.datetime) -> int:
    """Inside the transaction of a catalogue change: a new version for the halls in
    `site_ids` (None: every hall). Returns the version."""
    if seed.active():
        return 0
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
        else:  # one database: the hall runs the new catalogue now
            _set_site_version(site.id, version, naive)
        events.publish_after_commit(site.code, {"type": "catalogue_changed",
                                                "version": version, "at": iso(now)})
    return version


def _set_site_version(site_id: int, version: int, naive: dt.datetime) -> None:
    row = _row(site_id)
    (CatalogueVersion.update(version=version, updated_at=naive)
     .where(CatalogueVersion.id == row.id).execute())


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
    cases keep their services; a service the hall no longer offers is switched off."""
    version = body.get("version")
    if not isinstance(version, int) or body.get("site", {}).get("code") != site.code:
        log.warning("catalogue for another hall or without a version skipped")
        return
    row = _row(site.id)
    if version <= row.version:
        return
    agencies = {}
    for item in body.get("agencies", []):
        agency, _ = Agency.get_or_create(code=item["code"], defaults={"name": item["name"]})
        if agency.name != item["name"]:
            Agency.update(name=item["name"]).where(Agency.id == agency.id).execute()
        agencies[agency.code] = agency.id
    services = {}
    for item in body.get("services", []):
        values = {f: item.get(f) for f in SERVICE_FIELDS if f in item}
        values["agency"] = agencies[item["agency"]]
        service = Service.get_or_none(Service.code == item["code"])
        if service is None:
            service = Service.create(code=item["code"], **values)
        else:
            Service.update(**values).where(Service.id == service.id).execute()
        services[item["code"]] = service.id
    Site.update(**{f: body["site"][f] for f in SITE_FIELDS if f in body["site"]}).where(
        Site.id == site.id).execute()
    offered = {}
    for item in body.get("offer", []):
        offered[services[item["service"]]] = item
    for link in SiteService.select().where(SiteService.site == site):
        item = offered.pop(link.service_id, None)
        SiteService.update(active=bool(item and item.get("active", True)),
                           daily_quota=item.get("daily_quota") if item else link.daily_quota
                           ).where(SiteService.id == link.id).execute()
    for service_id, item in offered.items():
        SiteService.create(site=site, service=service_id, daily_quota=item.get("daily_quota"),
                           active=item.get("active", True))
    OpeningWindow.delete().where(OpeningWindow.site == site).execute()
    for w in body.get("windows", []):
        OpeningWindow.create(site=site, weekday=w["weekday"],
                             service=services.get(w["service"]) if w["service"] else None,
                             opens=dt.time.fromisoformat(w["opens"]),
                             closes=dt.time.fromisoformat(w["closes"]))
    Closure.delete().where(((Closure.site == site) | Closure.site.is_null())
                           & (Closure.origin == "centre")).execute()
    for c in body.get("closures", []):
        Closure.create(site=None if c["all_sites"] else site,
                       day=dt.date.fromisoformat(c["day"]), reason=c["reason"],
                       services=c.get("services"), batch=c.get("batch", ""),
                       origin="centre", created_at=naive)
    _set_site_version(site.id, version, naive)
    events.publish_after_commit(site.code, {"type": "catalogue_changed", "version": version,
                                            "at": iso(naive)})


def report(site: Site, version: int, now: dt.datetime) -> None:
    """At the centre: the version a hall says it runs (sent with each pull)."""
    with write_transaction():
        _set_site_version(site.id, version, as_utc_naive(now))


def running_version(site: Site) -> int:
    row = CatalogueVersion.get_or_none(CatalogueVersion.site == site)
    return row.version if row else 0


forwarding.register_update_kind(KIND, apply_catalogue)
