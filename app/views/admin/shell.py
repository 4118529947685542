"""The administration's shell, shared by every area module: the one blueprint, the
menu (`add_section`), each hall's own pages (`add_hall_page`) and the hall chooser."""
from flask import Blueprint, redirect, render_template, url_for

from ...domain import accounts
from ...models import Site
from ...web.auth import signed_in_user

bp = Blueprint("admin", __name__)

# (place, endpoint, Indonesian title, English title, roles that see it), in menu order.
SECTIONS: list[tuple[int, str, str, str, tuple[str, ...]]] = []


def add_section(endpoint: str, title: str, en: str, roles=("admin",),
                place: int = 50) -> None:
    """A menu entry; `place` orders the menu (halls first, the audit trail last)."""
    SECTIONS.append((place, endpoint, title, en, tuple(roles)))
    SECTIONS.sort(key=lambda row: row[0])


def sections_for(role: str) -> list[tuple[str, str, str]]:
    return [(endpoint, title, en) for _, endpoint, title, en, roles in SECTIONS
            if role in roles]


# A hall's own pages, linked from its row at /admin/lokasi and from its page header:
# (place, endpoint taking `site_code`, Indonesian title, English title, roles).
HALL_PAGES: list[tuple[int, str, str, str, tuple[str, ...]]] = []


def add_hall_page(endpoint: str, title: str, en: str, roles=("admin",),
                  place: int = 50) -> None:
    """A page of one hall (`/admin/lokasi/<site>/...`); `place` orders the links."""
    HALL_PAGES.append((place, endpoint, title, en, tuple(roles)))
    HALL_PAGES.sort(key=lambda row: row[0])


def hall_chooser(target: str, title: str, en: str, every_hall: bool = False,
                 supervisors: bool = True):
    """The page that picks a hall for one of its pages (`target`, taking `site_code`):
    a hall's supervisor goes straight to their own hall; an admin chooses."""
    user = signed_in_user()
    if supervisors and user.role == "supervisor" and user.site_id:
        return redirect(url_for(target, site_code=user.site.code))
    accounts.require_admin(user)
    return render_template("admin/catalogue_sites.html", user=user,
                           sites=list(Site.select().order_by(Site.kind, Site.name)),
                           target=target, title=title, en=en, every_hall=every_hall)


def hall_pages_for(role: str) -> list[tuple[str, str, str]]:
    return [(endpoint, title, en) for _, endpoint, title, en, roles in HALL_PAGES
            if role in roles]
