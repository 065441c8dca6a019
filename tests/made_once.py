"""Set-up made once for a module whose tests each run in a savepoint of it.

A module-scoped fixture opens one transaction, makes what its tests share and
yields it; each test (``django_db``, not transactional) runs in a savepoint
of that transaction, rolled back after the test, so every test finds the
set-up as it was made and nothing one test wrote reaches the next. The
transaction is rolled back after the module's last test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.db import transaction

T = TypeVar("T")


def made_once(django_db_blocker: Any, make: Callable[[], T]) -> Iterator[T]:
    """Yields ``make()``, made in a transaction held open for the module."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            made = make()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield made
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
