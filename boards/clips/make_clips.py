"""Render the word clips of boards/clips/id/ again with espeak-ng (a tool for whoever
changes the clips; the server never runs it).

    .venv/bin/python -m boards.clips.make_clips

For each clip of `boards.wordclips.CLIPS`: `espeak-ng -v id -s 140 -g 4 -w <tmp> <text>`
(22050 Hz), then leading and trailing silence trimmed, resampled to RATE Hz with a
windowed-sinc low-pass, a few milliseconds of fade at both ends, written as mono 16-bit
WAV. Pure Python: slow (about a minute), and needs nothing but espeak-ng.
"""
import array
import math
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from boards import audio, wordclips

THRESHOLD = 200  # of 32767 (about -44 dBFS): quieter than this at the ends is silence
LEAD_MS, TAIL_MS = 10, 40  # kept before the first and after the last loud sample
FADE_MS = 6
HALF_TAPS = 24  # of the resampling filter, each side


def render(binary: str, text: str) -> tuple[list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "clip.wav")
        subprocess.run([binary, "-v", audio.VOICE, "-s", audio.SPEED, "-g", "4", "-w", out,
                        "--", text], check=True, capture_output=True, timeout=30)
        with wave.open(out, "rb") as clip:
            if (clip.getnchannels(), clip.getsampwidth()) != (1, 2):
                raise SystemExit(f"espeak-ng wrote an unexpected format for {text!r}")
            rate = clip.getframerate()
            samples = _samples(clip.readframes(clip.getnframes()))
    return [float(s) for s in samples], rate


def trim(samples: list[float], rate: int) -> list[float]:
    loud = [i for i, s in enumerate(samples) if abs(s) > THRESHOLD]
    if not loud:
        raise SystemExit("espeak-ng rendered silence")
    start = max(0, loud[0] - rate * LEAD_MS // 1000)
    end = min(len(samples), loud[-1] + rate * TAIL_MS // 1000)
    return samples[start:end]


def resample(samples: list[float], rate_in: int, rate_out: int) -> list[float]:
    """Windowed sinc (Blackman), cut-off just below the lower Nyquist frequency."""
    if rate_in == rate_out:
        return samples
    cutoff = 0.95 * min(rate_in, rate_out) / 2 / rate_in  # cycles per input sample
    step = rate_in / rate_out
    out = []
    for n in range(int(len(samples) / step)):
        x = n * step
        centre = int(x)
        acc = 0.0
        for k in range(centre - HALF_TAPS + 1, centre + HALF_TAPS + 1):
            if 0 <= k < len(samples):
                d = x - k
                arg = 2 * cutoff * d
                sinc = 1.0 if arg == 0 else math.sin(math.pi * arg) / (math.pi * arg)
                w = d / HALF_TAPS
                window = (0.42 + 0.5 * math.cos(math.pi * w) + 0.08 * math.cos(2 * math.pi * w)
                          if abs(w) < 1 else 0.0)
                acc += samples[k] * 2 * cutoff * sinc * window
        out.append(acc)
    return out


def fade(samples: list[float], rate: int) -> list[float]:
    n = min(len(samples) // 2, rate * FADE_MS // 1000)
    out = list(samples)
    for i in range(n):
        gain = i / n
        out[i] *= gain
        out[-1 - i] *= gain
    return out


def write(path: Path, samples: list[float], rate: int) -> None:
    data = array.array("h", (max(-32768, min(32767, round(s))) for s in samples))
    if sys.byteorder == "big":  # pragma: no cover
        data.byteswap()
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(data.tobytes())


def _samples(frames: bytes) -> array.array:
    data = array.array("h", frames)
    if sys.byteorder == "big":  # pragma: no cover
        data.byteswap()
    return data


def main() -> None:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SystemExit("espeak-ng is not on the PATH (apt-get install espeak-ng)")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    target = wordclips.CLIP_DIR
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.wav"):
        old.unlink()
    total = 0
    for name, text in wordclips.CLIPS.items():
        samples, rate = render(binary, text)
        clip = fade(resample(trim(samples, rate), rate, wordclips.RATE), wordclips.RATE)
        path = target / f"{name}.wav"
        write(path, clip, wordclips.RATE)
        total += path.stat().st_size
        print(f"{name:22} {len(clip) / wordclips.RATE:5.2f} s  {text!r}")
    print(f"{len(wordclips.CLIPS)} clips, {total / 1024:.0f} KiB, by {version.strip()}")


if __name__ == "__main__":
    main()
