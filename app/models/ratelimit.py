"""Rate-limit counters, one row per (limit, client, window), shared by every worker."""
import peewee as pw

from ..db import BaseModel


class RateCounter(BaseModel):
    key = pw.CharField(max_length=200)
    window = pw.BigIntegerField()  # window start, epoch seconds
    count = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("key", "window"), True), (("window",), False))
