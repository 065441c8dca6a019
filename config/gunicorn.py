"""gunicorn's configuration, the same for `make run` and docker-compose:
``gunicorn -c python:config.gunicorn config.wsgi:application``.

Sized for a small machine (two cores): a few processes with a few threads
each, so one slow request never holds up the rest. Never reloads on a code
change. The access log leaves out the query string and the referrer, where a
search term could sit; CPR-shaped numbers in what remains are scrubbed by the
platform's logging (core/logging.py).
"""

from __future__ import annotations

import gc
import os
from typing import Any

from django.conf import settings

from config.env import is_loopback

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

_host = f"[{settings.BIND_HOST}]" if ":" in settings.BIND_HOST else settings.BIND_HOST
bind = [f"{_host}:{settings.PORT}"]
workers = settings.WEB_WORKERS
worker_class = "gthread"
threads = settings.WEB_THREADS
timeout = 60
graceful_timeout = 20
reload = False
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# gunicorn's own loggers write through the platform's handler: JSON lines with
# the request id, CPR-shaped numbers masked (core/logging.py).
_logging: dict[str, Any] = settings.LOGGING
logconfig_dict = {
    **_logging,
    "loggers": {
        **_logging["loggers"],
        **{
            name: {"handlers": ["console"], "level": "INFO", "propagate": False}
            for name in ("gunicorn.error", "gunicorn.access")
        },
    },
}
# Several servers may run as one user on one machine; a shared control socket
# in the home directory would let one answer for another.
control_socket_disable = True
# The longest request line gunicorn reads (its most). The platform refuses a
# URL over half of it itself (core.boundary.MAX_URL_BYTES), with its own 414
# in the envelope or an OperationOutcome, rather than gunicorn's plain text.
limit_request_line = 8190


def on_starting(server: Any) -> None:
    """Refuse local mode on an address others can reach, however it was given
    (a --bind on the command line overrides ``bind`` above)."""
    if not settings.LOCAL or settings.LOCAL_ALLOW_NON_LOOPBACK:
        return
    for address in server.cfg.address:
        if isinstance(address, tuple) and not is_loopback(address[0]):
            raise RuntimeError(
                f"DEPLOYMENT=local serves plain HTTP on the loopback address only, not on "
                f"{address[0]} (set LOCAL_ALLOW_NON_LOOPBACK=1 to allow it)."
            )


def post_worker_init(worker: Any) -> None:
    """The application is loaded: what it holds now (Django, the models, the
    FHIR and MedCom definitions) lives as long as the process, so the cyclic
    garbage collector stops looking through it (``gc.freeze``). Its full
    collections otherwise walk these few hundred thousand objects again and
    again while requests wait."""
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    """A web process that ended leaves its counted metrics behind for /metrics,
    but not its live gauges (prometheus_client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
