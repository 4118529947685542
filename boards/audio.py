"""The call as a WAV made on the server, so halls without internet still hear it:
spoken by espeak-ng (voice `id`) when it is on the PATH, else joined from the word clips
shipped in boards/clips/id/ (`boards.wordclips`: a fresh clone speaks without
installing anything). Cached under DATA_DIR/speech by a hash of the engine and the text.

The board asks for `/boards/<site>/suara/<number>-<counter>.wav`: the server rebuilds
the text from those parts (never from free text in the URL), makes it once, and serves
the file. A publish starts the making in the background so the first board to ask
rarely waits. `engine()` names the voice in use; the board shows it.
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

from . import wordclips

log = logging.getLogger("mpp.boards.audio")

ESPEAK = "espeak-ng"
RECORDED = "rekaman"  # the shipped word clips
VOICE = "id"
SPEED = "140"  # words per minute: slower than espeak's 175, for a hall's echo
KEEP_DAYS = 30  # numbers repeat every day, so the cache is reused; unused files go
_renders = threading.BoundedSemaphore(2)  # espeak processes per worker, at most
_cache_dir: Path | None = None
_last_prune = 0.0


def configure(data_dir: Path) -> None:
    global _cache_dir
    _cache_dir = Path(data_dir) / "speech"


def engine() -> str | None:
    """The voice the server speaks with: espeak-ng when on the PATH (whole sentences
    sound more natural), else the shipped word clips, else None (the board falls back to
    the browser's voice)."""
    if shutil.which("espeak-ng") is not None:
        return ESPEAK
    if wordclips.available():
        return RECORDED
    return None


def available() -> bool:
    return engine() is not None


def url(site_code: str, number: str, counter_number: int) -> str:
    return f"/boards/{site_code}/suara/{number}-{counter_number}.wav"


def cache_path(text: str, voice: str = ESPEAK) -> Path:
    if _cache_dir is None:
        raise RuntimeError("boards.audio is not configured (create_app does it)")
    if voice == ESPEAK:
        key = f"{VOICE}|{SPEED}|{text}"
    else:  # a new set of clips makes new files
        key = f"{RECORDED}|{wordclips.digest()}|{text}"
    return _cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.wav"


def render(text: str) -> Path | None:
    """The cached WAV for this text, made first if needed: by espeak-ng when present,
    else (or when it fails) joined from the word clips; None when neither can (the
    board then falls back to the browser's voice)."""
    if _cache_dir is None:
        raise RuntimeError("boards.audio is not configured (create_app does it)")
    _prune()
    binary = shutil.which("espeak-ng")
    if binary is not None:
        path = _espeak(binary, text)
        if path is not None:
            return path
    return _joined(text)


def _espeak(binary: str, text: str) -> Path | None:
    path = cache_path(text, ESPEAK)
    if path.exists():
        _touch(path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _renders:
        if path.exists():
            return path
        def speak(tmp: Path) -> bool:
            subprocess.run([binary, "-v", VOICE, "-s", SPEED, "-g", "4", "-w", str(tmp),
                            "--", text], check=True, capture_output=True, timeout=20)
            return True
        return _write_atomically(path, speak, "espeak-ng failed for a call")


def _joined(text: str) -> Path | None:
    if not wordclips.available():
        return None
    path = cache_path(text, RECORDED)
    if path.exists():
        _touch(path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)

    def join(tmp: Path) -> bool:
        if wordclips.join(text, tmp):
            return True
        log.error("no word clip for part of a call: %r", text)
        return False
    return _write_atomically(path, join, "joining the word clips failed for a call")


def _write_atomically(path: Path, write, failure: str) -> Path | None:
    """`write(tmp)` fills a temporary file beside `path`, which is then renamed into
    place: a board never reads half a WAV. None when writing fails."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        if not write(Path(tmp)):
            return None
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except (OSError, subprocess.SubprocessError) as exc:
        log.error("%s: %s", failure, exc)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def prepare_async(text: str) -> None:
    voice = engine()
    if _cache_dir is None or voice is None or cache_path(text, voice).exists():
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
