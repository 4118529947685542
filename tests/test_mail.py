"""E-mail confirmations through the outbox, delivered to a real local SMTP server
(aiosmtpd), with retries when the server is down. No mocks."""
import datetime as dt
import email
import email.policy
import threading

import pytest
from aiosmtpd.controller import Controller

from app.domain import booking, queueing
from app.mail import Smtp, send_due, start_sender_thread, wait_until_sent
from app.models import MailMessage, Site
from tests.servers import free_port

from .conftest import MONDAY_9

NIK = "6402121708850003"


class Inbox:
    def __init__(self):
        self.messages = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos,
                              email.message_from_bytes(envelope.content,
                                                       policy=email.policy.default)))
        self.received.set()
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def smtp_for(port):
    return Smtp(host="127.0.0.1", port=port, starttls=False, timeout=5,
                sender="Mini MPP <noreply@mpp.test>")


def book(email_addr="siti@example.com", now=MONDAY_9):
    tabang = Site.get(Site.code == "tabang")
    return booking.book(tabang, queueing.get_service("ADM-KTP"), "2026-11-30", "10:00",
                        "Siti Aminah", NIK, "081234567890", email_addr, now, "secret",
                        "https://mpp.test/booking/janji/").appointment


def test_confirmation_is_delivered(db, smtp_server):
    controller, inbox = smtp_server
    appt = book()
    assert MailMessage.select().count() == 1
    counts = send_due(smtp_for(controller.port), MONDAY_9)
    assert counts == {"sent": 1, "retry": 0, "failed": 0}
    assert inbox.received.wait(5)
    rcpt, message = inbox.messages[0]
    assert rcpt == ["siti@example.com"]
    assert appt.code[:4] in message["Subject"] and "KTP Elektronik" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert f"{appt.code[:4]}-{appt.code[4:]}" in text and "Senin, 30 November 2026" in text
    assert "10:00-10:30 WITA" in text and "Kartu Keluarga" in text  # requirements
    assert f"https://mpp.test/booking/janji/{appt.code}" in text
    assert "6402********0003" in text and NIK not in message.as_string()
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "image/png"
    assert attachment.get_content()[:4] == b"\x89PNG"
    row = MailMessage.get()
    assert (row.status, row.attempts) == ("sent", 1)
    assert send_due(smtp_for(controller.port), MONDAY_9) == {"sent": 0, "retry": 0,
                                                             "failed": 0}
    assert len(inbox.messages) == 1  # sent once


def test_no_email_no_message_and_a_refused_booking_leaves_none(db):
    book(email_addr=None)
    assert MailMessage.select().count() == 0
    with pytest.raises(Exception):
        book()  # duplicate booking: the transaction, and its e-mail, roll back
    assert MailMessage.select().count() == 0


def test_retries_until_the_server_answers(db):
    port = free_port()  # nothing listens yet
    book()
    smtp = smtp_for(port)
    assert send_due(smtp, MONDAY_9) == {"sent": 0, "retry": 1, "failed": 0}
    row = MailMessage.get()
    assert row.status == "pending" and row.attempts == 1 and "refused" in row.last_error.lower()
    assert row.next_attempt_at == dt.datetime(2026, 11, 30, 1, 1)  # a minute later
    # Not due yet: nothing is tried.
    assert send_due(smtp, MONDAY_9 + dt.timedelta(seconds=30))["retry"] == 0
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        counts = send_due(smtp, MONDAY_9 + dt.timedelta(minutes=1))
        assert counts["sent"] == 1 and inbox.received.wait(5)
    finally:
        controller.stop()
    assert MailMessage.get().attempts == 2


def test_gives_up_after_max_attempts(db):
    from app import mail
    book()
    smtp = smtp_for(free_port())
    moment = MONDAY_9
    for _ in range(mail.MAX_ATTEMPTS):
        send_due(smtp, moment)
        moment += dt.timedelta(hours=2)
    row = MailMessage.get()
    assert (row.status, row.attempts) == ("failed", mail.MAX_ATTEMPTS)


def test_a_claimed_message_is_not_sent_twice(db, smtp_server):
    from app.mail import _claim
    controller, inbox = smtp_server
    book()
    row = MailMessage.get()
    assert _claim(row.id, dt.datetime(2026, 11, 30, 1, 0))  # another worker holds it
    assert send_due(smtp_for(controller.port), MONDAY_9)["sent"] == 0
    # The lease runs out (the other worker died): it is sent.
    assert send_due(smtp_for(controller.port), MONDAY_9 + dt.timedelta(minutes=6))["sent"] == 1


def test_sender_thread_and_cli(app, smtp_server):
    controller, inbox = smtp_server
    app.config["SETTINGS"].update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(controller.port),
                                  SMTP_STARTTLS="off")
    with app.app_context():
        book()
        first = MailMessage.get().id
    stop = start_sender_thread(app, interval=0.1)
    try:
        assert wait_until_sent(first).status == "sent"
    finally:
        stop.set()
    assert inbox.received.wait(5)
    # The CLI command does one round.
    from app.domain.mail_outbox import enqueue
    enqueue("budi@example.com", "Tes", "Halo", MONDAY_9)
    result = app.test_cli_runner().invoke(args=["mpp", "send-mail"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert [m[0] for m in inbox.messages] == [["siti@example.com"], ["budi@example.com"]]
