"""First start of a real installation: `DEMO=off` / `setup --no-demo` make an empty
database and say how to create the first admin; `create-admin` makes one."""
import pytest
from werkzeug.security import check_password_hash

from app import create_app
from app.db import database
from app.models import AuditEntry, Site, User

GOOD = "Kapal-Mahakam-77"


@pytest.fixture
def real_app(tmp_path):
    """An installation with DEMO=off on an empty data folder."""
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "DEMO": "off"})
    yield app
    if not database.is_closed():
        database.close()


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["mpp", *args], input=input)


def rows(model):
    database.connect(reuse_if_open=True)
    try:
        return list(model.select())
    finally:
        database.close()


def test_demo_off_sets_up_an_empty_database_and_says_how_to_start(real_app):
    result = run(real_app, "setup")
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output
    assert "flask --app wsgi mpp create-admin USERNAME" in result.output
    assert rows(Site) == [] and rows(User) == []


def test_no_demo_flag_does_the_same_with_demo_on(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t"})
    assert app.config["SETTINGS"]["DEMO"] == "on"
    result = run(app, "setup", "--no-demo")
    assert result.exit_code == 0, result.output
    assert "create-admin" in result.output and rows(User) == []


def test_create_admin_from_stdin_then_setup_is_quiet(real_app):
    run(real_app, "setup")
    result = run(real_app, "create-admin", "kepala.mpp", "--name", "Kepala MPP",
                 "--password-stdin", input=GOOD + "\n")
    assert result.exit_code == 0, result.output
    assert GOOD not in result.output
    [user] = rows(User)
    assert (user.username, user.role, user.full_name, user.active) == (
        "kepala.mpp", "admin", "Kepala MPP", True)
    assert not user.must_change_password and check_password_hash(user.password_hash, GOOD)
    [entry] = rows(AuditEntry)
    assert (entry.actor, entry.role, entry.action, entry.object) == (
        "system", "system", "user.create", "user kepala.mpp")
    again = run(real_app, "setup")
    assert again.exit_code == 0 and "create-admin" not in again.output


def test_create_admin_asks_twice_with_a_hidden_prompt(real_app):
    run(real_app, "setup")
    result = run(real_app, "create-admin", "admin", input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "Ulangi kata sandi" in result.output and GOOD not in result.output
    assert rows(User)[0].full_name == "admin"
    mismatch = run(real_app, "create-admin", "admin2", input=f"{GOOD}\nlain-sekali-99\n")
    assert mismatch.exit_code != 0 and len(rows(User)) == 1


@pytest.mark.parametrize("password, reason", [
    ("pendek", "minimal 10"), ("bismillah123", "terlalu umum"),
    ("Kepala.Mpp.2026", "nama pengguna")])
def test_create_admin_refuses_weak_passwords_with_the_reason(real_app, password, reason):
    run(real_app, "setup")
    result = run(real_app, "create-admin", "kepala.mpp", "--password-stdin",
                 input=password + "\n")
    assert result.exit_code == 1 and reason in result.output
    assert rows(User) == [] and rows(AuditEntry) == []


def test_create_admin_refuses_an_existing_username(real_app):
    run(real_app, "setup")
    run(real_app, "create-admin", "kepala.mpp", "--password-stdin", input=GOOD + "\n")
    result = run(real_app, "create-admin", "Kepala.MPP", "--password-stdin",
                 input="Lain-Sandi-2026\n")
    assert result.exit_code == 1 and "sudah dipakai" in result.output
    assert len(rows(User)) == 1


def test_demo_setup_has_an_admin_and_prints_no_hint(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t"})
    result = run(app, "setup")
    assert result.exit_code == 0 and "create-admin" not in result.output
    assert len(rows(Site)) == 21


def test_the_first_admin_signs_in_and_lands_on_administration(real_app):
    from .pages import login
    run(real_app, "setup")
    run(real_app, "create-admin", "kepala.mpp", "--password-stdin", input=GOOD + "\n")
    client = real_app.test_client()
    r = login(client, "kepala.mpp", GOOD)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin")
    page = client.get("/admin/pengguna")
    assert page.status_code == 200 and "kepala.mpp" in page.get_data(as_text=True)
    assert client.get("/admin/pengguna/baru").status_code == 200
