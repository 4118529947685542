"""gunicorn settings, read from the same environment as the app (app/config.py).

gthread workers: a pool of threads per worker serves requests. Board and console
websockets hold none: their route answers the upgrade and hands the socket to the
worker's one socket-loop thread (boards/sockets.py), which writes, reads and pings them
all; `worker_exit` closes them with 1001 when the worker stops.
"""
import os
import time

from app.config import from_environment

_env = from_environment()
# One clock for every worker: MPP_CLOCK_START counts from the master's start (app/clock.py).
os.environ.setdefault("MPP_CLOCK_ANCHOR", str(time.time()))
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


def when_ready(server):
    """Say it loudly, once, in the master: several workers without Redis miss calls."""
    from boards.setup import fanout_warning
    message = fanout_warning(_env)
    if message:
        server.log.warning(message)


def post_worker_init(worker):
    """Background work of each worker process: board and console websockets close
    ("going away") as soon as the worker is asked to stop; the print-queue thread
    (PRINT_WORKER=on); in a hall or all-in-one, the sync sender; where a notification
    channel is set, the notification sender; the daily backup (app/backup.py, one
    worker at a time by a file lock). Leases in the database
    keep workers from sending a print job or a forwarding message twice."""
    from app.backup import start_scheduler
    from app.centre_link import start_sender
    from app.notify import start_sender as start_notify_sender
    from app.printing.worker import start_background
    from boards.setup import attach_worker
    attach_worker(worker)
    start_background(worker.wsgi)
    start_sender(worker.wsgi)
    start_notify_sender(worker.wsgi)
    start_scheduler(worker.wsgi)  # the daily backup; marks DATA_DIR as served


def worker_exit(server, worker):
    """In the stopping worker: every board and console socket gets its 1001 ("going
    away") before the process ends, so the boards reconnect to the next worker at once."""
    from boards.setup import worker_exit as close_board_sockets
    close_board_sockets(worker)
