"""The mail outbox, written side: an e-mail is stored in the transaction of the change it
reports, so it exists if and only if that change commits. `app.mail` sends it later."""
import datetime as dt

from ..clock import as_utc_naive
from ..models import MailMessage


def enqueue(to_addr: str, subject: str, body: str, now: dt.datetime,
            attachments: list[dict] | None = None) -> MailMessage:
    moment = as_utc_naive(now)
    return MailMessage.create(to_addr=to_addr, subject=subject, body=body,
                              attachments=attachments, created_at=moment,
                              next_attempt_at=moment)
