"""Build a backlog of cases waiting in a hall's outbox, fast (for the sync fault tests and
bench/sync_backlog.py). Rows are written the way open_case writes them (case, first
history row, outbox message), many per transaction, without tickets.

    python -m tests.backlog DATA_DIR N [SITE]
"""
import sys

from app.clock import as_utc_naive
from app.db import database, write_transaction
from app.domain import cases, queueing

CHUNK = 1000


def make_backlog(n: int, site_code: str, now) -> int:
    site = queueing.get_site(site_code)
    service = queueing.get_service("ADM-KK")
    naive = as_utc_naive(now)
    checklist = [{"item": item, "received": True} for item in service.requirements]
    made = 0
    while made < n:
        with write_transaction():
            for _ in range(min(CHUNK, n - made)):
                made += 1
                case = cases.Case.create(
                    tracking_code=cases.new_tracking_code(service), site=site,
                    service=service, applicant_name=f"Pemohon {made}",
                    applicant_nik=f"640212010185{made % 9999 + 1:04d}",
                    applicant_phone="081200000000", requirements=checklist, notes="",
                    status="received", received_at=naive, updated_at=naive,
                    opened_by="backlog")
                event = cases._event(case, "received", naive, by="backlog")
                cases._outbox(case, "case.opened", cases.case_payload(case, [event]), naive)
    return made


def main(data_dir: str, n: int, site_code: str = "tabang") -> None:
    from app import create_app
    app = create_app({"DATA_DIR": data_dir, "MPP_ROLE": "site", "MPP_SITES": site_code})
    with app.app_context():
        database.connect(reuse_if_open=True)
        try:
            print(make_backlog(n, site_code, app.clock.now()))
        finally:
            database.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4])
