"""Answers shared by every view: a whole page or, for htmx, the region it swaps; and
files (tickets, receipts, attachments) that are never cached by a browser or proxy."""
from flask import current_app, render_template, send_file
from flask_htmx import HTMX

from ..domain import attachments

htmx = HTMX()


def page_or_fragment(page: str, fragment: str, **context) -> str:
    """An htmx request gets the fragment it swaps; a browser load gets the whole page,
    which includes that same fragment. So does htmx restoring a pushed address it no
    longer has in its history cache (it sends HX-Request then too)."""
    wants_fragment = bool(htmx) and not htmx.history_restore_request
    return render_template(fragment if wants_fragment else page, **context)


def file_response(body: bytes, mimetype: str, filename: str, inline: bool = True):
    """Bytes made for one person (a ticket, a receipt): shown inline or downloaded,
    never stored by a cache."""
    disposition = "inline" if inline else "attachment"
    return body, 200, {"Content-Type": mimetype, "Cache-Control": "private, no-store",
                       "Content-Disposition": f'{disposition}; filename="{filename}"'}


def attachment_response(case, uid: str):
    """A case's uploaded scan (hall pages and API alike) as a download that a browser
    never runs."""
    path, mimetype, name = attachments.stored_file(current_app.config["ATTACHMENT_DIR"],
                                                   case, uid)
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
