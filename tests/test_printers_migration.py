"""Migration 0200: an existing database (halls, no kiosks) gets its print tables and a
browser kiosk per hall; a new one gets them from the demo loader."""
from playhouse.migrations import Runner

from app import create_app
from app.cli import MIGRATIONS, migrate
from app.db import database
from app.models import Kiosk, Site


def test_existing_halls_get_a_default_kiosk(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test"})
    with app.app_context():
        database.connect(reuse_if_open=True)
        Runner(database.obj, directory=str(MIGRATIONS)).up(target="0001_initial")
        # The table as 0001 made it: later columns do not exist yet.
        database.execute_sql(
            "INSERT INTO site (code, name, kind, region_code, zone, reading_style, "
            "running_text) VALUES ('tabang', 'Mini MPP Tabang', 'mini', '64.02.12', '', "
            "'whole', '')")
        database.close()
        assert "0200_printers" in migrate()
        database.connect(reuse_if_open=True)
        try:
            kiosk = Kiosk.get()
            assert (kiosk.site.code, kiosk.code, kiosk.print_mode, kiosk.paper_width) == (
                "tabang", "k1", "browser-html", 80)
        finally:
            database.close()


def test_demo_halls_each_have_a_kiosk(db):
    assert Site.select().count() == Kiosk.select().count() == 21
