"""Throwaway PostgreSQL databases for the postgres lane (127.0.0.1, user postgres, trust).

Every database is named `mpp_test_<label>_<random>`, created through the
`postgres` maintenance database and dropped (WITH FORCE) by whoever created it.
"""
import secrets

from .services_up import reachable

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
PREFIX = "mpp_test"


def available() -> bool:
    return reachable(PORT)


def url(name: str) -> str:
    return f"postgresql://{USER}@{HOST}:{PORT}/{name}"


def new_name(label: str = "") -> str:
    return f"{PREFIX}_{label + '_' if label else ''}{secrets.token_hex(4)}"


def _admin(sql: str) -> None:
    import psycopg2
    conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres")
    try:
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def create_database(name: str, template: str | None = None) -> str:
    """Create `name` (empty, or a copy of `template`, ~0.1 s) and return its URL."""
    _check(name)
    if template:
        _check(template)
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url(name)


def drop_database(name: str) -> None:
    _check(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check(name: str) -> None:
    # Names are built here; refuse anything else so a typo never drops a stranger's db.
    if not name.startswith(PREFIX + "_") or not name.replace("_", "").isalnum():
        raise ValueError(f"refusing database name {name!r}")


class connect:
    """`with connect(name) as conn:` an autocommit psycopg2 connection, closed after."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        import psycopg2
        self.conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=self.name)
        self.conn.autocommit = True
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()


def snapshot(conn):
    """Copy every public table into schema `pristine`; return `restore(conn)`, which
    puts every table (and its id sequence) back as it was, in one transaction."""
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "ORDER BY tablename")
        tables = [row[0] for row in cur.fetchall()]
        cur.execute("CREATE SCHEMA pristine")
        sequences = []
        for table in tables:
            cur.execute(f'CREATE TABLE pristine."{table}" AS TABLE public."{table}"')
            cur.execute("SELECT column_name, pg_get_serial_sequence(%s, column_name) "
                        "FROM information_schema.columns WHERE table_schema = 'public' "
                        "AND table_name = %s", (f'public."{table}"', table))
            for column, sequence in cur.fetchall():
                if sequence:
                    cur.execute(f'SELECT max("{column}") FROM public."{table}"')
                    sequences.append((sequence, cur.fetchone()[0]))
    statements = ["BEGIN", "SET LOCAL session_replication_role = replica"]
    for table in tables:
        statements.append(f'DELETE FROM public."{table}"')
        statements.append(f'INSERT INTO public."{table}" SELECT * FROM pristine."{table}"')
    for sequence, value in sequences:
        statements.append(f"SELECT setval('{sequence}', {value or 1}, {value is not None})")
    statements.append("COMMIT")
    script = ";\n".join(statements)

    def restore(conn):
        with conn.cursor() as cur:
            cur.execute(script)
    return restore
