"""Compiled bytecode kept for the suite's Python processes, in ``var/pycache/``.

Besides its own processes, the suite starts some hundreds of Python processes
(gunicorn, Celery workers, the platform's commands, settings read in a fresh
interpreter), and each imports Django, DRF and the FHIR models. Where the
environment turns bytecode off (``PYTHONDONTWRITEBYTECODE``, as container
images and CI hosts often set), each of them compiled all of that from source
again: about 1.7 s of CPU more for every process on CI's two cores.

Loaded first (``-p tests.bytecode`` in pyproject.toml): before Django or the
platform is imported here, and before pytest-xdist starts its processes,
which take this environment with them, as every process a test starts does.
The cache sits under ``var/`` (ignored by git), never beside the sources.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / "var" / "pycache"


def keep_bytecode() -> None:
    """Bytecode written and read again, in this process and every one it starts."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    prefix = os.environ.setdefault("PYTHONPYCACHEPREFIX", str(CACHE))
    sys.pycache_prefix = prefix


keep_bytecode()
