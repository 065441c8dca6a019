"""R4: a citizen's refusal of a whole organisation is not lifted from inside it.

A member of the refused organisation (or, when the refusal takes in its
sub-units, of a unit below it) neither withdraws the refusal nor records a
consent that reaches her while it stands, for a purpose it covers: she would
read on at once, with none of break-the-glass's reason, time limit and flag.
Someone outside the organisation records the citizen's change; the refused
attempt is on the citizen's log (R9). A refusal of everyone is still withdrawn
by whoever records the citizen's word.
"""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.gate import access_citizen
from consent.models import CareRelationship, ConsentDirective
from consent.services import care_relationship_open
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

WITHDRAW_ORALLY = {
    "resourceType": "Parameters",
    "parameter": [{"name": "how", "valueCode": "oral"}],
}


def _with_relationship(world: World, membership: Any, source_id: str) -> Any:
    """A member of staff whose organisation has a referral for the citizen."""
    care_relationship_open(
        citizen=world.person,
        organisation=membership.organisation,
        basis=CareRelationship.Basis.REFERRAL,
        source_type="test.referral",
        source_id=source_id,
    )
    return membership


def _reads(membership: Any, world: World) -> bool:
    try:
        access_citizen(
            actor=Actor.for_membership(membership),
            citizen_id=world.person.pk,
            action="read",
            category="somatic-diagnosis",
            purpose="treatment",
        )
    except NotFoundOrNotAllowed:
        return False
    return True


def _record(membership: Any, world: World, **kwargs: Any) -> dict[str, Any]:
    response = post(
        f.client_for(membership), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )
    assert response.status_code == 201, response.content
    return response.json()


def _withdraw(membership: Any, directive: dict[str, Any]) -> Any:
    return post(
        f.client_for(membership), f"/fhir/Consent/{directive['id']}/$withdraw", WITHDRAW_ORALLY
    )


def _last_denied(world: World) -> AuditEntry:
    return AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")


@pytest.mark.parametrize("recorder", ["nurse", "coordinator"])
def test_r4_a_member_of_the_refused_organisation_cannot_withdraw_it(
    world: World, recorder: str
) -> None:
    coordinator = _with_relationship(world, world.coordinator, "org-refusal")
    refusal = _record(coordinator, world, organisations=[world.acute.pk])
    assert not _reads(world.nurse, world)
    member = world.nurse if recorder == "nurse" else coordinator
    response = _withdraw(member, refusal)
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.own_organisation_refusal"
    assert not ConsentDirective.objects.filter(withdrawal__isnull=False).exists()
    entry = _last_denied(world)
    assert (entry.action, entry.resource_type, entry.resource_id, entry.reason_code) == (
        "update",
        "Consent",
        refusal["id"],
        "consent.own_organisation_refusal",
    )
    assert not _reads(world.nurse, world)
    # Someone outside the organisation records the citizen's change, and it stands.
    outsider = _with_relationship(world, world.home_nurse, "org-refusal-home")
    assert _withdraw(outsider, refusal).status_code == 200
    assert _reads(world.nurse, world)


def test_r4_a_refusal_with_sub_units_is_not_withdrawn_from_a_unit_below(world: World) -> None:
    hospital = world.department.parent
    assert hospital is not None
    physician = _with_relationship(world, world.hospital_physician, "org-refusal-dept")
    with_units = _record(world.nurse, world, organisations=[hospital.pk], sub_units=True)
    response = _withdraw(physician, with_units)
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.own_organisation_refusal"
    # Without its sub-units the refusal does not name the department: hers to record.
    without_units = _record(world.nurse, world, organisations=[hospital.pk], sub_units=False)
    assert _withdraw(physician, without_units).status_code == 200


@pytest.mark.parametrize(
    "permit",
    [
        {},  # everyone
        {"organisations": "acute"},  # her organisation
        {"purposes": ["TREAT"]},  # the purpose the refusal names
    ],
)
def test_r4_a_member_of_the_refused_organisation_cannot_record_a_consent_reaching_it(
    world: World, permit: dict[str, Any]
) -> None:
    _record(world.nurse, world, organisations=[world.acute.pk], purposes=["TREAT"])
    kwargs: dict[str, Any] = {"kind": "permit"}
    if permit.get("organisations"):
        kwargs["organisations"] = [world.acute.pk]
    if permit.get("purposes"):
        kwargs["purposes"] = permit["purposes"]
    response = post(
        f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.own_organisation_refusal"
    assert not ConsentDirective.objects.filter(provision="permit").exists()
    entry = _last_denied(world)
    assert (entry.action, entry.resource_type, entry.reason_code) == (
        "create",
        "Consent",
        "consent.own_organisation_refusal",
    )
    assert not _reads(world.nurse, world)


def test_r4_what_does_not_lift_her_organisations_refusal_she_still_records(world: World) -> None:
    refusal = _record(world.nurse, world, organisations=[world.acute.pk], purposes=["TREAT"])
    # A consent for another organisation or another purpose, a further refusal.
    _record(world.nurse, world, kind="permit", organisations=[world.gp.pk])
    _record(world.nurse, world, kind="permit", purposes=["HRESCH"])
    _record(world.nurse, world, organisations=[world.department.pk])
    assert not _reads(world.nurse, world)
    # A refusal of everyone, and one of another organisation, are hers to withdraw.
    everyone = _record(world.nurse, world)
    assert _withdraw(world.nurse, everyone).status_code == 200
    other = _record(world.nurse, world, organisations=[world.gp.pk])
    assert _withdraw(world.nurse, other).status_code == 200
    assert not ConsentDirective.objects.filter(pk=refusal["id"], withdrawal__isnull=False).exists()


def test_r4_the_refusal_of_the_organisation_reads_in_danish(world: World) -> None:
    coordinator = _with_relationship(world, world.coordinator, "org-refusal-da")
    refusal = _record(coordinator, world, organisations=[world.acute.pk])
    response = _withdraw(world.nurse, refusal)
    assert response.status_code == 403
    assert "din organisation" in response.json()["issue"][0]["diagnostics"]
