"""The hall's modem path with Gammu's SMS daemon and its dummy phone driver (a real
Gammu component that keeps the phone in a folder): the channel injects into the daemon's
outbox, the daemon sends through the dummy phone, and a BERHENTI reply in the daemon's
inbox stops the number. Skipped with a clear message where Gammu is not installed
(`make browser` installs gammu and gammu-smsd)."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from app import notify as sender
from app.domain import cases, notify, queueing
from app.models import Notification, NotifyOptOut

from .casekit import NIK, serving_ticket
from .conftest import MONDAY_9

pytestmark = pytest.mark.skipif(
    not (shutil.which("gammu-smsd-inject") and shutil.which("gammu-smsd")),
    reason="Gammu is not installed (apt-get install gammu gammu-smsd; `make browser` "
           "does it): the modem channel is not tested here")


def smsd_config(root):
    for name in ("phone", "inbox", "outbox", "sent", "error"):
        (root / name).mkdir(parents=True, exist_ok=True)
    config = root / "smsdrc"
    config.write_text(f"""[gammu]
device = {root}/phone
connection = none
model = dummy

[smsd]
service = files
inboxpath = {root}/inbox/
outboxpath = {root}/outbox/
sentsmspath = {root}/sent/
errorsmspath = {root}/error/
logfile = {root}/smsd.log
CommTimeout = 1
ReceiveFrequency = 1
LoopSleep = 1
""")
    return config


def decoded_texts(folder):
    """The text of each sent message: its parts (Text00 of each [SMSBackupNNN]) from the
    first save in the file (the daemon saves a sent message again with its reference)."""
    texts = []
    for path in folder.iterdir():
        first_save = path.read_text().split("; Saved ")[1]
        parts = [line.split("=", 1)[1].strip() for line in first_save.splitlines()
                 if line.startswith("Text")]
        texts.append(bytes.fromhex("".join(parts)).decode("utf-16-be"))
    return texts


def test_a_message_goes_out_through_gammu_smsd_and_the_dummy_phone(db, tmp_path):
    notify.configure(base_url="https://mpp.example.id")
    ticket = serving_ticket()
    case = cases.open_case(ticket.id, queueing.get_service("ADM-KK"),
                           {"name": "Siti", "nik": NIK, "phone": "081234567890"},
                           [], "", MONDAY_9, "operator.tabang")
    config = smsd_config(tmp_path)
    channel = sender.GammuSmsd(str(config))
    assert sender.send_due([channel], MONDAY_9)["sent"] == 1
    row = Notification.get()
    assert row.status == "sent" and row.channel == "gammu"
    (queued,) = list((tmp_path / "outbox").iterdir())
    assert "+6281234567890" in queued.name
    daemon = subprocess.Popen(["gammu-smsd", "-c", str(config)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not list((tmp_path / "sent").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=10)
    (text,) = decoded_texts(tmp_path / "sent")
    assert text == row.body and case.tracking_code in text
    assert "Transmitted" in (tmp_path / "smsd.log").read_text()
    assert list((tmp_path / "outbox").iterdir()) == []


def test_a_berhenti_reply_in_the_daemons_inbox_stops_the_number(db, tmp_path):
    config = smsd_config(tmp_path)
    (tmp_path / "inbox" / "IN20261130_090000_00_+6281234567890_00.txt").write_text(
        "Berhenti")
    (tmp_path / "inbox" / "IN20261130_090100_00_+447700900123_00.txt").write_text("STOP")
    assert sender.read_gammu_inbox(str(config), MONDAY_9) == 2
    assert [o.phone for o in NotifyOptOut.select()] == ["+6281234567890"]
    assert sender.read_gammu_inbox(str(config), MONDAY_9) == 0  # each reply read once
