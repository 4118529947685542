"""Boards as registered devices, in process: the pairing screen, a supervisor entering
the code (API and devices page), the credential cookie, revocation, who may pair where,
and the hub's limits. Real gunicorn processes and websockets: test_board_pairing_live.py."""
import datetime as dt
import re

import pytest

from app.domain import board_devices
from app.domain.audit import Actor
from app.errors import DomainError, NotFound
from app.models import AuditEntry, BoardDevice, BoardPairing, Site
from boards.hub import Admission, Hub, HubFull, Limits

from . import boardkit
from .conftest import MONDAY_9
from .pages import csrf_from, logged_in

SUPERVISOR = Actor("supervisor.tabang", "supervisor", "tabang", "10.0.0.2")


def code_on(html: str) -> str:
    match = re.search(r'id="pairing-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{2})<', html)
    assert match, "no pairing code on the page"
    return match.group(1)


def cookie(client, name):
    found = client.get_cookie(name, path="/") or client.get_cookie(
        name, path="/boards/tabang")
    return found.value if found else None


def test_an_unregistered_tv_is_paired_by_a_supervisor_and_then_shows_the_board(
        client, api, db):
    page = client.get("/boards/tabang")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Papan ini belum terdaftar" in html and "Kode pemasangan" in html
    assert "board.js" not in html and "pairing.js" in html
    code = code_on(html)
    assert client.get("/boards/tabang").get_data(as_text=True).count(code) == 1  # kept
    assert client.get("/boards/tabang/pasang").json == {"status": "waiting", "code": code}

    r = api.login("supervisor.tabang").post("/api/v1/sites/tabang/boards",
                                            json={"code": code.lower().replace("-", " "),
                                                  "name": "TV ruang tunggu 1"})
    assert r.status_code == 201, r.json
    assert r.json["name"] == "TV ruang tunggu 1" and r.json["status"] == "menunggu TV"
    entry = AuditEntry.get(AuditEntry.action == "board.pair")
    assert entry.actor == "supervisor.tabang" and entry.site_code == "tabang"
    assert entry.after["code"] == code

    r = client.get("/boards/tabang/pasang")
    assert r.json == {"status": "registered", "name": "TV ruang tunggu 1"}
    set_cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("mpp_board=")]
    assert set_cookie and "HttpOnly" in set_cookie[0] and "Path=/" in set_cookie[0]
    assert re.search(r"Max-Age=(\d+)", set_cookie[0]).group(1) == str(3650 * 86400)
    credential = cookie(client, "mpp_board")
    assert len(credential) >= 40
    device = BoardDevice.get()
    assert device.credential_hash == board_devices.hashed(credential) != credential

    board = client.get("/boards/tabang").get_data(as_text=True)
    assert "board.js" in board and "Papan ini belum terdaftar" not in board
    assert client.get("/boards/tabang/pasang").json == {"status": "expired"}  # claimed once
    listed = api.get("/api/v1/sites/tabang/boards").json["boards"]
    assert [(b["name"], b["status"]) for b in listed] == [("TV ruang tunggu 1", "aktif")]
    assert "credential" not in str(listed)


def test_wrong_expired_and_malformed_codes(client, api, db):
    code = code_on(client.get("/boards/tabang").get_data(as_text=True))
    api.login("supervisor.tabang")
    other = "2222-22" if code != "2222-22" else "3333-33"
    r = api.post("/api/v1/sites/tabang/boards", json={"code": other, "name": "TV"})
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_pairing_code"
    for bad in ("12", "4F7K-2Q0", "OOOO-II"):
        r = api.post("/api/v1/sites/tabang/boards", json={"code": bad, "name": "TV"})
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_pairing_code"
    r = api.post("/api/v1/sites/tabang/boards", json={"code": code, "name": "TV\u202e1"})
    assert r.status_code == 422
    r = api.post("/api/v1/sites/tabang/boards", json={"code": code})
    assert r.status_code == 422 and r.json["error"]["code"] == "missing_field"
    # A code is valid for PAIRING_MINUTES; the board then asks for a new one.
    site = Site.get(Site.code == "tabang")
    late = MONDAY_9 + dt.timedelta(minutes=board_devices.PAIRING_MINUTES + 1)
    with pytest.raises(NotFound):
        board_devices.pair(site, code, "TV", late, SUPERVISOR)
    pairing = BoardPairing.get()
    secret = cookie(client, "mpp_board_pasang")
    assert pairing.secret_hash == board_devices.hashed(secret)
    assert board_devices.poll(site, secret, late) is None
    assert BoardDevice.select().count() == 0


def test_a_supervisor_cannot_pair_or_revoke_in_another_hall(client, api, db):
    code = code_on(client.get("/boards/tabang").get_data(as_text=True))
    for username in ("supervisor.anggana", "operator.tabang"):
        api.login(username)
        r = api.post("/api/v1/sites/tabang/boards", json={"code": code, "name": "TV"})
        assert r.status_code == 403, username
        assert api.get("/api/v1/sites/tabang/boards").status_code == 403
    assert api.client.post("/api/v1/sites/tabang/boards", json={"code": code}).status_code \
        == 401
    # The code is the hall's: entered at another hall by its own supervisor, it is unknown.
    r = api.login("supervisor.anggana").post("/api/v1/sites/anggana/boards",
                                             json={"code": code, "name": "TV"})
    assert r.status_code == 404
    assert BoardDevice.select().count() == 0
    # An admin may pair anywhere.
    r = api.login("admin").post("/api/v1/sites/tabang/boards",
                                json={"code": code, "name": "TV lobi"})
    assert r.status_code == 201
    r = api.login("supervisor.anggana").post(
        f"/api/v1/sites/tabang/boards/{r.json['id']}/revoke")
    assert r.status_code == 403
    r = api.post(f"/api/v1/sites/anggana/boards/{BoardDevice.get().id}/revoke")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_board"


def test_revoking_a_board_sends_it_back_to_the_pairing_screen(client, api, db):
    client.set_cookie(boardkit.COOKIE, boardkit.register("tabang", "TV lama"))
    assert "board.js" in client.get("/boards/tabang").get_data(as_text=True)
    device = BoardDevice.get()
    r = api.login("supervisor.tabang").post(
        f"/api/v1/sites/tabang/boards/{device.id}/revoke")
    assert r.status_code == 200 and r.json["status"] == "dicabut"
    assert r.json["revoked_by"] == "supervisor.tabang"
    assert AuditEntry.select().where(AuditEntry.action == "board.revoke").count() == 1
    html = client.get("/boards/tabang").get_data(as_text=True)
    assert "Papan ini belum terdaftar" in html
    # Revoking again changes nothing and writes no second entry.
    assert api.post(f"/api/v1/sites/tabang/boards/{device.id}/revoke").status_code == 200
    assert AuditEntry.select().where(AuditEntry.action == "board.revoke").count() == 1


def test_the_devices_page_pairs_and_revokes(client, db):
    code = code_on(client.get("/boards/tabang").get_data(as_text=True))
    staff = client.application.test_client()
    logged_in(staff, "supervisor.tabang")
    page = staff.get("/admin/lokasi/tabang/perangkat").get_data(as_text=True)
    assert "Papan terdaftar" in page and "Belum ada papan terdaftar" in page
    r = staff.post("/admin/lokasi/tabang/perangkat/papan",
                   data={"code": "ZZZZ-ZZ", "name": "TV", "csrf_token": csrf_from(page)})
    assert r.status_code == 404 and "kedaluwarsa" in r.get_data(as_text=True)
    r = staff.post("/admin/lokasi/tabang/perangkat/papan",
                   data={"code": code, "name": "TV ruang tunggu 1",
                         "csrf_token": csrf_from(page)})
    assert r.status_code == 303
    page = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert "TV ruang tunggu 1" in page and "Menunggu TV" in page
    assert client.get("/boards/tabang/pasang").json["status"] == "registered"
    page = staff.get("/admin/lokasi/tabang/perangkat").get_data(as_text=True)
    assert "Aktif" in page
    device = BoardDevice.get()
    r = staff.post(f"/admin/lokasi/tabang/perangkat/papan/{device.id}/cabut",
                   data={"csrf_token": csrf_from(page)})
    assert r.status_code == 303
    assert BoardDevice.get().revoked_by == "supervisor.tabang"
    other = client.application.test_client()
    logged_in(other, "supervisor.anggana")
    own = other.get("/admin/lokasi/anggana/perangkat").get_data(as_text=True)
    r = other.post("/admin/lokasi/tabang/perangkat/papan",
                   data={"code": code, "name": "x", "csrf_token": csrf_from(own)})
    assert r.status_code == 403


def test_pairing_off_opens_the_board_page_for_anyone(app, client, db):
    app.config["SETTINGS"]["BOARD_PAIRING"] = "off"
    html = client.get("/boards/tabang").get_data(as_text=True)
    assert "board.js" in html and "belum terdaftar" not in html


def test_too_many_waiting_codes_are_refused(app, db):
    """One address holds a few waiting codes, not the hall's pairing: another TV still
    gets its code, up to the hall's maximum."""
    site = Site.get(Site.code == "tabang")
    for _ in range(board_devices.PENDING_PER_ADDRESS):
        board_devices.open_board(site, None, None, MONDAY_9, "10.0.0.9")
    with pytest.raises(DomainError) as refused:
        board_devices.open_board(site, None, None, MONDAY_9, "10.0.0.9")
    assert refused.value.status == 429 and refused.value.code == "pairing_busy"
    assert board_devices.open_board(site, None, None, MONDAY_9, "10.0.0.10").code
    for i in range(board_devices.PENDING_MAX - board_devices.PENDING_PER_ADDRESS - 1):
        board_devices.open_board(site, None, None, MONDAY_9, f"10.1.{i // 250}.{i % 250}")
    with pytest.raises(DomainError):
        board_devices.open_board(site, None, None, MONDAY_9, "10.0.0.11")
    # Other halls are not affected, and an hour later the codes have expired.
    board_devices.open_board(Site.get(Site.code == "anggana"), None, None, MONDAY_9)
    board_devices.open_board(site, None, None, MONDAY_9 + dt.timedelta(hours=1), "10.0.0.9")


class Sub:
    def __init__(self, site_code, admission=None):
        self.site_code, self.admission = site_code, admission
        self.closed = False

    def close(self):
        self.closed = True


def test_hub_limits_unregistered_clients_never_registered_boards():
    hub = Hub(capacity=10, limits=Limits(hall_max=3, unregistered_max=4, per_address=2))
    a = [hub.add(Sub("tabang", Admission("10.0.0.1"))) for _ in range(2)]
    with pytest.raises(HubFull) as refused:
        hub.add(Sub("tabang", Admission("10.0.0.1")))
    assert refused.value.status == 429 and refused.value.code == "boards_address_limit"
    hub.add(Sub("anggana", Admission("10.0.0.2")))
    hub.add(Sub("anggana", Admission("10.0.0.3")))
    with pytest.raises(HubFull) as refused:
        hub.add(Sub("anggana", Admission("10.0.0.4")))
    assert refused.value.status == 503 and refused.value.code == "boards_unregistered_full"
    # Registered boards of any hall still get in, up to their hall's allowance.
    boards = [hub.add(Sub("anggana", Admission("anggana", device=7))) for _ in range(3)]
    with pytest.raises(HubFull) as refused:
        hub.add(Sub("anggana", Admission("anggana", device=8)))
    assert refused.value.code == "boards_hall_full"
    hub.add(Sub("tabang", Admission("tabang", device=9)))
    assert hub.count_registered("anggana") == 3 and hub.count_unregistered() == 4
    # Leaving frees the place (once, however often it is unsubscribed).
    hub.unsubscribe(a[0])
    hub.unsubscribe(a[0])
    assert hub.count_unregistered("10.0.0.1") == 1 and hub.count_unregistered() == 3
    hub.add(Sub("tabang", Admission("10.0.0.1")))
    # A revoked board's sockets are closed, no other; no sequence number is spent.
    assert hub.dispatch("anggana", {"type": "board_revoked", "device": 7}) == 0
    assert all(b.closed for b in boards) and hub.current_seq("anggana") == 0


def test_unregistered_max_is_at_most_half_the_capacity():
    from boards.setup import board_limits
    limits = board_limits({"BOARD_UNREGISTERED_MAX": "100"}, 24)
    assert limits.unregistered_max == 12 and limits.per_address == 4
    assert limits.hall_max == 500


def test_migration_0620_upgrades_a_hall_with_data(tmp_path):
    """A hall's database at 0610 with a hall and a ticket in it gains the two tables;
    what was there stays, and a board registers at once."""
    from playhouse.migrations import Runner

    from app import create_app, demo
    from app.cli import MIGRATIONS, migrate
    from app.db import database
    from app.domain import queueing
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        database.connect(reuse_if_open=True)
        Runner(database.obj, directory=str(MIGRATIONS)).up(target="0610_sessions")
        demo.load("demo")  # the tables it fills are the same at 0610
        ticket = queueing.issue_ticket(Site.get(Site.code == "tabang"),
                                       queueing.get_service("ADM-KTP"), MONDAY_9)
        database.close()
        assert "0620_board_devices" in migrate()  # and any later ones
        database.connect(reuse_if_open=True)
        try:
            assert Site.select().count() > 20
            assert queueing.get_ticket(ticket.id).number == ticket.number
            assert BoardDevice.select().count() == BoardPairing.select().count() == 0
            credential = boardkit.register("tabang", "TV 1", MONDAY_9)
            tabang = Site.get(Site.code == "tabang")
            assert board_devices.authenticate(tabang, credential).name == "TV 1"
            assert board_devices.authenticate(Site.get(Site.code == "induk"),
                                              credential) is None  # another hall's
        finally:
            database.close()


@pytest.mark.postgres
def test_on_postgresql_a_code_pairs_once_and_a_credential_is_claimed_once(pg_app):
    """Two supervisors entering one code at once, two tabs of the TV claiming at once:
    one device, one credential."""
    import threading

    from app.db import database
    site = Site.get(Site.code == "tabang")
    access = board_devices.open_board(site, None, None, MONDAY_9, "10.0.0.5")
    secret, code = access.new_secret, access.code
    database.close()
    results, barrier = [], threading.Barrier(2)

    def attempt(fn):
        with database.connection_context():
            barrier.wait()
            try:
                results.append(fn())
            except NotFound as exc:
                results.append(exc)
    paired = [threading.Thread(target=attempt, args=(lambda n=n: board_devices.pair(
        site, code, f"TV {n}", MONDAY_9, SUPERVISOR),)) for n in range(2)]
    [t.start() for t in paired]
    [t.join() for t in paired]
    assert sorted(type(r).__name__ for r in results) == ["BoardDevice", "NotFound"]
    database.connect(reuse_if_open=True)
    assert BoardDevice.select().count() == 1
    database.close()
    results.clear()
    claims = [threading.Thread(target=attempt, args=(
        lambda: board_devices.poll(site, secret, MONDAY_9),)) for _ in range(2)]
    [t.start() for t in claims]
    [t.join() for t in claims]
    credentials = [r.new_credential for r in results if r is not None and r.new_credential]
    assert len(credentials) == 1
    database.connect(reuse_if_open=True)
    assert board_devices.authenticate(site, credentials[0]).name in ("TV 0", "TV 1")
    assert [d["status"] for d in map(board_devices.as_dict,
                                     board_devices.devices_of(site))] == ["aktif"]
