"""The database: declared without a path here and bound in create_app, so importing a
model never opens a file and tests bind their own.

All writes that must be serialised go through `write_transaction()`: BEGIN IMMEDIATE on
SQLite (one writer, others wait, see `SqliteDatabase.begin`), a plain transaction on
PostgreSQL where the domain takes row locks itself (FOR UPDATE / SKIP LOCKED).

Both databases are pooled per process (`database.close()` hands the connection back).
Code that copies the SQLite file must first close the pool (`database.obj.close_all()`)
so the WAL is checkpointed into it. Hot queries can be `prepared` (end of this module).
"""
import logging
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlparse

import peewee
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 15000,
    "cache_size": -16000,
    # Reads straight from the mapped file instead of copies through read(): a hall's
    # database fits many times over; writes still go through the WAL.
    "mmap_size": 256 * 1024 * 1024,
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


# Threads of this process that read the database in the background (the board
# publisher): `close_all()` first waits for each to finish what it has queued (and hand
# its connection back), since the pool closes connections in use too.
_background_users: "weakref.WeakSet" = weakref.WeakSet()


def register_background_user(user) -> None:
    """`user.flush()` is called before the pool closes every connection, and
    `user.writer_released()` after a write transaction of this process committed and
    gave up the writer turn (work queued meanwhile can start then: waking a thread
    while holding the turn hands it the interpreter lock, and every writer waits)."""
    _background_users.add(user)


class RoundThread:
    """A worker's background loop (the link's sender, the notification sender): one
    round at a time, each inside the app's context on its own connection. `wake()` is
    appended to `listeners` (new work starts a round at once) and `stop()` ends the loop.
    A subclass's `round()` returns the seconds until the next round (0: at once); a round
    that raises is logged, and the next waits `after_failure` seconds."""

    first_delay = 1.0
    after_failure = 5.0

    def __init__(self, app, name: str, listeners: list, log: logging.Logger):
        self.app, self.listeners, self.log = app, listeners, log
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)

    def start(self):
        self.listeners.append(self.wakeup.set)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    def round(self) -> float:
        raise NotImplementedError

    def run(self) -> None:
        delay = self.first_delay
        while not self.stopping.is_set():
            self.wakeup.wait(delay)
            self.wakeup.clear()
            with self.app.app_context():
                database.connect(reuse_if_open=True)
                try:
                    delay = self.round()
                except Exception:  # the thread must survive a bad round
                    self.log.exception("%s: round failed", self.thread.name)
                    delay = self.after_failure
                finally:
                    if not database.is_closed():
                        database.close()


def holds_writer_turn() -> bool:
    """Whether this thread is this process's one SQLite writer right now."""
    db = database.obj
    return isinstance(db, SqliteDatabase) and getattr(db._writer_holds, "turn", False)


class SqliteDatabase(PooledSqliteDatabase):
    """SQLite with pooled connections and a writer queue that does not starve.

    BEGIN IMMEDIATE waits for the one writer lock. SQLite's own busy handler sleeps
    1, 2, 5 ... then 100 ms between attempts, so under a burst of writers an unlucky
    one sleeps 100 ms again and again (ticket p99 above 1 s with 16 kiosks). Here a
    write transaction instead retries BEGIN IMMEDIATE after sleeps of at most 2 ms,
    for up to the same 15 s. The database still decides who writes; this only
    shortens the naps.

    Threads of one process first queue on a process-local lock, so only one of them at
    a time retries against the other processes: 30 threads spinning on BEGIN in one
    process burned more CPU than the writes themselves. The lock orders this process's
    writers; it guards nothing the database does not guard already.
    """

    WRITE_WAIT_SECONDS = 15.0
    MAX_NAP = 0.002

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer_turn = threading.Lock()
        self._writer_holds = threading.local()

    def begin(self, lock_type=None):
        if (lock_type or "").upper() != "IMMEDIATE":
            return super().begin(lock_type)
        if not self._writer_turn.acquire(timeout=self.WRITE_WAIT_SECONDS):
            raise peewee.OperationalError("database is locked (writer queue)")
        self._writer_holds.turn = True
        try:
            self._begin_immediate()
        except BaseException:
            self._end_turn()
            raise

    def _begin_immediate(self):
        cursor = self.cursor()
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            deadline, nap = time.monotonic() + self.WRITE_WAIT_SECONDS, 0.0002
            while True:
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise peewee.OperationalError(*exc.args) from exc
                time.sleep(nap)
                nap = min(nap * 2, self.MAX_NAP)
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")

    def _end_turn(self):
        if getattr(self._writer_holds, "turn", False):
            self._writer_holds.turn = False
            self._writer_turn.release()
            for user in list(_background_users):
                user.writer_released()

    def commit(self):
        try:
            result = super().commit()
            # after_commit callbacks (app.events) while this is still the process's one
            # writer: events are queued in commit order (peewee would run them after).
            self._run_commit_callbacks()
            return result
        finally:
            self._end_turn()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._end_turn()

    def close(self):
        try:
            return super().close()
        finally:
            self._end_turn()  # a connection handed back mid-transaction ends its turn

    def close_all(self):
        for user in list(_background_users):
            user.flush()
        return super().close_all()


def sqlite_url(data_dir: Path) -> str:
    return "sqlite:///" + str((data_dir / "mpp.sqlite3").resolve())


def open_database(url: str) -> peewee.Database:
    scheme = urlparse(url).scheme
    if scheme.startswith("sqlite"):
        path = url.split("///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Pooled: a fresh SQLite connection costs ~1 ms before its first query (the
        # schema is parsed, the pragmas run), more than a whole /healthz request.
        # Connections are per thread while in use and return here on close().
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, max_connections=None,
                              check_same_thread=False)
    if scheme in ("postgres", "postgresql"):
        parsed = urlparse(url)
        return PooledPostgresqlDatabase(
            parsed.path.lstrip("/"), user=parsed.username or None,
            password=parsed.password or None, host=parsed.hostname or None,
            port=parsed.port or 5432, max_connections=64, stale_timeout=300,
            timeout=15)  # peewee 4 always runs in autocommit mode: no autorollback
    return connect_url(url)


def bind(url: str) -> peewee.Database:
    db = open_database(url)
    database.initialize(db)
    return db


def ready() -> bool:
    """Whether the database answers a query now (readiness probes). Never raises: a
    database that cannot be opened or reached is simply not ready."""
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    finally:
        if not database.is_closed():
            database.close()


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


# --- what one request may remember ----------------------------------------------------
# A request (the web layer opens and closes the scope) may remember what it read once,
# e.g. that the catalogue cache is current (app/domain/catalogue_cache.py). The memory is
# forgotten when any write transaction ends, so a request reads back what it changed.
_read_scope: ContextVar[dict | None] = ContextVar("mpp_read_scope", default=None)


def open_read_scope() -> None:
    _read_scope.set({})


def close_read_scope() -> None:
    _read_scope.set(None)


def read_scope() -> dict | None:
    """This request's memory, or None outside a request (then nothing is remembered)."""
    return _read_scope.get()


def _forget() -> None:
    scope = _read_scope.get()
    if scope:
        scope.clear()


class _WriteTransaction:
    def __init__(self):
        self.atomic = database.atomic("IMMEDIATE") if is_sqlite() else database.atomic()

    def __enter__(self):
        return self.atomic.__enter__()

    def __exit__(self, *exc):
        try:
            return self.atomic.__exit__(*exc)
        finally:
            _forget()


def write_transaction():
    return _WriteTransaction()


@contextmanager
def read_snapshot(work_mem: str | None = None):
    """One consistent view for a report's several queries: a transaction that only
    reads (REPEATABLE READ, READ ONLY on PostgreSQL; a deferred BEGIN on SQLite, whose
    WAL gives a snapshot from the first read), so totals and breakdowns count the same
    rows while new ones arrive. `work_mem` (PostgreSQL, e.g. "16MB") lets its sorts and
    hash aggregates stay in memory: at the default 4MB the planner sorted a month of
    facts on disk where a hash aggregate takes half the time. Inside a transaction
    already, it joins that one."""
    if database.in_transaction():
        yield
        return
    with database.atomic():
        if not is_sqlite():
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if work_mem:
                database.execute_sql("SELECT set_config('work_mem', %s, true)", (work_mem,))
        yield


def lock_rows(query):
    """Row locks where the database has them; SQLite is already serialised."""
    if is_sqlite():
        return query
    return query.for_update()


def lock_or_create(query, create):
    """The first row of `query`, locked until commit; when there is none, `create()`
    makes it first (if another transaction makes it at the same moment, the unique index
    decides and that row is taken)."""
    row = lock_rows(query.clone()).first()  # first() caches its result on the query
    if row is None:
        try:
            with database.atomic():
                create()
        except peewee.IntegrityError:
            pass
        row = lock_rows(query.clone()).first()
    return row


def skip_locked(query):
    if is_sqlite():
        return query
    return query.for_update(skip_locked=True)


# --- queries rendered once ------------------------------------------------------------
# peewee builds the SQL text of a query on every execution; on the ticket path that
# was most of the CPU time (about 0.2 ms a query, the database's own work is 0.02 ms).
# A `Prepared` query is written with peewee as usual, with `Param("name")` where a value
# goes; its SQL is rendered once per database and each run only binds the values,
# converted by the same field converters peewee would use.

class _Bound:
    __slots__ = ("name", "converter")

    def __init__(self, name, converter):
        self.name, self.converter = name, converter


class Param(peewee.Node):
    """A named value in a `Prepared` query. In a comparison it takes the converter of
    the field it is compared with; in an insert pass `field` for its converter."""

    def __init__(self, name: str, field: peewee.Field | None = None):
        self.name, self.field = name, field

    def __sql__(self, ctx):
        converter = self.field.db_value if self.field is not None else ctx.state.converter
        return ctx.value(_Bound(self.name, converter), converter=False)


def _inline_text_constants(sql: str, params: list) -> tuple[str, list]:
    """SQLite: the query's own text constants (`status = 'waiting'`) written into the
    SQL instead of bound. A bound value compared with a column that has a partial index
    (ticket: `WHERE status = 'waiting'`) makes SQLite plan the statement again at every
    run, since the value decides whether that index applies: 20-30 us a statement, more
    than the query itself. Only constants of the code are inlined, never a `Param`."""
    pieces = sql.split("?")
    if len(pieces) != len(params) + 1:  # a '?' that is not a placeholder: leave it
        return sql, params
    out, kept = [pieces[0]], []
    for param, piece in zip(params, pieces[1:]):
        if isinstance(param, str):
            out.append("'" + param.replace("'", "''") + "'")
        else:
            out.append("?")
            kept.append(param)
        out.append(piece)
    return "".join(out), kept


class Prepared:
    def __init__(self, build):
        self.build = build  # () -> peewee query using Param placeholders
        self._rendered = weakref.WeakKeyDictionary()  # database -> (sql, params)

    def bind(self, values: dict) -> tuple[str, list]:
        db = database.obj
        rendered = self._rendered.get(db)
        if rendered is None:
            sql, params = self.build().sql()
            if isinstance(db, peewee.SqliteDatabase):
                sql, params = _inline_text_constants(sql, params)
            # (name, converter) per placeholder; name None: a constant, in `converter`
            slots = tuple((p.name, p.converter) if isinstance(p, _Bound) else (None, p)
                          for p in params)
            rendered = self._rendered[db] = (sql, slots)
        sql, slots = rendered
        return sql, [value if name is None else
                     (value(values[name]) if value else values[name])
                     for name, value in slots]

    def execute(self, **values):
        return database.execute_sql(*self.bind(values))

    def insert(self, **values):
        """Run an INSERT; the new row's auto id (PostgreSQL: peewee renders RETURNING)."""
        cursor = self.execute(**values)
        if is_sqlite():
            return cursor.lastrowid
        row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None

    def scalar(self, **values):
        row = self.execute(**values).fetchone()
        return row[0] if row else None

    def models(self, model, **values) -> list:
        """Rows as `model` instances (a plain SELECT of the model's own columns),
        built the way peewee builds them, minus its per-query column resolution."""
        cursor = self.execute(**values)
        return rows_as(model, cursor.description, cursor.fetchall())

    def first(self, model, **values):
        rows = self.models(model, **values)
        return rows[0] if rows else None


def rows_as(model, description, rows) -> list:
    """Rows of a SELECT of `model`'s own columns as clean instances: what
    `model(__no_default__=1, **columns)` then `_dirty.clear()` makes (every value
    goes through its field's python_value), without a descriptor call per column."""
    columns = model._meta.columns
    fields = [(columns[column[0]].name, columns[column[0]].python_value)
              for column in description]
    out = []
    for row in rows:
        instance = model.__new__(model)
        instance.__data__ = {name: convert(value) for (name, convert), value in zip(fields, row)}
        instance.__rel__ = {}
        instance._dirty = set()
        out.append(instance)
    return out


def prepared(build) -> Prepared:
    return Prepared(build)
