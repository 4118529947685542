"""Migration 0500 upgrades a hall's database that already holds a day of work: every row
keeps its values and gets the new columns' defaults."""
from playhouse.migrations import Runner

from app import create_app
from app.cli import MIGRATIONS, migrate
from app.db import database
from app.models import AuditEntry, Closure, Counter, CounterService, Service, Site, User

ROWS = [
    "INSERT INTO agency (code, name) VALUES ('disdukcapil', 'Disdukcapil')",
    "INSERT INTO site (code, name, kind, region_code, zone, reading_style, running_text) "
    "VALUES ('tabang', 'Mini MPP Tabang', 'mini', '64.02.12', 'hulu', 'digits', 'Halo')",
    "INSERT INTO service (code, name, agency_id, prefix, mini, standard_minutes, fee, "
    "requirements) VALUES ('ADM-KTP', 'KTP Elektronik', 1, 'A', 'yes', 12, 'Gratis', "
    "'[\"KK\"]')",
    "INSERT INTO counter (site_id, code, name, number, status) "
    "VALUES (1, 'L1', 'Loket 1', 1, 'open')",
    "INSERT INTO counter_service (counter_id, service_id) VALUES (1, 1)",
    "INSERT INTO closure (site_id, day, reason) VALUES (1, '2026-12-01', 'Banjir')",
    "INSERT INTO user (username, password_hash, role, site_id, full_name, active) "
    "VALUES ('operator.tabang', 'x', 'operator', 1, 'Operator Tabang', 1)",
    "INSERT INTO ticket (id, site_id, service_id, day, prefix, seq, number, status, "
    "issued_at, source, call_count) VALUES ('t1', 1, 1, '2026-11-30', 'A', 1, 'A001', "
    "'done', '2026-11-30 01:00:00', 'kiosk', 1)",
]


def test_a_hall_with_data_upgrades_in_place(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        database.connect(reuse_if_open=True)
        Runner(database.obj, directory=str(MIGRATIONS)).up(target="0400_cases")
        for sql in ROWS:
            database.execute_sql(sql)
        database.close()
        assert "0500_administration" in migrate()
        database.connect(reuse_if_open=True)
        try:
            site = Site.get()
            assert (site.code, site.reading_style, site.running_text) == (
                "tabang", "digits", "Halo")
            assert (site.address, site.phone, site.active) == ("", "", True)
            service = Service.get()
            assert (service.standard_minutes, service.fee, service.requirements) == (
                12, "Gratis", ["KK"])
            assert (service.target_wait_minutes, service.standard) == (None, "")
            assert Counter.get().active and CounterService.get().position == 0
            closure = Closure.get()
            assert (closure.reason, closure.services, closure.batch) == ("Banjir", None, "")
            user = User.get()
            assert (user.username, user.must_change_password, user.last_login_at) == (
                "operator.tabang", False, None)
            assert database.execute_sql("SELECT number FROM ticket").fetchone() == ("A001",)
            assert AuditEntry.select().count() == 0
        finally:
            database.close()
