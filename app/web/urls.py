"""Public addresses that leave the server on paper or in QR codes."""
from flask import current_app, url_for


def ticket_page_url(ticket_id: str) -> str:
    """The citizen's live page of one ticket (`/t/<id>`)."""
    return url_for("pages.track_ticket", ticket_id=ticket_id, _external=True)


def case_tracking_url(code: str) -> str:
    """Where a citizen follows a case from home: at a hall the public address is the
    centre's (the hall's own server is only on its LAN)."""
    central = current_app.config["SETTINGS"]["CENTRAL_URL"].rstrip("/")
    if current_app.config["MPP_ROLE"] == "site" and central:
        return central + url_for("cases.track_case", code=code)
    return url_for("cases.track_case", code=code, _external=True)
