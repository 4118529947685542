"""How long the reports take on a year of data: `reports.summary` for the whole
kabupaten over one month, for one hall over one month and for the kabupaten over the
whole year, on SQLite (a file in a temporary directory) and on PostgreSQL (a fresh
database `mpp_bench_<random>` on 127.0.0.1, dropped at the end). Aim (the issue): the
kabupaten's month report within 300 ms.

    .venv/bin/python bench/reports.py [--visits N] [--sqlite-only | --pg-only]
                                      [--repeat 7] [--year-repeat 3] [--cold-repeat 3]
                                      [--seed 1] [--pdf FILE]

Each database is built the app's way (`create_app` + `app.cli.setup`, migrations and the
demo: 21 halls, their services and counters), then a year (2025) of synthetic visit
facts is bulk-inserted straight into `visit_fact` (executemany on SQLite, COPY on
PostgreSQL), with bookings (~5 % of visits) and cases (~3 %, with their events): the
report reads only these tables, so no ticket is made and `summary(refresh=False)`.
Default 1.5 million facts (`--visits` for a smaller run). Arrivals Monday to Friday
(Indonesian holidays off) 08:00-15:59 WITA, most at 09-10; the MPP Induk busier than a
Mini MPP; waits lognormal (median 12, mean ~15 minutes); 5 % not there when called (a
fifth of them requeued and served: 4 % no-show), 2 % cancelled, 3 % transferred.
PostgreSQL gets a VACUUM ANALYZE after the load, as autovacuum would give it; SQLite
nothing (the app never runs ANALYZE there).

The kabupaten's reports keep each closed day's tallies (`VisitDay`) and read them back:
"month, kabupaten" is the usual case (its days kept by the first run), "nothing kept"
the first report after the kept days are cleared (each run clears them), and the
"1st ms" column the first run of each case.

Baselines in the same run and connection: `SELECT 1`, and `SELECT COUNT(*)` of the
month's facts (the least any report of that month must do); the table gives median and
p90 in ms, the ratio to that count and the CPU ms of a run (this process, plus on a
local PostgreSQL its backend; parallel workers not counted), which a busy machine
inflates less than the wall time. Then the parts of the kabupaten's month read from
the facts (each once, nothing kept) and the PDF of that month (render only).
"""
import argparse
import datetime as dt
import io
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.clock import WITA  # noqa: E402
from app.db import database, read_snapshot  # noqa: E402

YEAR = 2025
MONTH = "2025-10"
HALL = "tabang"
NOW = dt.datetime(YEAR + 1, 1, 5, 9, 0, tzinfo=WITA)
AIM_MS = 300
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

# Arrival hour (WITA) weights: doors at 08:00, the rush at 09-10, a lunch dip.
HOURS = [(8, 12), (9, 20), (10, 18), (11, 13), (12, 7), (13, 11), (14, 11), (15, 8)]
# Busier services (the rest weigh 1).
SERVICE_WEIGHT = {"ADM-KTP": 6, "ADM-KK": 5, "ADM-LAHIR": 3, "ADM-PINDAH": 2, "INFO": 3,
                  "BPJ-DAFTAR": 2, "IZN-NIB": 2, "POL-SKCK": 3}
CLOCK = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
CASE_STATUSES = [("picked_up", 55), ("ready_for_pickup", 10), ("processing", 10),
                 ("forwarded", 10), ("done", 5), ("needs_fix", 5), ("received", 5)]


# --- the catalogue the data hangs on -----------------------------------------------------

def catalogue():
    """Per hall: its id, weight, offered services (id, code, weight) and counters."""
    from app.models import Counter, Service, Site, SiteService
    services = {s.id: s.code for s in Service.select(Service.id, Service.code)}
    rng = random.Random(7)
    halls = []
    for site in Site.select().order_by(Site.id):
        offered = [(sid, services[sid], SERVICE_WEIGHT.get(services[sid], 1))
                   for (sid,) in SiteService.select(SiteService.service)
                   .where(SiteService.site == site).order_by(SiteService.service).tuples()]
        counters = [code for (code,) in Counter.select(Counter.code)
                    .where(Counter.site == site).order_by(Counter.code).tuples()]
        weight = 3.0 if site.code == "induk" else rng.uniform(0.5, 1.5)
        halls.append({"id": site.id, "code": site.code, "weight": weight,
                      "services": offered, "counters": counters or ["L1"]})
    return halls


def working_days():
    from app.domain.calendar import holiday_name
    day, out = dt.date(YEAR, 1, 1), []
    while day.year == YEAR:
        if day.weekday() < 5 and not holiday_name(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


# --- the synthetic year -------------------------------------------------------------------

def generate(halls, visits: int, seed: int):
    """Yields ("fact" | "appointment" | "case" | "case_event", row tuple), in the column
    order of `COLUMNS`, day by day. Times are naive UTC text; WITA is UTC+8, so a local
    08:00-19:59 stays on the same UTC date."""
    rng = random.Random(seed)
    days = working_days()
    per_weight = visits / (len(days) * sum(h["weight"] for h in halls))
    hour_cum = _cumulative([w for _h, w in HOURS])
    hours = [h for h, _w in HOURS]
    picks = {h["id"]: _cumulative([w for *_x, w in h["services"]]) for h in halls}
    serial = case_serial = appt_serial = event_serial = 0
    t0 = 8 * 3600  # WITA - UTC
    for day in days:
        prefix = day.isoformat() + " "
        wd = day.weekday()
        rush = 1.15 if wd == 0 else 0.8 if wd == 4 else 1.0
        for hall in halls:
            n = max(0, round(per_weight * hall["weight"] * rush * rng.uniform(0.8, 1.2)))
            offered, counters = hall["services"], hall["counters"]
            for _ in range(n):
                serial += 1
                hour = hours[_pick(rng, hour_cum)]
                local = hour * 3600 + rng.randrange(3600)
                issued = local - t0
                service, code, _w = offered[_pick(rng, picks[hall["id"]])]
                first_service, transfers = None, 0
                if rng.random() < 0.03 and len(offered) > 1:
                    first_service = rng.choice(offered)[0]
                    transfers = 1 if first_service != service else 0
                    first_service = first_service if transfers else None
                counter = counters[service % len(counters)]
                operator = f"operator.{hall['code']}" if counter == counters[0] else \
                    f"petugas.{hall['code']}.{counter.lower()}"
                r = rng.random()
                status = "no_show" if r < 0.05 else "cancelled" if r < 0.07 else "done"
                wait = min(4 * 3600, int(rng.lognormvariate(math.log(12 * 60), 0.6)))
                called = started = finished = service_s = outcome = None
                calls, requeues = 0, 0
                if status == "cancelled":
                    wait, counter, changed = None, None, issued + rng.randrange(600, 3600)
                    operator = None
                else:
                    called, calls = issued + wait, 1
                    if status == "no_show":
                        changed = called + 240
                        if rng.random() < 0.2:  # came back: requeued, served later
                            requeues, calls, status = 1, 2, "done"
                    if status == "done":
                        started = called + 60 + 300 * requeues
                        service_s = int(rng.lognormvariate(math.log(10 * 60), 0.5))
                        finished = changed = started + service_s
                        o = rng.random()
                        outcome = ("case" if o < 0.034 else "info_only" if o < 0.12 else
                                   "rejected" if o < 0.155 else "completed")
                source = "appointment" if rng.random() < 0.045 else "kiosk"
                priority = "lansia" if rng.random() < 0.04 else (
                    "disabilitas" if rng.random() < 0.01 else None)
                ref = f"bench{serial:010d}"
                yield "fact", (
                    ref, hall["id"], day.isoformat(), wd, hour, service, first_service, source,
                    priority, status, outcome, prefix + CLOCK[issued],
                    prefix + CLOCK[called] if called is not None else None,
                    prefix + CLOCK[started] if started is not None else None,
                    prefix + CLOCK[finished] if finished is not None else None,
                    wait, service_s, (wait <= 1800) if wait is not None else None,
                    calls, transfers, requeues, counter, operator, prefix + CLOCK[changed])
                if outcome == "case":
                    case_serial += 1
                    received = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                        seconds=finished)
                    case_status = _weighted(rng, CASE_STATUSES)
                    yield "case", (f"KKR-{case_serial:08d}", hall["id"], service, ref,
                                   "Warga Uji", "6402000000000001", "+6281234567890", "[]",
                                   "", case_status, "", str(received), str(received),
                                   f"operator.{hall['code']}")
                    event_serial += 1
                    yield "case_event", (f"bev{event_serial:012d}", case_serial, "received",
                                         str(received), "", "", "", "hall")
                    if case_status in ("ready_for_pickup", "picked_up"):
                        event_serial += 1
                        ready = received + dt.timedelta(
                            days=min(30.0, rng.lognormvariate(math.log(3), 0.5)))
                        yield "case_event", (f"bev{event_serial:012d}", case_serial,
                                             "ready_for_pickup", str(ready), "", "",
                                             "officer", "central")
            for _ in range(int(n * 0.05 + rng.random())):  # this hall's bookings
                appt_serial += 1
                service = offered[_pick(rng, picks[hall["id"]])][0]
                start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(
                    minutes=30 * rng.randrange(13)) - dt.timedelta(hours=8)
                made = start - dt.timedelta(days=min(14, int(rng.expovariate(1 / 3))),
                                            hours=rng.randrange(12))
                s = rng.random()
                status = ("cancelled" if s < 0.10 else "no_show" if s < 0.17 else
                          "booked" if s < 0.19 else "checked_in")
                yield "appointment", (
                    f"BK{appt_serial:09d}", hall["id"], service, day.isoformat(), str(start),
                    str(start + dt.timedelta(minutes=30)), status, "Warga Uji",
                    f"{rng.getrandbits(256):064x}", "6402********0001", "+6281234567890",
                    None, None, str(made), str(made) if status == "cancelled" else None,
                    str(start) if status == "checked_in" else None, None, 0)


def _cumulative(weights):
    total, out = 0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng, cumulative):
    x = rng.random() * cumulative[-1]
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _weighted(rng, pairs):
    x, seen = rng.random() * sum(w for _v, w in pairs), 0
    for value, w in pairs:
        seen += w
        if x < seen:
            return value
    return pairs[-1][0]


def columns():
    from app.models import Appointment, Case, CaseEvent, VisitFact
    plain = {
        "fact": (VisitFact, [f.column_name for f in VisitFact._meta.sorted_fields
                             if f.name != "id"]),
        "case": (Case, ["tracking_code", "site_id", "service_id", "ticket_ref",
                        "applicant_name", "applicant_nik", "applicant_phone", "requirements",
                        "notes", "status", "missing", "received_at", "updated_at",
                        "opened_by"]),
        "case_event": (CaseEvent, ["uid", "case_id", "status", "at", "note", "missing", "by",
                                   "place"]),
        "appointment": (Appointment, ["code", "site_id", "service_id", "day", "start_at",
                                      "end_at", "status", "name", "nik_hash", "nik_masked",
                                      "phone", "email", "active_key", "created_at",
                                      "cancelled_at", "checked_in_at", "ticket_id",
                                      "reschedules"]),
    }
    return {kind: (model._meta.table_name, cols) for kind, (model, cols) in plain.items()}


# --- loading ------------------------------------------------------------------------------

CHUNK = 50_000
FACT_COLUMNS = ["ticket_ref", "site_id", "day", "weekday", "hour", "service_id",
                "first_service_id", "source", "priority_group", "status", "outcome",
                "issued_at", "called_at", "started_at", "finished_at", "wait_seconds",
                "service_seconds", "within_target", "calls", "transfers", "requeues",
                "counter_code", "operator", "changed_at"]  # the order `generate` yields


def load(kind_rows, postgres: bool) -> dict:
    """Bulk-insert the generated rows; counts per kind. SQLite: executemany in one
    transaction per chunk; PostgreSQL: COPY per chunk."""
    tables = columns()
    buffers = {kind: [] for kind in tables}
    counts = dict.fromkeys(tables, 0)
    conn = database.connection()
    # Case events name their case by the id it gets: the n-th case inserted is id n.
    assert database.execute_sql("SELECT COUNT(*) FROM case_record").fetchone()[0] == 0
    assert tables["fact"][1] == FACT_COLUMNS, tables["fact"][1]
    order = ["case", "case_event", "appointment", "fact"]  # a case before its events

    def flush(kinds):
        for kind in order:
            if kind not in kinds or not buffers[kind]:
                continue
            table, cols = tables[kind]
            rows = buffers[kind]
            if postgres:
                with conn.cursor() as cur:
                    cur.copy_expert(f'COPY "{table}" ({", ".join(map(_quote, cols))}) '
                                    "FROM STDIN", io.StringIO(_copy_text(rows)))
            else:
                marks = ", ".join("?" * len(cols))
                with database.atomic():
                    conn.executemany(f'INSERT INTO "{table}" ({", ".join(map(_quote, cols))}) '
                                     f"VALUES ({marks})", rows)
            counts[kind] += len(rows)
            buffers[kind] = []

    for kind, row in kind_rows:
        buffers[kind].append(row)
        if len(buffers[kind]) >= CHUNK:
            flush(set(order) if kind == "case_event" else {kind, "case"} if kind == "fact"
                  else {kind})
    flush(set(order))
    return counts


def _quote(name: str) -> str:
    return f'"{name}"'


def _copy_text(rows) -> str:
    out = []
    for row in rows:
        out.append("\t".join("\\N" if v is None else ("t" if v else "f") if v is True or
                             v is False else str(v) for v in row))
    return "\n".join(out) + "\n"


# --- timing -------------------------------------------------------------------------------

def timed(fn, repeat: int, server_cpu=lambda: 0.0) -> tuple[list[float], float, float]:
    """Sorted wall times in ms of `repeat` runs after a first one (caches, the first
    plan; for the kabupaten, the closed days made and kept), the mean CPU ms of a run
    (this process's plus `server_cpu()`'s) and the first run's ms."""
    start = time.perf_counter()
    fn()
    first = (time.perf_counter() - start) * 1000
    out = []
    cpu0, server0 = time.process_time(), server_cpu()
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    cpu = (time.process_time() - cpu0 + server_cpu() - server0) * 1000 / repeat
    return sorted(out), cpu, first


def backend_cpu_reader():
    """CPU seconds so far of this connection's PostgreSQL backend, read from /proc when
    the server runs on this machine (else 0). Parallel workers are not counted."""
    pid = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")

    def read():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return read if stat.exists() else (lambda: 0.0)


def p90(sorted_ms):
    return sorted_ms[max(0, math.ceil(0.9 * len(sorted_ms)) - 1)]


def run(label: str, url: str | None, data_dir: Path, args) -> dict:
    from app.cli import setup
    from app.domain import dashboard, reports
    from app.models import Site, User, VisitDay, VisitFact
    from app.printing import monthly_report

    config = {"DATA_DIR": str(data_dir), "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"}
    if url:
        config["DATABASE_URL"] = url
    app = create_app(config)
    postgres = bool(url)
    with app.app_context():
        started = time.perf_counter()
        setup(load_demo=True)
        database.connect(reuse_if_open=True)
        halls = catalogue()
        built = time.perf_counter() - started
        started = time.perf_counter()
        counts = load(generate(halls, args.visits, args.seed), postgres)
        loaded = time.perf_counter() - started
        if postgres:  # what autovacuum does after a bulk insert (PostgreSQL 13+)
            database.execute_sql("VACUUM ANALYZE")
        print(f"\n{label}: schema and demo {built:.1f} s; generated and loaded "
              f"{counts['fact']:,} facts, {counts['appointment']:,} bookings, "
              f"{counts['case']:,} cases ({counts['case_event']:,} events) in "
              f"{loaded:.1f} s")

        admin = User.get(User.username == "admin")
        month = reports.month_period(MONTH, NOW)
        kabupaten_month = reports.scope(admin, *month)
        hall_month = reports.scope(admin, *month, site_code=HALL)
        year = reports.scope(admin, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
        month_facts = VisitFact.select().where(VisitFact.day.between(*month))
        cases = [
            ("baseline: SELECT 1", lambda: database.execute_sql("SELECT 1").fetchone(),
             args.repeat),
            ("baseline: COUNT(*) of the month's facts", lambda: month_facts.count(),
             args.repeat),
            ("month, kabupaten, nothing kept", lambda: (
                VisitDay.delete().execute(),
                reports.summary(kabupaten_month, NOW, refresh=False)), args.cold_repeat),
            ("month, kabupaten", lambda: reports.summary(kabupaten_month, NOW, refresh=False),
             args.repeat),
            (f"month, one hall ({HALL})", lambda: reports.summary(hall_month, NOW,
                                                                  refresh=False), args.repeat),
            ("year, kabupaten", lambda: reports.summary(year, NOW, refresh=False),
             args.year_repeat),
            # The dashboard reads today's tickets and each hall's pulse, not the facts:
            # its cost is the 21 halls' small queries, whatever the year holds.
            ("dashboard /pusat, 21 halls", lambda: dashboard.halls(NOW), args.repeat),
        ]
        server_cpu = backend_cpu_reader() if postgres else (lambda: 0.0)
        results = {}
        for name, fn, repeat in cases:
            results[name] = timed(fn, repeat, server_cpu)
        base = statistics.median(results["baseline: COUNT(*) of the month's facts"][0])
        rows = reports.summary(kabupaten_month, NOW, refresh=False)["arrived"]
        print(f"{'':<42}{'median ms':>10}{'p90 ms':>10}{'x COUNT':>9}{'CPU ms':>9}   n"
              f"{'1st ms':>9}   ({rows:,} facts in {MONTH})")
        for name, (ms, cpu, first) in results.items():
            median = statistics.median(ms)
            print(f"  {name:<40}{median:>10.1f}{p90(ms):>10.1f}{median / base:>9.1f}"
                  f"{cpu:>9.1f}{len(ms):>4}{first:>9.0f}")

        print("  the kabupaten month from the facts, nothing kept (each part once, ms):")
        parts = [("days+services (totals)", lambda: reports.figures(kabupaten_month)),
                 ("halls+counters+operators", lambda: reports.breakdown(kabupaten_month,
                                                                        "site")),
                 ("heat map", lambda: reports.heat_map(kabupaten_month)),
                 ("bookings", lambda: reports.bookings(kabupaten_month)),
                 ("cases", lambda: reports.cases(kabupaten_month))]
        line = []
        with read_snapshot(work_mem=reports.WORK_MEM):  # as summary() reads them
            for name, fn in parts:
                start = time.perf_counter()
                fn()
                line.append(f"{name} {(time.perf_counter() - start) * 1000:.0f}")
        print("    " + ", ".join(line))

        summary = reports.summary(kabupaten_month, NOW, refresh=False)
        labels = monthly_report.Labels(None, month[0], NOW)
        pdf, _cpu, _first = timed(lambda: monthly_report.render(summary, labels), 3)
        print(f"  PDF of the kabupaten month (render only): median "
              f"{statistics.median(pdf):.0f} ms")
        if args.pdf:
            Path(args.pdf).write_bytes(monthly_report.render(summary, labels))
            hall = Site.get(Site.code == HALL)
            Path(args.pdf).with_name(Path(args.pdf).stem + f"-{HALL}.pdf").write_bytes(
                monthly_report.render(reports.summary(hall_month, NOW, refresh=False),
                                      monthly_report.Labels(hall.name, month[0], NOW)))
        database.close()
    close_all = getattr(database.obj, "close_all", None)
    if close_all:
        close_all()
    return {"label": label, "month_ms": statistics.median(results["month, kabupaten"][0]),
            "cold_ms": statistics.median(results["month, kabupaten, nothing kept"][0])}


# --- PostgreSQL: a throwaway database -------------------------------------------------------

def _pg_admin(sql: str) -> None:
    import psycopg2
    conn = psycopg2.connect(dbname="postgres", **PG)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=1_500_000,
                        help="visit facts in the year (default 1,500,000)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--sqlite-only", action="store_true")
    only.add_argument("--pg-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per month case")
    parser.add_argument("--year-repeat", type=int, default=3, help="timed runs of the year")
    parser.add_argument("--cold-repeat", type=int, default=3,
                        help="timed runs of the kabupaten's month with nothing kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pdf", help="also write the kabupaten month's PDF here (and the "
                        "hall's beside it)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} (other work on the machine slows every figure); "
          f"{args.visits:,} visits in {YEAR}; month {MONTH}; {args.repeat} runs per month "
          f"case, {args.year_repeat} of the year, after one warm-up run each")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="mpp-bench-reports-") as tmp:
        if not args.pg_only:
            outcomes.append(run("SQLite", None, Path(tmp) / "sqlite", args))
        if not args.sqlite_only:
            name = f"mpp_bench_{secrets.token_hex(4)}"
            _pg_admin(f'CREATE DATABASE "{name}"')
            try:
                url = f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
                outcomes.append(run("PostgreSQL", url, Path(tmp) / "pg", args))
            finally:
                _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    for o in outcomes:
        verdict = "met" if o["month_ms"] <= AIM_MS else "MISSED"
        print(f"{o['label']}: the kabupaten's month in {o['month_ms']:.0f} ms (aim "
              f"<= {AIM_MS} ms): {verdict}; the first report after its days closed "
              f"(nothing kept) {o['cold_ms']:.0f} ms")


if __name__ == "__main__":
    main()
