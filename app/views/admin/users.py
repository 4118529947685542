"""Staff accounts at /admin/pengguna and /api/v1/admin/users: the table with search and
last login, create, edit, disable and enable (never delete), unlock after too many
failed logins, and a one-time password shown once on create and reset. Admins manage
every account; a hall's supervisor only the operators of their own hall (the rules live
in `app.domain.users`)."""
from flask import jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import users
from ...domain.audit import Actor
from ...errors import DomainError, Invalid
from ...web import openapi
from ...web.auth import current_actor, signed_in_user, token_required
from ...web.inputs import field, json_body, now
from ...web.plumbing import csrf
from ...web.responses import page_or_fragment
from .shell import add_section, bp

add_section("admin.users_page", "Pengguna", "Staff", ("admin", "supervisor"), place=70)
openapi.add_operations([
    ("get", "/api/v1/admin/users", "Staff accounts this caller manages (query: q searches "
     "username, name, hall and role)", "admin; supervisor (operators of own hall)", None,
     {"200": "users", "403": "not an admin or supervisor"}, {"query": {"q": "string"}}),
    ("post", "/api/v1/admin/users", "Create an account with a one-time password",
     "admin; supervisor (operators of own hall)",
     {"username": "string", "name": "string", "role": "admin|supervisor|operator|officer",
      "site": "string? (supervisor, operator)", "agency": "string? (officer)"},
     {"201": "username, one_time_password (shown once)", "403": "forbidden",
      "409": "username_taken", "422": "invalid_username / invalid_role / unknown_site / "
      "unknown_agency / missing_field"}),
    ("patch", "/api/v1/admin/users/{username}", "Change name, role, hall or agency; "
     "active false disables (its API tokens end at once), true enables",
     "admin; supervisor (operators of own hall)",
     {"name": "string?", "role": "string?", "site": "string?", "agency": "string?",
      "active": "boolean?"},
     {"200": "user", "403": "forbidden / own_role / own_account", "404": "unknown_user",
      "409": "last_admin", "422": "invalid field"}),
    ("post", "/api/v1/admin/users/{username}/reset-password",
     "A new one-time password; the account must change it at its next login",
     "admin; supervisor (operators of own hall)", None,
     {"201": "username, one_time_password (shown once)", "403": "forbidden",
      "404": "unknown_user"}),
    ("post", "/api/v1/admin/users/{username}/unlock", "Unlock an account locked by failed "
     "logins (written to the audit trail)", "admin; supervisor (operators of own hall)",
     None, {"200": "user (locked: false)", "403": "forbidden", "404": "unknown_user"}),
])

NO_STORE = {"Cache-Control": "private, no-store"}


def _form_values() -> dict:
    form = request.form
    return {key: (form.get(key) or "").strip() for key in
            ("username", "name", "role", "site", "agency")}


def _render_form(actor: Actor, values: dict, user=None, error: str | None = None,
                 status: int = 200, saved: bool = False):
    locked = users.is_locked(user, now()) if user is not None else False
    return render_template("admin/users_form.html", user=user, values=values, error=error,
                           saved=saved, me=signed_in_user(), locked=locked,
                           **users.options(actor)), status


def _one_time(user, password: str, created: bool):
    """The page that shows a one-time password, once; never cached."""
    return (render_template("admin/users_password.html", user=user, password=password,
                            created=created), 200, NO_STORE)


@bp.get("/admin/pengguna")
@login_required
def users_page():
    actor = current_actor()
    search = (request.args.get("q") or "").strip()[:100]
    rows = users.visible(actor, search, now())
    return page_or_fragment("admin/users.html", "admin/_users_rows.html", rows=rows,
                            q=search, actor=actor, role_names=users.ROLE_NAMES)


@bp.route("/admin/pengguna/baru", methods=["GET", "POST"])
@login_required
def users_new():
    actor = current_actor()
    users.require_manager(actor)
    if request.method == "GET":
        values = {"role": "operator", "site": actor.site_code}
        return _render_form(actor, values)
    values = _form_values()
    try:
        created = users.create_user(actor, now(), values["username"], values["name"],
                                    values["role"], site=values["site"] or None,
                                    agency=values["agency"] or None)
    except DomainError as exc:
        return _render_form(actor, values, error=exc.message, status=exc.status)
    return _one_time(created.user, created.one_time_password, created=True)


@bp.route("/admin/pengguna/<username>", methods=["GET", "POST"])
@login_required
def users_edit(username):
    actor = current_actor()
    user = users.get_visible(actor, username)
    if request.method == "GET":
        values = {"name": user.full_name, "role": user.role,
                  "site": user.site.code if user.site_id else "",
                  "agency": user.agency.code if user.agency_id else ""}
        return _render_form(actor, values, user=user, saved=bool(request.args.get("saved")))
    values = _form_values()
    try:
        users.update_user(actor, now(), user.username, name=values["name"],
                          role=values["role"] or None, site=values["site"],
                          agency=values["agency"])
    except DomainError as exc:
        return _render_form(actor, values, user=user, error=exc.message, status=exc.status)
    return redirect(url_for("admin.users_edit", username=user.username, saved=1), code=303)


@bp.post("/admin/pengguna/<username>/<action>")
@login_required
def users_action(username, action):
    actor = current_actor()
    user = users.get_visible(actor, username)
    try:
        if action == "nonaktifkan":
            users.disable_user(actor, now(), user.username)
        elif action == "aktifkan":
            users.enable_user(actor, now(), user.username)
        elif action == "buka-kunci":
            users.unlock_user(actor, now(), user.username)
        elif action == "reset-sandi":
            password = users.reset_password(actor, now(), user.username)
            return _one_time(user, password, created=False)
        else:
            raise Invalid("Tindakan tidak dikenal.", code="unknown_action")
    except DomainError as exc:
        values = {"name": user.full_name, "role": user.role,
                  "site": user.site.code if user.site_id else "",
                  "agency": user.agency.code if user.agency_id else ""}
        return _render_form(actor, values, user=user, error=exc.message, status=exc.status)
    return redirect(url_for("admin.users_edit", username=user.username, saved=1), code=303)


# --- API ---------------------------------------------------------------------------------

def _optional_text(body: dict, name: str, max_length: int = 120):
    if name not in body:
        return None
    if body[name] is None and name in ("site", "agency"):
        return ""
    return field(body, name, max_length=max_length)


@bp.get("/api/v1/admin/users")
@token_required
def users_api():
    rows = users.visible(current_actor(), (request.args.get("q") or "").strip()[:100], now())
    return jsonify(users=[users.user_dict(u) for u in rows])


@bp.post("/api/v1/admin/users")
@csrf.exempt
@token_required
def users_api_create():
    body = json_body()
    created = users.create_user(
        current_actor(), now(), field(body, "username", max_length=80),
        field(body, "name", max_length=200), field(body, "role", max_length=20),
        site=field(body, "site", required=False, max_length=40),
        agency=field(body, "agency", required=False, max_length=40))
    return jsonify(username=created.user.username,
                   one_time_password=created.one_time_password), 201, NO_STORE


@bp.patch("/api/v1/admin/users/<username>")
@csrf.exempt
@token_required
def users_api_update(username):
    body = json_body()
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise Invalid("Kolom 'active' harus true atau false.", code="invalid_field",
                      field="active")
    user = users.update_user(
        current_actor(), now(), username, name=_optional_text(body, "name", 200),
        role=_optional_text(body, "role", 20), site=_optional_text(body, "site", 40),
        agency=_optional_text(body, "agency", 40), active=active)
    return jsonify(users.user_dict(user))


@bp.post("/api/v1/admin/users/<username>/reset-password")
@csrf.exempt
@token_required
def users_api_reset(username):
    password = users.reset_password(current_actor(), now(), username)
    return jsonify(username=username.strip().lower(), one_time_password=password), 201, \
        NO_STORE



@bp.post("/api/v1/admin/users/<username>/unlock")
@csrf.exempt
@token_required
def users_api_unlock(username):
    return jsonify(users.user_dict(users.unlock_user(current_actor(), now(), username)))
