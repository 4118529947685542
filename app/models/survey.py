"""Answers to the SKM/IKM survey: one sheet per ticket at most; the figures are computed
from them (app.domain.ikm) and only the figures are ever published."""
import peewee as pw

from ..db import BaseModel
from .catalogue import Service, Site
from .fields import JSONField


class SurveyResponse(BaseModel):
    site = pw.ForeignKeyField(Site)
    service = pw.ForeignKeyField(Service)
    # The hall's ticket id (text: the centre does not hold the hall's tickets).
    ticket_ref = pw.CharField(max_length=32, null=True, unique=True)
    answers = JSONField()  # {"U1": 1-4, ..., "U9": 1-4}
    comment = pw.TextField(default="")
    profile = JSONField(null=True)  # age_band, sex, education, occupation
    day = pw.DateField()  # the local (WITA) day it was answered
    created_at = pw.DateTimeField()

    class Meta:
        indexes = ((("site", "day"), False),)
