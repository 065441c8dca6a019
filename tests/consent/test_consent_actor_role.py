"""R4: a directive refuses (or permits) disclosure to its actors as
recipients. An actor coded in another role (the author who recorded it, the
custodian, the verifier) is refused, never read as a recipient: read so, the
organisation that recorded a citizen's refusal would be refused her record.
Nor is a custodian (``Consent.organization``) other than the recorder
replaced unsaid."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def _refusal_with_role(world: World, role: dict[str, Any]) -> dict[str, Any]:
    body = bodies.refusal(world.person.pk, organisations=[world.home.pk])
    body["provision"]["actor"][0]["role"] = role
    return body


@pytest.mark.parametrize(
    "role",
    [
        {"coding": [{"system": PARTICIPATION, "code": "AUT"}]},
        {"coding": [{"system": PARTICIPATION, "code": "CST"}]},
        {"coding": [{"code": "VRF"}]},
        {"coding": [{"system": "urn:other", "code": "IRCP"}]},
    ],
)
def test_an_actor_in_another_role_than_recipient_is_refused(
    world: World, role: dict[str, Any]
) -> None:
    response = post(
        f.client_for(world.administrator), "/fhir/Consent", _refusal_with_role(world, role)
    )

    assert response.status_code == 400, response.content
    assert issue_code(response) == "consent.actor_role_unsupported"
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["provision.actor[0].role"]
    assert "modtager" in issue["details"]["text"]
    assert not ConsentDirective.objects.filter(citizen=world.person).exists()
    assert AuditEntry.objects.filter(
        citizen_id=world.person.pk, outcome="denied", reason_code="consent.actor_role_unsupported"
    ).exists()


@pytest.mark.parametrize(
    "role",
    [
        {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
        {"coding": [{"code": "PRCP"}]},
        {"text": "recipient"},
    ],
)
def test_a_recipient_is_taken(world: World, role: dict[str, Any]) -> None:
    response = post(
        f.client_for(world.administrator), "/fhir/Consent", _refusal_with_role(world, role)
    )

    assert response.status_code == 201, response.content
    directive = ConsentDirective.objects.get(pk=response.json()["id"])
    assert list(directive.recipient_organisations.values_list("pk", flat=True)) == [world.home.pk]


def test_a_directive_read_back_is_taken_as_it_reads(world: World) -> None:
    """The platform's own answer names its recipients IRCP: sent back, it is a
    directive like the first."""
    client = f.client_for(world.administrator)
    first = post(
        client, "/fhir/Consent", bodies.refusal(world.person.pk, organisations=[world.home.pk])
    )
    assert first.status_code == 201, first.content
    again = {k: v for k, v in first.json().items() if k not in ("id", "meta")}
    again["extension"] = [e for e in again["extension"] if "recorded-by" not in e["url"]]

    response = post(client, "/fhir/Consent", again)

    assert response.status_code == 201, response.content


def test_a_custodian_other_than_the_recorder_is_refused_not_replaced(world: World) -> None:
    """``Consent.organization`` was answered and kept as the recorder's own,
    whichever organisation was sent."""
    client = f.client_for(world.administrator)
    body = bodies.refusal(world.person.pk, organisations=[world.home.pk])
    body["organization"] = [{"reference": f"Organization/{world.gp.pk}"}]

    response = post(client, "/fhir/Consent", body)

    assert response.status_code == 400, response.content
    assert issue_code(response) == "consent.custodian_not_recorder"
    assert response.json()["issue"][0]["expression"] == ["organization[0]"]
    assert not ConsentDirective.objects.filter(citizen=world.person).exists()
    assert AuditEntry.objects.filter(
        citizen_id=world.person.pk, outcome="denied", reason_code="consent.custodian_not_recorder"
    ).exists()

    body["organization"] = [{"reference": f"Organization/{world.administrator.organisation_id}"}]
    assert post(client, "/fhir/Consent", body).status_code == 201
