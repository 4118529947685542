"""Two real servers: appointments booked at the centre (PostgreSQL, 2 workers) come down
to a hall (SQLite) with `mpp sync`; the hall checks citizens in with the link down, and
the check-ins (and a no-show) go up exactly once when the link is back."""
import secrets
import subprocess

import psycopg2
import pytest
import requests

from .servers import ROOT, VENV_BIN, Server
from .test_booking import NIKS
from .test_cases_sync import KEY

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
NIK_KEY = "shared-nik-hash-key-for-this-test"




def centre_server(tmp_path, url):
    return Server(tmp_path / "central", workers=2, threads=4, env={
        "DATABASE_URL": url, "MPP_ROLE": "central", "SYNC_KEYS": f"tabang:{KEY}",
        "NIK_HASH_KEY": NIK_KEY})


def hall_server(tmp_path, centre_url):
    return Server(tmp_path / "hall", workers=2, threads=4, env={
        "MPP_ROLE": "site", "MPP_SITES": "tabang", "CENTRAL_URL": centre_url,
        "SYNC_SECRET": KEY, "SYNC_SENDER": "off", "NIK_HASH_KEY": NIK_KEY})


def mpp_sync(hall, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "sync"],
                          cwd=ROOT, env={**hall.env, **env}, capture_output=True,
                          text=True, timeout=120)


def book(centre, start, nik, date="2026-11-30") -> str:
    r = requests.post(f"{centre.url}/api/v1/appointments", timeout=10, json={
        "site": "tabang", "service": "ADM-KTP", "date": date, "start": start,
        "name": "Siti Aminah", "nik": nik, "phone": "081234567890"})
    assert r.status_code == 201, r.text
    return r.json()["code"]


def check_in(server, code):
    return requests.post(f"{server.url}/api/v1/sites/tabang/check-in", json={"code": code},
                         timeout=10)


def centre_view(server, code, nik):
    """The citizen's view with code + NIK (works at a hall too: it has the HMAC)."""
    r = requests.get(f"{server.url}/api/v1/appointments/{code}", headers={"X-NIK": nik},
                     timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def centre_rows(url) -> dict:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select code, status from appointment")
        rows = dict(cur.fetchall())
        cur.execute("select kind, count(*) from inbox_message group by kind")
        inbox = dict(cur.fetchall())
    conn.close()
    return {"appointments": rows, "inbox": inbox}


def test_booked_at_the_centre_checked_in_at_the_hall_offline(tmp_path, pg_database):
    with centre_server(tmp_path, pg_database) as centre, \
            hall_server(tmp_path, centre.url) as hall:
        a = book(centre, "09:00", NIKS[10])
        b = book(centre, "09:30", NIKS[11])
        c = book(centre, "09:00", NIKS[12])
        d = book(centre, "09:00", NIKS[13])  # will not come
        r = requests.post(f"{centre.url}/api/v1/appointments/{b}/cancel",
                          json={"nik": NIKS[11]}, timeout=10)
        assert r.status_code == 200, r.text
        r = requests.post(f"{centre.url}/api/v1/appointments/{c}/reschedule", timeout=10,
                          json={"nik": NIKS[12], "date": "2026-11-30", "start": "09:30"})
        assert r.status_code == 200, r.text
        # the hall cannot book: the centre counts the places
        r = requests.post(f"{hall.url}/api/v1/appointments", timeout=10, json={
            "site": "tabang", "service": "ADM-KTP", "date": "2026-11-30", "start": "10:00",
            "name": "Budi", "nik": NIKS[14], "phone": "081234567890"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "book_at_centre"
        assert check_in(hall, a).json()["error"]["code"] == "unknown_appointment"

        pulled = mpp_sync(hall)
        assert pulled.returncode == 0, pulled.stderr
        assert "tabang: delivered 0, refused 0, updates 6" in pulled.stdout

        centre.stop()  # the link is down from here
        r = check_in(hall, a)
        assert r.status_code == 201, r.text
        assert r.json()["appointment"]["code"] == a
        r = check_in(hall, c)  # rescheduled to 09:30: the hall has the new slot
        assert r.status_code == 201 and r.json()["appointment"]["start"] == "09:30"
        assert check_in(hall, b).json()["error"]["code"] == "appointment_cancelled"
        assert check_in(hall, a).json()["error"]["code"] == "already_checked_in"
        down = mpp_sync(hall)
        assert down.returncode != 0 and "Pusat tidak dapat dihubungi" in down.stderr

        centre.start()  # the link is back
        # an hour later by the hall's clock: d's check-in window has closed
        back = mpp_sync(hall, MPP_CLOCK_START="2026-11-30T10:05:00+08:00")
        assert back.returncode == 0, back.stderr
        # two check-ins, a no-show, and the facts of the two tickets the check-ins issued
        assert "tabang: delivered 4, refused 0" in back.stdout
        again = mpp_sync(hall, MPP_CLOCK_START="2026-11-30T10:06:00+08:00")
        assert "tabang: delivered 0, refused 0, updates 0" in again.stdout

        assert centre_view(centre, a, NIKS[10])["status"] == "checked_in"
        assert centre_view(centre, c, NIKS[12])["status"] == "checked_in"
        assert centre_view(centre, b, NIKS[11])["status"] == "cancelled"
        assert centre_view(centre, d, NIKS[13])["status"] == "no_show"
        # a second check-in elsewhere is refused: the centre knows
        assert check_in(centre, a).json()["error"]["code"] == "already_checked_in"
        r = requests.post(f"{centre.url}/api/v1/appointments/{c}/cancel",
                          json={"nik": NIKS[12]}, timeout=10)
        assert r.json()["error"]["code"] == "already_checked_in"
        logs = hall.log() + centre.log()
        for nik in NIKS[10:14]:
            assert nik not in logs
    rows = centre_rows(pg_database)
    assert rows["appointments"] == {a: "checked_in", b: "cancelled", c: "checked_in",
                                    d: "no_show"}
    assert rows["inbox"] == {"appointment.checked_in": 2, "appointment.no_show": 1,
                             "visit.facts": 1}


def _feed(url) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select seq, kind from case_update order by seq")
        rows = cur.fetchall()
    conn.close()
    return rows


def test_centre_races_bookings_cancels_and_check_ins_without_deadlock(tmp_path, pg_database):
    """At the centre every change of a hall's appointment takes the hall's feed lock
    first: simultaneous bookings keep the capacity and a gap-free feed, and cancellations
    racing batches of (new case + check-in) from the hall neither deadlock nor lose the
    hall's fact."""
    import json
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from app.centre_link import signed_headers

    from .test_booking_concurrency import _race
    from .test_cases_sync import _opened
    with centre_server(tmp_path, pg_database) as centre:
        _race(centre)  # 40 at one slot: 4 places; one NIK at 20 slots: 1
        feed = _feed(pg_database)
        assert [kind for _seq, kind in feed] == ["appointment.booked"] * 5
        assert [seq for seq, _kind in feed] == [1, 2, 3, 4, 5]

        codes = [book(centre, "11:00" if n < 4 else "11:30", NIKS[100 + n], "2026-12-01")
                 for n in range(8)]
        barrier = threading.Barrier(16)
        path = "/api/v1/sync/cases"

        def cancel(n):
            barrier.wait(timeout=30)
            return requests.post(f"{centre.url}/api/v1/appointments/{codes[n]}/cancel",
                                 json={"nik": NIKS[100 + n]}, timeout=60)

        def push(n):
            checked = {"id": secrets.token_hex(16), "kind": "appointment.checked_in",
                       "site": "tabang", "tracking_code": codes[n],
                       "data": {"code": codes[n], "at": "2026-11-30T03:00:00",
                                "ticket": f"A{n:03d}", "start_at": "2026-11-30T03:00:00"}}
            messages = [_opened(n), {"body": json.dumps(checked, sort_keys=True)}]
            body = json.dumps({"messages": messages}).encode()
            headers = signed_headers("tabang", KEY, "POST", path, body)
            headers["Content-Type"] = "application/json"
            barrier.wait(timeout=30)
            return requests.post(centre.url + path, data=body, headers=headers, timeout=60)

        with ThreadPoolExecutor(16) as pool:
            futures = [(pool.submit(cancel, n), pool.submit(push, n)) for n in range(8)]
            cancels = [c.result() for c, _p in futures]
            pushes = [p.result() for _c, p in futures]
        assert {r.status_code for r in cancels} <= {200, 409}, [r.text for r in cancels]
        assert {r.status_code for r in pushes} == {200}, [r.text for r in pushes]
        for r in pushes:
            assert [m["status"] for m in r.json()["results"]] == ["stored", "stored"]
        assert "deadlock" not in centre.log().lower()
        assert "Traceback" not in centre.log()
    rows = centre_rows(pg_database)
    assert {rows["appointments"][code] for code in codes} == {"checked_in"}
    feed = _feed(pg_database)
    assert [seq for seq, _kind in feed] == list(range(1, len(feed) + 1))
    cancelled = sum(r.status_code == 200 for r in cancels)
    assert sum(kind == "appointment.cancelled" for _s, kind in feed) == cancelled


def test_the_halls_sender_thread_pulls_and_reports_on_its_own(tmp_path, pg_database):
    """No `mpp sync`: the hall's background sender pulls the booking and sends the
    check-in up by itself; a cancellation at the centre comes down the same way."""
    import time
    with centre_server(tmp_path, pg_database) as centre:
        hall = Server(tmp_path / "hall", workers=2, threads=4, env={
            "MPP_ROLE": "site", "MPP_SITES": "tabang", "CENTRAL_URL": centre.url,
            "SYNC_SECRET": KEY, "SYNC_INTERVAL_SECONDS": "0.3",
            "SYNC_MAX_BACKOFF_SECONDS": "1.5", "NIK_HASH_KEY": NIK_KEY})
        with hall:
            a = book(centre, "09:30", NIKS[20])
            b = book(centre, "09:30", NIKS[21])

            def until(predicate, timeout=30.0):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if predicate():
                        return
                    time.sleep(0.2)
                raise AssertionError("condition not met in time")
            until(lambda: check_in(hall, a).status_code == 201)
            until(lambda: centre_view(centre, a, NIKS[20])["status"] == "checked_in")
            r = requests.post(f"{centre.url}/api/v1/appointments/{b}/cancel",
                              json={"nik": NIKS[21]}, timeout=10)
            assert r.status_code == 200
            # (polling with check-ins would check b in before the cancellation arrives)
            until(lambda: centre_view(hall, b, NIKS[21])["status"] == "cancelled")
            assert check_in(hall, b).json()["error"]["code"] == "appointment_cancelled"
    inbox = centre_rows(pg_database)["inbox"]
    assert inbox.pop("visit.facts") >= 1  # the checked-in ticket's facts, as it moved
    assert inbox == {"appointment.checked_in": 1}
