"""The board's voice without espeak-ng: the shipped word clips cover every call and
are in the repository."""
import io
import shutil
import subprocess
import wave

import pytest

from boards import wordclips
from boards.speech import call_text

from .servers import ROOT

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def wav_params(data: bytes):
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getparams(), w.readframes(w.getnframes())


def loudest(frames: bytes) -> int:
    return max(abs(int.from_bytes(frames[i:i + 2], "little", signed=True))
               for i in range(0, len(frames), 2))


# --- the clips ------------------------------------------------------------------------

def test_the_folder_holds_exactly_the_listed_clips_in_one_format():
    names = {p.stem for p in wordclips.CLIP_DIR.glob("*.wav")}
    assert names == set(wordclips.CLIPS)
    total = 0
    for path in wordclips.CLIP_DIR.glob("*.wav"):
        params, frames = wav_params(path.read_bytes())
        assert (params.nchannels, params.sampwidth, params.framerate) == \
            (1, 2, wordclips.RATE), path.name
        assert 0.2 < params.nframes / params.framerate < 2.5, path.name
        assert loudest(frames) > 5000, path.name  # a word, not silence
        total += path.stat().st_size
    assert total < 800 * 1024  # small enough to ship in the repository
    assert (wordclips.CLIP_DIR.parent / "README.md").exists()  # says how and the licence


def test_every_call_has_a_clip_for_each_word():
    """Every ticket number 0-9999 (3 or 4 digits) in both reading styles, every prefix
    of one or two letters, every counter number the WAV route accepts (1-999)."""
    have = set(wordclips.CLIPS) | {wordclips.COMMA}

    def check(text):
        names = wordclips.tokens(text)
        assert names is not None and set(names) <= have, text

    for style in ("whole", "digits"):
        for n in range(10000):
            check(call_text(f"{LETTERS[n % 26]}{n:03d}", n % 99 + 1, style))
        for first in LETTERS:
            check(call_text(f"{first}023", 3, style))
            for second in LETTERS:
                check(call_text(f"{first}{second}1234", 3, style))
    for counter in range(1, 1000):
        check(call_text("A001", counter))


def test_tokens():
    assert wordclips.tokens("Nomor antrian A dua puluh tiga, silakan menuju loket tiga") == [
        "nomor-antrian", "huruf-a", "dua", "puluh", "tiga", ",", "silakan-menuju-loket",
        "tiga"]
    assert wordclips.tokens("Nomor antrian AB nol nol satu, silakan menuju loket sepuluh") \
        == ["nomor-antrian", "huruf-a", "huruf-b", "nol", "nol", "satu", ",",
            "silakan-menuju-loket", "sepuluh"]
    for unknown in ("Nomor antrian A dua puluh tiga, silakan ke loket tiga", "halo",
                    "Nomor antrian ABC satu", "Nomor antrian a satu"):
        assert wordclips.tokens(unknown) is None, unknown
    assert not wordclips.join("halo", ROOT / "never-written.wav")
    assert not (ROOT / "never-written.wav").exists()


def test_the_clips_are_in_the_repository():
    """What a fresh clone gets: every clip and the note on their licence are tracked."""
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = set(subprocess.run(["git", "ls-files", "boards/clips"], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split())
    wanted = {f"boards/clips/id/{name}.wav" for name in wordclips.CLIPS}
    assert wanted | {"boards/clips/README.md", "boards/clips/COPYING",
                      "boards/clips/make_clips.py"} <= tracked
