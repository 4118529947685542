"""Two real servers: the admin adds a service at the centre (PostgreSQL) and offers it
at Tabang; the hall (SQLite), brought up after the change, gets it with `mpp sync`, its
kiosk offers it, a ticket K001 is issued and called; with the centre stopped the hall
keeps issuing K tickets, and the centre learns which catalogue version the hall runs."""
import pytest
import requests

from .test_appointment_feed_servers import centre_server, hall_server, mpp_sync

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def auth(server, username):
    return {"Authorization": f"Bearer {server.token(username)}"}


def test_a_new_service_reaches_an_offline_hall(tmp_path, pg_database):
    with centre_server(tmp_path, pg_database) as centre:
        admin = auth(centre, "admin")
        r = requests.post(f"{centre.url}/api/v1/admin/services", headers=admin, timeout=10,
                          json={"code": "LGL-IJZ", "name": "Legalisir Ijazah",
                                "agency": "kecamatan", "prefix": "K",
                                "requirements": ["Ijazah asli", "Fotokopi ijazah"],
                                "target_wait_minutes": 20, "fee": "Gratis",
                                "processing_days": 1})
        assert r.status_code == 201, r.text
        r = requests.put(f"{centre.url}/api/v1/admin/sites/tabang/services/LGL-IJZ",
                         headers=admin, timeout=10,
                         json={"offered": True, "daily_quota": 30, "booking_share": 0})
        assert r.status_code == 200, r.text
        version = requests.get(f"{centre.url}/api/v1/catalogue/version",
                               timeout=10).json()["version"]
        assert version >= 1

        with hall_server(tmp_path, centre.url) as hall:  # brought up after the change
            before = requests.get(f"{hall.url}/k/tabang", timeout=10).text
            assert "Legalisir Ijazah" not in before
            done = mpp_sync(hall)
            assert done.returncode == 0, done.stderr
            assert requests.get(f"{hall.url}/api/v1/catalogue/version",
                                timeout=10).json() == {"version": version, "site": "tabang"}
            assert "Legalisir Ijazah" in requests.get(f"{hall.url}/k/tabang", timeout=10).text

            # What a counter serves is the hall's own decision.
            supervisor = auth(hall, "supervisor.tabang")
            counters = requests.get(f"{hall.url}/api/v1/admin/sites/tabang/counters",
                                    headers=supervisor, timeout=10).json()["counters"]
            l1 = next(c for c in counters if c["code"] == "L1")
            r = requests.patch(f"{hall.url}/api/v1/admin/sites/tabang/counters/L1",
                               headers=supervisor, timeout=10,
                               json={"services": ["LGL-IJZ"] + l1["services"]})
            assert r.status_code == 200, r.text

            r = requests.post(f"{hall.url}/api/v1/sites/tabang/tickets", timeout=10,
                              json={"service": "LGL-IJZ"})
            assert r.status_code == 201, r.text
            assert r.json()["number"] == "K001"
            operator = auth(hall, "operator.tabang")
            requests.post(f"{hall.url}/api/v1/sites/tabang/counters/L1/status",
                          json={"status": "open"}, headers=operator, timeout=10)
            r = requests.post(f"{hall.url}/api/v1/sites/tabang/counters/L1/call-next",
                              headers=operator, timeout=10)
            assert r.status_code == 200, r.text
            assert r.json()["ticket"]["number"] == "K001"

            assert mpp_sync(hall).returncode == 0  # this pull reports the version it runs
            sites = requests.get(f"{centre.url}/api/v1/catalogue/version",
                                 timeout=10).json()["sites"]
            assert sites["tabang"] == version

            centre.stop()  # the link is gone: the hall carries on with its catalogue
            r = requests.post(f"{hall.url}/api/v1/sites/tabang/tickets", timeout=10,
                              json={"service": "LGL-IJZ"})
            assert r.status_code == 201 and r.json()["number"] == "K002"
            assert mpp_sync(hall).returncode != 0  # says the centre is away
