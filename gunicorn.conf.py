"""gunicorn settings, read from the same environment as the app (app/config.py).

gthread workers: websockets (flask-sock) hold a thread each while a board is connected,
so each worker has a pool of threads; kiosks and consoles use the rest.
"""
import os

from app.config import from_environment

_env = from_environment()
bind = f"{_env['HOST']}:{_env['PORT']}"
workers = int(_env["WEB_CONCURRENCY"])
worker_class = "gthread"
threads = int(_env["GUNICORN_THREADS"])
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("ACCESS_LOG", "off") == "on" else None
errorlog = "-"


def when_ready(server):
    """Say it loudly, once, in the master: several workers without Redis miss calls."""
    from boards import transport_warning
    message = transport_warning(_env)
    if message:
        server.log.warning(message)


def post_worker_init(worker):
    """Board websockets close ("going away") when this worker is asked to stop."""
    from boards import attach_worker
    attach_worker(worker)
