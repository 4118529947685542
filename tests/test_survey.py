"""The SKM/IKM survey: answer sheets (at most one per finished ticket) and a hall's
published figures with the sample it needs."""
import pytest

from app.domain import queueing, survey
from app.errors import Conflict, Invalid, NotFound
from app.models import SurveyResponse

from .conftest import MONDAY_9

GOOD = [4, 3, 2, 4, 3, 3, 4, 2, 3]


def site(code="tabang"):
    return queueing.get_site(code)


def finished_ticket(site_code="tabang"):
    s = site(site_code)
    ticket = queueing.issue_ticket(s, queueing.get_service("ADM-KTP"), MONDAY_9)
    counter = queueing.get_counter(s, "L1")
    queueing.call_next(counter, MONDAY_9, "operator." + site_code)
    queueing.start(ticket.id, MONDAY_9, "operator." + site_code)
    return queueing.finish(ticket.id, "completed", MONDAY_9, "operator." + site_code)


def test_one_sheet_per_finished_ticket(db):
    ticket = finished_ticket()
    with pytest.raises(Invalid) as hostile:  # refused, not silently cleaned (issue 13)
        survey.submit(site(), None, GOOD, MONDAY_9, ticket_id=ticket.id,
                      comment="Antrean\x00 cepat \u202e", profile={"sex": "P"})
    assert hostile.value.code == "invalid_characters"
    sheet = survey.submit(site(), None, GOOD, MONDAY_9, ticket_id=ticket.id,
                          comment=" Antrean cepat\n", profile={"sex": "P"})
    assert sheet.service.code == "ADM-KTP" and sheet.answers["U8"] == 2
    assert sheet.comment == "Antrean cepat" and sheet.profile == {"sex": "P"}
    with pytest.raises(Conflict) as again:
        survey.submit(site(), None, GOOD, MONDAY_9, ticket_id=ticket.id)
    assert again.value.code == "already_answered"


def test_a_ticket_not_done_or_of_another_hall(db):
    waiting = queueing.issue_ticket(site(), queueing.get_service("ADM-KTP"), MONDAY_9)
    with pytest.raises(Conflict):
        survey.submit(site(), None, GOOD, MONDAY_9, ticket_id=waiting.id)
    with pytest.raises(NotFound):
        survey.submit(site("induk"), None, GOOD, MONDAY_9, ticket_id=waiting.id)


@pytest.mark.parametrize("kw", [{"profile": {"sex": "X"}}, {"profile": {"hobby": "a"}},
                                {"profile": "P"}, {"comment": 5}, {"comment": "x" * 1001}])
def test_bad_sheets(db, kw):
    with pytest.raises(Invalid):
        survey.submit(site(), queueing.get_service("ADM-KTP"), GOOD, MONDAY_9, **kw)
    assert SurveyResponse.select().count() == 0


def test_figures_of_a_hall(db):
    for answers in (GOOD, [3, 3, 2, 4, 4, 3, 4, 3, 3]):
        survey.submit(site(), queueing.get_service("ADM-KTP"), answers, MONDAY_9)
    survey.submit(site("induk"), queueing.get_service("ADM-KTP"), [1] * 9, MONDAY_9)
    result = survey.figures(site(), MONDAY_9.date(), MONDAY_9.date())
    assert (result.responses, result.ikm, result.grade) == (2, 79.17, "B")
    assert survey.figures(site(), MONDAY_9.date().replace(day=1),
                          MONDAY_9.date().replace(day=29)).responses == 0


def test_api(client, db):
    ticket = finished_ticket()
    r = client.post("/api/v1/surveys", json={"site": "tabang", "ticket_id": ticket.id,
                                             "answers": GOOD, "comment": "Terima kasih"})
    assert r.status_code == 201 and r.json["service"] == "ADM-KTP"
    r = client.post("/api/v1/surveys", json={"site": "tabang", "ticket_id": ticket.id,
                                             "answers": GOOD})
    assert r.status_code == 409 and r.json["error"]["code"] == "already_answered"
    for bad in ({"site": "tabang", "service": "ADM-KTP", "answers": [5] * 9},
                {"site": "tabang", "answers": GOOD},
                {"site": "tabang", "service": "ADM-KTP", "answers": "4444"},
                ["not", "an", "object"]):
        assert client.post("/api/v1/surveys", json=bad).status_code in (400, 422)
    assert client.post("/api/v1/surveys", json={"site": "nowhere", "service": "ADM-KTP",
                                                "answers": GOOD}).status_code == 404
    r = client.get("/api/v1/sites/tabang/ikm?from=2026-11-01&to=2026-11-30")
    assert r.status_code == 200
    body = r.json
    assert (body["responses"], body["ikm"], body["grade"], body["grade_label"]) == (
        1, 77.78, "B", "Baik")  # 28 / 9 x 25
    assert body["unsur"][0] == {"code": "U1", "name": "Persyaratan", "nrr": 4.0}
    assert (body["served"], body["sample_needed"], body["sample_enough"]) == (1, 1, True)
    assert "Terima kasih" not in r.get_data(as_text=True)  # figures, never the sheets
    assert client.get("/api/v1/sites/tabang/ikm?from=30-11-2026").status_code == 422
    assert client.get("/api/v1/sites/tabang/ikm?from=2026-12-01&to=2026-11-01"
                      ).status_code == 422


# --- the pages ---------------------------------------------------------------------------

def test_the_tablet_asks_about_the_ticket_its_counter_just_finished(client, db):
    idle = client.get("/survei/tabang/L1").get_data(as_text=True)
    assert "Bagaimana pelayanan kami" in idle and 'hx-trigger="every 5s"' in idle
    ticket = finished_ticket()
    page = client.get("/survei/tabang/L1").get_data(as_text=True)
    assert f'value="{ticket.id}"' in page and "Sangat sopan dan ramah" in page
    assert page.count('type="radio"') == 36
    assert "Bagaimana pelayanan kami" not in client.get("/survei/tabang/L1").get_data(
        as_text=True)
    assert "Bagaimana pelayanan kami" in client.get("/survei/tabang/L2").get_data(
        as_text=True)  # another counter's tablet stays quiet
    form = {code: str(v) for code, v in zip(("U1", "U2", "U3", "U4", "U5", "U6", "U7",
                                              "U8", "U9"), GOOD)}
    r = client.post("/survei/tabang", data={**form, "ticket_id": ticket.id,
                                            "counter": "L1", "sex": "L",
                                            "comment": "Cepat"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Terima kasih" in r.get_data(as_text=True)
    sheet = SurveyResponse.get()
    assert (sheet.ticket_ref, sheet.profile, sheet.comment) == (ticket.id, {"sex": "L"},
                                                                "Cepat")
    assert "Bagaimana pelayanan kami" in client.get("/survei/tabang/L1").get_data(
        as_text=True)  # answered: the tablet waits for the next citizen
    again = client.post("/survei/tabang", data={**form, "ticket_id": ticket.id})
    assert again.status_code == 409 and "sudah diisi" in again.get_data(as_text=True)
    half = client.post("/survei/tabang", data={"U1": "4", "ticket_id": ticket.id})
    assert half.status_code == 422


def test_the_ticket_page_offers_the_survey_once_done(client, db):
    waiting = queueing.issue_ticket(site("induk"), queueing.get_service("ADM-KTP"), MONDAY_9)
    assert "Isi survei" not in client.get(f"/t/{waiting.id}").get_data(as_text=True)
    assert "setelah Anda selesai" in client.get(f"/survei/t/{waiting.id}").get_data(
        as_text=True)
    ticket = finished_ticket()
    assert f"/survei/t/{ticket.id}" in client.get(f"/t/{ticket.id}").get_data(as_text=True)
    page = client.get(f"/survei/t/{ticket.id}").get_data(as_text=True)
    assert page.count('type="radio"') == 36
    assert client.get("/survei/t/" + "0" * 32).status_code == 404
    assert client.get("/survei/nowhere/L1").status_code == 404
