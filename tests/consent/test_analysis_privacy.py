"""R6 across queries: the analyses are differentially private, so combining
answers recovers noise, not a suppressed count.

The classic attacks on suppressed tables — differencing nested diagnosis
prefixes, a total against the complement of a small group, a small group
padded with a large one and the padding subtracted (a tracker) — each worked
exactly, every time, when answers were exact. Each attack below is made many
times, each attempt by a new analyst in a later budget window (within one
window every analyst asking a question over the same data gets its one
answer, so fresh noise needs a new window). With epsilon 0.5 per answer
the recovered value equals the true small count in a given attempt with
probability at most 0.13 (tracker: two cells) or 0.053 (the others: a total of
eight noisy cells), so "exact in at most half the attempts" fails by chance
with probability below 2e-8.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from consent.analyses import runs
from consent.audit.models import AuditEntry
from consent.models import AnalysisRelease, PrivacyBudgetEntry
from consent.privacy import discrete_laplace
from consent.services import record_resource_create
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.analysis_api import run, run_csv
from tests.consent.conftest import World

# The bounds in the module docstring are for this epsilon; pinned so a
# different deployment setting cannot change what the tests prove.
HALF = override_settings(
    CONSENT_ANALYSIS_EPSILON_PER_RUN=Decimal("0.5"), CONSENT_ANALYSIS_EPSILON_BUDGET=Decimal("5")
)
SMALL = 2  # the small group: two Gentofte citizens with E10 who receive home nursing


def _population(world: World) -> None:
    """Gentofte: 2 citizens with E10 and 10 with E11 receiving home nursing,
    10 with E11 not receiving it. The other three municipalities are empty."""
    for code in ("157", "159", "173", "230"):
        f.municipality(code)
    nurse = Actor.for_membership(world.nurse)
    for code, n, service in (("E10", SMALL, True), ("E11", 10, True), ("E11", 10, False)):
        for _ in range(n):
            person = f.citizen(municipality_code="157")
            f.open_visit(world.nurse, person)
            record_resource_create(
                actor=nurse, data=bodies.diagnosis(person.pk, code=code), purpose="treatment"
            )
            if service:
                record_resource_create(
                    actor=nurse,
                    data=bodies.municipal_help(person.pk, service="home-nursing"),
                    purpose="treatment",
                )


def _ask(client: Any, diagnosis: str) -> dict[str, Any]:
    response = run(client, "diagnosis-and-service", diagnosis=diagnosis, service="home-nursing")
    assert response.status_code in (200, 201), response.content
    table = response.json()
    shown = [v for row in table["rows"] for v in [*row["cells"], row["total"]]]
    shown += [*table["column_totals"], table["total"]]
    assert all(v is None or v >= 5 for v in shown), table  # nothing small is ever published
    assert table["privacy"]["noisy"] is True
    return table


def _gentofte(table: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in table["rows"] if r["municipality"] == "Gentofte Kommune")


def _attempts(n: int, attack: Callable[[Any], int | None]) -> list[int | None]:
    """The attack made by ``n`` analysts, one attempt each, each a budget
    window after the one before: the answers of an earlier window are no
    longer given again."""
    window = dt.timedelta(days=settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS + 1)
    real = timezone.now
    recovered = []
    for attempt in range(n):
        later = SimpleNamespace(now=lambda attempt=attempt: real() + window * attempt)
        with mock.patch.object(runs, "timezone", later):
            analyst = f.client_for(f.staff(Role.ANALYST, f.municipality("157")))
            recovered.append(attack(analyst))
    return recovered


def _differencing(client: Any) -> int | None:
    wide, narrow = _ask(client, "E1")["total"], _ask(client, "E11")["total"]
    return None if wide is None or narrow is None else wide - narrow


def _complement(client: Any) -> int | None:
    total = _ask(client, "E1")["total"]
    others = [_ask(client, code)["total"] for code in ("E11", "E12", "E13", "E14")]
    if total is None or others[0] is None:
        return None
    # A hidden total of an empty prefix is taken as 0, the attacker's best guess.
    return total - sum(v or 0 for v in others)


def _tracker(client: Any) -> int | None:
    padded = _gentofte(_ask(client, "E1"))["cells"][0]
    padding = _gentofte(_ask(client, "E11"))["cells"][0]
    return None if padded is None or padding is None else padded - padding


@HALF
def test_r6_differencing_nested_prefixes_recovers_noise_not_the_small_count(
    world: World,
) -> None:
    """E1 minus E11 was exactly the two E10 citizens that an E10 table suppresses."""
    _population(world)
    recovered = _attempts(20, _differencing)
    assert sum(v == SMALL for v in recovered) <= 10, recovered
    assert len({v for v in recovered if v is not None}) > 1, recovered


@HALF
def test_r6_complementary_queries_against_a_total_recover_noise(world: World) -> None:
    """The E1 total minus its complement (E11 to E14) was exactly the E10 group."""
    _population(world)
    recovered = _attempts(20, _complement)
    assert sum(v == SMALL for v in recovered) <= 10, recovered


@HALF
def test_r6_a_tracker_padding_a_small_cell_recovers_noise(world: World) -> None:
    """Gentofte's 'receives home nursing' cell for E1 (the small group padded
    with ten E11 citizens) minus the same cell for E11 (the padding) was exactly
    the small group, at cell level."""
    _population(world)
    recovered = _attempts(40, _tracker)
    assert sum(v == SMALL for v in recovered) <= 20, recovered


@HALF
def test_r6_asking_again_gives_the_same_answer_at_no_cost(world: World) -> None:
    """Repeating a question (also spelt differently, also as CSV) cannot average
    the noise away: the analyst gets the first answer back and pays once."""
    _population(world)
    client = f.client_for(world.analyst)
    first = _ask(client, "E1")
    assert first["privacy"]["epsilon_spent"] == 0.5 and first["privacy"]["reused"] is False
    for again in (
        _ask(client, "E1"),
        _ask(client, " e1 "),
        _ask(client, "e1"),
    ):
        assert again["rows"] == first["rows"] and again["total"] == first["total"]
        assert again["privacy"]["reused"] is True and again["privacy"]["epsilon_spent"] == 0
        assert again["privacy"]["budget_spent"] == 0.5
    csv = run_csv(
        client, "diagnosis-and-service", diagnosis="E1", service="home-nursing"
    ).content.decode()
    gentofte = _gentofte(first)
    assert csv.splitlines()[1].startswith("Gentofte Kommune,") and csv.splitlines()[1].split(",")[
        1:
    ] == [("skjult" if v is None else str(v)) for v in [*gentofte["cells"], gentofte["total"]]]
    assert PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user).count() == 1
    runs = AuditEntry.objects.filter(actor_user_id=world.analyst.user_id, purpose="analysis")
    assert runs.count() == 6
    assert [e.detail["reused"] for e in runs.order_by("id")] == [False, *[True] * 5]
    assert runs.order_by("id").last().action == "export"


def _distinct_questions(n: int) -> list[str]:
    return [f"{letter}{digit}" for letter in "ABCDE" for digit in range(10)][:n]


def test_r6_the_budget_from_settings_is_enforced_and_a_refusal_is_audited(world: World) -> None:
    """With the configured epsilon per answer and budget, exactly budget / epsilon
    new answers are given in the window; the next is refused with
    ``analysis.budget_exhausted`` (R6), audited, and nothing is spent. Answers
    already given can still be asked for again; another analyst has a budget of
    their own."""
    per_run = settings.CONSENT_ANALYSIS_EPSILON_PER_RUN
    allowed = int(settings.CONSENT_ANALYSIS_EPSILON_BUDGET // per_run)
    assert 1 <= allowed <= 40
    questions = _distinct_questions(allowed + 1)
    client = f.client_for(world.analyst)
    for diagnosis in questions[:allowed]:
        _ask(client, diagnosis)
    refused = run(client, "diagnosis-and-service", diagnosis=questions[-1], service="home-nursing")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (error["code"], error["rule"]) == ("analysis.budget_exhausted", "R6")
    assert "privatlivsbudget" in error["message"]
    entry = AuditEntry.objects.filter(actor_user_id=world.analyst.user_id).latest("id")
    assert (entry.outcome, entry.reason_code, entry.purpose) == (
        "denied",
        "budget_exhausted",
        "analysis",
    )
    assert entry.detail["parameters"]["diagnosis"] == questions[-1]
    assert PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user).count() == allowed
    assert AnalysisRelease.objects.filter(analyst=world.analyst.user).count() == allowed
    again = _ask(client, questions[0])
    assert again["privacy"]["reused"] is True and again["privacy"]["budget_remaining"] < float(
        per_run
    )
    listing = client.get("/api/consent/analyses").json()["privacy_budget"]
    assert listing["budget_remaining"] < float(per_run)
    other = f.client_for(f.staff(Role.ANALYST, f.municipality("159")))
    assert _ask(other, questions[-1])["privacy"]["epsilon_spent"] == float(per_run)


@HALF
def test_r6_spending_and_answers_older_than_the_window_no_longer_count(world: World) -> None:
    """The budget is over a rolling window: an answer from before it is neither
    given again nor counted against the budget; one inside it is both."""
    analyst = world.analyst.user
    client = f.client_for(world.analyst)
    window = settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS
    old = timezone.now() - dt.timedelta(days=window, minutes=1)
    table = {"rows": [], "cells": [], "row_totals": [], "column_totals": [], "total": None}
    release = AnalysisRelease.objects.create(
        analyst=analyst,
        analysis="diagnosis-and-service",
        parameters={"diagnosis": "E1", "service": "home-nursing"},
        parameters_key='{"diagnosis":"E1","service":"home-nursing"}',
        table={**table, "min_cell": 5},
        epsilon=Decimal("5"),
        sensitivity=1,
        released_at=old,
    )
    PrivacyBudgetEntry.objects.create(
        analyst=analyst, release=release, epsilon=Decimal("5"), spent_at=old
    )
    fresh = _ask(client, "E1")
    assert fresh["privacy"]["reused"] is False and fresh["privacy"]["budget_spent"] == 0.5
    assert len(fresh["rows"]) == 4
    for n in range(9):
        _ask(client, f"A{n}")
    assert client.get("/api/consent/analyses").json()["privacy_budget"]["budget_remaining"] == 0
    refused = run(client, "diagnosis-and-service", diagnosis="B1", service="home-help")
    assert refused.json()["error"]["code"] == "analysis.budget_exhausted"


@pytest.mark.postgres
def test_r6_the_budget_ledger_and_the_answers_cannot_be_rewritten(world: World) -> None:
    """Append-only in the database: no budget is given back, no answer changed."""
    _ask(f.client_for(world.analyst), "E1")
    entry = PrivacyBudgetEntry.objects.get(analyst=world.analyst.user)
    for change in (
        lambda: PrivacyBudgetEntry.objects.filter(pk=entry.pk).update(epsilon=Decimal("0.001")),
        lambda: PrivacyBudgetEntry.objects.filter(pk=entry.pk).delete(),
        lambda: AnalysisRelease.objects.filter(pk=entry.release_id).update(table={}),
        lambda: AnalysisRelease.objects.filter(pk=entry.release_id).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert PrivacyBudgetEntry.objects.get(pk=entry.pk).epsilon == Decimal("0.5")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(
    CONSENT_ANALYSIS_EPSILON_PER_RUN=Decimal("0.5"), CONSENT_ANALYSIS_EPSILON_BUDGET=Decimal("1")
)
def test_r6_runs_at_the_same_moment_cannot_overspend_or_answer_twice(world: World) -> None:
    """Six runs at once by one analyst (two tabs, a script): three ask one
    question, three ask others. One answer to the shared question, and never
    more new answers than the budget pays for."""
    barrier = threading.Barrier(6)
    outcomes: list[Any] = [None] * 6
    questions = ["E1", "E1", "E1", "A1", "B1", "C1"]
    tokens = [f.token_for(world.analyst) for _ in questions]

    def ask(i: int) -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        try:
            barrier.wait(timeout=10)
            got = run(
                client, "diagnosis-and-service", diagnosis=questions[i], service="home-nursing"
            )
            outcomes[i] = (got.status_code, got.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    answered = [body for status, body in outcomes if status in (200, 201)]
    refused = [body for status, body in outcomes if status == 403]
    assert len(answered) + len(refused) == 6, outcomes
    assert all(b["error"]["code"] == "analysis.budget_exhausted" for b in refused)
    spent = PrivacyBudgetEntry.objects.filter(analyst=world.analyst.user)
    assert sum(e.epsilon for e in spent) <= Decimal("1")
    assert spent.count() == 2
    shared = [b for b in answered if b["parameters"]["diagnosis"] == "E1"]
    assert len({(b["total"], str(b["rows"])) for b in shared}) <= 1
    assert (
        AnalysisRelease.objects.filter(
            analyst=world.analyst.user, parameters__diagnosis="E1"
        ).count()
        <= 1
    )


def test_r6_noise_is_discrete_laplace_with_the_stated_scale() -> None:
    """P(0) = (1 - a) / (1 + a) and P(1) = P(0) * a with a = exp(-epsilon / sensitivity);
    symmetric around 0. Tolerances are at least 5.5 standard deviations."""
    draws = 12000
    for epsilon, sensitivity in ((Fraction(1, 2), 1), (Fraction(1, 2), 2)):
        sample = [discrete_laplace(epsilon=epsilon, sensitivity=sensitivity) for _ in range(draws)]
        a = math.exp(-float(epsilon) / sensitivity)
        p0 = (1 - a) / (1 + a)
        for value, p in ((0, p0), (1, p0 * a), (-1, p0 * a)):
            observed = sample.count(value) / draws
            assert abs(observed - p) < 5.5 * math.sqrt(p * (1 - p) / draws), (value, observed, p)
        variance = 2 * a / (1 - a) ** 2
        assert abs(sum(sample) / draws) < 6 * math.sqrt(variance / draws)


def test_r6_noise_does_not_come_from_a_seeded_generator() -> None:
    """Seeding Python's ``random`` does not repeat the noise: it comes from the
    operating system's generator, which an analyst cannot replay."""
    half = Fraction(1, 2)
    random.seed(6)
    first = [discrete_laplace(epsilon=half, sensitivity=1) for _ in range(60)]
    random.seed(6)
    second = [discrete_laplace(epsilon=half, sensitivity=1) for _ in range(60)]
    assert first != second  # equal by chance with probability below 1e-30
