"""The centre's dashboard: every hall at a glance, now.

One row per active hall: open or closed now (its opening hours and closures), the queue
now (waiting, the longest wait, served today), the IKM of the year so far, and the link:
last contact, how far its data reaches, messages still waiting to be sent, the catalogue
version it runs.

Where the figures come from depends on where the hall's tickets are:
- local, from the tickets in this database (`visits.live`): every hall in `all-in-one`;
  at the centre the halls it hosts itself (the MPP Induk, or a hall named in
  `MPP_SITES`) as long as no box reports for them; at a hall's box its own halls;
- remote, from the pulse the hall's box sends with every pull of its updates
  (`HallPulse`, about every 2 s while the link works): the queue figures count only
  when the pulse is of today's WITA day.

The link: `ok` when the last contact is at most 2 minutes old, `stale` up to 15 minutes,
`down` beyond or never. A hall is `silent` when its link is down while it is open: what
the dashboard marks (`figures_today` False: the queue figures are zeros because nothing
of today was heard). At a hall's own box the contact is its last successful exchange
with the centre. `direct`: the hall's tickets are in this database and no link stands
between (contact and data are "now").

Queries stay bounded for 21 halls: one each for the halls, pulses, outbox counts,
catalogue versions and the survey counts; then per hall its opening windows and
closures (two small indexed queries) and, for a local hall, its live queue (two). The
IKM of a hall is recomputed only when its answer sheets for the period changed.
"""
import datetime as dt
import threading
import weakref

import peewee as pw

from ..clock import as_utc_naive, local_day, to_local
from ..db import database
from ..models import ForwardingMessage, HallPulse, HallState, Site, SurveyResponse
from . import calendar, catalogue_feed, forwarding, link_rows, survey, visits

LINK_OK_SECONDS = 2 * 60
SILENT_SECONDS = 15 * 60
LINK_STATES = ("ok", "stale", "down")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]


# --- the link -------------------------------------------------------------------------

def link_state(last_contact: dt.datetime | None, now: dt.datetime) -> str:
    """ok (<= 2 minutes), stale (<= 15 minutes), down (older, or never)."""
    if last_contact is None:
        return "down"
    age = (as_utc_naive(now) - as_utc_naive(last_contact)).total_seconds()
    if age <= LINK_OK_SECONDS:
        return "ok"
    if age <= SILENT_SECONDS:
        return "stale"
    return "down"


def hall_open(site: Site, now: dt.datetime, closed_by_hall: bool = False) -> bool:
    """Whether the hall is open at `now`: inside one of its own windows of the day, on
    a day that no holiday or whole-hall closure takes (`closed_by_hall`: a closure the
    hall decided itself that this database only knows from the hall's report)."""
    if closed_by_hall:
        return False
    local = to_local(now)
    return any(window.contains(local.time())
               for window in calendar.windows_on(site, None, local.date()))


def ikm_period(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The dashboard's IKM period: the current year so far (as `survey.period`)."""
    today = local_day(now)
    return today.replace(month=1, day=1), today


# --- the rows -------------------------------------------------------------------------

def _hosted_here(site: Site) -> bool:
    """At the centre: a hall whose tickets the centre issues itself."""
    return site.kind == "induk" or site.code in link_rows.ROLE["sites"]


def _outbox_counts(site_ids: list[int]) -> dict[int, int]:
    rows = (ForwardingMessage
            .select(ForwardingMessage.site, pw.fn.COUNT(ForwardingMessage.id))
            .where(ForwardingMessage.site.in_(site_ids)
                   & ForwardingMessage.delivered_at.is_null()
                   & (ForwardingMessage.refused == False))  # noqa: E712
            .group_by(ForwardingMessage.site).tuples())
    return dict(rows)


def _closed_by_hall(state: HallState | None, day: dt.date) -> bool:
    """A whole-hall closure today among the closures the hall decided itself."""
    closures = state.state.get("closures") if state and isinstance(state.state, dict) else None
    return any(isinstance(c, dict) and c.get("day") == day.isoformat() and not c.get("services")
               for c in closures or [])


def _local_link(site: Site, now: dt.datetime, pending: int) -> dict:
    naive = as_utc_naive(now)
    if link_rows.role() != "site":
        # The hall's tickets are in this database: its data is here as it happens.
        return {"last_contact_at": naive, "data_until": naive, "pending_messages": pending,
                "direct": True}
    # A hall's own box: what matters is how far the centre has heard from it.
    link = forwarding.link_status(site, now)
    last = link["last_success_at"]
    until = last
    if last is not None and link["waiting"] and link["oldest_waiting_at"] is not None:
        until = min(last, link["oldest_waiting_at"])
    return {"last_contact_at": last, "data_until": until,
            "pending_messages": link["waiting"], "direct": False}


def _remote(pulse: HallPulse | None, today: dt.date) -> tuple[dict, dict]:
    if pulse is None:
        return ({"waiting": 0, "longest_wait_seconds": 0, "served_today": 0,
                 "figures_today": False},
                {"last_contact_at": None, "data_until": None, "pending_messages": None,
                 "direct": False})
    fresh = pulse.day == today
    figures = {"waiting": pulse.waiting if fresh else 0,
               "longest_wait_seconds": pulse.longest_wait_seconds if fresh else 0,
               "served_today": pulse.served_today if fresh else 0, "figures_today": fresh}
    return figures, {"last_contact_at": pulse.contact_at, "data_until": pulse.data_until,
                     "pending_messages": pulse.pending_messages, "direct": False}


def _rows(sites: list[Site], now: dt.datetime) -> list[dict]:
    ids = [site.id for site in sites] or [0]
    role = link_rows.role()
    today = local_day(now)
    pulses = {row.site_id: row for row in HallPulse.select().where(HallPulse.site.in_(ids))}
    outbox = _outbox_counts(ids) if role != "site" else {}
    states = ({row.site_id: row for row in HallState.select().where(HallState.site.in_(ids))}
              if role == "central" else {})
    versions = catalogue_feed.site_versions()
    own_version = catalogue_feed.current_version()["version"]
    first, last = ikm_period(now)
    figures_of = ikm_by_hall(sites, first, last)
    rows = []
    for site in sites:
        pulse = pulses.get(site.id)
        local = role != "central" or (pulse is None and _hosted_here(site))
        if local:
            live = visits.live(site, now)
            figures = {key: live[key] for key in ("waiting", "longest_wait_seconds",
                                                  "served_today")}
            figures["figures_today"] = True
            link = _local_link(site, now, outbox.get(site.id, 0))
            version = versions.get(site.code, 0) if role == "site" else own_version
        else:
            figures, link = _remote(pulse, today)
            version = versions.get(site.code)
        opened = hall_open(site, now, _closed_by_hall(states.get(site.id), today))
        state = link_state(link["last_contact_at"], now)
        result = figures_of[site.id]
        rows.append({
            "site": site.code, "name": site.name, "kind": site.kind, "local": local,
            "open": opened, **figures,
            "longest_wait_minutes": figures["longest_wait_seconds"] // 60,
            "ikm": result.ikm, "grade": result.grade, "ikm_responses": result.responses,
            **link, "catalogue_version": version, "link": state,
            "silent": state == "down" and opened,
        })
    return rows


def halls(now: dt.datetime) -> list[dict]:
    """Every active hall (at a hall's box: its own), the MPP Induk first."""
    sites = list(Site.select().where(Site.active == True)  # noqa: E712
                 .order_by(Site.kind, Site.name))
    if link_rows.role() == "site":
        sites = [site for site in sites if link_rows.serves(site.code)]
    return _rows(sites, now)


def hall(site: Site, now: dt.datetime) -> dict:
    """One hall's row, as on the dashboard (a supervisor's own hall)."""
    return _rows([site], now)[0]


def totals(rows: list[dict]) -> dict:
    """The line above the tiles: halls open, waiting, served today, halls to look at."""
    return {"halls": len(rows), "open": sum(1 for r in rows if r["open"]),
            "waiting": sum(r["waiting"] for r in rows),
            "served_today": sum(r["served_today"] for r in rows),
            "attention": sum(1 for r in rows if r["silent"])}


# --- IKM per hall, recomputed only when its answers changed ---------------------------

# database -> {site id: (first, last, (count, highest id), IkmResult)}. Answer sheets are
# only ever added, so the count and the highest id of a hall's sheets in the period say
# whether its figure can still be the one computed before.
_IKM_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_IKM_LOCK = threading.Lock()


def ikm_by_hall(sites: list[Site], first: dt.date, last: dt.date) -> dict:
    """`survey.figures` of each hall over [first, last], from one counting query plus
    the halls whose sheets changed since the last call."""
    stamps = {site_id: (count, top) for site_id, count, top in (
        SurveyResponse.select(SurveyResponse.site, pw.fn.COUNT(SurveyResponse.id),
                              pw.fn.MAX(SurveyResponse.id))
        .where((SurveyResponse.day >= first) & (SurveyResponse.day <= last)
               & SurveyResponse.site.in_([s.id for s in sites] or [0]))
        .group_by(SurveyResponse.site).tuples())}
    with _IKM_LOCK:
        memo = _IKM_MEMO.setdefault(database.obj, {})
    out = {}
    for site in sites:
        stamp = stamps.get(site.id, (0, None))
        known = memo.get(site.id)
        if known is not None and known[:3] == (first, last, stamp):
            out[site.id] = known[3]
            continue
        result = survey.figures(site, first, last)
        memo[site.id] = (first, last, stamp, result)
        out[site.id] = result
    return out


# --- words for a moment ---------------------------------------------------------------

def clock_text(moment: dt.datetime) -> str:
    """10.42: the Indonesian way of writing a time (WITA)."""
    return to_local(moment).strftime("%H.%M")


def ago(moment: dt.datetime, now: dt.datetime) -> str:
    """baru saja, 3 menit lalu, 2 jam lalu; kemarin 15.02; 28 Nov 15.02 (earlier)."""
    local, current = to_local(moment), to_local(now)
    seconds = (current - local).total_seconds()
    if local.date() == current.date() or seconds < 0:
        if seconds < 60:
            return "baru saja"
        if seconds < 3600:
            return f"{int(seconds // 60)} menit lalu"
        return f"{int(seconds // 3600)} jam lalu"
    if local.date() == current.date() - dt.timedelta(days=1):
        return f"kemarin {clock_text(local)}"
    year = f" {local.year}" if local.year != current.year else ""
    return f"{local.day} {MONTHS[local.month - 1]}{year} {clock_text(local)}"


def moment_text(moment: dt.datetime, now: dt.datetime) -> str:
    """10.42 WITA, 3 menit lalu (today); kemarin 15.02 WITA; 28 Nov 15.02 WITA."""
    words = ago(moment, now)
    if to_local(moment).date() >= to_local(now).date():
        return f"{clock_text(moment)} WITA, {words}"
    return f"{words} WITA"
