"""The row locks a write on a citizen's record sends, read from its SQL
(the lock order, ``core.locks``; ADR 0038).

A ``SELECT ... FOR UPDATE`` without ``OF`` locks a row of every table the
statement names: a row joined in only to be read is locked too, out of the
order. The nurse's own user row behind her shift was locked by every
dispatch of her, a result's test by every correction of a result of it, a
warning's referral by the coordinator's acknowledgement, a referral's
episode when a death is withdrawn. Each lock here names its own table only,
and a write that starts from a warning, a result or an order takes the
citizen's row before it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acute import services
from acute.clinical.models import LabResult, MedicationOrder
from acute.clinical.services import (
    lab_result_correct,
    lab_result_withdraw,
    medication_order_cancel,
    medication_order_confirm,
)
from acute.models import DeadlineWarning, Episode
from acute.services.deaths import death_withdrawn_warn
from core.actors import Actor
from core.models import Citizen, Role
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene

# The SQL a service sends is read: SQLite takes no row locks (FOR UPDATE).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def scene(db: None) -> Scene:
    return visit_scene()


_LOCK = re.compile(r"\bFOR (?:NO KEY )?UPDATE\b(?: OF (?P<of>.+?))?(?: SKIP LOCKED| NOWAIT)?$")


def _locks(context: CaptureQueriesContext) -> list[tuple[str, list[str] | None, bool]]:
    """Each locking statement sent: the table it selects from, the tables its
    ``OF`` names (None without ``OF``), and whether it joins another table."""
    found = []
    for query in context.captured_queries:
        sql = query["sql"].strip()
        lock = _LOCK.search(sql)
        if lock is None:
            continue
        table = re.search(r'\bFROM "(\w+)"', sql)
        assert table is not None, sql
        of = [name.strip().strip('"') for name in lock["of"].split(",")] if lock["of"] else None
        found.append((table.group(1), of, " JOIN " in sql[: lock.start()]))
    return found


def _own_rows_only(context: CaptureQueriesContext) -> list[str]:
    """Assert no lock reaches a joined row; return the locked tables in order."""
    tables = []
    for table, of, joins in _locks(context):
        if joins:
            assert of == [table], f"{table}: a joined row is locked with it ({of})"
        tables.append(table)
    return tables


def _first_is_hers(tables: list[str]) -> None:
    assert tables, "nothing was locked"
    assert tables[0] == Citizen._meta.db_table, tables


def _coordinator() -> Actor:
    return Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))


def test_a_dispatch_locks_the_nurses_shift_not_her_user_row() -> None:
    coordinator = _coordinator()
    _nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator.membership)
    with CaptureQueriesContext(connection) as sent:
        services.visit_assign(referral=referral, shift=shift, actor=coordinator)
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert "acute_nurseshift" in tables
    assert shift.nurse._meta.db_table not in tables


def test_a_follow_up_planned_locks_the_nurses_shift_not_her_user_row(scene: Scene) -> None:
    coordinator = Actor.for_membership(scene.coordinator)
    _nurse, shift = f.acute_nurse_on_shift()
    episode = Episode.objects.get(pk=scene.referral.episode_id)
    with CaptureQueriesContext(connection) as sent:
        services.visit_plan_follow_up(
            episode=episode,
            shift=shift,
            planned_for=timezone.now() + dt.timedelta(hours=2),
            actor=coordinator,
        )
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert "acute_nurseshift" in tables
    assert shift.nurse._meta.db_table not in tables


def _crp(scene: Scene) -> LabResult:
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": "250", "unit": "mg/L"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return LabResult.objects.get(pk=response.json()["results"][0]["id"])


def test_a_result_withdrawn_locks_her_row_then_the_results_not_their_test(scene: Scene) -> None:
    result = _crp(scene)
    with CaptureQueriesContext(connection) as sent:
        lab_result_withdraw(
            actor=Actor.for_membership(scene.nurse), result=result, reason="Forkert patient"
        )
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert tables.count(LabResult._meta.db_table) == 2  # the result, and what was computed from it
    assert result.test._meta.db_table not in tables


def test_a_result_corrected_locks_her_row_then_the_results_not_their_test(scene: Scene) -> None:
    result = _crp(scene)
    with CaptureQueriesContext(connection) as sent:
        lab_result_correct(
            actor=Actor.for_membership(scene.nurse),
            result=result,
            reason="Tastefejl: 25",
            value="25",
            unit="mg/L",
        )
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert result.test._meta.db_table not in tables


def test_a_warning_acknowledged_locks_her_row_then_the_warning_only(scene: Scene) -> None:
    warning = services.episode_end_warning_raise(
        referral=scene.referral, kind=DeadlineWarning.Kind.REFERRER_UNTOLD, detail={}
    )
    with CaptureQueriesContext(connection) as sent:
        services.warning_acknowledge(warning=warning, actor=Actor.for_membership(scene.coordinator))
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert tables[1:] == [DeadlineWarning._meta.db_table]
    assert DeadlineWarning.objects.get(pk=warning.pk).acknowledged_at is not None


def test_a_death_withdrawn_locks_her_referrals_not_their_episodes() -> None:
    coordinator = _coordinator()
    referral = f.acute_referral(by=coordinator.membership)
    with CaptureQueriesContext(connection) as sent, transaction.atomic():
        death_withdrawn_warn(
            citizen_id=referral.citizen_id, withdrawn=timezone.now(), reported={}, actor=coordinator
        )
    tables = _own_rows_only(sent)
    assert tables == [referral._meta.db_table]


def _phone_order(scene: Scene) -> MedicationOrder:
    return f.phone_order(scene.nurse, scene.visit)


def test_a_phone_order_confirmed_locks_her_row_first(scene: Scene) -> None:
    order = _phone_order(scene)
    with CaptureQueriesContext(connection) as sent:
        medication_order_confirm(actor=Actor.for_membership(scene.physician), order=order)
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert MedicationOrder._meta.db_table in tables


def test_an_order_stopped_locks_her_row_first(scene: Scene) -> None:
    order = _phone_order(scene)
    with CaptureQueriesContext(connection) as sent:
        medication_order_cancel(
            actor=Actor.for_membership(scene.physician), order=order, reason="Allergisk reaktion"
        )
    tables = _own_rows_only(sent)
    _first_is_hers(tables)
    assert MedicationOrder._meta.db_table in tables
