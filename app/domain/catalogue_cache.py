"""The catalogue as this process last read it: halls, services, each hall's offer and
hours, closures, counters (without their status) and the services each counter serves.

The ticket path used to read five catalogue rows per ticket. Here they come from
memory, checked by one cheap SELECT of `catalogue_generation`, a number that database
triggers (migration 0600) raise on every write to a catalogue table, whichever process
makes it: an admin change reaches every process's next read.

The check runs once per request (`app.db.read_scope`, opened by the web layer; it is
forgotten when a write transaction ends, so what a request changed it reads back), and
on every read outside one (the CLI, a thread, a test) or inside a transaction. The
cached parts are loaded lazily, each in one query, and kept only when read outside a
transaction: a transaction that changed the catalogue sees a generation the cache does
not have and reads a private copy, so nothing uncommitted (or rolled back) ever reaches
the shared cache.

Rows handed out are copies: a caller may change them (or `save()` them) freely.
`Counter.status` is not catalogue and is never trusted from here: callers that need it
read the row (call-next locks it anyway).
"""
import threading
import weakref

from ..db import database, prepared, read_scope
from ..models import (
    CatalogueGeneration,
    Closure,
    Counter,
    CounterService,
    OpeningWindow,
    Service,
    Site,
    SiteService,
)

_GENERATION = prepared(lambda: CatalogueGeneration.select(CatalogueGeneration.generation)
                       .where(CatalogueGeneration.id == 1))


def copy(instance):
    """A fresh, clean instance with the same column values (and cached relations)."""
    model = type(instance)
    clone = model.__new__(model)
    clone.__data__ = dict(instance.__data__)
    clone.__rel__ = {}
    clone._dirty = set()
    return clone


class Catalogue:
    """One generation of the catalogue. Each part is read on first use; a part read
    inside a transaction is not kept (that transaction may write the catalogue later
    and roll back), so the hot paths read what they need before their transaction."""

    def __init__(self, generation):
        self.generation = generation
        self._parts: dict = {}
        self._closures: dict = {}
        self._closures_lock = threading.Lock()

    def _part(self, name, load):
        value = self._parts.get(name)
        if value is None:
            value = load()
            if not database.in_transaction():
                self._parts[name] = value
        return value

    def derived(self, key, build):
        """A value computed from this generation's rows (a hall's week of opening
        windows), kept like a part: only when computed outside a transaction. The
        caller must not change what it gets."""
        return self._part(("derived", key), build)

    # --- parts -----------------------------------------------------------------------
    @property
    def _sites(self) -> dict:
        return self._part("sites", lambda: {s.code: s for s in Site.select()})

    @property
    def _sites_by_id(self) -> dict:
        return self._part("sites_by_id", lambda: {s.id: s for s in self._sites.values()})

    @property
    def _services(self) -> dict:
        return self._part("services", lambda: {s.code: s for s in Service.select()})

    @property
    def _services_by_id(self) -> dict:
        return self._part("services_by_id",
                          lambda: {s.id: s for s in self._services.values()})

    @property
    def _offers(self) -> dict:
        return self._part("offers", lambda: {(o.site_id, o.service_id): o
                                             for o in SiteService.select()})

    @property
    def _windows(self) -> dict:
        def load():
            out: dict[int, list] = {}
            for row in OpeningWindow.select().order_by(OpeningWindow.id):
                out.setdefault(row.site_id, []).append(row)
            return out
        return self._part("windows", load)

    @property
    def _counters(self) -> dict:
        return self._part("counters", lambda: {(c.site_id, c.code): c
                                               for c in Counter.select()})

    @property
    def _counter_services(self) -> dict:
        def load():
            out: dict[int, list[int]] = {}
            for link in CounterService.select().order_by(CounterService.id):
                out.setdefault(link.counter_id, []).append(link.service_id)
            return out
        return self._part("counter_services", load)

    # --- reads -----------------------------------------------------------------------
    def site(self, code: str) -> Site | None:
        row = self._sites.get(code)
        return copy(row) if row is not None else None

    def site_by_id(self, site_id: int) -> Site | None:
        row = self._sites_by_id.get(site_id)
        return copy(row) if row is not None else None

    def service(self, code: str) -> Service | None:
        row = self._services.get(code)
        return copy(row) if row is not None else None

    def service_by_id(self, service_id: int) -> Service | None:
        row = self._services_by_id.get(service_id)
        return copy(row) if row is not None else None

    def offer(self, site_id: int, service_id: int) -> SiteService | None:
        """The hall's offer of the service, if active."""
        row = self._offers.get((site_id, service_id))
        return copy(row) if row is not None and row.active else None

    def windows(self, site_id: int, service_id: int | None) -> list[OpeningWindow]:
        """The hall's own windows and, given a service, that service's there."""
        return [copy(w) for w in self._windows.get(site_id, [])
                if w.service_id is None or w.service_id == service_id]

    def counter(self, site: Site, code: str) -> Counter | None:
        """The counter with its `site` attached; its `status` is as loaded, not now."""
        row = self._counters.get((site.id, code))
        if row is None:
            return None
        counter = copy(row)
        counter.__rel__["site"] = site
        return counter

    def counter_by_id(self, counter_id: int) -> Counter | None:
        """The counter (`status` as loaded, not now) with its `site` attached."""
        row = self._part("counters_by_id", lambda: {c.id: c for c in self._counters.values()}
                         ).get(counter_id)
        if row is None:
            return None
        counter = copy(row)
        counter.__rel__["site"] = self.site_by_id(row.site_id)
        return counter

    def counter_service_ids(self, counter_id: int) -> list[int]:
        return list(self._counter_services.get(counter_id, []))

    def closures(self, day) -> list[Closure]:
        """Every closure on `day` (of any hall or all), in creation order."""
        rows = self._closures.get(day)
        if rows is None:
            rows = list(Closure.select().where(Closure.day == day).order_by(Closure.id))
            if database.in_transaction():
                return rows
            with self._closures_lock:
                if len(self._closures) > 400:  # a long-running process, many days asked
                    self._closures.clear()
                self._closures[day] = rows
        return [copy(r) for r in rows]


_shared: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # database -> Catalogue
_lock = threading.Lock()


def current() -> Catalogue:
    """The catalogue as of now (see the module's docstring for "now")."""
    in_transaction = database.in_transaction()
    scope = None if in_transaction else read_scope()
    if scope is not None:
        known = scope.get("catalogue")
        if known is not None:
            return known
    generation = _GENERATION.scalar()
    db = database.obj
    catalogue = _shared.get(db)
    if catalogue is None or catalogue.generation != generation or generation is None:
        catalogue = Catalogue(generation)
        if not in_transaction and generation is not None:
            with _lock:
                _shared[db] = catalogue
    if scope is not None:
        scope["catalogue"] = catalogue
    return catalogue
