"""Sending the mail outbox over SMTP with retries. Messages are written by
`app.domain.mail_outbox.enqueue` in the transaction of the change they report.

- `send_due(smtp, now)` delivers what is due. Several workers (or the CLI) may run it at
  once: each message is claimed with a conditional UPDATE (a lease), so it is sent once.
  A failure schedules a retry with a growing delay; after MAX_ATTEMPTS it is `failed`.
- `start_sender_thread(app)`: one daemon thread per worker runs `send_due` in a loop
  (started by create_app when SMTP_HOST is set); `flask mpp send-mail` does one round or
  `--loop`s in the foreground.
"""
import datetime as dt
import logging
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .clock import as_utc_naive
from .db import database, write_transaction
from .models import MailMessage

log = logging.getLogger("mpp.mail")
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=5)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, ... minutes, at most an hour."""
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@dataclass
class Smtp:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "Mini MPP Kutai Kartanegara <noreply@localhost>"
    starttls: bool = True
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, env: dict) -> "Smtp | None":
        if not env.get("SMTP_HOST"):
            return None
        return cls(host=env["SMTP_HOST"], port=int(env["SMTP_PORT"]),
                   user=env["SMTP_USER"], password=env["SMTP_PASSWORD"],
                   sender=env["SMTP_FROM"],
                   starttls=env["SMTP_STARTTLS"].lower() not in ("off", "0", "false", "no"))


def _message(smtp: Smtp, row: MailMessage) -> EmailMessage:
    import base64
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = row.to_addr
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="mpp.kukar")
    msg.set_content(row.body)
    for item in row.attachments or []:
        maintype, _, subtype = item["mime"].partition("/")
        msg.add_attachment(base64.b64decode(item["base64"]), maintype=maintype,
                           subtype=subtype, filename=item["filename"])
    return msg


def _deliver(smtp: Smtp, message: EmailMessage) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        client.ehlo()
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if smtp.user:
            client.login(smtp.user, smtp.password)
        client.send_message(message)


def _claim(row_id: int, now_naive: dt.datetime) -> bool:
    with write_transaction():
        taken = (MailMessage.update(claimed_until=now_naive + LEASE,
                                      attempts=MailMessage.attempts + 1)
                 .where((MailMessage.id == row_id) & (MailMessage.status == "pending")
                        & (MailMessage.next_attempt_at <= now_naive)
                        & (MailMessage.claimed_until.is_null()
                           | (MailMessage.claimed_until < now_naive)))
                 .execute())
    return taken == 1


def send_due(smtp: Smtp, now: dt.datetime, limit: int = 20) -> dict:
    """Deliver the messages that are due. Returns counts: sent, retry, failed."""
    now_naive = as_utc_naive(now)
    due = list(MailMessage.select(MailMessage.id)
               .where((MailMessage.status == "pending")
                      & (MailMessage.next_attempt_at <= now_naive))
               .order_by(MailMessage.next_attempt_at, MailMessage.id).limit(limit))
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for item in due:
        if not _claim(item.id, now_naive):
            continue
        row = MailMessage.get_by_id(item.id)
        try:
            _deliver(smtp, _message(smtp, row))
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            final = row.attempts >= MAX_ATTEMPTS
            with write_transaction():
                (MailMessage.update(
                    status="failed" if final else "pending", claimed_until=None,
                    last_error=error,
                    next_attempt_at=now_naive + retry_delay(row.attempts))
                 .where(MailMessage.id == row.id).execute())
            counts["failed" if final else "retry"] += 1
            log.warning("mail %s attempt %s failed: %s", row.id, row.attempts, error)
            continue
        with write_transaction():
            (MailMessage.update(status="sent", sent_at=now_naive, claimed_until=None,
                                  last_error=None)
             .where(MailMessage.id == row.id).execute())
        counts["sent"] += 1
    return counts


def run_loop(app, stop: threading.Event, interval: float = 15.0) -> None:
    smtp = Smtp.from_settings(app.config["SETTINGS"])
    if smtp is None:
        return
    while not stop.is_set():
        try:
            with app.app_context():
                database.connect(reuse_if_open=True)
                try:
                    send_due(smtp, app.clock.now())
                finally:
                    database.close()
        except Exception:  # keep the loop alive; the message stays pending
            log.exception("outbox round failed")
        stop.wait(interval)


def start_sender_thread(app, interval: float = 15.0) -> threading.Event:
    stop = threading.Event()
    thread = threading.Thread(target=run_loop, args=(app, stop, interval),
                              name="mpp-outbox", daemon=True)
    thread.start()
    return stop


def wait_until_sent(message_id: int, timeout: float = 10.0) -> MailMessage:
    """For tests and the CLI: poll a message until it leaves `pending`."""
    deadline = time.monotonic() + timeout
    while True:
        row = MailMessage.get_by_id(message_id)
        if row.status != "pending" or time.monotonic() > deadline:
            return row
        time.sleep(0.05)
