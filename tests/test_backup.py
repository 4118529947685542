"""Backups of a hall's box (app/backup.py, `flask mpp backup` / `restore`): the archive,
its checks, retention, the daily run by itself in a real gunicorn with two workers, and
the whole story with real processes: a copy made while tickets pour in, the box lost, the
copy restored on a fresh DATA_DIR, and the hall going on without doubling a number or a
message at the centre."""
import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import threading
import time

import pytest
import requests

from app import backup, create_app
from app.db import database
from app.domain import queueing

from .conftest import MONDAY_9
from .servers import OPEN_MONDAY, ROOT, VENV_BIN, Server
from .test_cases_sync import (
    KEY,
    auth,
    central,
    central_counts,
    open_case_via_api,
    wait_for,
)


def flask_mpp(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", *args], cwd=ROOT,
                          env={**os.environ, "MPP_CLOCK_START": OPEN_MONDAY, **env},
                          capture_output=True, text=True, timeout=120)


def members(path) -> dict:
    with tarfile.open(path) as tar:
        return {m.name: m for m in tar.getmembers()}


# --- in process -------------------------------------------------------------------------

def test_archive_holds_a_checked_copy_uploads_and_key(app, db):
    site = queueing.get_site("tabang")
    for _ in range(3):
        queueing.issue_ticket(site, queueing.get_service("ADM-KTP"), MONDAY_9)
    upload = app.config["ATTACHMENT_DIR"] / "ab" / ("ab" + "0" * 30 + ".png")
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"\x89PNG fake")
    (app.config["DATA_DIR"] / "secret_key").write_text("k" * 64)  # as a real box has
    archive = backup.make_backup(app, MONDAY_9)
    assert archive.path.parent == app.config["DATA_DIR"] / "backups"
    assert archive.path.name == "mpp-backup-20261130T010000Z.tar.gz"
    assert oct(archive.path.stat().st_mode & 0o777) == "0o600"
    names = members(archive.path)
    assert set(names) == {"manifest.json", "mpp.sqlite3", "secret_key",
                          f"attachments/ab/{upload.name}"}
    manifest = archive.manifest
    assert manifest["local_day"] == "2026-11-30" and manifest["database"]["integrity"] == "ok"
    assert {"site": "tabang", "prefix": "A", "day": "2026-11-30", "last": 3} in \
        manifest["numbers"]
    assert manifest["attachments"] == {"files": 1, "bytes": len(b"\x89PNG fake")}
    assert manifest["migrations"][0] == "0001_initial"
    with tarfile.open(archive.path) as tar:
        copy = tar.extractfile("mpp.sqlite3").read()
    path = app.config["DATA_DIR"] / "check.sqlite3"
    path.write_bytes(copy)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("select count(*) from ticket").fetchone() == (3,)
    conn.close()


def test_retention_keeps_n_days_and_always_the_newest(app):
    app.config["SETTINGS"]["BACKUP_KEEP_DAYS"] = "14"
    folder = backup.backup_dir(app)
    folder.mkdir()
    for stamp in ("20261001T010000Z", "20261115T010000Z", "20261117T010000Z",
                  "20261130T010000Z"):
        (folder / f"mpp-backup-{stamp}.tar.gz").write_bytes(b"x")
    (folder / "notes.txt").write_text("not ours")
    removed = backup.prune(app, MONDAY_9)
    assert sorted(p.name for p in removed) == ["mpp-backup-20261001T010000Z.tar.gz",
                                               "mpp-backup-20261115T010000Z.tar.gz"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "mpp-backup-20261117T010000Z.tar.gz", "mpp-backup-20261130T010000Z.tar.gz",
        "notes.txt"]
    app.config["SETTINGS"]["BACKUP_KEEP_DAYS"] = "0"
    backup.prune(app, MONDAY_9 + dt.timedelta(days=30))
    assert [a.path.name for a in backup.archives(folder)] == [
        "mpp-backup-20261130T010000Z.tar.gz"]  # the newest stays


def test_the_daily_slots(app):
    times = backup.slots("12:00, 16:30")
    wita = MONDAY_9.tzinfo
    at = dt.datetime(2026, 11, 30, 13, 0, tzinfo=wita)
    assert backup.last_slot(at, times) == dt.datetime(2026, 11, 30, 12, 0, tzinfo=wita)
    # before today's first slot: yesterday's last (a box off at 16:30 catches up)
    assert backup.last_slot(MONDAY_9, times) == dt.datetime(2026, 11, 29, 16, 30,
                                                            tzinfo=wita)
    app.config["SETTINGS"]["BACKUP_TIMES"] = "12:00,16:30"
    assert backup.due(app, at)
    backup.make_backup(app, dt.datetime(2026, 11, 30, 12, 5, tzinfo=wita))
    assert not backup.due(app, at)
    assert backup.due(app, dt.datetime(2026, 11, 30, 16, 31, tzinfo=wita))


def _tampered(app, archive, replace: dict):
    out = app.config["DATA_DIR"] / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = replace.pop(member.name, None)
            data = src.extractfile(member).read() if data is None else data
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
        for name, data in replace.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def test_restore_refuses_what_it_cannot_trust(app, db):
    archive = backup.make_backup(app, MONDAY_9).path
    raw = members(archive)
    assert raw
    with tarfile.open(archive) as tar:
        good_db = tar.extractfile("mpp.sqlite3").read()
    broken = bytearray(good_db)
    broken[len(broken) // 2: len(broken) // 2 + 4096] = b"\xff" * 4096
    cases = {
        "../escape": _tampered(app, archive, {"../../etc/cron.d/x": b"* * * * * root sh"}),
        "checksum": _tampered(app, archive, {"mpp.sqlite3": bytes(broken)}),
        "not gzip": app.config["DATA_DIR"] / "junk.tar.gz",
    }
    cases["not gzip"].write_bytes(b"<html>")
    database.close()
    for name, path in cases.items():
        with pytest.raises(backup.BackupError):
            backup.restore_files(app, path, False, MONDAY_9)
        assert (app.config["DATA_DIR"] / "mpp.sqlite3").exists(), name  # untouched
    # a copy whose manifest agrees with corrupted pages: integrity_check catches it
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    import hashlib
    manifest["database"]["sha256"] = hashlib.sha256(bytes(broken)).hexdigest()
    lying = _tampered(app, archive, {"mpp.sqlite3": bytes(broken),
                                     "manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(backup.BackupError):
        backup.restore_files(app, lying, False, MONDAY_9)
    assert not list(app.config["DATA_DIR"].glob("before-restore-*"))


def test_postgres_is_told_to_use_pg_dump(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test",
                      "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    result = app.test_cli_runner().invoke(args=["mpp", "backup"])
    assert result.exit_code != 0 and "pg_dump" in result.output
    result = app.test_cli_runner().invoke(args=["mpp", "restore", str(tmp_path / "x")])
    assert result.exit_code != 0 and "pg_dump" in result.output


# --- real processes ----------------------------------------------------------------------

@pytest.mark.slow
def test_daily_backup_by_itself_once_with_two_workers(tmp_path):
    """Two gunicorn workers, the 08:00 slot already past at 09:00: exactly one archive,
    made by one worker; and `restore` refuses while this server holds the DATA_DIR."""
    data = tmp_path / "hall"
    with Server(data, workers=2, threads=4, env={"BACKUP_TIMES": "08:00",
                                                           "BACKUP_AUTO": "on"}) as server:
        found = wait_for(lambda: backup.archives(data / "backups"), timeout=60)
        assert len(found) == 1
        time.sleep(12)  # both workers have looked again by now (first look within 7 s)
        assert len(backup.archives(data / "backups")) == 1
        assert "made" in server.log() and "backup failed" not in server.log()
        refused = flask_mpp({"DATA_DIR": str(data)}, "restore", str(found[0].path))
        assert refused.returncode != 0 and "Server masih berjalan" in refused.stderr
    done = flask_mpp({"DATA_DIR": str(data)}, "restore", str(found[0].path))
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout


def hall_env(central_url, **extra) -> dict:
    return {"MPP_ROLE": "site", "MPP_SITES": "tabang", "CENTRAL_URL": central_url,
            "SYNC_SECRET": KEY, "SYNC_INTERVAL_SECONDS": "0.3",
            "SYNC_MAX_BACKOFF_SECONDS": "1.5", "BACKUP_AUTO": "off", **extra}


def issue(url, numbers, errors, more=lambda: True, n=None):
    """Tickets at Tabang's kiosk, one after another, while `more()` (or n of them)."""
    count = 0
    while (n is None and more()) or (n is not None and count < n):
        count += 1
        try:
            r = requests.post(f"{url}/api/v1/sites/tabang/tickets", json={"service": "ADM-KTP"},
                              timeout=20)
            if r.status_code == 201:
                numbers.append(r.json()["number"])
            else:
                errors.append(r.status_code)
        except requests.RequestException as exc:
            errors.append(str(exc))


def outbox(db_path) -> tuple[int, set]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        pending = conn.execute("select count(*) from outbox_message where delivered_at is "
                               "null and not refused").fetchone()[0]
        ids = {r[0] for r in conn.execute("select message_id from outbox_message")}
    finally:
        conn.close()
    return pending, ids


@pytest.mark.slow
@pytest.mark.postgres
def test_backup_under_load_restore_on_a_fresh_box(tmp_path, pg_database):
    with central(tmp_path, pg_database) as centre:
        # The old box. Its sender is off until after the copy, so the copy holds
        # messages the centre will get from the old box before the box is lost.
        old_dir = tmp_path / "old-box"
        old = Server(old_dir, workers=2, threads=8, env=hall_env(centre.url,
                                                                 SYNC_SENDER="off"))
        with old:
            operator = auth(old, "operator.tabang")
            codes = [open_case_via_api(old, operator) for _ in range(2)]
            numbers, errors, cap = [], [], [10_000]
            threads = [threading.Thread(target=issue, args=(old.url, numbers, errors),
                                        kwargs={"more": lambda: len(numbers) < cap[0]})
                       for _ in range(4)]
            for t in threads:
                t.start()
            wait_for(lambda: len(numbers) >= 40, timeout=60, interval=0.02)
            made = flask_mpp({"DATA_DIR": str(old_dir), **hall_env(centre.url)}, "backup")
            cap[0] = len(numbers) + 40  # the load goes on a little after the copy
            for t in threads:
                t.join()
            assert made.returncode == 0, made.stderr
            assert errors == [] and len(set(numbers)) == len(numbers)
            [archive] = backup.archives(old_dir / "backups")
            codes.append(open_case_via_api(old, operator))  # after the copy: lost locally

            def forwarded_all():  # the old box sends everything it has, then dies
                sent = flask_mpp({"DATA_DIR": str(old_dir), **hall_env(centre.url)}, "sync")
                assert sent.returncode == 0, sent.stderr
                return outbox(old_dir / "mpp.sqlite3")[0] == 0
            wait_for(forwarded_all, timeout=90, interval=0.5)
        before = central_counts(pg_database)
        assert before["cases"] == before["distinct"] == 3

        # The new box: the copy restored on an empty DATA_DIR.
        new_dir = tmp_path / "new-box"
        restored = flask_mpp({"DATA_DIR": str(new_dir), **hall_env(centre.url)}, "restore",
                             str(archive.path))
        assert restored.returncode == 0, restored.stderr
        assert "integrity ok" in restored.stdout and "jump past" in restored.stdout
        conn = sqlite3.connect(new_dir / "mpp.sqlite3")
        in_copy = {r[0] for r in conn.execute("select number from ticket where prefix='A'")}
        conn.close()
        assert 40 <= len(in_copy) < len(numbers)  # a copy of the middle of the load
        pending_in_copy, copy_ids = outbox(new_dir / "mpp.sqlite3")
        assert pending_in_copy > 0  # the copy had messages the centre already received
        with Server(new_dir, workers=2, threads=8, env=hall_env(centre.url)) as new:
            fresh, errors = [], []
            issue(new.url, fresh, errors, n=5)
            assert errors == []
            last_in_copy = max(int(n[1:]) for n in in_copy)
            jump = max(last_in_copy, 100)
            assert [int(n[1:]) for n in fresh] == list(range(last_in_copy + jump + 1,
                                                             last_in_copy + jump + 6))
            assert not set(fresh) & set(numbers)  # no number a citizen already holds
            codes.append(open_case_via_api(new, auth(new, "operator.tabang")))
            wait_for(lambda: outbox(new_dir / "mpp.sqlite3")[0] == 0, timeout=60)
        after = central_counts(pg_database)
        # The copy's waiting messages went up again and were stored once: the centre has
        # each case once, each forwarded event once, and one more case (the new one).
        assert after["cases"] == after["distinct"] == 4
        assert after["forwarded"] == after["forwarded_cases"] == 4
        with requests.Session() as s:
            officer = auth(centre, "officer.disdukcapil")
            rows = s.get(f"{centre.url}/api/v1/central/cases?site=tabang", headers=officer,
                         timeout=10).json()["cases"]
        assert sorted(r["tracking_code"] for r in rows) == sorted(codes)
        import psycopg2
        with psycopg2.connect(pg_database) as pg, pg.cursor() as cur:
            cur.execute("select count(*), count(distinct message_id) from inbox_message")
            inbox, distinct = cur.fetchone()
            cur.execute("select count(*), count(distinct ticket_ref) from visit_fact")
            facts, distinct_facts = cur.fetchone()
            cur.execute("select message_id from inbox_message")
            received = {r[0] for r in cur.fetchall()}
        pg.close()
        assert inbox == distinct and facts == distinct_facts
        assert copy_ids <= received  # every message of the copy reached the centre once


def test_skip_ahead_jumps_as_far_as_the_copy_had_given(app, db):
    from app.domain import numbering
    from app.models import NumberSequence
    site, service = queueing.get_site("tabang"), queueing.get_service("ADM-KTP")
    for _ in range(3):
        queueing.issue_ticket(site, service, MONDAY_9)
    day = MONDAY_9.date()

    def last():
        return NumberSequence.get((NumberSequence.day == day)
                                  & (NumberSequence.prefix == "A")).last
    assert numbering.skip_ahead(day, 100) == 1 and last() == 103  # at least 100 on
    assert queueing.issue_ticket(site, service, MONDAY_9).number == "A104"
    NumberSequence.update(last=150).execute()
    numbering.skip_ahead(day, 100)
    assert last() == 300  # as far again as the copy had given
    assert numbering.skip_ahead(day - dt.timedelta(days=1), 100) == 0
