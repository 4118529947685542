"""Shared web plumbing: every page, API view, board page and printer page uses this
package, and none of them imports another view module.

- `plumbing`: per-request database connection, CSRF, login, security headers, session
  timeouts and the one error handler (JSON under /api/, HTML for pages).
- `inputs`: what a view reads from a request (JSON body, typed fields, caller, `now`).
- `auth`: the bearer-token decorator and the logged-in staff member.
- `responses`: a whole page or an htmx fragment, file downloads.
- `urls`: public addresses printed in QR codes (ticket page, case tracking).
- `openapi`: the registry each API view module adds its operations to.
"""
from .plumbing import init_app

__all__ = ["init_app"]
