"""The centre's dashboard over HTTP: who may see /pusat and GET /api/v1/central/halls,
the JSON shape, the htmx fragment, and a supervisor's own hall on their start page."""
import datetime as dt
import re

from app.clock import WITA
from app.domain import link_rows, visits
from app.models import Site

from .pages import logged_in

HX = {"HX-Request": "true"}


def tiles(html: str) -> list[str]:
    return re.findall(r'<article class="hall-tile[^"]*" id="hall-([a-z0-9-]+)"', html)


def test_anonymous_goes_to_the_login_and_the_api_wants_a_token(client):
    r = client.get("/pusat")
    assert r.status_code == 302 and "/loket/masuk" in r.headers["Location"]
    r = client.get("/api/v1/central/halls")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/central/halls", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"


def test_hall_staff_may_not_see_the_centres_dashboard(app, api):
    for user in ("supervisor.tabang", "operator.tabang"):
        client = app.test_client()
        logged_in(client, user)
        r = client.get("/pusat")
        assert r.status_code == 403 and "Tidak diizinkan" in r.get_data(as_text=True)
        r = api.login(user).get("/api/v1/central/halls")
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_the_page_has_a_tile_per_hall_and_refreshes_itself(app, client):
    logged_in(client, "admin")
    html = client.get("/pusat").get_data(as_text=True)
    assert len(tiles(html)) == 21 and tiles(html)[0] == "induk"
    assert 'hx-trigger="every 15s"' in html and 'hx-get="/pusat"' in html
    assert "Dasbor lokasi" in html and "21</small>" in html
    tabang = html[html.index('id="hall-tabang"'):]
    tabang = tabang[:tabang.index("</article>")]
    assert "Buka" in tabang and "IKM: <span class=\"muted\">belum ada survei" in tabang
    assert "Data langsung di server ini" in tabang
    html = client.get("/pusat?setiap=2").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in html and 'hx-get="/pusat?setiap=2"' in html
    html = client.get("/pusat?setiap=0").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in html  # never faster than every 2 s


def test_the_fragment_is_the_grid_alone(client):
    logged_in(client, "officer.disdukcapil")
    html = client.get("/pusat", headers=HX).get_data(as_text=True)
    assert "<html" not in html and "hx-trigger" not in html
    assert html.lstrip().startswith('<div class="dash-totals"') and len(tiles(html)) == 21


def test_the_api_lists_every_hall(app, api):
    assert api.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"}).status_code \
        == 201
    for user in ("admin", "officer.disdukcapil"):
        r = api.login(user).get("/api/v1/central/halls")
        assert r.status_code == 200
        halls = r.json["halls"]
        assert len(halls) == 21 and halls[0]["site"] == "induk"
        tabang = next(h for h in halls if h["site"] == "tabang")
        assert list(tabang) == ["site", "name", "open", "waiting", "longest_wait_minutes",
                                "served_today", "ikm", "grade", "last_contact_at",
                                "data_until", "pending_messages", "catalogue_version",
                                "link", "silent"]
        assert (tabang["name"], tabang["open"], tabang["waiting"], tabang["link"]) == (
            "Mini MPP Tabang", True, 1, "ok")
        assert tabang["last_contact_at"].endswith("+08:00")
        assert (tabang["ikm"], tabang["grade"], tabang["silent"]) == (None, None, False)


def test_the_api_describes_itself(client):
    ops = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/central/halls"]["get"]
    assert set(ops["responses"]) == {"200", "401", "403", "404"}


def test_not_at_a_halls_box(app, client, api):
    logged_in(client, "admin")
    api.login("admin")
    app.config["MPP_ROLE"] = "site"
    assert client.get("/pusat").status_code == 404
    assert api.get("/api/v1/central/halls").status_code == 404
    assert "Dasbor pusat" not in client.get("/loket/").get_data(as_text=True)


def test_a_supervisor_sees_their_hall_on_their_start_page(app, client):
    logged_in(client, "supervisor.tabang")
    html = client.get("/loket/").get_data(as_text=True)
    assert tiles(html) == ["tabang"]
    assert 'hx-get="/pengawas/tabang/ringkasan"' in html and "dashboard.css" in html
    assert "Dasbor pusat" not in html
    r = client.get("/pengawas/tabang/ringkasan", headers=HX)
    assert r.status_code == 200 and tiles(r.get_data(as_text=True)) == ["tabang"]
    assert "<html" not in r.get_data(as_text=True)
    r = client.get("/pengawas/tabang/ringkasan")
    assert r.status_code == 302 and r.headers["Location"].endswith("/loket/?site=tabang")
    assert client.get("/pengawas/sebulu/ringkasan", headers=HX).status_code == 403


def test_an_operator_sees_no_tile_and_an_officer_any_hall(app):
    operator = app.test_client()
    logged_in(operator, "operator.tabang")
    assert tiles(operator.get("/loket/").get_data(as_text=True)) == []
    assert operator.get("/pengawas/tabang/ringkasan", headers=HX).status_code == 403
    officer = app.test_client()
    logged_in(officer, "officer.disdukcapil")
    assert officer.get("/pengawas/sebulu/ringkasan", headers=HX).status_code == 200
    assert "Dasbor pusat" in officer.get("/pusat/berkas").get_data(as_text=True)


def test_admin_start_page_links_the_dashboard(client):
    logged_in(client, "admin")
    html = client.get("/loket/?site=tabang").get_data(as_text=True)
    assert 'href="/pusat"' in html and tiles(html) == ["tabang"]


def test_a_hall_box_supervisor_tile_speaks_of_the_link_to_the_centre(app, client):
    logged_in(client, "supervisor.tabang")
    link_rows.configure("site", ["tabang"])
    try:
        html = client.get("/pengawas/tabang/ringkasan", headers=HX).get_data(as_text=True)
    finally:
        link_rows.configure("all-in-one")
    assert "Kontak terakhir belum pernah" in html
    assert "Tidak tersambung ke MPP Induk &gt; 15 menit pada jam buka" in html


def test_at_the_centre_a_quiet_hall_is_marked(app, client):
    now = app.clock.now()
    contact = now - dt.timedelta(minutes=20)
    visits.record_pulse(Site.get(Site.code == "tabang"), {
        "waiting": "4", "longest": "600", "served": "9", "pending": "2",
        "until": str(int(contact.timestamp()) - 60), "day": contact.astimezone(WITA).date()
        .isoformat()}, contact)
    logged_in(client, "admin")
    link_rows.configure("central")
    try:
        html = client.get("/pusat", headers=HX).get_data(as_text=True)
    finally:
        link_rows.configure("all-in-one")
    assert "silent" in re.search(r'<article class="([^"]*)" id="hall-tabang"', html).group(1)
    tabang = html[html.index('id="hall-tabang"'):]
    tabang = tabang[:tabang.index("</article>")]
    assert "Tidak ada kabar &gt; 15 menit pada jam buka" in tabang
    assert f"Kontak terakhir {contact.astimezone(WITA):%H.%M} WITA, 20 menit lalu" in tabang
    assert "Data sampai" in tabang and "21 menit lalu" in tabang
    assert "Pesan menunggu dikirim: 2" in tabang and 'data-field="waiting">4<' in tabang
    sebulu = html[html.index('id="hall-sebulu"'):]
    sebulu = sebulu[:sebulu.index("</article>")]
    assert "belum pernah tersambung" in sebulu and 'data-field="waiting">–<' in sebulu


def test_a_self_refreshing_page_whose_session_ended_goes_to_the_login(client, db):
    """htmx follows HX-Redirect before it swaps anything: the login form never lands
    inside a dashboard tile."""
    r = client.get("/pusat", headers={"HX-Request": "true",
                                      "HX-Current-URL": "http://localhost/pusat"})
    assert r.status_code == 401 and r.get_data() == b""
    assert r.headers["HX-Redirect"].startswith("/loket/masuk?next=")
    assert "pusat" in r.headers["HX-Redirect"]
    plain = client.get("/pusat")
    assert plain.status_code == 302 and "/loket/masuk" in plain.headers["Location"]
