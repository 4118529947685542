"""The operator's console at /loket: log in, change one's password (forced after a
one-time password), choose a counter, serve the queue."""
from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..domain import accounts, dashboard, queueing, users
from ..errors import DomainError
from ..models import Site
from ..web.auth import current_actor, signed_in_user
from ..web.inputs import client_address, now
from ..web.plumbing import DATABASE_FREE, may_be_signed_in, sign_in, sign_out, with_retry_after
from ..web.responses import htmx

bp = Blueprint("console", __name__, url_prefix="/loket")
STAFF = ("operator", "supervisor", "admin")


class LoginForm(FlaskForm):
    username = StringField("Nama pengguna", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Kata sandi", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField("Kata sandi sekarang", validators=[DataRequired(),
                                                               Length(max=200)])
    new = PasswordField("Kata sandi baru", validators=[DataRequired(), Length(max=200)])
    repeat = PasswordField("Ulangi kata sandi baru", validators=[DataRequired(),
                                                                 Length(max=200)])


# What a signed-in user who must change a one-time password may still reach.
OPEN_DURING_CHANGE = {"static", "console.change_password", "console.logout",
                      "console.login", *DATABASE_FREE}


@bp.before_app_request
def password_change_gate():
    """Until a one-time password is changed, every page leads to "Ganti kata sandi"."""
    if (request.endpoint in OPEN_DURING_CHANGE or not may_be_signed_in()
            or not current_user.is_authenticated
            or not current_user.user.must_change_password):
        return None
    target = url_for("console.change_password")
    if request.path.startswith("/api/"):
        return jsonify(error={"code": "password_change_required",
                              "message": "Ganti kata sandi sementara terlebih dahulu."}), 403
    if htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def _start_page(user):
    if user.role == "officer":
        return url_for("cases.inbox")
    if user.role == "admin" and not Site.select().exists():
        return url_for("admin.home")  # a new installation: no hall to serve yet
    return url_for("console.choose")


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = refused = None
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data, form.password.data,
                                         client_address(), now())
        except DomainError as exc:
            user, error, status, refused = None, exc.message, exc.status, exc
        else:
            if user is None:
                error, status = "Nama pengguna atau kata sandi salah.", 401
        if user is not None:
            sign_in(user)
            if user.must_change_password:
                return redirect(url_for("console.change_password"))
            return redirect(_start_page(user))
    answer = render_template("login.html", form=form, error=error), status
    return with_retry_after(answer, refused) if refused else answer


@bp.route("/kata-sandi", methods=["GET", "POST"])
@login_required
def change_password():
    """Ganti kata sandi: the current password, the new one twice (the policy applies)."""
    user = signed_in_user()
    form = PasswordForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            users.change_password(user, now(), form.current.data, form.new.data,
                                  form.repeat.data, client_address())
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            sign_in(user)  # the change ended every session of the account, this one too
            return redirect(_start_page(user))
    elif request.method == "POST":
        error, status = "Isi ketiga kolom kata sandi.", 422
    return render_template("password_change.html", form=form, error=error, user=user,
                           forced=user.must_change_password), status


@bp.post("/keluar")
def logout():
    sign_out()
    return redirect(url_for("console.login"))


@bp.get("/")
@login_required
def choose():
    user = signed_in_user()
    if user.role not in STAFF:
        abort(403)
    if user.role == "admin":
        code = request.args.get("site", "induk")
        site = queueing.get_site(code)
        sites = list(Site.select().order_by(Site.kind.desc(), Site.name))
    else:
        site, sites = user.site, [user.site]
    counters = queueing.counters_of(site)  # active ones: an inactive counter is not offered
    moment = now()
    # The supervisor's start page: their hall as the centre's dashboard shows it.
    hall = dashboard.hall(site, moment) if user.role in ("supervisor", "admin") else None
    return render_template("console_choose.html", site=site, sites=sites, counters=counters,
                           served=queueing.services_by_counter(counters), hall=hall,
                           moment=moment, ikm_year=dashboard.ikm_period(moment)[0].year)


def _counter(site_code, counter_code):
    site = queueing.get_site(site_code)
    accounts.require_site_role(signed_in_user(), site)
    return queueing.get_counter(site, counter_code)


def _panel_context(counter):
    moment = now()
    services = queueing.services_of_counter(counter)
    return {
        "site": counter.site, "counter": counter,
        "current": queueing.current_ticket(counter),
        "services": services,
        "all_services": queueing.services_at(counter.site),
        "outcomes": queueing.OUTCOMES,
        "waiting": queueing.console_list(counter.id, counter.site_id, moment),
        "no_shows": queueing.recent_no_shows(counter.site, [s.id for s in services], moment),
        "priority_groups": queueing.PRIORITY_GROUPS,
    }


@bp.get("/<site_code>/<counter_code>")
@login_required
def console(site_code, counter_code):
    counter = _counter(site_code, counter_code)
    return render_template("console.html", **_panel_context(counter))


@bp.get("/<site_code>/<counter_code>/antrean")
@login_required
def waiting(site_code, counter_code):
    counter = _counter(site_code, counter_code)
    return render_template("_partials/console_waiting.html",
                           waiting=queueing.console_list(counter.id, counter.site_id, now()),
                           priority_groups=queueing.PRIORITY_GROUPS)


@bp.get("/<site_code>/<counter_code>/panel")
@login_required
def panel(site_code, counter_code):
    """The counter's panel alone: the page fetches it when the hall's live socket says
    this counter changed (another console, a supervisor)."""
    counter = _counter(site_code, counter_code)
    return render_template("_partials/console_panel.html", **_panel_context(counter))


@bp.post("/<site_code>/<counter_code>/<action>")
@login_required
def act(site_code, counter_code, action):
    counter = _counter(site_code, counter_code)
    by = current_actor()
    moment = now()
    ticket_id = request.form.get("ticket", "")
    if action == "open-counter":
        queueing.set_counter_status(counter, "open", moment, by)
        if not htmx:
            return redirect(url_for("console.console", site_code=site_code,
                                    counter_code=counter_code))
    elif action == "call-next":
        if queueing.call_next(counter, moment, by) is None:
            context = _panel_context(counter)
            context["notice"] = "Tidak ada antrean yang menunggu untuk loket ini."
            return render_template("_partials/console_panel.html", **context)
    elif action == "recall":
        queueing.recall(counter, moment, by)
    elif action in ("start", "no-show", "requeue", "finish", "transfer"):
        ticket = queueing.get_ticket(ticket_id)
        if ticket.site_id != counter.site_id:
            abort(404)
        if action == "start":
            queueing.start(ticket.id, moment, by)
        elif action == "no-show":
            queueing.no_show(ticket.id, moment, by)
        elif action == "requeue":
            queueing.requeue(ticket.id, moment, by)
        elif action == "finish":
            queueing.finish(ticket.id, request.form.get("outcome", ""), moment, by)
        else:
            service = queueing.get_service(request.form.get("service", ""))
            queueing.transfer(ticket.id, service, moment, by)
    elif action in ("pause", "resume", "close"):
        status = {"pause": "paused", "resume": "open", "close": "closed"}[action]
        queueing.set_counter_status(counter, status, moment, by)
        if status == "closed":
            if htmx:
                return "", 204, {"HX-Redirect": url_for("console.choose")}
            return redirect(url_for("console.choose"), code=303)
    else:
        abort(404)
    counter = queueing.get_counter(counter.site, counter.code)
    return (render_template("_partials/console_panel.html", **_panel_context(counter)),
            200, {"HX-Trigger": "queue-changed"})
