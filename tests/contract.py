"""Demo data for the contract tests, made over HTTP against a real server: tickets issued
and called (counters have current tickets), a case opened, an appointment booked; and the
private values (capabilities and personal data) that no public answer may carry."""
import dataclasses

import requests

NIK = "6402121708850003"          # the appointment's
CASE_NIK = "6402124107900001"     # the case applicant's
PHONES = ("081234567890", "081298765432")
SITE = "tabang"


@dataclasses.dataclass
class Demo:
    url: str
    admin_token: str
    operator_token: str
    sites: list
    ticket_ids: list
    tracking_codes: list
    appointment_codes: list
    counters: list
    services: list

    def secrets(self) -> dict:
        """Every private value, by what it is. Phone numbers in the forms a page could
        print them."""
        found = {f"ticket id {t}": t for t in self.ticket_ids}
        found.update({f"appointment code {c}": c for c in self.appointment_codes})
        found.update({f"case tracking code {c}": c for c in self.tracking_codes})
        for nik in (NIK, CASE_NIK):
            found[f"NIK {nik}"] = nik
        for phone in PHONES:
            for form in (phone, f"{phone[:4]}-{phone[4:8]}-{phone[8:]}", "62" + phone[1:]):
                found[f"phone {form}"] = form
        return found


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.text[:300])
    return response.json()


def seed(url: str) -> Demo:
    """Tickets waiting and called at two counters of Tabang, a case, an appointment."""
    s = requests.Session()

    def token(username):
        return _ok(s.post(url + "/api/v1/auth/token",
                          json={"username": username, "password": "demo"}))["token"]

    admin, operator = token("admin"), token(f"operator.{SITE}")
    staff = {"Authorization": f"Bearer {operator}"}
    issued = [_ok(s.post(f"{url}/api/v1/sites/{SITE}/tickets", json={"service": service}),
                  201)["id"]
              for service in ("ADM-KK", "ADM-KK", "ADM-KTP", "IZN-NIB", "IZN-NIB")]
    first = _ok(s.post(f"{url}/api/v1/sites/{SITE}/counters/L1/call-next", headers=staff))
    ticket = first["ticket"]["id"]
    _ok(s.post(f"{url}/api/v1/tickets/{ticket}/start", headers=staff))
    case = _ok(s.post(url + "/api/v1/cases", headers=staff, json={
        "ticket_id": ticket, "service": "ADM-KK",
        "applicant": {"name": "Siti Rahmah", "nik": CASE_NIK, "phone": PHONES[1]},
        "requirements": ["Formulir F-1.01"], "notes": "-"}), 201)
    # the case finished the first ticket: both counters now call one each
    for counter in ("L1", "L2"):
        _ok(s.post(f"{url}/api/v1/sites/{SITE}/counters/{counter}/call-next",
                   headers=staff))
    appointment = _ok(s.post(url + "/api/v1/appointments", json={
        "site": SITE, "service": "ADM-KTP", "date": "2026-12-01", "start": "10:30",
        "name": "Siti Aminah", "nik": NIK, "phone": PHONES[0],
        "email": "siti@example.com"}), 201)
    sites = [row["code"] for row in _ok(s.get(url + "/api/v1/sites"))["sites"]]
    counters = [row["code"] for row in
                _ok(s.get(f"{url}/api/v1/sites/{SITE}/counters"))["counters"]]
    services = [row["code"] for row in
                _ok(s.get(f"{url}/api/v1/sites/{SITE}/services"))["services"]]
    return Demo(url=url, admin_token=admin, operator_token=operator, sites=sites,
                ticket_ids=issued, tracking_codes=[case["tracking_code"]],
                appointment_codes=[appointment["code"]], counters=counters,
                services=services)
