"""After an outage: how long does a hall's backlog of cases (no attachments) take to
reach the centre? Real processes: the centre on PostgreSQL (gunicorn, 2 workers), a hall
on SQLite; the drain is one `flask mpp sync` run at the hall (push in batches, then the
'forwarded' statuses pulled back down). Baselines in the same run: 300 cases sent one per
request, and a 1,000-case backlog.

    .venv/bin/python bench/sync_backlog.py [N]        (default 10000; aim: < 30 s)
"""
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402

from tests.servers import VENV_BIN, Server  # noqa: E402

KEY = secrets.token_urlsafe(24)


def run(cmd, env):
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{cmd[-1]} failed: {done.stderr[-2000:]}")
    return done


def drain(tmp: Path, n: int, batch: int) -> tuple[float, int]:
    name = f"mpp_cases_bench_{secrets.token_hex(4)}"
    run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], os.environ)
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        with Server(tmp / f"central-{n}", workers=2, threads=4, env={
                "DATABASE_URL": url, "MPP_ROLE": "central",
                "SYNC_KEYS": f"tabang:{KEY}"}) as centre:
            hall_env = {**os.environ, "DATA_DIR": str(tmp / f"hall-{n}"), "MPP_ROLE": "site",
                        "MPP_SITES": "tabang", "CENTRAL_URL": centre.url,
                        "SYNC_SECRET": KEY, "SYNC_BATCH": str(batch), "LOG_LEVEL": "WARNING"}
            run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "setup"], hall_env)
            run([sys.executable, "-m", "tests.backlog", hall_env["DATA_DIR"], str(n)],
                hall_env)
            started = time.perf_counter()
            out = run([str(VENV_BIN / "flask"), "--app", "wsgi", "mpp", "sync"], hall_env)
            seconds = time.perf_counter() - started
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from case_record")
            (arrived,) = cur.fetchone()
        conn.close()
        print(f"  {out.stdout.strip()}")
        return seconds, arrived
    finally:
        run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", name], os.environ)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("baseline: 300 cases, one per request (no batching)")
        one_s, one_n = drain(tmp, 300, 1)
        print(f"  {one_n} arrived in {one_s:.1f} s ({one_n / one_s:.0f} cases/s)")
        print("baseline: 1,000 cases, batches of 500")
        base_s, base_n = drain(tmp, 1000, 500)
        print(f"  {base_n} arrived in {base_s:.1f} s ({base_n / base_s:.0f} cases/s)")
        print(f"backlog: {n:,} cases, batches of 500")
        secs, arrived = drain(tmp, n, 500)
        print(f"  {arrived} arrived in {secs:.1f} s ({arrived / secs:.0f} cases/s); "
              f"aim < 30 s: {'met' if secs < 30 and arrived == n else 'NOT met'}")


if __name__ == "__main__":
    main()
