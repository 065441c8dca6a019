"""R4: break-the-glass reads for a short time; it does not lift a refusal for good.

A clinician without a care relationship whom only her open override lets at
the citizen may not record a consent nor withdraw a refusal: either would
outlast the time limit and open the record to others with none of the
override's reason and flag. The refused attempt is on the citizen's log as
an emergency access (R9). What restricts — a further refusal, the withdrawal
of a consent — she still records.
"""

from __future__ import annotations

from typing import Any

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

WITHDRAW_ORALLY = {
    "resourceType": "Parameters",
    "parameter": [{"name": "how", "valueCode": "oral"}],
}


def _record(membership: Any, world: World, **kwargs: Any) -> Any:
    return post(
        f.client_for(membership), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )


def _withdraw(membership: Any, directive_id: str) -> Any:
    return post(
        f.client_for(membership), f"/fhir/Consent/{directive_id}/$withdraw", WITHDRAW_ORALLY
    )


def _break_glass(world: World) -> None:
    opened = f.client_for(world.other_nurse).post(
        "/api/consent/break-glass",
        {
            "citizen_id": world.person.pk,
            "reason": "Bevidstløs borger, akut behov for medicinliste",
            "basis": "cannot_be_asked",
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content


def _last_denied(world: World) -> AuditEntry:
    return AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")


def test_r4_a_consent_is_not_recorded_under_break_the_glass_alone(world: World) -> None:
    _break_glass(world)
    response = _record(world.other_nurse, world, kind="permit")
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.lifted_under_break_glass"
    assert "Nødadgang" in response.json()["issue"][0]["diagnostics"]
    assert not ConsentDirective.objects.filter(provision="permit").exists()
    entry = _last_denied(world)
    assert (entry.action, entry.resource_type, entry.purpose, entry.reason_code) == (
        "create",
        "Consent",
        "emergency",
        "consent.lifted_under_break_glass",
    )


def test_r4_a_refusal_is_not_withdrawn_under_break_the_glass_alone(world: World) -> None:
    refusal = _record(world.nurse, world)  # the citizen refuses everyone
    assert refusal.status_code == 201
    _break_glass(world)
    response = _withdraw(world.other_nurse, refusal.json()["id"])
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.lifted_under_break_glass"
    assert not ConsentDirective.objects.filter(withdrawal__isnull=False).exists()
    entry = _last_denied(world)
    assert (entry.action, entry.resource_id, entry.purpose, entry.reason_code) == (
        "update",
        refusal.json()["id"],
        "emergency",
        "consent.lifted_under_break_glass",
    )
    # The nurse with the visit records the citizen's change.
    assert _withdraw(world.nurse, refusal.json()["id"]).status_code == 200


def test_r4_what_restricts_is_still_recorded_under_break_the_glass(world: World) -> None:
    consent = _record(world.nurse, world, kind="permit", organisations=[world.gp.pk])
    assert consent.status_code == 201
    _break_glass(world)
    assert _record(world.other_nurse, world, organisations=[world.department.pk]).status_code == 201
    assert _withdraw(world.other_nurse, consent.json()["id"]).status_code == 200
