"""R6: an answer is kept per question and per the data it is counted over, not
per analyst. Two analysts of one organisation, or one analyst acting for two,
asking the same question over the same data get its one answer, so pooling
what they were given averages no noise away; each pays for it once, the first
time she is given it. A refusal that covers one organisation and not the
other (R4) makes a different table, answered apart: the refusing citizen is
never counted for anyone her refusal covers."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from consent.models import AnalysisRelease, PrivacyBudgetEntry
from core.models import Membership, Role
from tests import factories as f
from tests.consent.analysis_api import run
from tests.consent.conftest import World
from tests.consent.test_analyses import NOISELESS, _people
from tests.consent.test_analyses_refusal_of_analyst import _refuse, _six_people

HALF = override_settings(
    CONSENT_ANALYSIS_EPSILON_PER_RUN=Decimal("0.5"), CONSENT_ANALYSIS_EPSILON_BUDGET=Decimal("5")
)


QUESTION = {"diagnosis": "E11", "service": "home-nursing"}


def _ask(membership: Membership) -> dict[str, Any]:
    response = run(f.client_for(membership), "diagnosis-and-service", **QUESTION)
    assert response.status_code in (200, 201), response.content
    return response.json()


def _also_for(membership: Membership, organisation: Any) -> Membership:
    """The same analyst, acting for another organisation as well."""
    return Membership.objects.create(
        user=membership.user, organisation=organisation, role=Role.ANALYST, is_default=False
    )


@HALF
def test_r6_two_analysts_of_one_organisation_get_one_answer_and_each_pays_once(
    world: World,
) -> None:
    for code in ("157", "159", "173", "230"):
        f.municipality(code)
    _people(world, 20, "E11", "157", "home-nursing")
    gentofte = f.municipality("157")
    first, second = f.staff(Role.ANALYST, gentofte), f.staff(Role.ANALYST, gentofte)

    given = _ask(first)
    pooled = _ask(second)

    # The same noisy table: nothing to average.
    assert (pooled["rows"], pooled["total"]) == (given["rows"], given["total"])
    assert AnalysisRelease.objects.count() == 1
    # Each paid once for it, and asking again is free for each.
    assert pooled["privacy"]["epsilon_spent"] == 0.5 and pooled["privacy"]["reused"] is False
    again = _ask(second)
    assert again["privacy"]["reused"] is True and again["privacy"]["epsilon_spent"] == 0
    assert sorted(PrivacyBudgetEntry.objects.values_list("analyst_id", flat=True)) == sorted(
        [first.user_id, second.user_id]
    )


@HALF
def test_r6_one_analyst_acting_for_two_organisations_gets_one_answer(world: World) -> None:
    _people(world, 20, "E11", "157", "home-nursing")
    as_gentofte = f.staff(Role.ANALYST, f.municipality("157"))
    as_region = _also_for(as_gentofte, f.organisation("region", "Region Hovedstaden"))

    given = _ask(as_gentofte)
    again = _ask(as_region)

    assert (again["rows"], again["total"]) == (given["rows"], given["total"])
    assert again["privacy"]["reused"] is True and again["privacy"]["epsilon_spent"] == 0
    assert PrivacyBudgetEntry.objects.filter(analyst=as_gentofte.user).count() == 1


@NOISELESS
def test_r4_an_answer_is_not_given_again_to_whom_a_refusal_covers(world: World) -> None:
    """Counted for her acting for the region, the answer has all six; acting
    for Gentofte, whose analysts a citizen refused, it is another table with
    five — never the region's answer given again."""
    people = _six_people(world)
    gentofte = f.municipality("157")
    as_region = f.staff(Role.ANALYST, f.organisation("region", "Region Hovedstaden"))
    as_gentofte = _also_for(as_region, gentofte)
    _refuse(world, people[0], purposes=["HRESCH"], organisations=[gentofte.pk])

    def total(table: dict[str, Any]) -> int | None:
        return {r["municipality"]: r for r in table["rows"]}["Gentofte Kommune"]["total"]

    assert total(_ask(as_region)) == 6
    for_gentofte = _ask(as_gentofte)
    assert total(for_gentofte) == 5
    assert for_gentofte["privacy"]["reused"] is False  # another table, paid for
    assert AnalysisRelease.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@HALF
def test_r6_analysts_asking_one_question_at_the_same_moment_get_one_answer(
    world: World,
) -> None:
    """Four analysts of one organisation ask the same new question at once:
    one new answer, given to all four."""
    gentofte = f.municipality("157")
    analysts = [f.staff(Role.ANALYST, gentofte) for _ in range(4)]
    tokens = [f.token_for(a) for a in analysts]
    barrier = threading.Barrier(len(tokens))
    outcomes: list[Any] = [None] * len(tokens)

    def ask(i: int) -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        try:
            barrier.wait(timeout=10)
            got = run(client, "diagnosis-and-service", **QUESTION)
            outcomes[i] = (got.status_code, got.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # Each is given it for the first time: new to her, paid for (201).
    assert [status for status, _ in outcomes] == [201] * len(tokens), outcomes
    assert len({(str(b["rows"]), b["total"]) for _, b in outcomes}) == 1
    assert AnalysisRelease.objects.count() == 1
    assert PrivacyBudgetEntry.objects.count() == len(tokens)
