"""What a write's references cost the database: the resources a write names
are looked up in one query per type, not one per reference, and what the
gate reads with the citizen to judge them is read once per write. A
Condition naming five of her Conditions costs what one naming one does; the
refusals stay as they were (tests/consent/test_reference_targets.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from core.actors import Actor
from core.errors import InvalidInput
from core.fhir.references import LocalReference, refuse_unheld
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _her_conditions(world: World, count: int) -> list[str]:  # noqa: F811
    client = f.client_for(world.nurse)
    made = [f"Condition/{world.diagnosis.pk}"]
    for code in ("J10", "J11", "J12", "J13")[: count - 1]:
        created = post(client, "/fhir/Condition", bodies.diagnosis(world.person.pk, code=code))
        assert created.status_code == 201, created.content[:300]
        made.append(f"Condition/{created.json()['id']}")
    return made


def _naming(world: World, targets: list[str]) -> dict[str, Any]:  # noqa: F811
    extra = {"evidence": [{"detail": [{"reference": t} for t in targets]}]} if targets else {}
    return bodies.diagnosis(world.person.pk, code="I10", **extra)


def _queries_of_write(world: World, targets: list[str]) -> int:  # noqa: F811
    client = f.client_for(world.nurse)
    with CaptureQueriesContext(connection) as queries:
        created = post(client, "/fhir/Condition", _naming(world, targets))
    assert created.status_code == 201, created.content[:300]
    return len(queries)


def test_a_write_naming_five_references_costs_what_one_naming_one_does(
    world: World,  # noqa: F811
) -> None:
    held = _her_conditions(world, 5)
    _queries_of_write(world, held[:1])  # what a first write of its kind prepares
    none = _queries_of_write(world, [])
    one = _queries_of_write(world, held[:1])
    five = _queries_of_write(world, held)
    # One look-up of the Conditions named, one reading of the gate's facts.
    assert one == none + 2
    assert five == one


def test_the_check_asks_once_per_type_and_reads_her_facts_once(
    world: World,  # noqa: F811
) -> None:
    held = _her_conditions(world, 3)
    references = [
        *(
            LocalReference(f"Condition.evidence[0].detail[{i}]", *t.split("/"))
            for i, t in enumerate(held)
        ),
        LocalReference("Condition.asserter", "Practitioner", str(world.nurse.user.pk)),
        LocalReference("Condition.encounter", "Encounter", "424242"),
    ]
    actor = Actor.for_membership(world.nurse)
    with CaptureQueriesContext(connection) as queries:
        refuse_unheld(references[:4], citizen_id=world.person.pk, actor=actor, purpose="treatment")
    # Conditions, practitioners, the facts.
    assert len(queries) == 3
    with pytest.raises(InvalidInput) as refused:
        refuse_unheld(references, citizen_id=world.person.pk, actor=actor, purpose="treatment")
    assert refused.value.code == "fhir.reference_unknown"
    assert refused.value.field == "Condition.encounter"


def test_the_first_reference_refused_is_the_one_named_and_recorded_once(
    world: World,  # noqa: F811
) -> None:
    held = _her_conditions(world, 3)
    other = f.citizen()
    f.open_visit(world.nurse, other)
    theirs = post(f.client_for(world.nurse), "/fhir/Condition", bodies.diagnosis(other.pk))
    assert theirs.status_code == 201, theirs.content[:300]
    kept = RecordResource.objects.count()
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    targets = [held[0], f"Condition/{theirs.json()['id']}", held[1], "Condition/424242"]
    created = post(f.client_for(world.nurse), "/fhir/Condition", _naming(world, targets))
    assert created.status_code == 400, created.content[:300]
    assert issue_code(created) == "fhir.reference_unknown"
    assert created.json()["issue"][0]["expression"] == ["Condition.evidence[0].detail[1]"]
    entries = AuditEntry.objects.filter(id__gt=before)
    assert [(e.citizen_id, e.outcome, e.reason_code) for e in entries] == [
        (world.person.pk, "denied", "fhir.reference_unknown")
    ]
    assert RecordResource.objects.count() == kept
