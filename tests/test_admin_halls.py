"""Administration of halls, counters, devices and booking settings: every validation of
the domain (app/domain/halls.py, app/domain/counters.py), the audit entries and live
events written with each change, and who may open each page and API row."""
import pytest

from app.domain import booking, counters, halls, queueing
from app.domain.audit import Actor
from app.errors import Conflict, Invalid, NotFound
from app.models import AuditEntry, Counter, CounterService, Service, Site, SiteService

from .conftest import MONDAY_9
from .pages import csrf_from, logged_in

ADMIN = Actor("admin", "admin", "", "10.0.0.1")
SUPERVISOR = Actor("supervisor.tabang", "supervisor", "tabang", "10.0.0.2")
NEW_HALL = {"code": "muara-kaman-ilir", "name": "Mini MPP Muara Kaman Ilir", "kind": "mini",
            "region_code": "64.02.99", "address": "Jl. Poros No. 1", "phone": "0541 123456",
            "active": True}


def site(code="tabang") -> Site:
    return Site.get(Site.code == code)


def service(code) -> Service:
    return Service.get(Service.code == code)


def actions(prefix=""):
    return [e.action for e in AuditEntry.select().order_by(AuditEntry.id)
            if e.action.startswith(prefix)]


# --- halls: domain ---------------------------------------------------------------------

def test_create_a_hall_is_audited(db):
    hall = halls.create_site(ADMIN, NEW_HALL, MONDAY_9)
    assert (hall.code, hall.kind, hall.region_code, hall.active) == (
        "muara-kaman-ilir", "mini", "64.02.99", True)
    entry = AuditEntry.get(AuditEntry.action == "site.create")
    assert (entry.actor, entry.site_code, entry.object) == (
        "admin", "muara-kaman-ilir", "site muara-kaman-ilir")
    assert entry.after["name"] == "Mini MPP Muara Kaman Ilir"


@pytest.mark.parametrize("field, value", [
    ("code", ""), ("code", "kota_bangun"), ("code", "-awal"), ("code", "a b"), ("code", "x" * 41),
    ("name", ""), ("name", "ab"), ("name", "x" * 121), ("kind", "pusat"), ("kind", ""),
    ("region_code", "64.2.12"), ("region_code", "63.02.12"), ("region_code", "64.02.1"),
    ("address", "x" * 201), ("name", 12345), ("phone", "telepon"), ("phone", "1" * 31),
    ("active", "ya")])
def test_hall_validation(db, field, value):
    with pytest.raises(Invalid) as err:
        halls.create_site(ADMIN, {**NEW_HALL, field: value}, MONDAY_9)
    assert err.value.detail["field"] == field and err.value.status == 422
    assert actions("site.") == []


def test_hall_code_is_unique_and_fixed(db):
    with pytest.raises(Conflict) as err:
        halls.create_site(ADMIN, {**NEW_HALL, "code": "tabang"}, MONDAY_9)
    assert err.value.code == "duplicate_site"
    with pytest.raises(Invalid) as err:
        halls.update_site(ADMIN, "tabang", {**NEW_HALL, "code": "tabang-baru"}, MONDAY_9)
    assert err.value.detail["field"] == "code"
    with pytest.raises(NotFound):
        halls.update_site(ADMIN, "nowhere", {**NEW_HALL, "code": None}, MONDAY_9)


def test_update_a_hall_records_only_what_changed(db, published):
    values = {**halls.site_values(site()), "phone": "0541 765432", "address": "Jl. Baru"}
    halls.update_site(ADMIN, "tabang", values, MONDAY_9)
    entry = AuditEntry.get(AuditEntry.action == "site.update")
    assert set(entry.after) == {"phone", "address"} and entry.after["address"] == "Jl. Baru"
    assert published and published[-1][1]["type"] == "catalogue_changed"
    halls.update_site(ADMIN, "tabang", values, MONDAY_9)  # nothing changed: no entry
    assert actions("site.") == ["site.update"]


def test_an_inactive_hall_issues_no_ticket(db, client):
    halls.update_site(ADMIN, "tabang", {**halls.site_values(site()), "active": False},
                      MONDAY_9)
    with pytest.raises(Conflict) as err:
        queueing.issue_ticket(site(), service("ADM-KTP"), MONDAY_9)
    assert (err.value.code, err.value.status) == ("site_inactive", 409)
    r = client.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
    assert r.status_code == 409 and r.json["error"]["code"] == "site_inactive"


# --- counters: domain -------------------------------------------------------------------

L9 = {"code": "L9", "name": "Loket 9", "number": 9, "services": ["INFO", "ADM-KTP"]}


def test_create_a_counter_with_services_in_order(db, published):
    counter = counters.create_counter(SUPERVISOR, site(), L9, MONDAY_9)
    assert [s.code for s in queueing.services_of_counter(counter)] == ["INFO", "ADM-KTP"]
    assert [link.position for link in CounterService.select().where(
        CounterService.counter == counter).order_by(CounterService.position)] == [0, 1]
    assert (counter.status, counter.active) == ("closed", True)
    entry = AuditEntry.get(AuditEntry.action == "counter.create")
    assert (entry.actor, entry.role, entry.site_code, entry.object) == (
        "supervisor.tabang", "supervisor", "tabang", "counter tabang/L9")
    assert entry.after["services"] == ["INFO", "ADM-KTP"]
    assert published == [("tabang", {"type": "catalogue_changed",
                                     "at": "2026-11-30T09:00:00+08:00"})]
    served = queueing.services_by_counter([counter])[counter.id]
    assert [s.code for s in served] == ["INFO", "ADM-KTP"]


def test_a_counter_without_a_number_takes_the_next_one(db):
    counter = counters.create_counter(ADMIN, site(), {**L9, "number": None}, MONDAY_9)
    assert counter.number == 4  # the demo hall has loket 1-3


@pytest.mark.parametrize("values, field, code", [
    ({"services": []}, "services", "no_services"),
    ({"services": None}, "services", "invalid_field"),
    ({"services": "INFO"}, "services", "invalid_field"),
    ({"services": ["INFO", "INFO"]}, "services", "duplicate_service"),
    ({"services": ["NOPE"]}, "services", "unknown_service"),
    ({"services": ["SMS-PKB"]}, "services", "service_not_offered"),  # Induk only
    ({"code": ""}, "code", "invalid_field"),
    ({"code": "L 9"}, "code", "invalid_field"),
    ({"name": ""}, "name", "invalid_field"),
    ({"name": ["Loket", "9"]}, "name", "invalid_field"),
    ({"number": 0}, "number", "invalid_field"),
    ({"number": 1000}, "number", "invalid_field"),
    ({"number": "tiga"}, "number", "invalid_field"),
    ({"active": "yes"}, "active", "invalid_field"),
])
def test_counter_validation(db, values, field, code):
    with pytest.raises(Invalid) as err:
        counters.create_counter(ADMIN, site(), {**L9, **values}, MONDAY_9)
    assert (err.value.detail["field"], err.value.code) == (field, code)
    assert not Counter.select().where(Counter.code == "L9").exists()
    assert actions("counter.") == []


def test_a_service_the_hall_stopped_offering_is_refused(db):
    SiteService.update(active=False).where(
        (SiteService.site == site()) & (SiteService.service == service("INFO"))).execute()
    with pytest.raises(Invalid) as err:
        counters.create_counter(ADMIN, site(), L9, MONDAY_9)
    assert err.value.code == "service_not_offered"


def test_duplicate_code_or_number_at_the_hall(db):
    with pytest.raises(Conflict) as err:
        counters.create_counter(ADMIN, site(), {**L9, "code": "L1"}, MONDAY_9)
    assert err.value.code == "duplicate_counter"
    with pytest.raises(Conflict) as err:
        counters.create_counter(ADMIN, site(), {**L9, "number": 2}, MONDAY_9)
    assert err.value.code == "duplicate_number"
    counters.create_counter(ADMIN, site("induk"), {**L9, "services": ["SMS-PKB"]}, MONDAY_9)
    counters.create_counter(ADMIN, site(), L9, MONDAY_9)  # same code, another hall: fine
    with pytest.raises(Conflict):
        counters.update_counter(ADMIN, site(), "L9", {"number": 1}, MONDAY_9)


def test_update_reorders_services_and_keeps_the_code(db, published):
    counters.create_counter(ADMIN, site(), L9, MONDAY_9)
    counter = counters.update_counter(SUPERVISOR, site(), "L9",
                                      {"services": ["ADM-KTP", "INFO", "ADM-KK"],
                                       "name": "Loket Sembilan"}, MONDAY_9)
    assert [s.code for s in queueing.services_of_counter(counter)] == [
        "ADM-KTP", "INFO", "ADM-KK"]
    entry = AuditEntry.get(AuditEntry.action == "counter.update")
    assert entry.before == {"name": "Loket 9", "services": ["INFO", "ADM-KTP"]}
    assert entry.after["name"] == "Loket Sembilan"
    assert [e["type"] for _, e in published] == ["catalogue_changed"] * 2
    with pytest.raises(Invalid) as err:
        counters.update_counter(ADMIN, site(), "L9", {"code": "L10"}, MONDAY_9)
    assert err.value.detail["field"] == "code"
    with pytest.raises(NotFound):
        counters.update_counter(ADMIN, site(), "L99", {"name": "x"}, MONDAY_9)
    with pytest.raises(Invalid):
        counters.update_counter(ADMIN, site(), "L9", {"services": []}, MONDAY_9)


def test_an_inactive_counter_is_not_offered_and_cannot_call(db):
    l1 = queueing.get_counter(site(), "L1")
    queueing.set_counter_status(l1, "open", MONDAY_9)
    counters.update_counter(ADMIN, site(), "L1", {"active": False}, MONDAY_9)
    l1 = Counter.get_by_id(l1.id)
    assert (l1.active, l1.status) == (False, "closed")
    assert "L1" not in [c.code for c in queueing.counters_of(site())]
    assert "L1" in [c.code for c in counters.counters_of(site())]
    queueing.issue_ticket(site(), service("ADM-KTP"), MONDAY_9)
    with pytest.raises(Conflict) as err:
        queueing.call_next(l1, MONDAY_9)
    assert err.value.code == "counter_inactive"
    with pytest.raises(Conflict) as err:
        queueing.set_counter_status(l1, "open", MONDAY_9)
    assert err.value.code == "counter_inactive"


def test_a_counter_serving_a_ticket_cannot_be_made_inactive(db):
    queueing.issue_ticket(site(), service("ADM-KTP"), MONDAY_9)
    queueing.call_next(queueing.get_counter(site(), "L1"), MONDAY_9)
    with pytest.raises(Conflict) as err:
        counters.update_counter(ADMIN, site(), "L1", {"active": False}, MONDAY_9)
    assert err.value.code == "counter_busy"
    assert Counter.get((Counter.site == site()) & (Counter.code == "L1")).active


# --- booking settings: domain -----------------------------------------------------------

def test_booking_settings_are_saved_and_audited(db, published):
    result = halls.update_booking_settings(
        ADMIN, site(), service("ADM-KTP"),
        {"enabled": False, "slot_minutes": "20", "capacity": 3, "walk_in_share": "0.25",
         "early_minutes": 45, "grace_minutes": 15, "horizon_days": 7}, MONDAY_9)
    assert (result.enabled, result.slot_minutes, result.capacity, result.walk_in_share,
            result.horizon_days) == (False, 20, 3, 0.25, 7)
    assert booking.settings_for(site(), service("ADM-KTP")).slot_minutes == 20
    entry = AuditEntry.get(AuditEntry.action == "booking_settings.update")
    assert entry.object == "booking tabang/ADM-KTP"
    assert entry.before["slot_minutes"] == 30 and entry.after["slot_minutes"] == 20
    assert published[-1][1]["type"] == "catalogue_changed"


@pytest.mark.parametrize("values, field", [
    ({"slot_minutes": 4}, "slot_minutes"), ({"slot_minutes": 241}, "slot_minutes"),
    ({"capacity": -1}, "capacity"), ({"capacity": 501}, "capacity"),
    ({"capacity": "banyak"}, "capacity"), ({"early_minutes": 601}, "early_minutes"),
    ({"grace_minutes": -5}, "grace_minutes"), ({"horizon_days": 121}, "horizon_days"),
    ({"walk_in_share": 1.5}, "walk_in_share"), ({"walk_in_share": "separuh"}, "walk_in_share"),
    ({"enabled": "ya"}, "enabled"), ({"colour": "blue"}, "colour")])
def test_booking_settings_validation(db, values, field):
    with pytest.raises(Invalid) as err:
        halls.update_booking_settings(ADMIN, site(), service("ADM-KTP"), values, MONDAY_9)
    assert err.value.detail["field"] == field
    assert booking.settings_for(site(), service("ADM-KTP")).slot_minutes == 30
    assert actions("booking_settings.") == []


def test_booking_settings_of_a_service_not_offered(db):
    with pytest.raises(NotFound):
        halls.update_booking_settings(ADMIN, site(), service("SMS-PKB"),
                                      {"capacity": 2}, MONDAY_9)


# --- pages: who may open what ------------------------------------------------------------

PEOPLE = ["admin", "supervisor.tabang", "supervisor.anggana", "operator.tabang",
          "officer.disdukcapil"]
HALL_PAGES = ["/admin/lokasi/tabang/loket", "/admin/lokasi/tabang/loket/baru",
              "/admin/lokasi/tabang/loket/L1", "/admin/lokasi/tabang/perangkat"]
ADMIN_PAGES = ["/admin/lokasi/baru", "/admin/lokasi/tabang/ubah",
               "/admin/lokasi/tabang/booking"]


@pytest.mark.parametrize("username", PEOPLE)
def test_page_permissions(client, db, username):
    logged_in(client, username)
    ok_halls = username in ("admin", "supervisor.tabang")
    for url in HALL_PAGES:
        assert client.get(url).status_code == (200 if ok_halls else 403), url
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == (200 if username == "admin" else 403), url
    r = client.get("/admin/lokasi")
    assert r.status_code == (200 if username in ("admin", "supervisor.tabang",
                                                  "supervisor.anggana") else 403)


@pytest.mark.parametrize("url", ["/admin/lokasi", *HALL_PAGES, *ADMIN_PAGES])
def test_anonymous_is_sent_to_login(client, db, url):
    r = client.get(url)
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]


def test_a_supervisor_sees_only_their_hall(client, db):
    logged_in(client, "supervisor.tabang")
    html = client.get("/admin/lokasi").get_data(as_text=True)
    assert 'id="hall-tabang"' in html and 'id="hall-induk"' not in html
    assert "/admin/lokasi/tabang/loket" in html and "/admin/lokasi/tabang/booking" not in html
    assert "Tambah lokasi" not in html
    logged_in(client, "admin")
    html = client.get("/admin/lokasi").get_data(as_text=True)
    assert 'id="hall-tabang"' in html and 'id="hall-induk"' in html
    assert "/admin/lokasi/tabang/booking" in html and "/admin/lokasi/tabang/ubah" in html


def test_admin_creates_and_edits_a_hall_through_the_form(client, db):
    logged_in(client, "admin")
    token = csrf_from(client.get("/admin/lokasi/baru").get_data(as_text=True))
    form = {**NEW_HALL, "active": "on", "csrf_token": token}
    r = client.post("/admin/lokasi/baru", data={**form, "region_code": "6402"})
    assert r.status_code == 422 and "64.02.NN" in r.get_data(as_text=True)
    r = client.post("/admin/lokasi/baru", data=form)
    assert r.status_code == 303 and site("muara-kaman-ilir").active
    r = client.post("/admin/lokasi/baru", data=form)
    assert r.status_code == 409
    r = client.post("/admin/lokasi/muara-kaman-ilir/ubah",
                    data={**form, "code": "", "name": "Mini MPP Muara Kaman", "active": ""})
    assert r.status_code == 303
    hall = site("muara-kaman-ilir")
    assert (hall.name, hall.active) == ("Mini MPP Muara Kaman", False)
    assert actions("site.") == ["site.create", "site.update"]
    assert AuditEntry.get(AuditEntry.action == "site.create").client == "127.0.0.1"


def test_supervisor_adds_a_counter_through_the_form(client, db):
    logged_in(client, "supervisor.tabang")
    page = client.get("/admin/lokasi/tabang/loket/baru").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "code": "L9", "name": "Loket 9", "number": "9",
            "services": ["ADM-KTP", "INFO"], "position-ADM-KTP": "2", "position-INFO": "1",
            "active": "on"}
    r = client.post("/admin/lokasi/tabang/loket/baru", data={**form, "services": []})
    assert r.status_code == 422 and "paling sedikit satu layanan" in r.get_data(as_text=True)
    r = client.post("/admin/lokasi/tabang/loket/baru", data=form)
    assert r.status_code == 303
    counter = queueing.get_counter(site(), "L9")
    assert [s.code for s in queueing.services_of_counter(counter)] == ["INFO", "ADM-KTP"]
    r = client.post("/admin/lokasi/tabang/loket/baru", data=form)
    assert r.status_code == 409
    r = client.post("/admin/lokasi/tabang/loket/L9", data={**form, "active": ""})
    assert r.status_code == 303 and not Counter.get_by_id(counter.id).active
    html = client.get("/loket/").get_data(as_text=True)
    assert "Loket 9" not in html and "Loket 1 Kependudukan" in html
    assert client.get("/admin/lokasi/tabang/loket/L99").status_code == 404


def test_admin_saves_booking_settings_through_the_form(client, db):
    logged_in(client, "admin")
    page = client.get("/admin/lokasi/tabang/booking").get_data(as_text=True)
    assert "ADM-KTP" in page and "SMS-PKB" not in page
    form = {"csrf_token": csrf_from(page), "enabled": "on", "slot_minutes": "15",
            "capacity": "2", "walk_in_share": "0.4", "early_minutes": "30",
            "grace_minutes": "10", "horizon_days": "21"}
    r = client.post("/admin/lokasi/tabang/booking/ADM-KTP", data={**form, "capacity": "999"})
    assert r.status_code == 422 and "0-500" in r.get_data(as_text=True)
    r = client.post("/admin/lokasi/tabang/booking/ADM-KTP", data=form)
    assert r.status_code == 303
    settings = booking.settings_for(site(), service("ADM-KTP"))
    assert (settings.slot_minutes, settings.capacity, settings.horizon_days) == (15, 2, 21)
    assert client.post("/admin/lokasi/tabang/booking/SMS-PKB", data=form).status_code == 404
    logged_in(client, "supervisor.tabang")
    form["csrf_token"] = csrf_from(client.get("/admin/lokasi/tabang/loket").get_data(
        as_text=True))
    assert client.post("/admin/lokasi/tabang/booking/ADM-KTP", data=form).status_code == 403


def test_devices_page_builds_board_links(client, db):
    logged_in(client, "supervisor.tabang")
    html = client.get("/admin/lokasi/tabang/perangkat?counters=L1&counters=L2&services=INFO"
                      "&services=SMS-PKB&counters=X").get_data(as_text=True)
    assert "/boards/tabang?counters=L1,L2&amp;services=INFO" in html
    assert "/boards/tabang?counters=L3" in html  # one board per counter
    assert "Kiosk 1" in html and "Teks berjalan" in html


# --- API -------------------------------------------------------------------------------

def test_sites_api(api, db):
    r = api.login("admin").get("/api/v1/admin/sites")
    assert r.status_code == 200 and len(r.json["sites"]) > 2
    r = api.login("supervisor.tabang").get("/api/v1/admin/sites")
    assert [s["code"] for s in r.json["sites"]] == ["tabang"]
    assert api.login("operator.tabang").get("/api/v1/admin/sites").status_code == 403
    assert api.login("officer.disdukcapil").get("/api/v1/admin/sites").status_code == 403


@pytest.mark.parametrize("username, status", [
    ("admin", 200), ("supervisor.tabang", 200), ("supervisor.anggana", 403),
    ("operator.tabang", 403), ("officer.disdukcapil", 403)])
def test_counters_api_permissions(api, db, username, status):
    api.login(username)
    assert api.get("/api/v1/admin/sites/tabang/counters").status_code == status
    r = api.post("/api/v1/admin/sites/tabang/counters", json=L9)
    assert r.status_code == (201 if status == 200 else 403)
    r = api.client.patch("/api/v1/admin/sites/tabang/counters/L1", json={"name": "Loket A"},
                         headers=api.headers)
    assert r.status_code == status


def test_counters_api_without_a_token(client, db):
    assert client.get("/api/v1/admin/sites/tabang/counters").status_code == 401
    assert client.post("/api/v1/admin/sites/tabang/counters", json=L9).status_code == 401


def test_counters_api(api, db):
    api.login("supervisor.tabang")
    r = api.post("/api/v1/admin/sites/tabang/counters",
                 json={"code": "L9", "name": "Loket 9", "services": ["INFO", "ADM-KTP"],
                       "active": True})
    assert r.status_code == 201
    assert r.json == {"code": "L9", "name": "Loket 9", "number": 4,
                      "services": ["INFO", "ADM-KTP"], "active": True, "status": "closed"}
    r = api.post("/api/v1/admin/sites/tabang/counters", json={**L9, "services": ["SMS-PKB"]})
    assert r.status_code == 422 and r.json["error"]["code"] == "service_not_offered"
    r = api.post("/api/v1/admin/sites/tabang/counters", json={**L9, "number": 2})
    assert r.status_code == 409
    r = api.client.patch("/api/v1/admin/sites/tabang/counters/L9",
                         json={"services": ["ADM-KTP", "INFO"], "active": False},
                         headers=api.headers)
    assert r.status_code == 200
    assert (r.json["services"], r.json["active"]) == (["ADM-KTP", "INFO"], False)
    listed = api.get("/api/v1/admin/sites/tabang/counters").json["counters"]
    assert [c["code"] for c in listed] == ["L1", "L2", "L3", "L9"]
    public = api.get("/api/v1/sites/tabang/counters").json["counters"]
    assert "L9" not in [c["code"] for c in public]  # inactive: not offered
    r = api.client.patch("/api/v1/admin/sites/tabang/counters/L99", json={"name": "x"},
                         headers=api.headers)
    assert r.status_code == 404
    assert api.get("/api/v1/admin/sites/nowhere/counters").status_code == 404
    ops = api.get("/api/v1/openapi.json").json["paths"]
    assert "patch" in ops["/api/v1/admin/sites/{site}/counters/{code}"]
    assert "get" in ops["/api/v1/admin/sites"]
