"""The ticket path's CPU cuts give the same answers as what they replace: prepared rows
as peewee builds them, prepared parameters as peewee renders them, a hall's cached week
of hours that callers cannot spoil and that follows a change, and requests without a
session cookie still answer as before (no cookie set, `Vary: Cookie`, the one-time
password gate for a signed-in session)."""
import datetime as dt
import re
import sqlite3

import peewee as pw

from app.db import Param, database, prepared, rows_as
from app.domain import calendar, queueing
from app.models import Counter, OpeningWindow, Site, Ticket, User

from .conftest import MONDAY_9
from .pages import login


def _tabang():
    return Site.get(Site.code == "tabang")


def test_rows_as_builds_what_peewee_builds(db):
    site = _tabang()
    for n in range(3):
        queueing.issue_ticket(site, queueing.get_service("ADM-KTP"),
                              MONDAY_9 + dt.timedelta(minutes=n), priority_group=None)
    cursor = database.execute(Ticket.select().where(Ticket.site == site).order_by(Ticket.seq))
    built = rows_as(Ticket, cursor.description, cursor.fetchall())
    expected = list(Ticket.select().where(Ticket.site == site).order_by(Ticket.seq))
    assert len(built) == len(expected) == 3
    for mine, theirs in zip(built, expected):
        assert mine.__data__ == theirs.__data__
        assert type(mine.issued_at) is dt.datetime and type(mine.day) is dt.date
        assert mine._dirty == set() and mine.__rel__ == {}
        assert mine.site.code == "tabang"  # relations still load on demand


def test_prepared_parameters_are_what_peewee_renders(db):
    """The values peewee would bind, in its order; on SQLite the query's own text
    constants are written into the SQL instead (see the next test), never a Param."""
    query = prepared(lambda: User.select(User.username).where(
        (User.active == True) & (User.username == Param("name"))  # noqa: E712
        & (User.role.in_(["operator", "admin"]))))
    sql, params = query.bind({"name": "operator.tabang"})
    plain_sql, plain_params = (User.select(User.username).where(
        (User.active == True) & (User.username == "operator.tabang")  # noqa: E712
        & (User.role.in_(["operator", "admin"])))).sql()
    assert plain_params == [True, "operator.tabang", "operator", "admin"]
    assert params == [True, "operator.tabang"]  # the Param stays bound
    assert sql == plain_sql.replace("IN (?, ?)", "IN ('operator', 'admin')")
    assert query.scalar(name="operator.tabang") == "operator.tabang"
    assert query.scalar(name="x' OR '1'='1") is None  # a Param is data, not SQL


def _authorizer_calls(run) -> int:
    """How often SQLite's authorizer is asked while `run()` runs: it is asked at every
    compile of a statement (several times), never when a cached statement runs again.
    Setting it expires the cached statements, so the first run always compiles."""
    conn = database.connection()
    count = [0]

    def authorizer(*_args):
        count[0] += 1
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorizer)
    try:
        run()
        return count[0]
    finally:
        conn.set_authorizer(None)


def test_a_prepared_ticket_query_is_not_planned_again_at_each_run(db):
    """A status bound as a value is compared with a column that has partial indexes
    (`WHERE status = 'waiting'`): SQLite plans such a statement again at every run
    (20-30 us, more than the query). Inlined, the cached statement is reused."""
    site = _tabang()
    days = ["2026-11-29", "2026-11-30", "2026-12-01"]
    status_bound = ("SELECT COUNT(*) FROM ticket WHERE site_id = ? AND day = ? "
                    "AND status = ?")

    def bound(n):
        for day in days[:n]:
            database.execute_sql(status_bound, (site.id, day, "waiting")).fetchone()

    query = prepared(lambda: Ticket.select(pw.fn.COUNT(Ticket.id)).where(
        (Ticket.site == Param("site")) & (Ticket.day == Param("day"))
        & (Ticket.status == "waiting")))

    def inlined(n):
        for day in days[:n]:
            query.scalar(site=site.id, day=day)

    # each further run with a bound status is planned again; an inlined one is not
    assert _authorizer_calls(lambda: bound(3)) > _authorizer_calls(lambda: bound(1)) > 0
    assert _authorizer_calls(lambda: inlined(3)) == _authorizer_calls(lambda: inlined(1)) > 0


def test_a_halls_week_is_cached_but_each_caller_gets_its_own(db):
    site, service = _tabang(), queueing.get_service("ADM-KTP")
    first = calendar.weekly_windows(site, service)
    monday = list(first[0])
    first[0].clear()
    first[1] = []
    assert calendar.weekly_windows(site, service)[0] == monday
    # an admin's change (another generation of the catalogue) is seen at once
    OpeningWindow.update(closes=dt.time(10, 0)).where(
        (OpeningWindow.site == site) & (OpeningWindow.weekday == 0)).execute()
    assert {w.closes for w in calendar.weekly_windows(site, service)[0]} == {dt.time(10, 0)}


def test_token_call_without_cookie_sets_none_and_still_varies_on_cookie(api):
    api.login("operator.tabang")
    r = api.post("/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"})
    assert r.status_code == 201, r.json
    assert "Set-Cookie" not in r.headers
    assert "Cookie" in r.headers.get("Vary", "")
    assert r.headers["X-Frame-Options"] == "DENY"


def test_signed_in_session_with_a_one_time_password_is_still_stopped(client, db):
    """The gate skips Flask-Login only without a signed-in session: with one, an API
    call from that browser is still refused until the password is changed."""
    User.update(must_change_password=True).where(
        User.username == "operator.tabang").execute()
    r = login(client, "operator.tabang")
    assert r.status_code == 302 and r.headers["Location"].endswith("/loket/kata-sandi")
    r = client.get("/api/v1/sites/tabang/counters")
    assert r.status_code == 403
    assert r.json["error"]["code"] == "password_change_required"
    # the same request without the cookie is a citizen's: answered
    assert app_client_without_cookie(client).get("/api/v1/sites/tabang/counters"
                                                 ).status_code == 200


def app_client_without_cookie(client):
    return client.application.test_client()


def test_one_statement_estimate_equals_its_two_parts(db):
    """The estimate reads the recent service times and the open counters in one
    statement; with and without a history it equals the two reads apart."""
    import math

    from app.domain import estimates
    from app.models import Counter

    site, service = _tabang(), queueing.get_service("ADM-KTP")

    def apart(ahead):
        return math.ceil(ahead * estimates.mean_service_minutes(site, service)
                         / max(1, estimates.open_counters(site, service)))

    assert estimates.estimated_wait_minutes(site, service, 4) == apart(4)  # no history
    counter = queueing.get_counter(site, "L1")
    for n in range(4):
        queueing.issue_ticket(site, service, MONDAY_9 + dt.timedelta(minutes=n))
    for n in range(3):
        ticket = queueing.call_next(counter, MONDAY_9 + dt.timedelta(minutes=10 + 7 * n))
        queueing.finish(ticket.id, "completed", MONDAY_9 + dt.timedelta(minutes=13 + 7 * n))
    Counter.update(status="open").where(Counter.site == site).execute()
    assert estimates.open_counters(site, service) >= 1
    assert estimates.mean_service_minutes(site, service) == 3.0
    for ahead in (0, 1, 5, 17):
        assert estimates.estimated_wait_minutes(site, service, ahead) == apart(ahead)


def test_a_transition_writes_only_the_columns_it_changed(db):
    """finish SETs status, outcome and the times, not every column: SQLite rewrites
    every index on a column that is SET, and each index page is written at commit."""
    site = _tabang()
    queueing.issue_ticket(site, queueing.get_service("ADM-KTP"), MONDAY_9)
    counter = Counter.get((Counter.site == site) & (Counter.code == "L1"))
    ticket = queueing.call_next(counter, MONDAY_9)
    queueing.start(ticket.id, MONDAY_9 + dt.timedelta(minutes=1))
    statements = []
    conn = database.connection()
    conn.set_trace_callback(statements.append)
    try:
        done = queueing.finish(ticket.id, "completed", MONDAY_9 + dt.timedelta(minutes=5))
    finally:
        conn.set_trace_callback(None)
    updates = {s.split(" WHERE ")[0] for s in statements if s.startswith('UPDATE "ticket"')}
    (update,) = updates  # (the trace shows the values bound)
    assert set(re.findall(r'"(\w+)" = ', update)) == {"status", "outcome", "started_at",
                                                      "finished_at"}
    stored = Ticket.get_by_id(ticket.id)
    assert (stored.status, stored.outcome, stored.number) == ("done", "completed", done.number)
    assert stored.finished_at == dt.datetime(2026, 11, 30, 1, 5)
    assert stored.started_at == dt.datetime(2026, 11, 30, 1, 1)
