"""The SQLite writer queue: a failed or abandoned write transaction never keeps the
process's other writers waiting."""
import threading

import pytest

from app.db import database, is_sqlite, write_transaction
from app.models import Closure


def write_from_another_thread() -> bool:
    done = threading.Event()

    def write():
        database.connect(reuse_if_open=True)
        try:
            with write_transaction():
                Closure.create(day="2026-12-31", reason="uji")
            done.set()
        finally:
            database.close()

    worker = threading.Thread(target=write, daemon=True)
    worker.start()
    worker.join(timeout=20)  # a liveness bound: a stuck writer queue never finishes
    return done.is_set()


def test_a_failed_write_transaction_ends_its_turn(db):
    assert is_sqlite()
    with pytest.raises(RuntimeError):
        with write_transaction():
            Closure.create(day="2026-12-30", reason="uji")
            raise RuntimeError("boom")
    assert write_from_another_thread()
    assert [c.reason for c in Closure.select()] == ["uji"]


def test_a_connection_closed_mid_transaction_ends_its_turn(db):
    database.obj.begin("IMMEDIATE")
    database.close()  # e.g. a request torn down while its transaction was open
    assert write_from_another_thread()
