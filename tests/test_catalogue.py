"""The catalogue's admin verbs, domain layer (app/domain/catalogue.py): agencies,
services, each hall's offer, opening hours, closures of a hall or some services, with
their validations, audit entries, live events and the appointments they affect."""
import datetime as dt

import pytest

from app.domain import (
    audit,
    booking,
    calendar,
    catalogue,
    catalogue_feed,
    link_rows,
    queueing,
)
from app.errors import Conflict, Invalid, NotFound
from app.models import (
    Appointment,
    AuditEntry,
    BookingSetting,
    CaseUpdate,
    Closure,
    MailMessage,
    OpeningWindow,
    Site,
    SiteService,
)

from .conftest import MONDAY_9, at
from .test_booking import NIKS, book

ADMIN = audit.Actor("admin", "admin", "", "10.0.0.9")
SUPERVISOR = audit.Actor("supervisor.tabang", "supervisor", "tabang", "10.0.0.7")


def site(code="tabang"):
    return Site.get(Site.code == code)


def service(code="ADM-KTP"):
    return queueing.get_service(code)


def actions():
    return [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]


# --- agencies ------------------------------------------------------------------------

def test_create_and_rename_an_agency(db, published):
    agency = catalogue.create_agency(ADMIN, MONDAY_9, "dinkes", " Dinas  Kesehatan ")
    assert (agency.code, agency.name) == ("dinkes", "Dinas Kesehatan")
    catalogue.rename_agency(ADMIN, MONDAY_9, "disdukcapil", "Disdukcapil Kukar")
    assert catalogue.get_agency("disdukcapil").name == "Disdukcapil Kukar"
    entries = list(AuditEntry.select().order_by(AuditEntry.id))
    assert [e.action for e in entries] == ["agency.create", "agency.update"]
    assert entries[1].before == {"name": "Dinas Kependudukan dan Pencatatan Sipil"}
    assert entries[1].after == {"name": "Disdukcapil Kukar"}
    # A rename changes what every hall offering its services shows.
    assert {code for code, _ in published} >= {"tabang", "induk"}
    assert all(e["type"] == "catalogue_changed" for _, e in published)


@pytest.mark.parametrize("code, name, error", [
    ("disdukcapil", "Lagi", "duplicate_code"), ("X", "Satu huruf", "invalid_code"),
    ("dinas kes", "Spasi", "invalid_code"), ("dinkes", "  ", "missing_field"),
    (None, "Tanpa kode", "missing_field")])
def test_agency_validation(db, code, name, error):
    with pytest.raises((Invalid, Conflict)) as exc:
        catalogue.create_agency(ADMIN, MONDAY_9, code, name)
    assert exc.value.code == error
    assert actions() == []


def test_rename_unknown_agency(db):
    with pytest.raises(NotFound):
        catalogue.rename_agency(ADMIN, MONDAY_9, "nope", "Apa saja")


# --- services ------------------------------------------------------------------------

def new_service(**kw):
    code = kw.pop("code", "adm-kia")
    values = {"name": "Kartu Identitas Anak", "agency": "disdukcapil", "prefix": "a",
              "requirements": ["Akta kelahiran", "  ", "KK"], "target_wait_minutes": 20,
              "fee": "Gratis", "processing_days": 1, "standard": "Dasar hukum: ...",
              **kw}
    return catalogue.create_service(ADMIN, MONDAY_9, code, **values)


def test_create_a_service(db):
    s = new_service()
    assert catalogue.service_dict(s) == {
        "code": "ADM-KIA", "name": "Kartu Identitas Anak", "agency": "disdukcapil",
        "prefix": "A", "requirements": ["Akta kelahiran", "KK"], "target_wait_minutes": 20,
        "fee": "Gratis", "processing_days": 1, "standard": "Dasar hukum: ...",
        "standard_minutes": 10, "mini": "yes"}
    assert actions() == ["service.create"]
    # Offered nowhere until a hall turns it on.
    assert not SiteService.select().where(SiteService.service == s).exists()


@pytest.mark.parametrize("kw, error", [
    ({"name": ""}, "missing_field"), ({"agency": "nope"}, "unknown_agency"),
    ({"agency": None}, "unknown_agency"), ({"prefix": "ABC"}, "invalid_prefix"),
    ({"prefix": "1"}, "invalid_prefix"), ({"prefix": ""}, "invalid_prefix"),
    ({"target_wait_minutes": -1}, "invalid_field"), ({"processing_days": "dua"}, "invalid_field"),
    ({"mini": "kadang"}, "invalid_field"),
    ({"requirements": "satu\ndua"}, None),  # the form's text is accepted, one per line
    ({"requirements": [1, 2]}, "invalid_field"), ({"colour": "red"}, "invalid_field"),
    ({"code": "adm kia"}, "invalid_code"), ({"code": "ADM-KTP"}, "duplicate_code")])
def test_service_validation(db, kw, error):
    if error is None:
        assert new_service(**kw).requirements == ["satu", "dua"]
        return
    with pytest.raises((Invalid, Conflict)) as exc:
        new_service(**kw)
    assert exc.value.code == error


def test_update_a_service_keeps_its_code_and_writes_what_changed(db, published):
    catalogue.update_service(ADMIN, MONDAY_9, "ADM-KTP", fee="Gratis (Perpres 96/2018)",
                             processing_days=0, standard="Standar KTP-el")
    s = service("ADM-KTP")
    assert (s.fee, s.processing_days, s.standard) == ("Gratis (Perpres 96/2018)", 0,
                                                      "Standar KTP-el")
    entry = AuditEntry.get(AuditEntry.action == "service.update")
    assert entry.before == {"fee": "Gratis", "processing_days": None, "standard": ""}
    assert entry.object == "service ADM-KTP"
    assert "tabang" in {code for code, _ in published}
    with pytest.raises(NotFound):
        catalogue.update_service(ADMIN, MONDAY_9, "NOPE", name="x")


def test_a_prefix_of_another_agencys_lane_is_refused_where_both_are_offered(db):
    # SKCK (polres, lane C) is offered at Tabang; KTP (disdukcapil) may not take lane C.
    with pytest.raises(Conflict) as exc:
        catalogue.update_service(ADMIN, MONDAY_9, "ADM-KTP", prefix="C")
    assert exc.value.code == "prefix_taken" and "SKCK" in exc.value.message
    assert service("ADM-KTP").prefix == "A" and actions() == []
    # One agency's services may share a lane on purpose: KK and KTP both on A.
    catalogue.update_service(ADMIN, MONDAY_9, "ADM-KK", prefix="A", name="Kartu Keluarga")
    # Samsat (lane D) is offered only at the Induk; a service offered at no hall with
    # D is free to take it, until a hall offers both.
    fresh = new_service(code="BPJ-X", agency="bpjs-kesehatan", prefix="D")
    catalogue.set_offer(ADMIN, MONDAY_9, site("tabang"), fresh, True)
    with pytest.raises(Conflict) as exc:
        catalogue.set_offer(ADMIN, MONDAY_9, site("induk"), fresh, True)
    assert exc.value.code == "prefix_taken"


def test_moving_a_service_to_another_agency_checks_its_lane(db):
    with pytest.raises(Conflict):
        catalogue.update_service(ADMIN, MONDAY_9, "ADM-KTP", agency="polres", prefix="A")


# --- each hall's offer -------------------------------------------------------------------

def test_offer_quota_and_online_share(db, published):
    tabang, ktp = site(), service()
    result = catalogue.set_offer(ADMIN, MONDAY_9, tabang, ktp, True, 40, 0.25)
    assert (result.offered, result.daily_quota, result.booking_share) == (True, 40, 0.25)
    setting = BookingSetting.get()
    assert setting.walk_in_share == pytest.approx(0.75)
    assert booking.settings_for(tabang, ktp).day_cap == 10
    entry = AuditEntry.get(AuditEntry.action == "offer.update")
    assert entry.after == {"daily_quota": 40, "booking_share": 0.25}
    assert entry.before == {"daily_quota": None, "booking_share": 0.5}
    assert (entry.site_code, entry.object) == ("tabang", "tabang / ADM-KTP")
    assert published == [("tabang", {"type": "catalogue_changed", "version": 1,
                                      "at": "2026-11-30T09:00:00+08:00"})]
    assert catalogue_feed.current_version()["version"] == 1  # the halls get a new version


def test_turning_a_service_off_and_on(db):
    tabang, ktp = site(), service()
    catalogue.set_offer(ADMIN, MONDAY_9, tabang, ktp, False)
    assert calendar.offered(tabang, ktp) is None
    assert ktp.code not in {s.code for s in queueing.services_at(tabang)}
    catalogue.set_offer(ADMIN, MONDAY_9, tabang, ktp, True, None)
    assert calendar.offered(tabang, ktp).daily_quota is None
    # A service the hall never had gets its row.
    pkb = service("SMS-PKB")
    catalogue.set_offer(ADMIN, MONDAY_9, tabang, pkb, True, 15)
    assert calendar.offered(tabang, pkb).daily_quota == 15


def test_a_quota_below_todays_tickets_is_refused(db):
    tabang, ktp = site(), service()
    for minute in range(3):
        queueing.issue_ticket(tabang, ktp, at(30, 9, minute))
    with pytest.raises(Conflict) as exc:
        catalogue.set_offer(ADMIN, MONDAY_9, tabang, ktp, True, 2)
    assert exc.value.code == "quota_below_issued" and "(3)" in exc.value.message
    assert exc.value.detail["issued_today"] == 3
    assert catalogue.set_offer(ADMIN, MONDAY_9, tabang, ktp, True, 3).daily_quota == 3


@pytest.mark.parametrize("offered, quota, share", [
    ("yes", None, None), (True, 0, None), (True, "lima", None), (True, None, 1.5),
    (True, None, -0.1), (True, None, "half")])
def test_offer_validation(db, offered, quota, share):
    with pytest.raises(Invalid):
        catalogue.set_offer(ADMIN, MONDAY_9, site(), service(), offered, quota, share)


# --- opening hours -----------------------------------------------------------------------

HALL_WEEK = [{"weekday": d, "start": "08:00", "end": "15:00"} for d in range(4)] + [
    {"weekday": 4, "start": "08:00", "end": "11:30"}]


def test_hours_with_a_lunch_break_and_a_service_of_its_own(db, published):
    windows = [w for w in HALL_WEEK if w["weekday"] != 0] + [
        {"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "15:00"},
        {"weekday": 1, "start": "08:00", "end": "12:00", "service": "IMI-PASPOR"}]
    rows, cancelled = catalogue.set_hours(ADMIN, MONDAY_9, site(), windows)
    assert cancelled == 0
    week = calendar.weekly_windows(site(), service())
    assert [w.label() for w in week[0]] == ["08:00-12:00", "13:00-15:00"]
    assert not calendar.availability(site(), service(), at(30, 12, 30)).open
    assert calendar.availability(site(), service(), at(30, 13, 0)).open
    passport = calendar.weekly_windows(site(), service("IMI-PASPOR"))
    assert [w.label() for w in passport[1]] == ["08:00-12:00"] and passport[0] == []
    assert {w.as_dict().get("service") for w in catalogue.hours(site())} == {
        None, "IMI-PASPOR"}
    entry = AuditEntry.get(AuditEntry.action == "hours.update")
    assert "lokasi Senin 13:00-15:00" in entry.after["windows"]
    assert "IMI-PASPOR Selasa 08:00-12:00" in entry.before["windows"]
    assert published and published[0][0] == "tabang"


@pytest.mark.parametrize("window, error", [
    ({"weekday": 0, "start": "8", "end": "15:00"}, "invalid_time"),
    ({"weekday": 0, "start": "08:00", "end": "24:30"}, "invalid_time"),
    ({"weekday": 0, "start": "15:00", "end": "08:00"}, "invalid_window"),
    ({"weekday": 0, "start": "08:00", "end": "08:00"}, "invalid_window"),
    ({"weekday": 7, "start": "08:00", "end": "09:00"}, "invalid_weekday"),
    ({"weekday": True, "start": "08:00", "end": "09:00"}, "invalid_weekday"),
    ({"weekday": 0, "start": "14:00", "end": "16:00"}, "overlapping_windows"),
    ({"weekday": 0, "start": "08:00", "end": "09:00", "service": "SMS-PKB"},
     "unknown_service"),  # not offered at Tabang
])
def test_hours_validation(db, window, error):
    with pytest.raises(Invalid) as exc:
        catalogue.set_hours(ADMIN, MONDAY_9, site(), HALL_WEEK + [window])
    assert exc.value.code == error
    assert OpeningWindow.select().where(OpeningWindow.site == site()).count() == 6  # unchanged


def test_overlap_is_per_scope(db):
    # The same hours for the hall and for a service do not overlap each other.
    catalogue.set_hours(ADMIN, MONDAY_9, site(), HALL_WEEK + [
        {"weekday": 0, "start": "08:00", "end": "15:00", "service": "ADM-KTP"}])
    with pytest.raises(Invalid):
        catalogue.set_hours(ADMIN, MONDAY_9, site(), "08:00-15:00")


def test_new_hours_over_booked_appointments_need_confirmation(db):
    early = book("08:30", day="2026-12-01", nik=NIKS[0])
    late = book("14:00", day="2026-12-01", nik=NIKS[1])
    shorter = [w if w["weekday"] != 1 else {**w, "end": "12:00"} for w in HALL_WEEK]
    with pytest.raises(Conflict) as exc:
        catalogue.set_hours(ADMIN, MONDAY_9, site(), shorter)
    assert exc.value.code == "appointments_affected"
    assert exc.value.detail["affected_appointments"] == 1 and "1 janji temu" in exc.value.message
    assert calendar.weekly_windows(site(), None)[1][0].label() == "08:00-15:00"  # unchanged
    _rows, cancelled = catalogue.set_hours(ADMIN, MONDAY_9, site(), shorter, confirm=True)
    assert cancelled == 1
    assert Appointment.get_by_id(late.id).status == "cancelled"
    assert Appointment.get_by_id(early.id).status == "booked"
    assert AuditEntry.get(AuditEntry.action == "hours.update").after[
        "cancelled_appointments"] == 1


# --- closures ----------------------------------------------------------------------------

def test_closure_of_some_services_closes_only_them_with_the_reason(db, published):
    tabang = site()
    result = catalogue.create_closure(SUPERVISOR, MONDAY_9, tabang, "2026-12-01",
                                      "2026-12-02", "Server Disdukcapil pemeliharaan",
                                      ["ADM-KTP", "ADM-KK"])
    assert result.affected_appointments == 0
    assert Closure.select().where(Closure.batch == result.id).count() == 2
    tuesday = at(1, 9, month=12)
    ktp = calendar.availability(tabang, service("ADM-KTP"), tuesday)
    assert not ktp.open and "Tutup: Server Disdukcapil pemeliharaan" in ktp.message
    assert calendar.availability(tabang, service("POL-SKCK"), tuesday).open
    assert calendar.availability(site("anggana"), service("ADM-KTP"), tuesday).open
    assert calendar.closure_reason(tabang, dt.date(2026, 12, 1)) is None  # the hall is open
    plan = booking.day_plan(tabang, service("ADM-KTP"), dt.date(2026, 12, 1), MONDAY_9)
    assert plan.slots == [] and plan.closed_reason == "Tutup: Server Disdukcapil pemeliharaan"
    assert booking.day_plan(tabang, service("POL-SKCK"), dt.date(2026, 12, 1),
                            MONDAY_9).slots
    # The booking page lists the usual day as closed with the reason.
    shown = {p.day: p.closed_reason for p in booking.days_to_show(tabang, service(),
                                                                  MONDAY_9)}
    assert shown[dt.date(2026, 12, 2)] == "Tutup: Server Disdukcapil pemeliharaan"
    assert shown[dt.date(2026, 12, 3)] is None
    assert dt.date(2026, 12, 5) not in shown  # a Saturday stays out
    entry = AuditEntry.get(AuditEntry.action == "closure.create")
    assert (entry.actor, entry.site_code) == ("supervisor.tabang", "tabang")
    assert entry.after["services"] == ["ADM-KK", "ADM-KTP"]
    assert published[0][0] == "tabang"


def test_whole_hall_closure_and_every_hall_day_off(db, published):
    catalogue.create_closure(ADMIN, MONDAY_9, site(), "2026-12-01", None, "Pemadaman listrik")
    assert calendar.closure_reason(site(), dt.date(2026, 12, 1)) == "Tutup: Pemadaman listrik"
    catalogue.create_closure(ADMIN, MONDAY_9, None, "2026-12-03", "2026-12-03",
                             "Hari jadi Kukar")
    for code in ("tabang", "induk", "anggana"):
        assert calendar.closure_reason(site(code), dt.date(2026, 12, 3)) == \
            "Tutup: Hari jadi Kukar"
    assert len({code for code, _ in published}) == Site.select().count()
    listed = catalogue.closures(site(), MONDAY_9)
    assert [(c.reason, c.site) for c in listed] == [("Pemadaman listrik", "tabang"),
                                                     ("Hari jadi Kukar", None)]
    assert [c.reason for c in catalogue.closures(None, MONDAY_9)] == ["Hari jadi Kukar"]
    assert [c.reason for c in catalogue.closures(site("induk"), MONDAY_9)] == [
        "Hari jadi Kukar"]


@pytest.mark.parametrize("first, last, reason, services, error", [
    ("2026-11-29", None, "Lewat", None, "invalid_date"),
    ("2026-12-02", "2026-12-01", "Terbalik", None, "invalid_date"),
    ("01-12-2026", None, "Format", None, "invalid_date"),
    ("2026-02-30", None, "Tidak ada", None, "invalid_date"),
    ("2026-12-01", "2027-06-01", "Terlalu lama", None, "invalid_date"),
    ("2026-12-01", None, "  ", None, "missing_field"),
    ("2026-12-01", None, "Tidak dikenal", ["NOPE"], "unknown_service"),
    ("2026-12-01", None, "Tidak di Tabang", ["SMS-PKB"], "unknown_service"),
    ("2026-12-01", None, "Bukan daftar", "ADM-KTP", "invalid_field"),
])
def test_closure_validation(db, first, last, reason, services, error):
    with pytest.raises(Invalid) as exc:
        catalogue.create_closure(ADMIN, MONDAY_9, site(), first, last, reason, services)
    assert exc.value.code == error
    assert Closure.select().count() == 0 and actions() == []


def test_closure_over_booked_appointments_counts_then_cancels_them(db):
    ktp_tue = book("09:00", day="2026-12-01", nik=NIKS[0], email="siti@example.com")
    skck_tue = book("09:00", day="2026-12-01", nik=NIKS[1], service_code="POL-SKCK")
    other_hall = book("09:00", day="2026-12-01", nik=NIKS[2], site_code="anggana")
    wednesday = book("09:00", day="2026-12-02", nik=NIKS[3])
    with pytest.raises(Conflict) as exc:
        catalogue.create_closure(SUPERVISOR, MONDAY_9, site(), "2026-12-01", None,
                                 "Pemadaman listrik")
    assert exc.value.code == "appointments_affected"
    assert exc.value.detail["affected_appointments"] == 2
    assert Closure.select().count() == 0
    # Only KTP closed: one appointment.
    with pytest.raises(Conflict) as exc:
        catalogue.create_closure(SUPERVISOR, MONDAY_9, site(), "2026-12-01", None,
                                 "Pemadaman listrik", ["ADM-KTP"])
    assert exc.value.detail["affected_appointments"] == 1
    result = catalogue.create_closure(SUPERVISOR, MONDAY_9, site(), "2026-12-01", None,
                                      "Pemadaman listrik", confirm=True)
    assert result.affected_appointments == 2
    status = {a.id: (a.status, a.active_key) for a in Appointment.select()}
    assert status[ktp_tue.id] == ("cancelled", None)
    assert status[skck_tue.id][0] == "cancelled"
    assert status[other_hall.id][0] == "booked" and status[wednesday.id][0] == "booked"
    # The citizen's own cancellation path: the place is free again, the mail says why.
    plan = booking.day_plan(site(), service(), dt.date(2026, 12, 1), MONDAY_9)
    assert plan.closed_reason == "Tutup: Pemadaman listrik"
    mail = MailMessage.select().order_by(MailMessage.id.desc()).first()
    assert "Pemadaman listrik" in mail.subject
    assert AuditEntry.get(AuditEntry.action == "closure.create").after[
        "cancelled_appointments"] == 2


def test_cancelled_by_a_closure_goes_down_the_feed(db):
    link_rows.configure("central")
    try:
        appt = book("09:00", day="2026-12-01", nik=NIKS[0])
        catalogue.create_closure(ADMIN, MONDAY_9, site(), "2026-12-01", None,
                                 "Pemadaman listrik", confirm=True)
    finally:
        link_rows.configure("all-in-one")
    feed = list(CaseUpdate.select().order_by(CaseUpdate.seq))
    assert [(u.kind, u.body["code"], u.body["status"]) for u in feed
            if u.kind.startswith("appointment.")][-1] == (
        "appointment.cancelled", appt.code, "cancelled")
    # ... followed by the hall's new catalogue, which carries the closure itself.
    assert feed[-1].kind == "catalogue" and feed[-1].site.code == "tabang"
    assert [(c["day"], c["reason"]) for c in feed[-1].body["closures"]] == [
        ("2026-12-01", "Pemadaman listrik")]


def test_a_hall_node_cannot_cancel_appointments_itself(db):
    book("09:00", day="2026-12-01", nik=NIKS[0])
    link_rows.configure("site")
    try:
        with pytest.raises(Conflict) as exc:
            catalogue.create_closure(SUPERVISOR, MONDAY_9, site(), "2026-12-01", None,
                                     "Pemadaman listrik", confirm=True)
    finally:
        link_rows.configure("all-in-one")
    assert exc.value.code == "book_at_centre"
    assert Closure.select().count() == 0


def test_delete_a_closure(db):
    result = catalogue.create_closure(ADMIN, MONDAY_9, site(), "2026-12-01", "2026-12-03",
                                      "Rapat")
    with pytest.raises(NotFound):  # not Anggana's
        catalogue.delete_closure(ADMIN, MONDAY_9, site("anggana"), result.id)
    with pytest.raises(NotFound):
        catalogue.delete_closure(ADMIN, MONDAY_9, None, result.id)
    gone = catalogue.delete_closure(SUPERVISOR, MONDAY_9, site(), result.id)
    assert (gone.first, gone.last) == (dt.date(2026, 12, 1), dt.date(2026, 12, 3))
    assert Closure.select().count() == 0
    assert calendar.closure_reason(site(), dt.date(2026, 12, 2)) is None
    assert actions() == ["closure.create", "closure.delete"]
    with pytest.raises(NotFound):
        catalogue.delete_closure(ADMIN, MONDAY_9, site(), result.id)


def test_standards_of_a_hall(db):
    items = catalogue.standards(site())
    codes = [i["service"].code for i in items]
    assert "ADM-KTP" in codes and "SMS-PKB" not in codes  # Samsat is not at a Mini MPP
    passport = next(i for i in items if i["service"].code == "IMI-PASPOR")
    assert passport["hours"] == [("Selasa", "08:00-12:00")]
    ktp = next(i for i in items if i["service"].code == "ADM-KTP")
    assert ktp["hours"] == [("Senin-Kamis", "08:00-15:00"), ("Jumat", "08:00-11:30")]


def test_switching_a_service_off_with_bookings_needs_confirmation(db):
    appt = book("09:00", day="2026-12-01", nik=NIKS[0], email="siti@example.com")
    with pytest.raises(Conflict) as refused:
        catalogue.set_offer(ADMIN, MONDAY_9, site(), service(), False)
    assert refused.value.code == "appointments_affected"
    assert refused.value.detail["affected_appointments"] == 1
    assert Appointment.get_by_id(appt.id).status == "booked"
    result = catalogue.set_offer(ADMIN, MONDAY_9, site(), service(), False, confirm=True)
    assert result.offered is False
    assert Appointment.get_by_id(appt.id).status == "cancelled"
    mail = MailMessage.select().order_by(MailMessage.id.desc()).first()
    assert "tidak lagi dilayani" in mail.body
