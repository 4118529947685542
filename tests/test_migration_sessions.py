"""Migration 0610 upgrades a hall's database that holds accounts, tokens and failed
logins: they keep their values, old failures get empty username and client (they age
out of the window), and the new session table starts empty; down and up again work."""
import pytest
from playhouse.migrations import Runner

from app import create_app
from app.cli import MIGRATIONS
from app.db import database
from app.models import ApiToken, LoginAttempt, StaffSession, User

ROWS = [
    "INSERT INTO {user} (username, password_hash, role, full_name, active, "
    "must_change_password) VALUES ('admin', 'x', 'admin', 'Admin', {true}, {false})",
    "INSERT INTO api_token (token_hash, user_id, created_at, expires_at) "
    "VALUES ('abc', 1, '2026-11-30 01:00:00', '2026-11-30 13:00:00')",
    "INSERT INTO login_attempt (key, at) VALUES ('admin|10.0.0.7', '2026-11-30 01:00:00')",
]


def upgrade_with_data(app, quote_user: str, true: str, false: str):
    with app.app_context():
        database.connect(reuse_if_open=True)
        Runner(database.obj, directory=str(MIGRATIONS)).up(target="0600_fast_ticket_path")
        for sql in ROWS:
            database.execute_sql(sql.format(user=quote_user, true=true, false=false))
        try:
            # Up to this migration only, so that down() below reverts this one.
            assert Runner(database.obj, directory=str(MIGRATIONS)).up(
                target="0610_sessions") == ["0610_sessions"]
            assert User.get().username == "admin" and ApiToken.get().token_hash == "abc"
            failure = LoginAttempt.get()
            assert (failure.key, failure.username, failure.client) == (
                "admin|10.0.0.7", "", "")
            assert StaffSession.select().count() == 0
            runner = Runner(database.obj, directory=str(MIGRATIONS))
            assert runner.down() == ["0610_sessions"]
            assert runner.up(target="0610_sessions") == ["0610_sessions"]
            assert LoginAttempt.get().key == "admin|10.0.0.7"
        finally:
            database.close()


def test_sqlite_hall_upgrades_in_place(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test"})
    upgrade_with_data(app, "user", "1", "0")


@pytest.mark.postgres
def test_postgres_upgrades_in_place(tmp_path, pg_database):
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": pg_database,
                      "SECRET_KEY": "test"})
    upgrade_with_data(app, '"user"', "true", "false")
