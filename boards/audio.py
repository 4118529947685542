"""The call as a WAV, rendered on the server with espeak-ng (voice `id`) so halls
without internet still hear it; cached under DATA_DIR/speech by a hash of the text.

The board asks for `/boards/<site>/suara/<number>-<counter>.wav`: the server rebuilds
the text from those parts (never from free text in the URL), renders it once, and
serves the file. A publish starts the rendering in the background so the first board
to ask rarely waits.
"""
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger("mpp.boards.audio")

VOICE = "id"
SPEED = "140"  # words per minute: slower than espeak's 175, for a hall's echo
KEEP_DAYS = 30  # numbers repeat every day, so the cache is reused; unused files go
_renders = threading.BoundedSemaphore(2)  # espeak processes per worker, at most
_cache_dir: Path | None = None
_last_prune = 0.0


def configure(data_dir: Path) -> None:
    global _cache_dir
    _cache_dir = Path(data_dir) / "speech"


def available() -> bool:
    return shutil.which("espeak-ng") is not None


def url(site_code: str, number: str, counter_number: int) -> str:
    return f"/boards/{site_code}/suara/{number}-{counter_number}.wav"


def cache_path(text: str) -> Path:
    if _cache_dir is None:
        raise RuntimeError("boards.audio is not configured (create_app does it)")
    key = hashlib.sha256(f"{VOICE}|{SPEED}|{text}".encode()).hexdigest()[:32]
    return _cache_dir / f"{key}.wav"


def render(text: str) -> Path | None:
    """The cached WAV for this text, rendering it first if needed; None when espeak-ng
    is missing or fails (the board then falls back to the browser's voice)."""
    path = cache_path(text)
    if path.exists():
        _touch(path)
        return path
    _prune()
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with _renders:
        if path.exists():
            return path
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        try:
            subprocess.run([binary, "-v", VOICE, "-s", SPEED, "-g", "4", "-w", tmp, "--", text],
                           check=True, capture_output=True, timeout=20)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)  # atomic: readers never see half a file
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("espeak-ng failed for a call: %s", exc)
            return None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path


def prepare_async(text: str) -> None:
    if _cache_dir is None or not available() or cache_path(text).exists():
        return
    threading.Thread(target=render, args=(text,), name="speech-render", daemon=True).start()


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:  # pragma: no cover
        pass


def _prune() -> None:
    """At most hourly: remove WAVs not used for KEEP_DAYS."""
    global _last_prune
    now = time.time()
    if _cache_dir is None or now - _last_prune < 3600 or not _cache_dir.exists():
        return
    _last_prune = now
    for entry in _cache_dir.glob("*.wav"):
        try:
            if now - entry.stat().st_mtime > KEEP_DAYS * 86400:
                entry.unlink()
        except OSError:
            pass
