"""Cases (berkas): the case, its history and its attachments.

Datetimes are naive UTC. NIK and phone live only in Case; nothing else copies them
except forwarding message bodies, which never leave the two servers.
"""
import peewee as pw

from ..db import BaseModel
from .catalogue import Service, Site
from .fields import JSONField


class Case(BaseModel):
    tracking_code = pw.CharField(unique=True, max_length=20)
    site = pw.ForeignKeyField(Site, backref="cases")
    service = pw.ForeignKeyField(Service)
    # The hall's ticket id (text, not a FK: the centre does not hold the hall's tickets).
    ticket_ref = pw.CharField(max_length=32, null=True, unique=True)  # one case per ticket
    applicant_name = pw.CharField(max_length=120)
    applicant_nik = pw.CharField(max_length=16)
    applicant_phone = pw.CharField(max_length=20, default="")
    requirements = JSONField(default=list)  # [{"item": str, "received": bool}]
    notes = pw.TextField(default="")
    status = pw.CharField(max_length=20, default="received")
    missing = pw.TextField(default="")  # what is missing, while needs_fix
    received_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    opened_by = pw.CharField(max_length=80, default="")

    class Meta:
        table_name = "case_record"  # CASE is an SQL keyword
        indexes = ((("site", "status"), False), (("status", "updated_at"), False))


class CaseEvent(BaseModel):
    """Status history. `uid` is the same at the hall and at the centre, so an event
    coming back down (or going up twice) is recognised."""
    uid = pw.CharField(unique=True, max_length=32)
    case = pw.ForeignKeyField(Case, backref="events", on_delete="CASCADE")
    status = pw.CharField(max_length=20)
    at = pw.DateTimeField()
    note = pw.TextField(default="")
    missing = pw.TextField(default="")
    by = pw.CharField(max_length=80, default="")
    place = pw.CharField(max_length=10, default="hall")  # hall | central


class CaseAttachment(BaseModel):
    uid = pw.CharField(unique=True, max_length=32)
    case = pw.ForeignKeyField(Case, backref="attachments", on_delete="CASCADE")
    stored_name = pw.CharField(max_length=80)  # generated; never the uploaded name
    original_name = pw.CharField(max_length=120, default="")  # sanitised, for display
    content_type = pw.CharField(max_length=40)
    size = pw.IntegerField()
    sha256 = pw.CharField(max_length=64)
    uploaded_at = pw.DateTimeField()
    uploaded_by = pw.CharField(max_length=80, default="")
