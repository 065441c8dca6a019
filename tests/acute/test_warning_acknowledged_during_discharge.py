"""The coordinator acknowledges a referral's ``admitted`` warning while the
hospital reports the citizen discharged, with real concurrent transactions
on PostgreSQL: both are done, one after the other, never a deadlock that
PostgreSQL breaks by failing one of them (a 500 for the coordinator, or the
hospital's message answered as a transient error).

The acknowledgement used to lock the warning and its referral in one
statement, without the citizen's row: holding the warning, it waited for the
referral, while the discharge (her row, then her held referrals, then their
warnings: ``core.locks``) held the referral and waited for the warning. It
now takes her row first, and the warning's own row after it. A reader
holding a share lock on the referral keeps the discharge at its referral
while the acknowledgement comes, so the two surely meet."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from acute import services
from acute.models import DeadlineWarning, Referral
from core.actors import Actor
from core.locks import citizen_lock
from core.models import Role
from tests import factories as f
from tests.lock_waits import in_thread, until, waiting_on_locks

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _hospital(citizen_id: int, call: Callable[[], Any]) -> Callable[[], Any]:
    """A hospital's message: her row locked with its look-up, then the work
    (``integrations.hospital.inbound.citizen_locked``)."""

    def run() -> Any:
        with transaction.atomic():
            citizen_lock(citizen_id)
            return call()

    return run


def test_an_admitted_warning_acknowledged_as_she_is_discharged_is_no_deadlock() -> None:
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    referral = f.acute_referral(by=coordinator.membership)
    _hospital(
        referral.citizen_id,
        lambda: services.referrals_admitted(
            citizen_id=referral.citizen_id, admission="ADM-1", actor=coordinator
        ),
    )()
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)

    results: dict[str, Any] = {}
    reading, read = threading.Event(), threading.Event()

    def reader() -> None:
        with transaction.atomic(), connection.cursor() as cursor:  # a share lock, held open
            cursor.execute(
                f"SELECT id FROM {Referral._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
                [referral.pk],
            )
            reading.set()
            read.wait(timeout=20)

    threads = [in_thread(reader, results, "reader")]
    try:
        assert reading.wait(timeout=10)
        threads.append(
            in_thread(
                _hospital(
                    referral.citizen_id,
                    lambda: services.referrals_resume_after_discharge(
                        citizen_id=referral.citizen_id, actor=coordinator
                    ),
                ),
                results,
                "discharge",
            )
        )
        until(lambda: waiting_on_locks() >= 1)  # her row held, waiting for the referral
        threads.append(
            in_thread(
                lambda: services.warning_acknowledge(warning=warning, actor=coordinator),
                results,
                "acknowledgement",
            )
        )
        until(lambda: waiting_on_locks() >= 2)
    finally:
        read.set()
        for thread in threads:
            thread.join(timeout=30)

    assert results["discharge"] == [referral.pk], results
    assert isinstance(results["acknowledgement"], DeadlineWarning), results
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    # Acknowledged after the discharge raised it again: it has left the board.
    warning.refresh_from_db()
    assert warning.acknowledged_at is not None
    assert "resumed" in warning.detail
