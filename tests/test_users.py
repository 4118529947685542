"""Staff accounts in the domain: the password policy, creating, editing, disabling and
enabling, one-time passwords, one's own password change, and who may manage whom."""
import pytest
from werkzeug.security import check_password_hash

from app.domain import accounts, audit, passwords, users
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.models import ApiToken, AuditEntry, User

from .conftest import MONDAY_9

GOOD = "Kapal-Mahakam-77"


def actor(username: str) -> audit.Actor:
    return audit.Actor.of(User.get(User.username == username), "10.0.0.9")


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.select().where(AuditEntry.action == action)
                .order_by(AuditEntry.id))


# --- the password policy ------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", [
    ("pendek123", "minimal 10"),
    ("Bismillah", "minimal 10"),
    ("password123", "terlalu umum"),
    ("PASSWORD123", "terlalu umum"),
    ("QwErTy12345", "terlalu umum"),
    ("rahasia123", "terlalu umum"),
    ("kukarhebat", "terlalu umum"),
    ("indonesia123", "terlalu umum"),
    ("1234567890", "terlalu umum"),
    ("budi.santoso-2026", "nama pengguna"),
    ("xBUDI.SANTOSOx99", "nama pengguna"),
])
def test_policy_refuses_with_the_reason(password, reason):
    assert reason in passwords.problem(password, "budi.santoso")
    with pytest.raises(Invalid) as caught:
        passwords.check(password, "budi.santoso")
    assert caught.value.code == "weak_password" and caught.value.status == 422


def test_policy_accepts_a_long_uncommon_password():
    assert passwords.problem(GOOD, "budi.santoso") is None
    assert passwords.problem("x" * 201) is not None


def test_the_shipped_list_is_lower_case_names_its_source_and_holds_thousands():
    text = passwords.COMMON_PASSWORDS.read_text(encoding="utf-8")
    assert text.startswith("#") and "zxcvbn" in text.splitlines()[0] + text[:800]
    words = passwords.common_passwords()
    assert len(words) > 3000
    assert {"bismillah", "sayangku", "indonesia", "rahasia123", "password123",
            "qwerty12345", "kukarhebat"} <= words
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(line == line.lower() and line.strip() == line and line for line in body)


def test_one_time_passwords_pass_the_policy_and_differ():
    seen = {passwords.one_time_password("operator.tabang") for _ in range(50)}
    assert len(seen) == 50
    assert all(passwords.problem(p, "operator.tabang") is None and len(p) == 14
               for p in seen)


# --- create ---------------------------------------------------------------------------------

def test_admin_creates_an_operator_with_a_one_time_password(db):
    created = users.create_user(actor("admin"), MONDAY_9, " Operator2.Tabang ", "Siti Aminah",
                                "operator", site="tabang")
    user = User.get(User.username == "operator2.tabang")
    assert created.user.id == user.id and created.one_time_password
    assert check_password_hash(user.password_hash, created.one_time_password)
    assert user.must_change_password and user.active and user.site.code == "tabang"
    assert user.created_at is not None and user.last_login_at is None
    [entry] = entries("user.create")
    assert (entry.actor, entry.site_code, entry.object) == (
        "admin", "tabang", "user operator2.tabang")
    assert entry.after == {"username": "operator2.tabang", "name": "Siti Aminah",
                           "role": "operator", "site": "tabang", "agency": None,
                           "active": True}
    assert created.one_time_password not in str(entry.after)


def test_create_with_a_given_password_needs_no_change(db):
    created = users.create_user(audit.SYSTEM, MONDAY_9, "kepala.mpp", "Kepala MPP", "admin",
                                password=GOOD)
    assert created.one_time_password is None
    assert not created.user.must_change_password
    with pytest.raises(Invalid, match="terlalu umum"):
        users.create_user(audit.SYSTEM, MONDAY_9, "kepala2", "Kepala", "admin",
                          password="password123")


@pytest.mark.parametrize("kwargs, code, field", [
    ({"username": "ab"}, "invalid_username", "username"),
    ({"username": "spasi di tengah"}, "invalid_username", "username"),
    ({"username": ".titik"}, "invalid_username", "username"),
    ({"name": "   "}, "missing_field", "name"),
    ({"name": "x" * 121}, "invalid_field", "name"),
    ({"role": "superuser"}, "invalid_role", "role"),
    ({"role": "operator", "site": None}, "missing_field", "site"),
    ({"role": "supervisor", "site": "atlantis"}, "unknown_site", "site"),
    ({"role": "officer", "site": None}, "missing_field", "agency"),
    ({"role": "officer", "site": None, "agency": "cia"}, "unknown_agency", "agency"),
])
def test_create_validates(db, kwargs, code, field):
    values = {"username": "baru.tabang", "name": "Pegawai Baru", "role": "operator",
              "site": "tabang"} | kwargs
    with pytest.raises(Invalid) as caught:
        users.create_user(actor("admin"), MONDAY_9, **values)
    assert (caught.value.code, caught.value.detail["field"]) == (code, field)
    assert not entries("user.create")


def test_an_existing_username_is_refused_whatever_its_case(db):
    with pytest.raises(Conflict) as caught:
        users.create_user(actor("admin"), MONDAY_9, "Operator.Tabang", "X Y", "operator",
                          site="tabang")
    assert caught.value.code == "username_taken"


def test_admin_places_each_role(db):
    admin = actor("admin")
    officer = users.create_user(admin, MONDAY_9, "petugas.samsat", "Petugas", "officer",
                                site="tabang", agency="samsat").user
    assert officer.agency.code == "samsat" and officer.site_id is None
    boss = users.create_user(admin, MONDAY_9, "admin2", "Admin Dua", "admin",
                             site="tabang").user
    assert boss.site_id is None and boss.agency_id is None


# --- who manages whom -------------------------------------------------------------------------

@pytest.mark.parametrize("role, site", [("admin", None), ("supervisor", "tabang"),
                                        ("officer", None), ("operator", "induk")])
def test_a_supervisor_creates_only_operators_of_their_hall(db, role, site):
    with pytest.raises(Forbidden):
        users.create_user(actor("supervisor.tabang"), MONDAY_9, "baru.x", "Baru", role,
                          site=site, agency="samsat")


def test_a_supervisor_manages_the_operators_of_their_hall(db):
    sup = actor("supervisor.tabang")
    created = users.create_user(sup, MONDAY_9, "operator2.tabang", "Operator Dua",
                                "operator", site="tabang")
    assert created.one_time_password
    users.update_user(sup, MONDAY_9, "operator2.tabang", name="Operator Kedua")
    users.disable_user(sup, MONDAY_9, "operator2.tabang")
    users.enable_user(sup, MONDAY_9, "operator2.tabang")
    assert users.reset_password(sup, MONDAY_9, "operator2.tabang")
    assert [u.username for u in users.visible(sup)] == ["operator.tabang",
                                                        "operator2.tabang"]
    # ... but never promotes one, nor moves one to another hall.
    with pytest.raises(Forbidden):
        users.update_user(sup, MONDAY_9, "operator2.tabang", role="supervisor")
    with pytest.raises(Forbidden):
        users.update_user(sup, MONDAY_9, "operator2.tabang", site="induk")
    assert User.get(User.username == "operator2.tabang").site.code == "tabang"


@pytest.mark.parametrize("target", ["operator.induk", "supervisor.tabang", "admin",
                                    "officer.samsat", "supervisor.induk"])
def test_a_supervisor_touches_nobody_else(db, target):
    sup = actor("supervisor.tabang")
    for verb in (lambda: users.disable_user(sup, MONDAY_9, target),
                 lambda: users.update_user(sup, MONDAY_9, target, name="X"),
                 lambda: users.reset_password(sup, MONDAY_9, target),
                 lambda: users.get_visible(sup, target)):
        with pytest.raises(Forbidden):
            verb()
    assert User.get(User.username == target).active
    assert target not in [u.username for u in users.visible(sup)]


@pytest.mark.parametrize("who", ["operator.tabang", "officer.samsat"])
def test_operators_and_officers_manage_no_account(db, who):
    me = actor(who)
    with pytest.raises(Forbidden):
        users.visible(me)
    with pytest.raises(Forbidden):
        users.create_user(me, MONDAY_9, "baru.x", "Baru", "operator", site="tabang")
    with pytest.raises(Forbidden):
        users.update_user(me, MONDAY_9, who, name="Saya")


def test_nobody_raises_their_own_role(db):
    users.create_user(audit.SYSTEM, MONDAY_9, "admin2", "Admin Dua", "admin", password=GOOD)
    # An admin lowers themself while another admin exists, but never climbs back.
    users.update_user(actor("admin"), MONDAY_9, "admin", role="supervisor", site="tabang")
    me = actor("admin")
    assert me.role == "supervisor"
    with pytest.raises(Forbidden):
        users.update_user(me, MONDAY_9, "admin", role="admin")
    assert User.get(User.username == "admin").role == "supervisor"


def test_nobody_disables_themself(db):
    users.create_user(audit.SYSTEM, MONDAY_9, "admin2", "Admin Dua", "admin", password=GOOD)
    with pytest.raises(Forbidden) as caught:
        users.disable_user(actor("admin"), MONDAY_9, "admin")
    assert caught.value.code == "own_account"
    assert User.get(User.username == "admin").active


def test_the_last_active_admin_is_neither_disabled_nor_demoted(db):
    users.create_user(audit.SYSTEM, MONDAY_9, "admin2", "Admin Dua", "admin", password=GOOD)
    users.disable_user(actor("admin2"), MONDAY_9, "admin")  # admin2 remains
    with pytest.raises(Conflict) as caught:
        users.disable_user(audit.SYSTEM, MONDAY_9, "admin2")
    assert caught.value.code == "last_admin"
    with pytest.raises(Conflict):
        users.update_user(audit.SYSTEM, MONDAY_9, "admin2", role="supervisor", site="tabang")
    users.enable_user(actor("admin2"), MONDAY_9, "admin")
    users.update_user(actor("admin"), MONDAY_9, "admin2", role="supervisor", site="tabang")
    assert User.get(User.username == "admin2").role == "supervisor"


def test_unknown_user_is_404(db):
    with pytest.raises(NotFound):
        users.update_user(actor("admin"), MONDAY_9, "nobody.here", name="X")


# --- edit, disable, enable, reset -------------------------------------------------------------

def test_update_records_only_what_changed(db):
    users.update_user(actor("admin"), MONDAY_9, "operator.tabang", name="Rina",
                      role="supervisor")
    [entry] = entries("user.update")
    assert entry.before == {"name": "Operator Mini MPP Tabang", "role": "operator"}
    assert entry.after == {"name": "Rina", "role": "supervisor"}
    assert entry.site_code == "tabang"
    same = User.get(User.username == "operator.induk").full_name
    users.update_user(actor("admin"), MONDAY_9, "operator.induk", name=same, role="operator",
                      site="induk")
    assert len(entries("user.update")) == 1  # nothing changed: no entry
    users.update_user(actor("admin"), MONDAY_9, "supervisor.tabang", role="officer",
                      agency="disdukcapil")
    user = User.get(User.username == "supervisor.tabang")
    assert (user.role, user.site_id, user.agency.code) == ("officer", None, "disdukcapil")


def test_disabling_ends_tokens_and_login_then_enabling_restores_login(db):
    user = accounts.authenticate("operator.tabang", "demo", "c", MONDAY_9)
    token = accounts.issue_token(user, MONDAY_9)
    assert accounts.user_for_token(token, MONDAY_9)
    users.disable_user(actor("admin"), MONDAY_9, "operator.tabang")
    assert ApiToken.select().where(ApiToken.user == user).count() == 0
    assert accounts.user_for_token(token, MONDAY_9) is None
    assert accounts.authenticate("operator.tabang", "demo", "c", MONDAY_9) is None
    [entry] = entries("user.disable")
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})
    users.enable_user(actor("admin"), MONDAY_9, "operator.tabang")
    assert entries("user.enable")
    assert accounts.authenticate("operator.tabang", "demo", "c2", MONDAY_9)


def test_reset_gives_a_new_one_time_password_and_ends_tokens(db):
    user = accounts.authenticate("operator.tabang", "demo", "c", MONDAY_9)
    accounts.issue_token(user, MONDAY_9)
    one_time = users.reset_password(actor("admin"), MONDAY_9, "operator.tabang")
    user = User.get_by_id(user.id)
    assert user.must_change_password and check_password_hash(user.password_hash, one_time)
    assert not check_password_hash(user.password_hash, "demo")
    assert ApiToken.select().where(ApiToken.user == user).count() == 0
    [entry] = entries("user.reset_password")
    assert one_time not in str(entry.after) and entry.site_code == "tabang"


# --- one's own password -----------------------------------------------------------------------

def test_change_password_rules(db):
    one_time = users.reset_password(actor("admin"), MONDAY_9, "operator.tabang")
    user = User.get(User.username == "operator.tabang")
    cases = [("salah-sekali-123", GOOD, GOOD, "wrong_password"),
             (one_time, GOOD, GOOD + "x", "passwords_differ"),
             (one_time, "sayangku", "sayangku", "weak_password"),
             (one_time, "Operator.Tabang.2026", "Operator.Tabang.2026", "weak_password"),
             (one_time, one_time, one_time, "same_password")]
    for current, new, repeat, code in cases:
        with pytest.raises(Invalid) as caught:
            users.change_password(user, MONDAY_9, current, new, repeat, "c")
        assert caught.value.code == code, (new, caught.value.message)
    assert User.get_by_id(user.id).must_change_password
    users.change_password(user, MONDAY_9, one_time, GOOD, GOOD, "10.1.1.1")
    user = User.get_by_id(user.id)
    assert not user.must_change_password and check_password_hash(user.password_hash, GOOD)
    [entry] = entries("user.change_password")
    assert (entry.actor, entry.client, entry.site_code) == (
        "operator.tabang", "10.1.1.1", "tabang")


def test_login_sets_last_login(db):
    assert User.get(User.username == "operator.tabang").last_login_at is None
    accounts.authenticate("operator.tabang", "salah", "c", MONDAY_9)
    assert User.get(User.username == "operator.tabang").last_login_at is None
    accounts.authenticate("operator.tabang", "demo", "c", MONDAY_9)
    assert User.get(User.username == "operator.tabang").last_login_at is not None


def test_search(db):
    admin = actor("admin")

    def names(text):
        return {u.username for u in users.visible(admin, text)}
    assert names("tabang") == {"operator.tabang", "supervisor.tabang"}
    assert names("Mini MPP Tabang") == {"operator.tabang", "supervisor.tabang"}
    assert names("supervisor tabang") == {"supervisor.tabang"}
    assert names("officer") >= {"officer.samsat", "officer.disdukcapil"}
    assert "admin" in names("admin")
    assert names("tidak-ada-siapa-pun") == set()
    assert len(users.visible(admin)) == User.select().count()


def test_demo_accounts_are_made_by_the_domain_without_audit(db):
    assert User.select().where(User.username == "admin").exists()
    assert AuditEntry.select().count() == 0  # seed data is nobody's change
    assert users.active_admin_exists()
