"""Online booking settings of a hall at /admin/lokasi/<site>/booking (admin): per
service offered there, booking on/off, slot minutes, capacity per slot, walk-in share,
check-in early/grace minutes and horizon days (what `flask mpp booking-settings` sets),
through `halls.update_booking_settings`."""
from flask import redirect, render_template, request, url_for
from flask_login import login_required

from ...domain import accounts, halls, queueing
from ...errors import Invalid
from ...web.auth import current_actor, signed_in_user
from ...web.inputs import now
from .shell import add_hall_page, bp

add_hall_page("admin.booking_settings", "Booking online", "Online booking", ("admin",),
              place=60)
NUMBERS = ("slot_minutes", "capacity", "early_minutes", "grace_minutes", "horizon_days")


def _site(site_code):
    accounts.require_admin(signed_in_user(),
                           "Pengaturan booking online hanya dapat diubah oleh admin.")
    return halls.get(site_code)


def _page(site, error=None, error_service=None, draft=None, status=200):
    return render_template("admin/booking_settings.html", site=site,
                           rows=halls.booking_rows(site), ranges=halls.BOOKING_RANGES,
                           error=error, error_service=error_service, draft=draft or {},
                           saved=request.args.get("disimpan")), status


@bp.get("/admin/lokasi/<site_code>/booking")
@login_required
def booking_settings(site_code):
    return _page(_site(site_code))


@bp.post("/admin/lokasi/<site_code>/booking/<service_code>")
@login_required
def booking_settings_save(site_code, service_code):
    site = _site(site_code)
    service = queueing.get_service(service_code[:40])
    values = {name: request.form.get(name, "")[:12] for name in NUMBERS}
    values["walk_in_share"] = request.form.get("walk_in_share", "")[:12]
    values["enabled"] = request.form.get("enabled") == "on"
    try:
        halls.update_booking_settings(current_actor(), site, service, values, now())
    except Invalid as exc:
        return _page(site, exc.message, service.code, values, exc.status)
    return redirect(url_for("admin.booking_settings", site_code=site.code,
                            disimpan=service.code) + f"#booking-{service.code}", code=303)
