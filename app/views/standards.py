"""The public service standards of a hall (`/layanan/<site>`, anyone, no login): each
service it offers with its agency, requirements, fee, processing time, hours and the
"standar pelayanan" text. Phone first; Bahasa Indonesia first."""
from flask import Blueprint, render_template

from ..domain import catalogue, queueing

bp = Blueprint("standards", __name__)


@bp.get("/layanan/<site_code>")
def standards_page(site_code):
    site = queueing.get_site(site_code)
    return render_template("standards.html", site=site, items=catalogue.standards(site))
