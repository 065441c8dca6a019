"""The contract names the grounds of a break-the-glass (*værdispring*): a
partner reading ``/api/schema/`` learns ``citizen_consented`` and
``cannot_be_asked``, where it read "a text of at most 24 characters". The body
gate reads a choice bounded beside its ``allOf`` as text all the same: a
number for it is ``write.not_text``, as for any other text field."""

from __future__ import annotations

import pytest

from core.query_gate import component
from tests import factories as f
from tests.consent.conftest import World


def _resolved(schema: dict) -> dict:
    parts = schema.get("allOf") or [schema]
    ref = parts[0].get("$ref")
    return component(ref.rsplit("/", 1)[-1]) if ref else parts[0]


def test_the_contract_names_the_two_grounds() -> None:
    for name in ("BreakGlassInRequest",):
        basis = _resolved(component(name)["properties"]["basis"])
        assert sorted(basis["enum"]) == ["cannot_be_asked", "citizen_consented"]


@pytest.mark.django_db
def test_a_number_for_a_bounded_choice_is_refused_as_not_text(world: World) -> None:
    response = f.client_for(world.other_nurse).post(
        "/api/consent/break-glass",
        {"citizen_id": world.person.pk, "reason": "Bevidstløs, kan ikke spørges", "basis": 2},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("write.not_text", "basis")
