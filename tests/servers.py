"""Real server processes for black-box tests: gunicorn with N workers on a free port."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# A Monday inside every hall's opening hours.
OPEN_MONDAY = "2026-11-30T09:00:00+08:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving wsgi:app with its own DATA_DIR (and optional DATABASE_URL)."""

    def __init__(self, data_dir: Path, workers: int = 2, threads: int = 16,
                 env: dict | None = None, setup: bool = True):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATA_DIR": str(self.data_dir), "PORT": str(self.port),
                    "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers),
                    "GUNICORN_THREADS": str(threads), "MPP_CLOCK_START": OPEN_MONDAY,
                    "RATE_LIMITS": "off", "PYTHONDONTWRITEBYTECODE": "1",
                    "BACKUP_AUTO": "off",  # the daily copy is tested on its own
                    **(env or {})}
        self.setup = setup
        self.process = None
        self.log_path = self.data_dir / "server.log"

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.setup:
            subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "setup"],
                           cwd=ROOT, env=self.env, check=True, capture_output=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:  # refused, or too busy to answer yet
                time.sleep(0.1)
        self.stop()  # never leave a half-started server behind
        raise RuntimeError("gunicorn did not answer /healthz within 30 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def token(self, username: str, password: str = "demo") -> str:
        r = requests.post(self.url + "/api/v1/auth/token",
                          json={"username": username, "password": password}, timeout=10)
        r.raise_for_status()
        return r.json()["token"]
