"""The board's voice without espeak-ng: the shipped word clips cover every call, join
into one valid WAV, and a server started from a fresh clone with no espeak-ng on its
PATH serves the call spoken in Bahasa Indonesia (and its board says which voice)."""
import io
import json
import shutil
import subprocess
import wave

import pytest
import requests
import websocket

from boards import audio, wordclips
from boards.speech import call_text

from . import boardkit
from .servers import ROOT, Server

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def no_espeak_path(tmp_path):
    """A PATH on which espeak-ng cannot be found (the venv's programs are started by
    their absolute paths)."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    path = str(empty)
    assert shutil.which("espeak-ng", path=path) is None
    return path


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


# --- joining on the server ------------------------------------------------------------

def test_without_espeak_the_call_is_joined_from_the_clips(app, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", no_espeak_path(tmp_path))
    assert audio.engine() == "rekaman" and audio.available()
    text = call_text("A023", 3)
    path = audio.render(text)
    assert path is not None and path == audio.cache_path(text, "rekaman")
    assert path.parent == tmp_path / "speech"
    params, frames = wav_params(path.read_bytes())
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, wordclips.RATE)
    assert 1.5 < params.nframes / params.framerate < 10
    assert loudest(frames) > 5000
    # The clips in order, a short pause between words and a longer one at the comma.
    clip_frames = 0
    for name in wordclips.tokens(text):
        if name != ",":
            with wave.open(str(wordclips.CLIP_DIR / f"{name}.wav")) as clip:
                clip_frames += clip.getnframes()
    pauses = (2 * wordclips.EDGE_MS + 5 * wordclips.WORD_GAP_MS
              + wordclips.COMMA_GAP_MS) * wordclips.RATE // 1000
    assert params.nframes == clip_frames + pauses
    assert audio.render(text) == path  # from the cache


def test_espeak_first_and_the_clips_when_it_fails(app, tmp_path, monkeypatch):
    if shutil.which("espeak-ng"):
        assert audio.engine() == "espeak-ng"
        assert audio.render(call_text("A001", 1)) == audio.cache_path(call_text("A001", 1))
    broken = tmp_path / "broken-bin"
    broken.mkdir()
    (broken / "espeak-ng").write_text("#!/bin/sh\nexit 1\n")
    (broken / "espeak-ng").chmod(0o755)
    monkeypatch.setenv("PATH", str(broken))
    assert audio.engine() == "espeak-ng"
    text = call_text("B002", 2)
    assert audio.render(text) == audio.cache_path(text, "rekaman")


def test_without_espeak_nor_clips_there_is_no_server_voice(app, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", no_espeak_path(tmp_path))
    monkeypatch.setattr(wordclips, "CLIP_DIR", tmp_path / "no-clips")
    assert audio.engine() is None and not audio.available()
    assert audio.render(call_text("A001", 1)) is None


# --- a fresh clone, a real server -----------------------------------------------------

def test_the_clips_are_in_the_repository():
    """What a fresh clone gets: every clip and the note on their licence are tracked."""
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = set(subprocess.run(["git", "ls-files", "boards/clips"], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split())
    wanted = {f"boards/clips/id/{name}.wav" for name in wordclips.CLIPS}
    assert wanted | {"boards/clips/README.md", "boards/clips/COPYING",
                      "boards/clips/make_clips.py"} <= tracked


@pytest.mark.slow
def test_a_fresh_server_without_espeak_speaks_the_call(tmp_path):
    path = no_espeak_path(tmp_path)
    with Server(tmp_path / "srv", workers=1, env={"PATH": path}) as server:
        status = requests.get(f"{server.url}/boards/tabang/status.json", timeout=10).json()
        assert status["server_voice"] is True
        assert status["server_voice_engine"] == "rekaman"
        page = requests.get(f"{server.url}/boards/tabang", timeout=10, cookies={
            boardkit.COOKIE: boardkit.credential_for(server, "tabang")}).text
        assert 'data-server-voice="yes"' in page
        assert 'data-server-voice-engine="rekaman"' in page

        board = websocket.create_connection(
            server.url.replace("http://", "ws://") + "/ws/boards/tabang", timeout=10,
            cookie=boardkit.cookie(boardkit.credential_for(server, "tabang")))
        try:
            assert json.loads(board.recv())["type"] == "snapshot"
            r = requests.post(f"{server.url}/api/v1/sites/tabang/tickets",
                              json={"service": "ADM-KTP"}, timeout=10)
            assert r.status_code == 201, r.text
            headers = {"Authorization": f"Bearer {server.token('operator.tabang')}"}
            r = requests.post(f"{server.url}/api/v1/sites/tabang/counters/L1/call-next",
                              headers=headers, timeout=10)
            assert r.status_code == 200, r.text
            while (call := json.loads(board.recv()))["type"] != "call":
                pass
        finally:
            board.close()
        # The address and the sentence the board is given for this call.
        assert call["speech"] == "Nomor antrian A satu, silakan menuju loket satu"
        wav_url = call["audio"]
        assert wav_url == "/boards/tabang/suara/A001-1.wav"
        r = requests.get(server.url + wav_url, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "audio/wav"
        assert r.content[:4] == b"RIFF" and r.content[8:12] == b"WAVE"
        params, frames = wav_params(r.content)
        assert (params.nchannels, params.sampwidth, params.framerate) == \
            (1, 2, wordclips.RATE)
        assert 1.5 < params.nframes / params.framerate < 10
        assert loudest(frames) > 5000
        assert not list((tmp_path / "srv" / "speech").glob("*.tmp"))
        assert "Traceback" not in server.log()


@pytest.mark.slow
@pytest.mark.browser
def test_the_board_names_the_recorded_voice(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (make browser)")
    from .test_boards_browser import launch, wait_js

    with Server(tmp_path / "srv", workers=1, env={"PATH": no_espeak_path(tmp_path)}) as server, \
            sync_playwright() as p:
        browser = launch(p)
        board = boardkit.board_page(browser, server)
        wavs = []
        board.on("response", lambda r: wavs.append(r.status) if r.url.endswith(".wav") else None)
        board.goto(f"{server.url}/boards/tabang")
        board.wait_for_selector("#board[data-connected='yes']", timeout=10000)
        if board.is_visible("#enable-sound"):
            board.click("#enable-sound")
        assert board.get_attribute("#board", "data-sound-mode") == "server"
        assert board.inner_text("#sound-mode").startswith("Suara: server (rekaman kata)")

        requests.post(f"{server.url}/api/v1/sites/tabang/tickets",
                      json={"service": "ADM-KTP"}, timeout=10).raise_for_status()
        headers = {"Authorization": f"Bearer {server.token('operator.tabang')}"}
        requests.post(f"{server.url}/api/v1/sites/tabang/counters/L1/call-next",
                      headers=headers, timeout=10).raise_for_status()
        wait_js(board, "window.mppBoard.announcer.played.length === 1", timeout=30)
        assert {200, 206} & set(wavs)  # the joined WAV was fetched
        how = board.evaluate("window.mppBoard.announcer.played[0].how")
        if how == "server":  # a headless Chromium may have no audio output to play on
            assert "rekaman kata" in board.inner_text("#sound-mode")
        browser.close()
