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
# One shared control socket path per user would make parallel servers (tests, a hall box
# running two roles) step on each other; the product does not use it.
control_socket_disable = True


def post_worker_init(worker):
    """Each worker process runs a print-queue thread (printers/worker.py) when
    PRINT_WORKER=on; leases keep the workers from sending a job twice."""
    from printers.worker import start_background
    start_background(worker.wsgi)
