"""Backups of a hall's box: its SQLite database, its uploads and its secret key in one
archive, made while the server serves and writes, kept for BACKUP_KEEP_DAYS, made by
itself at BACKUP_TIMES every day; and the way back (`flask mpp restore`).

One archive is `BACKUP_DIR/mpp-backup-<UTC time>.tar.gz` (mode 600) holding
- `mpp.sqlite3`: a consistent copy taken with SQLite's online backup API in one step
  (one read transaction: in WAL mode writers go on while it runs), checked with
  `PRAGMA integrity_check` before it is packed;
- `attachments/`: the uploads, copied after the database snapshot. A file is written
  before the row naming it commits, so every attachment the copy names is there;
- `secret_key`: sessions and, unless NIK_HASH_KEY is set, the NIK look-up hashes in the
  database depend on it;
- `manifest.json`: when, which role and halls, the database's size and SHA-256, the
  last ticket number of each sequence, the messages still waiting for the centre.

The daily run: every gunicorn worker starts a `Scheduler` thread; at each check (a
minute apart) a worker that finds the latest BACKUP_TIMES slot without an archive since
takes an exclusive lock on `BACKUP_DIR/.lock` (fcntl, never blocking), looks again, and
makes the archive; the other workers skip. A box switched off at the slot makes the
missed archive when it starts again. Each worker also holds a shared lock on
`DATA_DIR/.server.lock` while it lives, which is how `restore` knows a server runs.

PostgreSQL (the centre) is not copied here: `pg_dump` does that (see README)."""
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .clock import WITA
from .db import database

log = logging.getLogger(__name__)

PREFIX = "mpp-backup-"
SUFFIX = ".tar.gz"
NAME = re.compile(r"^mpp-backup-(\d{8}T\d{6}Z)(?:-\d+)?\.tar\.gz$")
FORMAT = 1
CHECK_SECONDS = 60.0
PG_HINT = ("Basis data PostgreSQL (pusat) tidak dicadangkan oleh perintah ini; gunakan "
           "pg_dump, mis. `pg_dump -Fc -f mpp-$(date +%F).dump \"$DATABASE_URL\"`, dan "
           "salin folder lampiran (DATA_DIR/attachments) bersamanya. "
           "PostgreSQL (the centre): use pg_dump and copy DATA_DIR/attachments.")


class BackupError(Exception):
    """Something a person must fix; the message says what (Indonesian, then English)."""


@dataclass
class Archive:
    path: Path
    created_at: dt.datetime  # UTC
    manifest: dict = field(default_factory=dict)


# --- where things are ------------------------------------------------------------------

def settings_of(app) -> dict:
    return app.config["SETTINGS"]


def backup_dir(app) -> Path:
    configured = settings_of(app).get("BACKUP_DIR", "")
    return Path(configured).resolve() if configured else app.config["DATA_DIR"] / "backups"


def sqlite_path(app) -> Path | None:
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        return None
    return Path(url.split("///", 1)[1])


def archives(folder: Path) -> list[Archive]:
    """The archives in `folder`, oldest first (by the time in their name)."""
    found = []
    for path in folder.glob(f"{PREFIX}*{SUFFIX}") if folder.is_dir() else []:
        match = NAME.match(path.name)
        if match:
            when = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(
                tzinfo=dt.timezone.utc)
            found.append(Archive(path, when))
    return sorted(found, key=lambda a: (a.created_at, a.path.name))


# --- making one --------------------------------------------------------------------------

def make_backup(app, now: dt.datetime) -> Archive:
    """One archive of this box, made while it serves. Returns it with its manifest."""
    db_path = sqlite_path(app)
    if db_path is None:
        raise BackupError(PG_HINT)
    if not db_path.exists():
        raise BackupError(f"Basis data tidak ditemukan: {db_path}. / Database not found.")
    folder = backup_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    now_utc = now.astimezone(dt.timezone.utc)
    stamp = now_utc.strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{PREFIX}{stamp}{SUFFIX}"
    n = 1
    while target.exists():
        target = folder / f"{PREFIX}{stamp}-{n}{SUFFIX}"
        n += 1
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".partial-"))
    try:
        copy = work / "mpp.sqlite3"
        facts = _snapshot(db_path, copy)
        attachments = app.config["ATTACHMENT_DIR"]
        files = sorted(p for p in attachments.rglob("*")
                       if p.is_file() and not p.name.startswith(".")) \
            if attachments.is_dir() else []
        secret = app.config["DATA_DIR"] / "secret_key"
        manifest = {
            "format": FORMAT, "created_at": now_utc.isoformat(),
            "local_day": now.astimezone(WITA).date().isoformat(),
            "role": app.config["MPP_ROLE"], "sites": settings_of(app)["MPP_SITES"],
            "database": {"file": "mpp.sqlite3", "size": copy.stat().st_size,
                         "sha256": _sha256(copy), "integrity": "ok"},
            "attachments": {"files": len(files),
                            "bytes": sum(p.stat().st_size for p in files)},
            "secret_key": secret.is_file(),
            **facts,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
        partial = work / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            tar.add(work / "manifest.json", "manifest.json")
            tar.add(copy, "mpp.sqlite3")
            if secret.is_file():
                tar.add(secret, "secret_key")
            for path in files:
                tar.add(path, "attachments/" + path.relative_to(attachments).as_posix())
        os.chmod(partial, 0o600)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Archive(target, now_utc, manifest)


def _snapshot(source: Path, copy: Path) -> dict:
    """The database copied in one step of the online backup API (one read transaction,
    a consistent snapshot whatever the writers do meanwhile), then checked."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # pages=-1: everything in one step
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        _check_integrity(dst)
        return _facts(dst)
    finally:
        dst.close()


def _check_integrity(conn: sqlite3.Connection) -> None:
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
        rows = [str(exc)]
    if rows != ["ok"]:
        raise BackupError("Salinan basis data rusak (integrity_check: "
                          f"{'; '.join(rows)[:300]}). / The copy failed its integrity check.")


def _facts(conn: sqlite3.Connection) -> dict:
    """What a person restoring wants to know, read from the copy itself."""
    def rows(sql):
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.DatabaseError:  # a table a very old schema does not have
            return []
    numbers = [{"site": site, "prefix": prefix, "day": str(day), "last": last}
               for site, prefix, day, last in rows(
                   "SELECT s.code, n.prefix, n.day, n.last FROM number_sequence n "
                   "JOIN site s ON s.id = n.site_id ORDER BY n.day DESC, s.code, n.prefix "
                   "LIMIT 200")]
    pending = rows("SELECT count(*) FROM outbox_message WHERE delivered_at IS NULL "
                   "AND NOT refused")
    migrations = rows("SELECT name FROM schema_migration ORDER BY id")
    return {"numbers": numbers, "outbox_pending": pending[0][0] if pending else 0,
            "migrations": [m[0] for m in migrations]}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prune(app, now: dt.datetime) -> list[Path]:
    """Archives older than BACKUP_KEEP_DAYS removed; the newest one is always kept."""
    keep_days = int(settings_of(app)["BACKUP_KEEP_DAYS"])
    found = archives(backup_dir(app))
    limit = now.astimezone(dt.timezone.utc) - dt.timedelta(days=keep_days)
    removed = []
    for archive in found[:-1]:
        if archive.created_at < limit:
            archive.path.unlink(missing_ok=True)
            removed.append(archive.path)
    return removed


# --- the daily run ------------------------------------------------------------------------

def slots(setting: str) -> list[dt.time]:
    """BACKUP_TIMES: 'HH:MM' WITA, comma-separated."""
    out = []
    for part in (setting or "").split(","):
        part = part.strip()
        if part:
            hour, _, minute = part.partition(":")
            out.append(dt.time(int(hour), int(minute or 0)))
    return sorted(out)


def last_slot(now: dt.datetime, times: list[dt.time]) -> dt.datetime | None:
    """The latest slot at or before `now` (today's or yesterday's), as UTC."""
    local = now.astimezone(WITA)
    for day in (local.date(), local.date() - dt.timedelta(days=1)):
        for at in reversed(times):
            moment = dt.datetime.combine(day, at, WITA)
            if moment <= local:
                return moment.astimezone(dt.timezone.utc)
    return None


def due(app, now: dt.datetime) -> bool:
    slot = last_slot(now, slots(settings_of(app)["BACKUP_TIMES"]))
    if slot is None:
        return False
    found = archives(backup_dir(app))
    return not found or found[-1].created_at < slot


def run_if_due(app) -> Archive | None:
    """One check of the daily run; the archive when this worker made one."""
    now = app.clock.now()
    if not due(app, now):
        return None
    folder = backup_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another worker is making it
        if not due(app, app.clock.now()):  # made by another worker meanwhile
            return None
        archive = make_backup(app, app.clock.now())
        removed = prune(app, app.clock.now())
    log.info("backup %s made (%d bytes); %d old removed", archive.path.name,
             archive.path.stat().st_size, len(removed))
    return archive


class Scheduler(threading.Thread):
    """A worker's daily backup thread (see the module's text)."""

    def __init__(self, app, interval: float = CHECK_SECONDS):
        super().__init__(name="mpp-backup", daemon=True)
        self.app = app
        self.interval = interval
        self.stopping = threading.Event()

    def run(self):
        # The first look soon after start (a box switched off at the slot catches up),
        # spread a little so the workers do not all try in the same instant.
        wait = 3.0 + (os.getpid() % 7) * 0.5
        while not self.stopping.wait(wait):
            try:
                with self.app.app_context():
                    run_if_due(self.app)
            except Exception:  # noqa: BLE001 - a failed backup must not end the thread
                log.exception("backup failed; next try in %.0f s", self.interval)
            wait = self.interval


_state: dict = {"scheduler": None, "server_lock": None}


def start_scheduler(app):
    """Called in each gunicorn worker (gunicorn.conf.py post_worker_init): hold the
    box's serving lock, and, for a SQLite box with BACKUP_AUTO on, the daily run."""
    hold_server_lock(app.config["DATA_DIR"])
    if sqlite_path(app) is None or settings_of(app)["BACKUP_AUTO"].lower() == "off":
        return None
    if _state["scheduler"] is None:
        _state["scheduler"] = Scheduler(app)
        _state["scheduler"].start()
    return _state["scheduler"]


def hold_server_lock(data_dir: Path) -> None:
    if _state["server_lock"] is None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        handle = open(Path(data_dir) / ".server.lock", "a+")  # noqa: SIM115 - held for life
        fcntl.flock(handle, fcntl.LOCK_SH)
        _state["server_lock"] = handle


def server_running(data_dir: Path) -> bool:
    path = Path(data_dir) / ".server.lock"
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


# --- restoring ----------------------------------------------------------------------------

ALLOWED = re.compile(r"^(manifest\.json|mpp\.sqlite3|secret_key|"
                     r"attachments/[0-9a-f]{2}/[0-9a-f]{32}\.(pdf|jpg|png))$")


def restore_files(app, archive_path: Path, force: bool, now: dt.datetime) -> dict:
    """The archive checked (names, checksum, integrity) and put in place of this box's
    database, key and uploads; what was there is kept aside in
    DATA_DIR/before-restore-<time>/. Returns the manifest. The caller migrates and then
    calls `after_restore`."""
    data_dir = app.config["DATA_DIR"]
    db_path = sqlite_path(app)
    if db_path is None:
        raise BackupError(PG_HINT.replace("pg_dump -Fc -f", "pg_restore / pg_dump -Fc -f"))
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise BackupError(f"Berkas cadangan tidak ditemukan: {archive_path}. "
                          "/ Backup file not found.")
    if server_running(data_dir) and not force:
        raise BackupError("Server masih berjalan di DATA_DIR ini; hentikan dulu "
                          "(mis. systemctl stop mpp), atau pakai --force bila yakin. "
                          "/ The server is running; stop it first or pass --force.")
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
    try:
        manifest = _unpack(archive_path, work)
        restored = work / "mpp.sqlite3"
        if _sha256(restored) != manifest["database"]["sha256"]:
            raise BackupError("Checksum basis data di cadangan tidak cocok. "
                              "/ The database checksum does not match the manifest.")
        conn = sqlite3.connect(restored)
        try:
            _check_integrity(conn)
        finally:
            conn.close()
        stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = data_dir / f"before-restore-{stamp}"
        if not database.is_closed():
            database.close()
        close_all = getattr(database.obj, "close_all", None)
        if close_all:
            close_all()
        for suffix in ("", "-wal", "-shm"):
            current = Path(str(db_path) + suffix)
            if current.exists():
                aside.mkdir(exist_ok=True)
                os.replace(current, aside / current.name)
        os.replace(restored, db_path)
        if (work / "secret_key").is_file():
            secret = data_dir / "secret_key"
            if secret.exists() and secret.read_bytes() != (work / "secret_key").read_bytes():
                aside.mkdir(exist_ok=True)
                os.replace(secret, aside / "secret_key")
            if not secret.exists():
                os.replace(work / "secret_key", secret)
                os.chmod(secret, 0o600)
        uploads = app.config["ATTACHMENT_DIR"]
        copied = 0
        for path in sorted((work / "attachments").rglob("*")) \
                if (work / "attachments").is_dir() else []:
            if path.is_file():
                dest = uploads / path.relative_to(work / "attachments")
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, dest)
                    copied += 1
        manifest["restored_attachments"] = copied
        manifest["kept_aside"] = str(aside) if aside.exists() else ""
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _unpack(archive_path: Path, work: Path) -> dict:
    try:
        with tarfile.open(archive_path, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                if not member.isfile() or not ALLOWED.match(member.name):
                    raise BackupError(f"Isi cadangan tidak dikenal: {member.name[:80]}. "
                                      "/ Unexpected entry in the archive.")
            names = {m.name for m in members}
            if not {"manifest.json", "mpp.sqlite3"} <= names:
                raise BackupError("Cadangan tidak lengkap (manifest.json, mpp.sqlite3). "
                                  "/ Incomplete archive.")
            for member in members:
                target = work / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"Cadangan tidak dapat dibaca ({exc}). / Unreadable archive.") \
            from None
    manifest = json.loads((work / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError("Format cadangan tidak dikenal. / Unknown archive format.")
    return manifest


def after_restore(manifest: dict, now: dt.datetime, skip_numbers: int) -> dict:
    """On the restored (and migrated) database: when the copy is from today, today's
    ticket numbers jump past those given out after the copy was made (lost with the box,
    but in citizens' hands and already at the centre): by as many as the copy had given,
    at least `skip_numbers` (numbering.skip_ahead)."""
    from .domain import numbering
    day = dt.date.fromisoformat(manifest["local_day"])
    skipped = 0
    if skip_numbers and day == now.astimezone(WITA).date():
        database.connect(reuse_if_open=True)
        try:
            skipped = numbering.skip_ahead(day, skip_numbers)
        finally:
            database.close()
    return {"sequences_skipped": skipped, "skip": skip_numbers if skipped else 0}


def describe(archive: Archive) -> str:
    m = archive.manifest
    return (f"{archive.path} ({archive.path.stat().st_size} bytes): database "
            f"{m['database']['size']} bytes, {m['attachments']['files']} attachments "
            f"({m['attachments']['bytes']} bytes), {m['outbox_pending']} messages waiting "
            "for the centre")
