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


def post_worker_init(worker):
    """Each worker of a hall (or all-in-one) runs the sync sender thread; a lease in the
    database lets one of them send at a time."""
    from app.synclink import start_sender
    start_sender(worker.wsgi)
