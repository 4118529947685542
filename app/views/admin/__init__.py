"""Administration at /admin: running a real MPP without the demo. Admins see every
hall and the centre's catalogue; a hall's supervisor sees the pages of their own hall
and only what a hall decides locally (counters, devices, running text, closures of the
hall, its operators). Each area is a module of this package on the one blueprint of
`shell`, and adds its entry to the navigation with `shell.add_section`:

- `home`: the start page with the sections this user may open;
- `audit`: the audit trail with filters and CSV export;
- `halls`: the halls (`/admin/lokasi`), each row linking to that hall's pages;
- `counters`: a hall's counters and the services each serves, in order;
- `devices`: a hall's kiosks and printers, its boards' running text and board links;
- `booking_settings`: online booking per service of a hall;
- `users`: staff accounts ("Pengguna"), one-time passwords, disable and enable;
- `catalogue`: agencies, services and their standards, each hall's offer;
- `hours`: a hall's weekly opening hours;
- `closures`: a hall's closed days (whole or some services), days off of every hall;
- `notifications`: messages to citizens that failed for good (retry, mark handled) and
  the admin's message templates with their variables and a preview.

Views stay thin: they parse, call one domain function with `current_actor()` (the
audit trail's who and from where), and render `templates/admin/`.
"""
from . import (  # noqa: F401  (importing each area registers its routes on `bp`)
    audit,
    booking_settings,
    catalogue,
    closures,
    counters,
    devices,
    halls,
    home,
    hours,
    notifications,
    users,
)
from .shell import bp

__all__ = ["bp"]
