"""Black box: gunicorn with two workers, each running its print-worker thread, and a
real TCP listener as the printer. The ticket is issued while the printer is down and
printed exactly once after it comes up, with a third worker process (the CLI) around."""
import re
import subprocess
import time

import pytest
import requests

from .escpos_parser import parse
from .fake_printer import FakePrinter
from .servers import ROOT, VENV_BIN, Server, free_port

pytestmark = pytest.mark.slow


def token_of(html):
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html)
    return match.group(1)


def test_printer_down_then_up_prints_once_across_processes(tmp_path):
    port = free_port()
    with Server(tmp_path, workers=2, threads=4,
                env={"PRINT_RETRY_MAX_SECONDS": "1", "PRINT_WORKER": "on"}) as server:
        admin = requests.Session()
        page = admin.get(server.url + "/loket/masuk", timeout=10).text
        r = admin.post(server.url + "/loket/masuk", timeout=10, data={
            "username": "admin", "password": "demo", "csrf_token": token_of(page)})
        assert r.ok
        form = admin.get(server.url + "/admin/lokasi/tabang/perangkat/kiosk/k1", timeout=10).text
        r = admin.post(server.url + "/admin/lokasi/tabang/perangkat/kiosk/k1", timeout=10, data={
            "csrf_token": token_of(form), "code": "k1", "name": "Kiosk 1",
            "print_mode": "escpos-network", "host": "127.0.0.1", "port": str(port),
            "paper_width": "80", "qr_mode": "native", "active": "on"})
        assert r.ok, r.text

        kiosk = requests.Session()
        start = kiosk.get(server.url + "/k/tabang?kiosk=k1", timeout=10).text
        r = kiosk.post(server.url + "/k/tabang/tickets?kiosk=k1", timeout=10,
                       data={"service": "ADM-KTP", "priority_group": ""},
                       headers={"HX-Request": "true", "X-CSRFToken": token_of(start)})
        assert r.status_code == 201, r.text       # issued with the printer down
        number = re.search(r"data-number>([A-Z]\d+)<", r.text).group(1)

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:       # the workers have tried and failed
            overview = admin.get(server.url + "/admin/lokasi/tabang/perangkat", timeout=10).text
            if "bermasalah" in overview:
                break
            time.sleep(0.3)
        assert "bermasalah" in overview and number in overview

        with FakePrinter(port=port) as printer:
            cli = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp",
                                    "print-worker", "--poll", "0.2"], cwd=ROOT,
                                   env=server.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                assert printer.wait_for_jobs(1, timeout=20)
                time.sleep(4)                    # time enough for any duplicate
            finally:
                cli.terminate()
                cli.wait(timeout=10)
        assert len(printer.jobs) == 1
        assert number in parse(printer.jobs[0]).text()
        overview = admin.get(server.url + "/admin/lokasi/tabang/perangkat", timeout=10).text
        assert "siap" in overview
