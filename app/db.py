"""The database: declared without a path here, bound in create_app (peewee docs, Scout).

All writes that must be serialised go through `write_transaction()`: BEGIN IMMEDIATE on
SQLite (one writer, others wait on busy_timeout), a plain transaction on PostgreSQL where
the domain takes row locks itself (FOR UPDATE / SKIP LOCKED).
"""
from pathlib import Path
from urllib.parse import urlparse

import peewee
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledPostgresqlDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 15000,
    "cache_size": -16000,
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def sqlite_url(data_dir: Path) -> str:
    return "sqlite:///" + str((data_dir / "mpp.sqlite3").resolve())


def open_database(url: str) -> peewee.Database:
    scheme = urlparse(url).scheme
    if scheme.startswith("sqlite"):
        path = url.split("///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=15,
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


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def write_transaction():
    if is_sqlite():
        return database.atomic("IMMEDIATE")
    return database.atomic()


def lock_rows(query):
    """Row locks where the database has them; SQLite is already serialised."""
    if is_sqlite():
        return query
    return query.for_update()


def skip_locked(query):
    if is_sqlite():
        return query
    return query.for_update(skip_locked=True)
