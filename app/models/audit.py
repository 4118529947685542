"""The audit trail: who changed what, when and from where. Written by the domain in the
transaction of the change itself; the application only ever inserts rows."""
import peewee as pw

from ..db import BaseModel
from .fields import JSONField


class AuditEntry(BaseModel):
    at = pw.DateTimeField()  # naive UTC
    actor = pw.CharField(max_length=80)  # username, or "system"
    role = pw.CharField(max_length=12, default="")
    site_code = pw.CharField(max_length=40, default="")  # the hall concerned, "" = none
    action = pw.CharField(max_length=60)  # e.g. service.update, ticket.call
    object = pw.CharField(max_length=120, default="")  # e.g. service ADM-KTP
    before = JSONField(null=True)  # personal data masked
    after = JSONField(null=True)
    client = pw.CharField(max_length=100, default="")

    class Meta:
        indexes = ((("site_code", "at"), False), (("actor", "at"), False),
                   (("action", "at"), False))
