"""The suite on two processes (pytest-xdist), each with services of its own.

Loaded before Django's settings (``-p tests.parallel`` in pyproject.toml), so a
process's ``REDIS_URL`` names its own Redis database before anything reads it:
the Celery worker one process starts never takes the tasks the other queues.
Each process has its own test database already (pytest-django names it after
the process). A module runs whole in one process (``--dist loadfile``), so
its module-wide servers start once; a fixed port that several modules bind
(the partner tests' platform and simulators) is moved on by :func:`port` in
each further process, and the browser tests' live server looks for a port
in its process's own part of their range (``tests/browser/conftest.py``).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16
PORT_STEP = 100


def worker_number() -> int:
    """This process's number in the run: 0 for ``gw0`` or a run in one process."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def port(fixed: int) -> int:
    """``fixed``, moved on by 100 in each further process of the run."""
    return fixed + PORT_STEP * worker_number()


def _own_redis_database(url: str, number: int) -> str:
    """``url`` with the database number moved on by the process's number,
    modulo Redis's 16."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + number) % REDIS_DATABASES}"))


if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _own_redis_database(os.environ["REDIS_URL"], worker_number())
