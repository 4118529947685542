"""Catalogue versions from the centre to the halls: raised by every change, fed to the
affected halls at the centre, applied at a hall only when newer (twice, out of order or
after a week offline: the newest wins), and never touching what the hall decides."""
import datetime as dt

import pytest

from app.db import write_transaction
from app.domain import catalogue_feed, forwarding, link_rows
from app.models import (
    CaseUpdate,
    CatalogueVersion,
    Closure,
    OpeningWindow,
    Service,
    Site,
    SiteService,
)

from .conftest import MONDAY_9


def tabang():
    return Site.get(Site.code == "tabang")


def bump(site_ids=None, now=MONDAY_9):
    with write_transaction():
        return catalogue_feed.changed(site_ids, now)


@pytest.fixture
def central():
    link_rows.configure("central")
    yield
    link_rows.configure("all-in-one")


def test_all_in_one_every_hall_runs_the_new_version_at_once(db):
    assert bump() == 1 and bump() == 2
    assert catalogue_feed.current_version()["version"] == 2
    versions = catalogue_feed.site_versions()
    assert versions["tabang"] == 2 and len(versions) == Site.select().count()
    assert CaseUpdate.select().count() == 0  # one database: nothing to feed


def test_the_centre_feeds_the_affected_hall_its_whole_catalogue(db, central):
    bump([tabang().id])
    rows = list(CaseUpdate.select().where(CaseUpdate.kind == "catalogue"))
    assert [r.site.code for r in rows] == ["tabang"]
    body = rows[0].body
    assert body["version"] == 1 and body["site"]["code"] == "tabang"
    offered = {o["service"] for o in body["offer"] if o["active"]}
    assert "ADM-KTP" in offered
    assert {w["weekday"] for w in body["windows"]} >= {0, 1, 2, 3, 4}
    assert catalogue_feed.site_versions()["tabang"] == 0  # not reported yet
    assert catalogue_feed.behind() == {"tabang"}


def _apply(body, now=MONDAY_9):
    with write_transaction():
        catalogue_feed.apply_catalogue(tabang(), body, now.replace(tzinfo=None))


def test_a_hall_applies_newer_catalogues_only(db):
    body = catalogue_feed.snapshot(tabang(), 5)
    legal = {"code": "LGL-IJZ", "agency": body["services"][0]["agency"],
             "name": "Legalisir Ijazah", "prefix": "K", "mini": "yes",
             "standard_minutes": 10, "target_wait_minutes": 30, "fee": "Gratis",
             "processing_days": 1, "standard": "", "requirements": ["Ijazah asli"]}
    body["services"].append(legal)
    body["offer"].append({"service": "LGL-IJZ", "daily_quota": 20, "active": True})
    body["windows"].append({"service": "LGL-IJZ", "weekday": 0, "opens": "08:00",
                            "closes": "10:00"})
    body["closures"] = [{"all_sites": False, "day": "2026-12-02", "reason": "Banjir",
                         "services": None, "batch": "b1"}]
    with write_transaction():  # the hall's own decisions
        Closure.create(site=tabang(), day=dt.date(2026, 12, 3), reason="Rapat",
                       origin="hall")
        Closure.create(site=tabang(), day=dt.date(2026, 12, 4), reason="lama",
                       origin="centre")
    _apply(body)
    service = Service.get(Service.code == "LGL-IJZ")
    link = SiteService.get((SiteService.site == tabang()) & (SiteService.service == service))
    assert (link.daily_quota, link.active, service.requirements) == (20, True, ["Ijazah asli"])
    assert OpeningWindow.select().where(OpeningWindow.service == service).count() == 1
    assert sorted((c.reason, c.origin) for c in Closure.select()
                  .where(Closure.site == tabang())) == [("Banjir", "centre"), ("Rapat", "hall")]
    assert catalogue_feed.running_version(tabang()) == 5

    older = catalogue_feed.snapshot(tabang(), 4)
    older["services"] = [dict(s, name="LAMA") for s in older["services"]]
    _apply(older)  # out of order: ignored
    _apply(body)   # twice: nothing changes
    assert Service.get(Service.code == "LGL-IJZ").name == "Legalisir Ijazah"
    assert not Service.select().where(Service.name == "LAMA").exists()
    assert catalogue_feed.running_version(tabang()) == 5

    body7 = dict(body, version=7, offer=[o for o in body["offer"]
                                         if o["service"] != "LGL-IJZ"])
    _apply(body7)  # a week later: the service is no longer offered, its rows stay
    link = SiteService.get_by_id(link.id)
    assert link.active is False and Service.get_or_none(Service.code == "LGL-IJZ")


def test_a_catalogue_for_another_hall_is_skipped(db):
    body = catalogue_feed.snapshot(Site.get(Site.code == "induk"), 3)
    _apply(body)
    assert catalogue_feed.running_version(tabang()) == 0


def test_the_feed_applies_it_through_the_registered_kind(db):
    body = catalogue_feed.snapshot(tabang(), 2)
    forwarding.apply_updates(tabang(), [{"seq": 1, "kind": "catalogue", "body": body}], 1,
                             MONDAY_9)
    assert CatalogueVersion.get(CatalogueVersion.site == tabang()).version == 2


def test_the_centre_records_what_a_hall_reports(db):
    catalogue_feed.report(tabang(), 9, MONDAY_9)
    assert catalogue_feed.site_versions() == {"tabang": 9}


def test_version_api(client, db):
    bump()
    r = client.get("/api/v1/catalogue/version")
    assert r.status_code == 200 and r.json["version"] == 1
    assert r.json["updated_at"] == "2026-11-30T09:00:00+08:00"
    assert r.json["sites"]["tabang"] == 1


def test_a_closure_decided_at_the_hall_stays_the_halls(db):
    """On a hall's own box the supervisor's closure is the hall's: no new catalogue
    version, and the centre's next catalogue does not remove it."""
    from app.domain import audit, catalogue
    supervisor = audit.Actor("supervisor.tabang", "supervisor", "tabang")
    link_rows.configure("site")
    try:
        catalogue.create_closure(supervisor, MONDAY_9, tabang(), "2026-12-02", None,
                                 "Rapat warga")
    finally:
        link_rows.configure("all-in-one")
    assert Closure.get(Closure.reason == "Rapat warga").origin == "hall"
    assert catalogue_feed.current_version()["version"] == 0
    _apply(catalogue_feed.snapshot(tabang(), 3))
    assert Closure.get(Closure.reason == "Rapat warga").origin == "hall"


def test_admin_changes_raise_the_version(db):
    from app.domain import audit, catalogue
    admin = audit.Actor("admin", "admin")
    catalogue.create_closure(admin, MONDAY_9, tabang(), "2026-12-02", None, "Banjir")
    assert catalogue_feed.current_version()["version"] == 1
    assert Closure.get(Closure.reason == "Banjir").origin == "centre"


def test_the_demo_is_loaded_as_seed_data(db):
    """The demo goes through the admin verbs (counters keep the order they were given),
    but as seed data: no audit entry, no catalogue version, nothing reported up."""
    from app.models import AuditEntry, Counter, CounterService, ForwardingMessage
    l2 = Counter.get((Counter.site == tabang()) & (Counter.code == "L2"))
    served = [(link.position, link.service.code) for link in CounterService.select()
              .where(CounterService.counter == l2).order_by(CounterService.position)]
    assert served == [(0, "IZN-NIB"), (1, "PTN-SK"), (2, "KUA-NIKAH"), (3, "INFO")]
    assert AuditEntry.select().count() == 0
    assert catalogue_feed.current_version()["version"] == 0
    assert ForwardingMessage.select().count() == 0


def test_a_section_missing_from_the_body_is_left_as_it_is(db):
    windows = OpeningWindow.select().where(OpeningWindow.site == tabang()).count()
    offered = SiteService.select().where((SiteService.site == tabang())
                                         & SiteService.active).count()
    body = catalogue_feed.snapshot(tabang(), 4)
    del body["offer"], body["windows"], body["closures"]
    _apply(body)
    assert catalogue_feed.running_version(tabang()) == 4
    assert OpeningWindow.select().where(OpeningWindow.site == tabang()).count() == windows
    assert SiteService.select().where((SiteService.site == tabang())
                                      & SiteService.active).count() == offered


def test_an_unreadable_catalogue_is_skipped_and_the_feed_goes_on(db):
    bad = catalogue_feed.snapshot(tabang(), 5)
    bad["services"][0]["agency"] = "no-such-agency"
    bad["windows"] = [{"weekday": "x"}]
    good = catalogue_feed.snapshot(tabang(), 6)
    good["services"][0]["name"] = "KK (baru)"
    applied = forwarding.apply_updates(tabang(), [
        {"seq": 1, "kind": "catalogue", "body": bad},
        {"seq": 2, "kind": "catalogue", "body": None},
        {"seq": 3, "kind": "catalogue", "body": good}], 3, MONDAY_9)
    assert applied == 3 and forwarding.updates_cursor(tabang().id) == 3
    assert catalogue_feed.running_version(tabang()) == 6
    assert Service.get(Service.code == good["services"][0]["code"]).name == "KK (baru)"
    assert OpeningWindow.select().where(OpeningWindow.site == tabang()).count() > 0


def test_the_catalogue_is_not_changed_on_a_halls_box(db):
    from app.domain import audit, catalogue, halls
    from app.errors import Conflict
    admin = audit.Actor("admin", "admin")
    link_rows.configure("site")
    try:
        with pytest.raises(Conflict) as refused:
            catalogue.rename_agency(admin, MONDAY_9, "disdukcapil", "Disdukcapil Baru")
        assert refused.value.code == "managed_by_centre"
        with pytest.raises(Conflict):
            halls.update_site(admin, "tabang", {"name": "Tabang Baru", "kind": "mini",
                                                "region_code": "64.02.12"}, MONDAY_9)
        with pytest.raises(Conflict):
            catalogue.create_closure(admin, MONDAY_9, None, "2026-12-02", None, "Libur")
    finally:
        link_rows.configure("all-in-one")
    assert catalogue_feed.current_version()["version"] == 0


def test_the_centre_knows_which_halls_are_behind(db, central):
    induk = Site.get(Site.code == "induk")
    bump([tabang().id])
    bump([induk.id])
    assert catalogue_feed.behind() == {"tabang", "induk"}
    catalogue_feed.report(tabang(), 1, MONDAY_9)  # tabang runs all that was meant for it
    assert catalogue_feed.behind() == {"induk"}
    catalogue_feed.report(induk, 2, MONDAY_9)
    assert catalogue_feed.behind() == set()
