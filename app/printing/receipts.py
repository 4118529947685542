"""The case receipt (tanda terima): the plain data the printers library takes."""
from printers import CaseReceipt, render_receipt_pdf

from ..clock import to_local
from ..domain.nik import mask_nik
from ..models import Case


def receipt_data(case: Case, tracking_url: str) -> CaseReceipt:
    return CaseReceipt(
        hall_name=case.site.name, tracking_code=case.tracking_code,
        service_name=case.service.name, applicant_name=case.applicant_name,
        nik_masked=mask_nik(case.applicant_nik),
        requirements_received=[r["item"] for r in case.requirements if r.get("received")],
        received_at=to_local(case.received_at), expected_on=None,
        track_url=tracking_url, officer_name=case.opened_by)


def receipt_pdf(case: Case, tracking_url: str) -> bytes:
    return render_receipt_pdf(receipt_data(case, tracking_url), width_mm=80)
