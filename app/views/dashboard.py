"""The centre's dashboard at /pusat (admin, officer): one tile per hall, refreshed by
htmx; the same tile for one hall on its supervisor's start page; and
GET /api/v1/central/halls."""
from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required

from ..clock import iso
from ..domain import accounts, dashboard, queueing
from ..errors import Forbidden, NotFound
from ..web import openapi
from ..web.auth import signed_in_user, token_required
from ..web.inputs import now
from ..web.responses import htmx, page_or_fragment

bp = Blueprint("dashboard", __name__)

CENTRE_ROLES = ("admin", "officer")
REFRESH_SECONDS = 15
API_FIELDS = ("site", "name", "open", "waiting", "longest_wait_minutes", "served_today",
              "ikm", "grade", "last_contact_at", "data_until", "pending_messages",
              "catalogue_version", "link", "silent")


def _require_centre(user) -> None:
    if current_app.config["MPP_ROLE"] == "site":
        raise NotFound("Alamat ini hanya ada di server pusat.", code="not_found")
    if user.role not in CENTRE_ROLES:
        raise Forbidden("Dasbor pusat hanya untuk admin dan petugas MPP Induk.")


def _refresh_seconds() -> int:
    """Every 15 s; `?setiap=N` (2-300 seconds) for a wall screen or a test."""
    value = request.args.get("setiap", "")
    return min(300, max(2, int(value))) if value.isdecimal() and len(value) < 4 \
        else REFRESH_SECONDS


@bp.app_template_global("hall_moment")
def hall_moment(moment, current) -> str:
    """"10.42 WITA, 3 menit lalu", "kemarin 15.02 WITA"."""
    return dashboard.moment_text(moment, current)


@bp.app_template_filter("id_decimal")
def id_decimal(value, places: int = 2) -> str:
    """87.5 -> "87,50": the Indonesian decimal comma."""
    return f"{value:.{places}f}".replace(".", ",")


@bp.get("/pusat")
@login_required
def overview():
    _require_centre(signed_in_user())
    moment = now()
    rows = dashboard.halls(moment)
    every = _refresh_seconds()
    return page_or_fragment(
        "dashboard.html", "_partials/dashboard_grid.html", halls=rows,
        totals=dashboard.totals(rows), moment=moment,
        ikm_year=dashboard.ikm_period(moment)[0].year, every=every,
        refresh_url=url_for("dashboard.overview",
                            **({"setiap": every} if every != REFRESH_SECONDS else {})))


@bp.get("/pengawas/<site_code>/ringkasan")
@login_required
def hall_tile(site_code):
    """One hall's tile (htmx, from the supervisor's start page); a browser goes to that
    page."""
    site = queueing.get_site(site_code)
    user = signed_in_user()
    if user.role not in CENTRE_ROLES:
        accounts.require_site_role(user, site, ("supervisor",))
    if not htmx:
        return redirect(url_for("console.choose", site=site.code))
    moment = now()
    return render_template("_partials/hall_tile.html", hall=dashboard.hall(site, moment),
                           moment=moment, ikm_year=dashboard.ikm_period(moment)[0].year)


def _wire(row: dict) -> dict:
    out = {key: row[key] for key in API_FIELDS}
    out["last_contact_at"] = iso(row["last_contact_at"])
    out["data_until"] = iso(row["data_until"])
    return out


@bp.get("/api/v1/central/halls")
@token_required
def api_halls():
    _require_centre(g.api_user)
    return jsonify(halls=[_wire(row) for row in dashboard.halls(now())])


openapi.add_operations([
    ("get", "/api/v1/central/halls", "Every hall now (admin, officer): open, waiting, "
     "longest wait, served today, IKM of the year so far, last contact, data until, "
     "messages waiting, catalogue version, link ok/stale/down, silent (down while open)",
     "officer", None,
     {"200": "halls: [{site, name, open, waiting, longest_wait_minutes, served_today, ikm, "
             "grade, last_contact_at, data_until, pending_messages, catalogue_version, link, "
             "silent}]",
      "401": "unauthorized / invalid_token", "403": "forbidden (not admin or officer)",
      "404": "not_found (a hall's own box)"}),
])
