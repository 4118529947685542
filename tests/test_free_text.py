"""Free text refuses control and bidi-override characters at every entry point: each
form and JSON body that takes running text, notes, names, reasons or comments answers
422 (`invalid_characters` on the API, the message on the page) and stores nothing.
The rule is one (app.domain.plaintext); this table walks the doors to it."""
import pytest

from app.domain import plaintext
from app.errors import Invalid
from app.models import Agency, AuditEntry, Site

from .casekit import NIK
from .conftest import Api
from .pages import logged_in
from .test_booking_http import booking_body
from .test_cases_http import open_case, serve

HOSTILE = ["\x00", "\u202e", "\x85", "\u2066", "\x1b", "\u2029", "\x7f", "\u202a"]
MESSAGE = "karakter kontrol"


@pytest.mark.parametrize("char", HOSTILE + ["\x01", "\x9f", "\u2069", "\u202d", "\x0b"])
def test_the_rule_refuses(char):
    with pytest.raises(Invalid) as caught:
        plaintext.single_line(f"Loket{char}3", "text", "Teks berjalan")
    assert caught.value.code == "invalid_characters"
    assert caught.value.detail == {"field": "text"}
    assert caught.value.message.startswith("Teks berjalan memuat karakter kontrol")


@pytest.mark.parametrize("text,single,multi", [
    ("Loket 3\ttutup\r\npukul 11.00 ", "Loket 3 tutup pukul 11.00",
     "Loket 3\ttutup\r\npukul 11.00"),
    ("Sugeng rawuh \u2014 Selamat datang", None, None),
    ("\u0627\u0644\u0633\u0644\u0627\u0645 \u200f(1)\u200e", None, None),  # marks kept
    ("Nasi kuning Rp15.000 \U0001f35a", None, None),
])
def test_the_rule_keeps_ordinary_text(text, single, multi):
    assert plaintext.single_line(text, "t") == (single or text.strip())
    assert plaintext.multi_line(text, "t") == (multi or text.strip())


# --- every entry point -----------------------------------------------------------------
# (id, user, "json" | "form", method, path, body with "{X}" where the hostile text goes)
# A path or body may name {case} (a case of Tabang opened for the row) or {ticket}
# (a ticket being served at Tabang's L1).
ROWS = [
    ("running-text api", "supervisor.tabang", "json", "post",
     "/api/v1/sites/tabang/running-text", {"text": "Selamat {X}datang"}),
    ("running-text form", "supervisor.tabang", "form", "post",
     "/admin/lokasi/tabang/perangkat/teks", {"text": "Selamat {X}datang",
                                             "reading_style": "whole"}),
    ("kiosk name form", "supervisor.tabang", "form", "post",
     "/admin/lokasi/tabang/perangkat/kiosk/_new", {
         "code": "k9", "name": "Kiosk {X}9", "print_mode": "browser-html", "host": "",
         "port": "9100", "paper_width": "80", "qr_mode": "raster", "active": "on"}),
    ("hall form", "admin", "form", "post", "/admin/lokasi/baru", {
        "code": "muara-kaman-ilir", "name": "Mini MPP {X}Muara Kaman", "kind": "mini",
        "region_code": "64.02.99", "address": "Jl. Poros", "phone": "", "active": "on"}),
    ("hall address form", "admin", "form", "post", "/admin/lokasi/tabang/ubah", {
        "name": "Mini MPP Tabang", "kind": "mini", "region_code": "64.02.12",
        "address": "Jl. {X}Poros", "phone": "", "active": "on"}),
    ("counter api", "supervisor.tabang", "json", "post",
     "/api/v1/admin/sites/tabang/counters", {"code": "L9", "name": "Loket {X}9",
                                             "number": 9, "services": ["INFO"]}),
    ("counter form", "supervisor.tabang", "form", "post", "/admin/lokasi/tabang/loket/baru", {
        "code": "L9", "name": "Loket {X}9", "number": "9", "services": ["INFO"],
        "position-INFO": "1", "active": "on"}),
    ("user api", "admin", "json", "post", "/api/v1/admin/users", {
        "username": "operator.baru", "name": "Budi {X}Santoso", "role": "operator",
        "site": "tabang"}),
    ("user form", "admin", "form", "post", "/admin/pengguna/baru", {
        "username": "operator.baru", "name": "Budi {X}Santoso", "role": "operator",
        "site": "tabang"}),
    ("agency api", "admin", "json", "post", "/api/v1/admin/agencies",
     {"code": "dinkes", "name": "Dinas {X}Kesehatan"}),
    ("agency form", "admin", "form", "post", "/admin/instansi",
     {"code": "dinkes", "name": "Dinas {X}Kesehatan"}),
    ("service api", "admin", "json", "patch", "/api/v1/admin/services/ADM-KTP",
     {"fee": "Gratis{X}"}),
    ("service requirements api", "admin", "json", "patch", "/api/v1/admin/services/ADM-KTP",
     {"requirements": ["Fotokopi KK{X}"]}),
    ("closure api", "supervisor.tabang", "json", "post", "/api/v1/admin/sites/tabang/closures",
     {"from": "2026-12-03", "to": "2026-12-03", "reason": "Pemadaman {X}listrik"}),
    ("closure form", "supervisor.tabang", "form", "post", "/admin/lokasi/tabang/tutup",
     {"from": "2026-12-03", "to": "2026-12-03", "reason": "Pemadaman {X}listrik",
      "scope": "all"}),
    ("booking api", None, "json", "post", "/api/v1/appointments",
     booking_body(name="Siti {X}Aminah")),
    ("booking form", None, "form", "post", "/booking", booking_body(name="Siti {X}Aminah")),
    ("survey api", None, "json", "post", "/api/v1/surveys",
     {"site": "tabang", "service": "ADM-KTP", "answers": [4] * 9, "comment": "Bagus{X}"}),
    ("survey form", None, "form", "post", "/survei/tabang",
     {**{f"U{i}": "4" for i in range(1, 10)}, "comment": "Bagus{X}"}),
    ("case applicant api", "operator.tabang", "json", "post", "/api/v1/cases", {
        "ticket_id": "{ticket}", "service": "ADM-KK",
        "applicant": {"name": "Siti {X}Rahmah", "nik": NIK, "phone": "081234567890"}}),
    ("case notes api", "operator.tabang", "json", "post", "/api/v1/cases", {
        "ticket_id": "{ticket}", "service": "ADM-KK", "notes": "Baris 1\nBaris {X}2",
        "applicant": {"name": "Siti Rahmah", "nik": NIK, "phone": "081234567890"}}),
    ("case form", "operator.tabang", "form", "post", "/loket/tabang/L1/berkas?ticket={ticket}", {
        "service": "ADM-KK", "name": "Siti {X}Rahmah", "nik": NIK, "phone": "081234567890",
        "notes": "-"}),
    ("case hall note api", "operator.tabang", "json", "post", "/api/v1/cases/{case}/status",
     {"status": "picked_up", "note": "Diambil {X}adik"}),
    ("case hall note form", "operator.tabang", "form", "post", "/loket/berkas/{case}/diambil",
     {"note": "Diambil {X}adik"}),
    ("case officer api", "officer.disdukcapil", "json", "post",
     "/api/v1/central/cases/{case}/status", {"status": "needs_fix",
                                             "missing": "Fotokopi {X}KK"}),
    ("case officer form", "officer.disdukcapil", "form", "post", "/pusat/berkas/{case}/status",
     {"status": "processing", "note": "Diproses {X}hari ini"}),
]


def _fill(value, mapping):
    if isinstance(value, str):
        for key, text in mapping.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, list):
        return [_fill(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, mapping) for k, v in value.items()}
    return value


def _sizes():
    """What a refused request must leave untouched (a rough fingerprint of the data)."""
    from app.models import (
        Appointment,
        Case,
        CaseEvent,
        Closure,
        Counter,
        Kiosk,
        Service,
        SurveyResponse,
        User,
    )
    return ([m.select().count() for m in (Appointment, Case, CaseEvent, Closure, Counter,
                                          Kiosk, SurveyResponse, User, Agency, Site)]
            + [Site.get(Site.code == "tabang").address,
               Site.get(Site.code == "tabang").running_text,
               Service.get(Service.code == "ADM-KTP").fee,
               Service.get(Service.code == "ADM-KTP").requirements])


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_every_entry_point_refuses(app, client, db, row):
    name, username, kind, method, path, body = row
    app.config["WTF_CSRF_ENABLED"] = False
    char = HOSTILE[ROWS.index(row) % len(HOSTILE)]
    mapping = {"X": char}
    if "{case}" in path or "{ticket}" in path or "{ticket}" in str(body):
        operator = Api(app.test_client()).login("operator.tabang")
        if "{case}" in path:
            mapping["case"], _ = open_case(operator)
        else:
            mapping["ticket"] = serve(operator)["id"]
    path, body = _fill(path, mapping), _fill(body, mapping)
    before = _sizes()
    audits = AuditEntry.select().count()
    if kind == "json":
        caller = Api(client)
        if username:
            caller.login(username)
        r = getattr(caller.client, method)(path, json=body, headers=caller.headers)
        assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
        assert r.json["error"]["code"] == "invalid_characters", r.json
        assert r.json["error"]["message"].count(MESSAGE) == 1
    else:
        if username:
            logged_in(client, username)
        r = getattr(client, method)(path, data=body)
        html = r.get_data(as_text=True)
        assert r.status_code == 422, (r.status_code, html[:300])
        assert MESSAGE in html
    assert _sizes() == before
    assert AuditEntry.select().count() == audits


def test_a_raw_nul_never_reaches_the_board(app, client, db):
    """The finding: a NUL in the running text was stored and written into the board's
    HTML. Now the API refuses it and the board shows the text it had."""
    api = Api(client).login("supervisor.tabang")
    r = api.post("/api/v1/sites/tabang/running-text", json={"text": "Selamat\x00datang"})
    assert r.status_code == 422 and r.json["error"]["detail"] == {"field": "text"}
    r = api.post("/api/v1/sites/tabang/running-text",
                 json={"text": "Antrian \u202eA001\u202c dipanggil"})
    assert r.status_code == 422
    html = client.get("/boards/tabang").get_data(as_text=True)
    assert "\x00" not in html and "\u202e" not in html
    assert Site.get(Site.code == "tabang").running_text.startswith("Selamat datang")
