"""Notifications in the administration, `/admin/notifikasi`: the messages that failed
for good with their reason (a supervisor sees their hall's, an admin every hall's),
each to send again or mark handled; and, for admins, the message templates with the
variables each may use and a preview. The JSON side is `app/views/notify.py`."""
from flask import redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import accounts, notify
from ...errors import Conflict, Forbidden, Invalid, NotFound
from ...web.auth import current_actor, signed_in_user
from ...web.inputs import client_address, now
from .shell import add_section, bp

add_section("admin.notifications", "Notifikasi", "Notifications", ("admin", "supervisor"),
            place=85)


def _page(notice: str = "", error: str = "", status: int = 200, drafts: dict | None = None):
    user = signed_in_user()
    return render_template(
        "admin/notifications.html", user=user, failed=notify.failed_for(user),
        templates=notify.templates() if user.role == "admin" else [],
        labels=notify.LABELS, notice=notice, error=error, drafts=drafts or {}), status


@bp.get("/admin/notifikasi")
@login_required
def notifications():
    return _page(notice=request.args.get("pesan", "")[:100])


@bp.post("/admin/notifikasi/<int:row_id>/<action>")
@login_required
def notification_action(row_id, action):
    user = signed_in_user()
    verbs = {"ulang": notify.retry, "selesai": notify.mark_handled}
    if action not in verbs:
        raise NotFound("Tindakan tidak dikenal.")
    try:
        verbs[action](user, row_id, now(), client_address())
    except (Conflict, NotFound, Forbidden) as exc:
        return _page(error=exc.message, status=exc.status)
    done = "Dikirim ulang." if action == "ulang" else "Ditandai sudah ditangani."
    return redirect(url_for("admin.notifications", pesan=done), code=303)


@bp.post("/admin/notifikasi/template/<kind>")
@login_required
def notification_template(kind):
    """Save a template (button `simpan`), go back to the shipped text (`bawaan`) or only
    preview it (`pratinjau`); an unknown variable is refused with what is allowed."""
    accounts.require_admin(signed_in_user())
    text = request.form.get("body", "")
    action = request.form.get("action", "pratinjau")
    try:
        if action == "pratinjau":
            shown = notify.preview(kind, text)
            return _page(notice=f"Pratinjau: {shown['preview']}", drafts={kind: text})
        notify.set_template(current_actor(), kind, None if action == "bawaan" else text,
                            now())
    except (Invalid, NotFound) as exc:
        return _page(error=exc.message, status=exc.status, drafts={kind: text})
    return redirect(url_for("admin.notifications", pesan="Template disimpan."), code=303)
