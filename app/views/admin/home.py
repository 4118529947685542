"""The administration start page: the sections this user may open."""
from flask import abort, render_template
from flask_login import login_required

from ...web.auth import signed_in_user
from .shell import bp, sections_for


@bp.get("/admin")
@login_required
def home():
    user = signed_in_user()
    if user.role not in ("admin", "supervisor"):
        abort(403)
    return render_template("admin/home.html", user=user, sections=sections_for(user.role))


@bp.app_context_processor
def admin_navigation():
    """The admin menu for templates/admin/base.html."""
    return {"admin_sections": sections_for}
