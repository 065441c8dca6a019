"""Fixtures shared by the walks over the FHIR base."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.consent.audit.test_every_endpoint_audits import Seeded, seed
from tests.made_once import made_once


@pytest.fixture(scope="module")
def seeded_once(django_db_setup: None, django_db_blocker: Any) -> Iterator[Seeded]:
    """The audit walk's citizen with one object of every kind, made once for
    the module that asks for her (``tests/made_once.py``): each test finds her
    as she was made, and what one test wrote is gone before the next."""
    yield from made_once(django_db_blocker, seed)
