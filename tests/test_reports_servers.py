"""Two real servers: a hall (SQLite) serves tickets and takes surveys while the centre
(PostgreSQL, 2 workers) is down; when the link is back, the centre's report and IKM of
the hall equal the hall's own, and nothing is counted twice however often it syncs."""
import psycopg2
import pytest
import requests

from .test_appointment_feed_servers import centre_server, hall_server, mpp_sync
from .test_cases_sync import auth

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DAY = "2026-11-30"
COMPARED = ("arrived", "served", "no_show", "no_show_rate", "transferred", "cancelled",
            "wait_minutes", "service_minutes", "within_target_pct", "by_service",
            "by_counter", "by_operator", "by_hour", "by_day")


def serve_a_morning(hall) -> list[str]:
    """Five tickets: three served, one no-show, one still waiting; returns the served."""
    operator = auth(hall, "operator.tabang")
    url = hall.url
    for service in ("ADM-KTP", "ADM-KTP", "ADM-KK", "INFO", "ADM-KTP"):
        r = requests.post(f"{url}/api/v1/sites/tabang/tickets", json={"service": service},
                          timeout=10)
        assert r.status_code == 201, r.text
    served = []
    for step in ("finish", "no-show", "finish", "finish"):
        r = requests.post(f"{url}/api/v1/sites/tabang/counters/L1/call-next",
                          headers=operator, timeout=10)
        assert r.status_code == 200, r.text
        ticket = r.json()["ticket"]["id"]
        if step == "finish":
            requests.post(f"{url}/api/v1/tickets/{ticket}/start", headers=operator,
                          timeout=10).raise_for_status()
            requests.post(f"{url}/api/v1/tickets/{ticket}/finish", headers=operator,
                          json={"outcome": "completed"}, timeout=10).raise_for_status()
            served.append(ticket)
        else:
            requests.post(f"{url}/api/v1/tickets/{ticket}/no-show", headers=operator,
                          timeout=10).raise_for_status()
    return served


def answer(hall, ticket, answers):
    r = requests.post(f"{hall.url}/api/v1/surveys", timeout=10, json={
        "site": "tabang", "ticket_id": ticket, "answers": answers,
        "comment": "Pelayanan cepat"})
    assert r.status_code == 201, r.text


def report(server) -> dict:
    r = requests.get(f"{server.url}/api/v1/reports/summary", headers=auth(server, "admin"),
                     params={"site": "tabang", "from": DAY, "to": DAY}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def ikm(server) -> dict:
    r = requests.get(f"{server.url}/api/v1/sites/tabang/ikm",
                     params={"from": DAY, "to": DAY}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def centre_counts(url) -> dict:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct ticket_ref) from visit_fact")
        facts, distinct = cur.fetchone()
        cur.execute("select count(*) from survey_response")
        (sheets,) = cur.fetchone()
    conn.close()
    return {"facts": facts, "distinct": distinct, "sheets": sheets}


def test_a_day_offline_reaches_the_centre_once(tmp_path, pg_database):
    with centre_server(tmp_path, pg_database) as centre, \
            hall_server(tmp_path, centre.url) as hall:
        centre.stop()  # the link is down all morning
        served = serve_a_morning(hall)
        answer(hall, served[0], [4, 4, 3, 4, 4, 4, 4, 3, 4])
        answer(hall, served[1], [3, 3, 3, 2, 3, 3, 4, 3, 3])
        down = mpp_sync(hall)
        assert down.returncode != 0
        at_hall = report(hall)
        assert (at_hall["arrived"], at_hall["served"], at_hall["no_show"]) == (5, 3, 1)
        assert at_hall["incomplete_sites"] == []
        assert ikm(hall)["responses"] == 2

        centre.start()  # the link is back
        for _ in range(3):  # however often it syncs, nothing counts twice
            back = mpp_sync(hall)
            assert back.returncode == 0, back.stderr
        at_centre = report(centre)
        for key in COMPARED:
            assert at_centre[key] == at_hall[key], key
        assert at_centre["incomplete_sites"] == []
        assert ikm(centre) == ikm(hall)
        assert centre_counts(pg_database) == {"facts": 5, "distinct": 5, "sheets": 2}
        # Halls that never reported are named at the centre, not at the hall.
        everyone = requests.get(f"{centre.url}/api/v1/reports/summary",
                                headers=auth(centre, "admin"),
                                params={"from": DAY, "to": DAY}, timeout=30).json()
        lagging = {row["site"] for row in everyone["incomplete_sites"]}
        assert "kota-bangun" in lagging and "tabang" not in lagging
