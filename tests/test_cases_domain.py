"""Cases in the domain layer: opening from a served ticket, codes, NIK, status machine,
attachments, and the exactly-once receipt of the sync messages."""
import hashlib
import json
import re

import pytest

from app.domain import attachments, cases, codes, forwarding, link_rows, nik, queueing
from app.errors import Conflict, Forbidden, Invalid
from app.models import Case, CaseEvent, CaseUpdate, ForwardingMessage, InboxMessage, Site, Ticket

from .casekit import NIK, NIK_MAN, bomb_png, jpeg_bytes, pdf_bytes, png_bytes, serving_ticket, user
from .conftest import MONDAY_9, at

APPLICANT = {"name": "Siti Rahmah", "nik": NIK, "phone": "0812 3456 7890"}


def open_one(**kw):
    ticket = serving_ticket(**kw)
    service = queueing.get_service("ADM-KK")
    return ticket, cases.open_case(ticket.id, service, APPLICANT,
                                   ["Formulir F-1.01", "Surat pengantar RT/RW"],
                                   "KK lama rusak", MONDAY_9, "operator.tabang")


# --- NIK -----------------------------------------------------------------------------

@pytest.mark.parametrize("value,ok", [
    (NIK, True), (NIK_MAN, True), ("6402120101850000", False),  # serial 0000
    ("9902120101850002", False),                                 # province 99
    ("6402123201850002", False), ("6402127201850002", False),    # day 32 / 72
    ("6402122902010002", False),                                 # 29 Feb 2001 / 1901
    ("6402122902000002", True),                                  # 29 Feb 2000
    ("640212010185000", False), ("640212010185000a", False), (None, False),
    ("６４０２１２０１０１８５０００２", False),                      # full-width digits
])
def test_validate_nik(value, ok):
    assert nik.validate_nik(value).ok is ok


def test_nik_unknown_kecamatan_is_a_warning():
    check = nik.validate_nik("6402990101850002")
    assert check.ok and check.warnings


def test_mask_nik():
    assert nik.mask_nik(NIK) == "6402********0001"


# --- opening -------------------------------------------------------------------------

def test_open_case_finishes_ticket_with_outbox_in_one_go(db):
    ticket, case = open_one()
    assert re.fullmatch(r"KK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", case.tracking_code)
    assert case.status == "received" and case.applicant_phone == "081234567890"
    assert Ticket.get_by_id(ticket.id).outcome == "case"
    assert Ticket.get_by_id(ticket.id).status == "done"
    assert [r["received"] for r in case.requirements] == [True, True, False, False]
    (message,) = ForwardingMessage.select()
    body = json.loads(message.body)
    assert body["kind"] == "case.opened" and body["site"] == "tabang"
    assert body["data"]["history"][0]["status"] == "received"


def test_open_case_rolls_back_everything_on_failure(db):
    ticket = serving_ticket()
    with pytest.raises(Invalid):
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"), APPLICANT,
                        ["Not a requirement"], "", MONDAY_9)
    assert Ticket.get_by_id(ticket.id).status == "serving"
    assert Case.select().count() == 0 and ForwardingMessage.select().count() == 0


@pytest.mark.parametrize("applicant,code", [
    ({"name": "A", "nik": "123"}, "invalid_nik"),
    ({"name": "", "nik": NIK}, "missing_field"),
    ({"name": "A", "nik": NIK, "phone": "abc"}, "invalid_phone"),
])
def test_open_case_refuses_bad_applicant(db, applicant, code):
    ticket = serving_ticket()
    with pytest.raises(Invalid) as err:
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"), applicant, [], "",
                        MONDAY_9)
    assert err.value.code == code


def test_open_case_needs_a_served_ticket_and_only_once(db):
    ticket, _case = open_one()
    with pytest.raises(Conflict):
        cases.open_case(ticket.id, queueing.get_service("ADM-KK"), APPLICANT, [], "",
                        MONDAY_9)
    waiting = queueing.issue_ticket(queueing.get_site("tabang"),
                                    queueing.get_service("ADM-KK"), MONDAY_9)
    with pytest.raises(Conflict):
        cases.open_case(waiting.id, queueing.get_service("ADM-KK"), APPLICANT, [], "",
                        MONDAY_9)


def test_tracking_codes_are_random_and_normalise():
    service = type("S", (), {"code": "ADM-KK"})()
    made = {cases.new_tracking_code(service) for _ in range(2000)}
    assert len(made) == 2000
    assert len(codes.READABLE_ALPHABET) == 32 and cases.CODE_SYMBOLS * 5 >= 40
    assert not set("01IO") & set(codes.READABLE_ALPHABET)
    code = next(iter(made))
    assert cases.normalise_code(code.lower().replace("-", " ")) == code
    assert cases.normalise_code("KK-0000-1111") is None
    assert cases.normalise_code("x" * 500) is None


# --- status machine ------------------------------------------------------------------

def test_status_machine_and_history(db, monkeypatch):
    _ticket, case = open_one()
    admin = user("admin")
    officer = user("officer.disdukcapil")
    with pytest.raises(Conflict):
        cases.set_status_central(case.tracking_code, "processing", MONDAY_9, officer)
    # forwarded arrives with the sync (all-in-one: the same rows)
    messages = [{"body": m.body} for m in ForwardingMessage.select()]
    results = forwarding.receive_batch(case.site, messages, MONDAY_9, "/nonexistent", 10)
    assert results[0]["status"] == "stored"
    assert Case.get_by_id(case.id).status == "forwarded"
    with pytest.raises(Forbidden):
        cases.set_status_central(case.tracking_code, "processing", MONDAY_9,
                                 user("officer.polres"))
    with pytest.raises(Invalid):
        cases.set_status_central(case.tracking_code, "needs_fix", MONDAY_9, officer)
    cases.set_status_central(case.tracking_code, "needs_fix", at(30, 10), officer,
                             missing="Surat pengantar RT/RW belum dicap")
    cases.set_status_central(case.tracking_code, "processing", at(30, 11), officer)
    cases.set_status_central(case.tracking_code, "done", at(30, 12), admin, note="OK")
    with pytest.raises(Invalid):
        cases.set_status_hall(case.tracking_code, "done", at(30, 13),
                              user("operator.tabang"))
    cases.set_status_central(case.tracking_code, "ready_for_pickup", at(30, 13), officer)
    cases.set_status_hall(case.tracking_code, "picked_up", at(30, 14),
                          user("operator.tabang"))
    with pytest.raises(Conflict):
        cases.set_status_central(case.tracking_code, "processing", at(30, 15), officer)
    statuses = [e.status for e in cases.history(Case.get_by_id(case.id))]
    assert statuses == ["received", "forwarded", "needs_fix", "processing", "done",
                        "ready_for_pickup", "picked_up"]
    public = json.dumps(cases.public_dict(Case.get_by_id(case.id)))
    assert NIK not in public and "Siti" not in public and "0812" not in public


def test_officer_inbox_is_limited_to_the_agency(db):
    _t, case = open_one()
    assert [c.id for c in cases.inbox(user("officer.disdukcapil"))] == [case.id]
    assert cases.inbox(user("officer.polres")) == []
    assert len(cases.inbox(user("admin"), site="tabang", status="received")) == 1
    with pytest.raises(Forbidden):
        cases.inbox(user("operator.tabang"))


# --- attachments ---------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    return tmp_path / "attachments"


@pytest.mark.parametrize("maker,kind", [(png_bytes, "image/png"), (jpeg_bytes, "image/jpeg"),
                                        (pdf_bytes, "application/pdf")])
def test_attachment_stored_by_content_with_checksum(db, store, maker, kind):
    _t, case = open_one()
    data = maker()
    a = attachments.add_attachment(case.tracking_code, "../../etc/passwd.exe", data,
                                   MONDAY_9, user("operator.tabang"), store, 1 << 20)
    stored = attachments.path_of(store, a).read_bytes()
    assert a.content_type == kind and a.sha256 == hashlib.sha256(stored).hexdigest()
    assert a.size == len(stored)
    assert a.original_name == "passwd.exe" and "/" not in a.stored_name
    assert stored == data or kind == "image/jpeg"  # a JPEG is re-encoded from its pixels
    assert attachments.path_of(store, a).resolve().is_relative_to(store.resolve())
    kinds = [m.kind for m in ForwardingMessage.select().order_by(ForwardingMessage.id)]
    assert kinds == ["case.opened", "case.attachment"]


@pytest.mark.parametrize("data,code", [
    (b"", "empty_file"),
    (b"<html><script>alert(1)</script></html>", "unsupported_file"),
    (b"%PDF-1.4\n<html><script>alert(1)</script>", "invalid_file"),
    (b"\x89PNG\r\n\x1a\nnot really", "invalid_file"),
])
def test_hostile_attachments_refused(db, store, data, code):
    _t, case = open_one()
    with pytest.raises(Invalid) as err:
        attachments.add_attachment(case.tracking_code, "x.pdf", data, MONDAY_9,
                                   user("operator.tabang"), store, 1 << 20)
    assert err.value.code == code
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))


def test_decompression_bomb_refused(db, store):
    _t, case = open_one()
    with pytest.raises(Invalid) as err:
        attachments.add_attachment(case.tracking_code, "bomb.png", bomb_png(), MONDAY_9,
                                   user("operator.tabang"), store, 1 << 20)
    assert err.value.code == "image_too_large"


def test_oversize_refused(db, store):
    _t, case = open_one()
    with pytest.raises(attachments.TooLarge):
        attachments.add_attachment(case.tracking_code, "a.pdf", pdf_bytes() + b" " * 2048,
                                   MONDAY_9, user("operator.tabang"), store, 1024)


def test_attachment_only_by_the_halls_staff(db, store):
    _t, case = open_one()
    with pytest.raises(Forbidden):
        attachments.add_attachment(case.tracking_code, "a.png", png_bytes(), MONDAY_9,
                                   user("operator.kota-bangun"), store, 1 << 20)


# --- exactly-once receipt at the centre ------------------------------------------------

def _as_central():
    link_rows.configure("central")


def test_receive_is_idempotent_and_refuses_a_changed_body(db, store):
    _t, case = open_one()
    wire = [{"body": m.body} for m in ForwardingMessage.select()]
    site = case.site
    assert forwarding.receive_batch(site, wire, MONDAY_9, store, 1 << 20)[0]["status"] == \
        "stored"
    again = forwarding.receive_batch(site, wire, MONDAY_9, store, 1 << 20)
    assert again[0]["status"] == "duplicate"
    changed = json.loads(wire[0]["body"])
    changed["data"]["notes"] = "something else"
    forged = [{"body": link_rows.canonical(changed)}]
    result = forwarding.receive_batch(site, forged, MONDAY_9, store, 1 << 20)[0]
    assert result == {"id": changed["id"], "status": "refused", "code": "message_conflict",
                      "message": result["message"]}
    assert InboxMessage.select().count() == 1
    assert CaseEvent.select().where(CaseEvent.status == "forwarded").count() == 1


def test_a_hall_cannot_write_another_halls_case(db, store):
    _t, case = open_one()
    wire = [{"body": m.body} for m in ForwardingMessage.select()]
    other = Site.get(Site.code == "kota-bangun")
    result = forwarding.receive_batch(other, wire, MONDAY_9, store, 1 << 20)[0]
    assert result["status"] == "refused" and result["code"] == "wrong_site"
    body = json.loads(wire[0]["body"])
    body["site"] = "kota-bangun"
    result = forwarding.receive_batch(other, [{"body": link_rows.canonical(body)}], MONDAY_9,
                                       store, 1 << 20)[0]
    assert result["code"] == "tracking_code_clash"
    assert InboxMessage.select().count() == 0


def test_central_feed_sequence_per_hall(db):
    _t, case = open_one()
    _as_central()
    try:
        wire = [{"body": m.body} for m in ForwardingMessage.select()]
        forwarding.receive_batch(case.site, wire, MONDAY_9, "/x", 10)
        cases.set_status_central(case.tracking_code, "processing", at(30, 10),
                                 user("officer.disdukcapil"))
    finally:
        link_rows.configure("all-in-one")
    page = forwarding.updates_since(case.site, 0)
    assert [u["seq"] for u in page["updates"]] == [1, 2]
    assert [u["body"]["event"]["status"] for u in page["updates"]] == ["forwarded",
                                                                       "processing"]
    assert page["cursor"] == 2 and CaseUpdate.select().count() == 2
    assert forwarding.updates_since(case.site, 2)["updates"] == []


def test_a_run_of_new_cases_takes_the_multi_row_path(db):
    """Two halls' worth of data in one database: build messages at 'tabang', then
    receive them at a centre that has never seen the cases."""
    from .backlog import make_backlog
    make_backlog(30, "tabang", MONDAY_9)
    wire = [{"body": m.body} for m in ForwardingMessage.select().order_by(ForwardingMessage.id)]
    originals = {c.tracking_code: (c.requirements, c.applicant_nik) for c in Case.select()}
    CaseEvent.delete().execute()
    Case.delete().execute()
    _as_central()
    try:
        site = Site.get(Site.code == "tabang")
        results = forwarding.receive_batch(site, wire, MONDAY_9, "/x", 10)
        again = forwarding.receive_batch(site, wire[:5] + wire[28:], MONDAY_9, "/x", 10)
    finally:
        link_rows.configure("all-in-one")
    assert [r["status"] for r in results] == ["stored"] * 30
    assert [r["status"] for r in again] == ["duplicate"] * 7
    stored = {c.tracking_code: (c.requirements, c.applicant_nik) for c in Case.select()}
    assert stored == originals
    assert all(c.status == "forwarded" for c in Case.select())
    assert CaseEvent.select().count() == 60
    page = forwarding.updates_since(site, 0, limit=100)
    assert [u["seq"] for u in page["updates"]] == list(range(1, 31))
    assert all(u["body"]["event"]["status"] == "forwarded" for u in page["updates"])
    # ... and the hall applies that page in one go, idempotently
    cases_before = Case.select().count()
    forwarding.apply_updates(site, page["updates"], page["cursor"], MONDAY_9)
    assert CaseEvent.select().count() == 60 and Case.select().count() == cases_before
    assert forwarding.updates_cursor(site.id) == 30


def test_attachment_checksum_verified_on_arrival(db, store, tmp_path):
    import base64

    from app.models import CaseAttachment
    _t, case = open_one()
    data = png_bytes()
    attachments.add_attachment(case.tracking_code, "ktp.png", data, MONDAY_9,
                               user("operator.tabang"), store, 1 << 20)
    opened, attached = ForwardingMessage.select().order_by(ForwardingMessage.id)
    CaseAttachment.delete().execute()  # the centre has not got it yet
    centre_store = tmp_path / "centre"
    site = case.site
    wrong = [{"body": attached.body, "content": base64.b64encode(data + b"x").decode()}]
    result = forwarding.receive_batch(site, wrong, MONDAY_9, centre_store, 1 << 20)[0]
    assert result["status"] == "refused" and result["code"] == "checksum_mismatch"
    html = b"<html><script>alert(1)</script></html>"
    meta = json.loads(attached.body)
    meta["data"].update(sha256=hashlib.sha256(html).hexdigest(), size=len(html))
    meta["id"] = link_rows.new_uid()
    forged = [{"body": link_rows.canonical(meta), "content": base64.b64encode(html).decode()}]
    result = forwarding.receive_batch(site, forged, MONDAY_9, centre_store, 1 << 20)[0]
    assert result["code"] == "unsupported_file"
    right = [{"body": attached.body, "content": base64.b64encode(data).decode()}]
    assert forwarding.receive_batch(site, right, MONDAY_9, centre_store, 1 << 20)[0][
        "status"] == "stored"
    (stored,) = CaseAttachment.select()
    assert attachments.path_of(centre_store, stored).read_bytes() == data


def test_a_case_collected_at_the_hall_stays_collected_when_older_news_arrives(db):
    """picked_up at the hall is still on its way up when the centre's earlier
    ready_for_pickup comes down: the hall must not go back."""
    _t, case = open_one()
    Case.update(status="picked_up").where(Case.id == case.id).execute()
    site = case.site
    older = {"tracking_code": case.tracking_code,
             "event": {"uid": "u" * 32, "status": "ready_for_pickup",
                       "at": "2026-11-30T01:30:00"}}
    for updates in ([{"seq": 1, "kind": "case.status", "body": older}],
                    [{"seq": 2, "kind": "case.status",
                      "body": {**older, "event": {**older["event"], "uid": "v" * 32}}}]):
        forwarding.apply_updates(site, updates, updates[0]["seq"], MONDAY_9)
        assert Case.get_by_id(case.id).status == "picked_up"


def test_an_officer_reads_a_case_but_does_not_change_it_at_the_hall(db, store):
    _t, case = open_one()
    officer = user("officer.disdukcapil")
    cases.require_hall_staff(officer, case)  # reads: allowed
    with pytest.raises(Forbidden):
        cases.set_status_hall(case.tracking_code, "picked_up", MONDAY_9, officer)
    with pytest.raises(Forbidden):
        attachments.add_attachment(case.tracking_code, "ktp.png", png_bytes(), MONDAY_9,
                                   officer, store, 1 << 20)


def test_a_second_case_of_one_ticket_still_reaches_the_centre(db, store):
    """A hall restored from a copy older than its last cases calls a ticket again and
    opens a new case on it: the centre already holds a case of that ticket. The new
    case is stored all the same (the citizen's application), without the ticket link;
    refusing it would leave it at the hall for good."""
    _t, first = open_one()
    wire = [{"body": m.body} for m in ForwardingMessage.select()]
    again = json.loads(wire[0]["body"])
    code = cases.new_tracking_code(first.service)
    again["id"], again["tracking_code"] = link_rows.new_uid(), code
    again["data"]["tracking_code"] = code
    again["data"]["history"] = [dict(e, uid=link_rows.new_uid())
                                for e in again["data"]["history"]]
    _as_central()
    try:
        results = forwarding.receive_batch(
            first.site, wire + [{"body": link_rows.canonical(again)}], MONDAY_9, store, 1 << 20)
    finally:
        link_rows.configure("all-in-one")
    assert [r["status"] for r in results] == ["stored", "stored"]
    second = Case.get(Case.tracking_code == code)
    assert second.ticket_ref is None and Case.get_by_id(first.id).ticket_ref == first.ticket_ref
    assert second.status == "forwarded"
