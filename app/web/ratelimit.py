"""Rate limiting of public endpoints, per client, shared by every gunicorn worker.

Usage in a view module:

    from app.web.ratelimit import limit

    @bp.post("/api/v1/appointments")
    @limit("RATE_LIMIT_BOOKING")            # a setting name in app/config.py SETTINGS
    def create(): ...

A setting holds "N/unit" (unit: second, minute, hour, day; e.g. "20/minute"), or "off".
`RATE_LIMITS=off` switches every limit off (load tests, trusted networks). Over the limit
the answer is 429 with the usual error body (`too_many_requests`; JSON under /api/, an
HTML message otherwise) and a Retry-After header.

Counting is a fixed window per (limit name, client address): one row per window in the
database (an upsert and a read inside the write transaction), or INCR/EXPIRE in Redis
when REDIS_URL is set. Either way every worker and process sees the same count. Behind a
reverse proxy, configure ProxyFix so that the client address is the real one.
"""
import datetime as dt
import logging
import re
from functools import wraps

from flask import current_app, request

from ..db import write_transaction
from ..models import RateCounter
from .plumbing import error_response

log = logging.getLogger("mpp.ratelimit")
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+\s*)?(second|minute|hour|day)s?\s*$")


def parse(spec: str) -> tuple[int, int] | None:
    """'20/minute' -> (20, 60); '5/10 minutes' -> (5, 600); 'off' or '' -> None."""
    if not spec or spec.strip().lower() in ("off", "none", "0"):
        return None
    match = _SPEC.match(spec.lower())
    if not match:
        raise ValueError(f"rate limit {spec!r}: expected N/second|minute|hour|day")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * UNITS[unit]


class DatabaseStore:
    def hit(self, key: str, window: int, period: int) -> int:
        with write_transaction():
            (RateCounter.insert(key=key, window=window, count=1)
             .on_conflict(conflict_target=[RateCounter.key, RateCounter.window],
                          update={RateCounter.count: RateCounter.count + 1})
             .execute())
            count = (RateCounter.select(RateCounter.count)
                     .where((RateCounter.key == key) & (RateCounter.window == window))
                     .scalar())
            if count == 1:  # first hit of a window: sweep windows older than a day
                RateCounter.delete().where(RateCounter.window < window - 86400).execute()
        return count


class RedisStore:
    def __init__(self, url: str, prefix: str = "mpp:rl:"):
        import redis
        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.prefix = prefix

    def hit(self, key: str, window: int, period: int) -> int:
        name = f"{self.prefix}{key}:{window}"
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, period + 5)
        count, _ = pipe.execute()
        return int(count)


def store_for(app):
    store = app.extensions.get("mpp_ratelimit")
    if store is None:
        url = app.config["SETTINGS"].get("REDIS_URL")
        prefix = app.config["SETTINGS"]["RATE_LIMIT_REDIS_PREFIX"]
        store = RedisStore(url, prefix) if url else DatabaseStore()
        app.extensions["mpp_ratelimit"] = store
    return store


def client_key() -> str:
    return (request.remote_addr or "unknown")[:100]


def check(name: str, now: dt.datetime | None = None) -> int | None:
    """Count a hit against limit `name`; returns the seconds to wait when over the
    limit, None otherwise."""
    app = current_app
    if not app.config.get("RATE_LIMITS", True):
        return None
    rule = parse(app.config["SETTINGS"].get(name, ""))
    if rule is None:
        return None
    allowed, period = rule
    moment = now or app.clock.now()
    epoch = int(moment.timestamp())
    window = epoch - epoch % period
    try:
        count = store_for(app).hit(f"{name}|{client_key()}", window, period)
    except Exception:  # a broken store must not take the public pages down
        log.exception("rate limit store failed; request let through")
        return None
    if count > allowed:
        return max(1, window + period - epoch)
    return None


def too_many(retry_after: int):
    response, status = error_response(
        429, "too_many_requests",
        f"Terlalu banyak permintaan. Coba lagi dalam {retry_after} detik. "
        f"(Too many requests; retry in {retry_after} s.)", retry_after=retry_after)
    response = current_app.make_response((response, status))
    response.headers["Retry-After"] = str(retry_after)
    return response


def limit(name: str):
    """Decorator: apply the limit in setting `name` to a view, per client."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            wait = check(name)
            if wait is not None:
                return too_many(wait)
            return view(*args, **kwargs)
        wrapper.rate_limit = name  # the OpenAPI test checks such views declare 429
        return wrapper
    return decorator
