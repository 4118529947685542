"""The call joined from recorded words: the voice of a hall without espeak-ng.

`boards/clips/id/` ships one WAV per word a call can need (the two fixed phrases, the
letter names of a ticket's prefix, the number words of `boards.speech`), all mono,
16-bit, RATE Hz, silence trimmed. `tokens(text)` maps the sentence of
`speech.call_text` to clip names (None when a word has no clip), `join(text, dest)`
writes one WAV: the clips with a short pause between words and a longer one at the
comma. Pure Python (`wave`), no program needed. `boards/clips/make_clips.py` renders the
clips again with espeak-ng; `boards/clips/README.md` says how and under which licence.
"""
import hashlib
import re
import threading
import wave
from pathlib import Path

CLIP_DIR = Path(__file__).resolve().parent / "clips" / "id"
RATE = 16000  # Hz: wideband speech, and the 46 clips stay well under 1 MB
WORD_GAP_MS = 120
COMMA_GAP_MS = 300
EDGE_MS = 150  # silence before the first word and after the last

# Clip name -> what espeak-ng is given to say (make_clips.py renders from this table).
PHRASES = {"nomor-antrian": "nomor antrian", "silakan-menuju-loket": "silakan menuju loket"}
LETTERS = {f"huruf-{c.lower()}": c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
WORDS = {w: w for w in ("nol satu dua tiga empat lima enam tujuh delapan sembilan "
                        "sepuluh sebelas belas puluh seratus ratus seribu ribu").split()}
CLIPS = {**PHRASES, **LETTERS, **WORDS}
COMMA = ","  # a token: the pause between the ticket and the counter

_PREFIX = re.compile(r"^[A-Z]{1,2}$")
_lock = threading.Lock()
_loaded: dict[Path, tuple[str, dict[str, bytes]]] = {}  # dir -> (digest, frames per clip)


def tokens(text: str) -> list[str] | None:
    """"Nomor antrian AB dua puluh, silakan menuju loket tiga" ->
    [nomor-antrian, huruf-a, huruf-b, dua, puluh, ",", silakan-menuju-loket, tiga];
    None when a word has no clip (the caller then cannot join this text)."""
    words = text.replace(",", " , ").split()
    out: list[str] = []
    i = 0
    while i < len(words):
        for name, phrase in PHRASES.items():
            size = len(phrase.split())
            if " ".join(words[i:i + size]).lower() == phrase:
                out.append(name)
                i += size
                break
        else:
            word = words[i]
            if word == COMMA:
                out.append(COMMA)
            elif _PREFIX.match(word):  # the ticket's letters, spelt one by one
                out.extend(f"huruf-{c.lower()}" for c in word)
            elif word.lower() in WORDS:
                out.append(word.lower())
            else:
                return None
            i += 1
    return out


def available(clip_dir: Path | None = None) -> bool:
    return _clips(clip_dir or CLIP_DIR) is not None


def digest(clip_dir: Path | None = None) -> str | None:
    """A fingerprint of the clip set (part of the cache key: new clips, new files)."""
    loaded = _clips(clip_dir or CLIP_DIR)
    return loaded[0] if loaded else None


def join(text: str, dest: Path, clip_dir: Path | None = None) -> bool:
    """Write the sentence as one WAV at dest; False when it cannot be joined (a word
    without a clip, or no clips at all)."""
    loaded = _clips(clip_dir or CLIP_DIR)
    names = tokens(text)
    if loaded is None or not names:
        return False
    frames = loaded[1]
    if any(name != COMMA and name not in frames for name in names):
        return False
    parts = [_silence(EDGE_MS)]
    for i, name in enumerate(names):
        if name == COMMA:
            parts.append(_silence(COMMA_GAP_MS))
            continue
        if i and names[i - 1] != COMMA:
            parts.append(_silence(WORD_GAP_MS))
        parts.append(frames[name])
    parts.append(_silence(EDGE_MS))
    with wave.open(str(dest), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(parts))
    return True


def _silence(ms: int) -> bytes:
    return bytes(2 * (RATE * ms // 1000))


def _clips(clip_dir: Path) -> tuple[str, dict[str, bytes]] | None:
    """Every clip of the folder read once per process (about 0.7 MB); None when the
    folder holds none. A clip in another format is skipped: it would not join."""
    with _lock:
        if clip_dir in _loaded:
            return _loaded[clip_dir]
        frames: dict[str, bytes] = {}
        fingerprint = hashlib.sha256()
        for path in sorted(clip_dir.glob("*.wav")):
            try:
                with wave.open(str(path), "rb") as clip:
                    if (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) \
                            != (1, 2, RATE):
                        continue
                    data = clip.readframes(clip.getnframes())
            except (OSError, EOFError, wave.Error):
                continue
            frames[path.stem] = data
            fingerprint.update(path.stem.encode() + b"\0" + data)
        result = (fingerprint.hexdigest()[:16], frames) if frames else None
        _loaded[clip_dir] = result
        return result

