"""The mail outbox: e-mails written in the transaction of the change they report, sent
later by `app.mail`."""
import peewee as pw

from ..db import BaseModel
from .fields import JSONField


class MailMessage(BaseModel):
    to_addr = pw.CharField(max_length=254)
    subject = pw.CharField(max_length=200)
    body = pw.TextField()
    attachments = JSONField(null=True)  # [{"filename", "mime", "base64"}]
    status = pw.CharField(max_length=10, default="pending")  # pending | sent | failed
    attempts = pw.IntegerField(default=0)
    created_at = pw.DateTimeField()
    next_attempt_at = pw.DateTimeField(index=True)
    claimed_until = pw.DateTimeField(null=True)
    sent_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
