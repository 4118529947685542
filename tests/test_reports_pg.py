"""The reports on PostgreSQL: the hand-made morning's figures (tests/test_reports.py),
the kept days (tests/test_report_days.py) and the monthly PDF again, through
`read_snapshot` (REPEATABLE READ, READ ONLY, more work_mem), the raw rows psycopg2
returns and the upserts of `VisitDay`."""
import pytest

from app.db import database, is_sqlite, read_snapshot

from .test_monthly_report import (  # noqa: F401
    test_a_halls_month_on_the_hand_made_morning,
    test_a_supervisor_gets_their_own_hall_by_session,
    test_the_kabupatens_month_has_a_row_per_hall_and_names_lagging_halls,
)
from .test_report_days import *  # noqa: F401,F403 - collected again here, on PostgreSQL
from .test_reports import *  # noqa: F401,F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    return pg_app


def test_a_report_reads_one_snapshot_with_more_memory(db):
    assert not is_sqlite()
    before = database.execute_sql("SELECT current_setting('work_mem')").fetchone()[0]
    with read_snapshot(work_mem="16MB"):
        cursor = database.execute_sql("SELECT current_setting('transaction_isolation'), "
                                      "current_setting('transaction_read_only'), "
                                      "current_setting('work_mem')")
        assert cursor.fetchone() == ("repeatable read", "on", "16MB")
    # SET LOCAL: the pooled connection goes back as it was.
    assert database.execute_sql("SELECT current_setting('work_mem')").fetchone()[0] == before


def test_a_snapshot_inside_a_transaction_joins_it(db):
    with database.atomic():
        database.execute_sql("SELECT 1")
        with read_snapshot(work_mem="16MB"):  # no SET TRANSACTION after a query
            assert database.execute_sql("SELECT 2").fetchone() == (2,)
