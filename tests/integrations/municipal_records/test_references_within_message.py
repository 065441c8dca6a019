"""A shared-record update's references are the sender's: each is resolved
within the message, as FHIR resolves references in a Bundle (by fullUrl; a
relative ``Type/id`` against the base of the fullUrl of the entry holding
it), never against the platform's own resources. One that resolves inside
the message is taken and stored pointing at what the message carried; one
naming an id the platform happens to hold but the message does not carry
is refused whole (fatal-error, nothing written, a denied attempt on the
citizen's log, R9), never read as the platform's resource."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from core.fhir.patient import patient_resource
from core.models import Citizen, Organisation
from integrations.models import InboundMessage, Partner
from integrations.simulators import shared_record_update
from tests import factories as f
from tests.integrations.helpers import received_answer

pytestmark = pytest.mark.django_db

CATEGORY = "urn:tvaerakut:data-category"
SOR = "urn:oid:1.2.208.176.1.1"
BASE = "https://eoj.gentofte.example/fhir"


@pytest.fixture
def records() -> Partner:
    f.acute_function()
    return f.integration_partner(Partner.Kind.MUNICIPAL_RECORDS, f.municipality("157"))


def _department() -> dict[str, Any]:
    """A hospital department the platform knows, as the message carries it:
    an Organization entry with its SOR code."""
    department = f.medcom_identified(f.hospital_department())
    return {
        "resourceType": "Organization",
        "id": "dep-1",
        "identifier": [{"system": SOR, "value": department.sor_code}],
        "name": department.name,
    }


def _contact(encounter_id: str, department: dict[str, Any]) -> dict[str, Any]:
    """A hospital contact (R2: counted per department)."""
    return {
        "resourceType": "Encounter",
        "id": encounter_id,
        "meta": {"tag": [{"system": CATEGORY, "code": "hospital-contact"}]},
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "serviceProvider": {"reference": f"Organization/{department['id']}"},
        "period": {"start": "2025-06-01"},
    }


def _diagnosis(encounter_reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "cond-1",
        "meta": {"tag": [{"system": CATEGORY, "code": "somatic-diagnosis"}]},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I50.9"}]},
        "encounter": {"reference": encounter_reference},
    }


def _restful(message: dict[str, Any]) -> dict[str, Any]:
    """The message as a system with a FHIR server writes it: every fullUrl
    the resource's URL on its own base, every reference relative."""
    kinds = {}
    for entry in message["entry"]:
        resource = entry["resource"]
        kinds[resource["id"]] = resource["resourceType"]
        entry["fullUrl"] = f"{BASE}/{resource['resourceType']}/{resource['id']}"

    def relative(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                relative(item)
        elif isinstance(node, dict):
            target = node.get("reference")
            if isinstance(target, str) and target.startswith("urn:uuid:"):
                rid = target.removeprefix("urn:uuid:")
                node["reference"] = f"{kinds[rid]}/{rid}"
            for value in node.values():
                relative(value)

    relative(message["entry"])
    return message


def _update(
    partner: Partner,
    citizen: Citizen,
    resources: list[dict[str, Any]],
    department: dict[str, Any] | None = None,
) -> dict:
    """The update of ``resources``, carrying ``department`` beside them (an
    entry of the envelope: about no one)."""
    message = shared_record_update(
        sender_code=partner.code, patient=patient_resource(citizen), resources=resources
    )
    if department is not None:
        message["entry"].insert(
            1, {"fullUrl": f"urn:uuid:{department['id']}", "resource": department}
        )
    return message


@pytest.mark.parametrize("full_urls", ["urn:uuid", "restful"])
def test_r2_a_relative_reference_to_an_entry_of_the_update_is_stored_as_that_entry(
    records: Partner, full_urls: str
) -> None:
    """``Encounter/enc-1`` names the message's own Encounter (by type and id
    beside urn:uuid: fullUrls, by the fullUrl's base beside RESTful ones):
    both are taken, and the diagnosis points at the contact as stored."""
    citizen = f.citizen()
    department = _department()
    message = _update(
        records,
        citizen,
        [_diagnosis("Encounter/enc-1"), _contact("enc-1", department)],
        department,
    )
    if full_urls == "restful":
        message = _restful(message)

    answer, code, issues = received_answer(records, message)

    assert (answer.status, code, issues) == (200, "ok", [])
    contact = RecordResource.objects.get(citizen=citizen, resource_type="Encounter")
    diagnosis = RecordResource.objects.get(citizen=citizen, resource_type="Condition")
    assert diagnosis.body["encounter"] == {"reference": f"Encounter/{contact.pk}"}
    # The department by its SOR code: the platform's organisation, not the sender's id.
    known = Organisation.objects.get(sor_code=department["identifier"][0]["value"])
    assert contact.body["serviceProvider"] == {"reference": f"Organization/{known.pk}"}


def test_r9_an_id_the_platform_holds_but_the_update_does_not_carry_is_refused(
    records: Partner,
) -> None:
    """``Encounter/<n>`` where the platform holds her Encounter n and the
    message carries no such Encounter is the sender's Encounter n: refused
    whole, never filed as pointing at the platform's contact."""
    citizen = f.citizen()
    department = _department()
    answer, code, _ = received_answer(
        records, _update(records, citizen, [_contact("enc-1", department)], department)
    )
    assert code == "ok"
    [held] = RecordResource.objects.filter(citizen=citizen)

    message = _update(records, citizen, [_diagnosis(f"Encounter/{held.pk}")])
    answer, code, issues = received_answer(records, message)

    assert (answer.status, code) == (400, "fatal-error")
    assert issues == ["record.reference_unresolved"]
    assert list(RecordResource.objects.filter(citizen=citizen)) == [held]
    refused = InboundMessage.objects.get(bundle_id=message["id"])
    assert (refused.outcome, refused.reason_code) == ("fatal-error", "record.reference_unresolved")
    [entry] = AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="record.reference_unresolved"
    )
    assert entry.outcome == "denied"


def test_a_relative_reference_beside_a_restful_full_url_resolves_against_its_base(
    records: Partner,
) -> None:
    """Beside RESTful fullUrls, ``Encounter/enc-1`` is the Encounter at the
    referring entry's base: one of that id on another server's base is not
    it, and the update is refused, not filed pointing at it."""
    citizen = f.citizen()
    department = _department()
    message = _restful(
        _update(
            records,
            citizen,
            [_diagnosis("Encounter/enc-1"), _contact("enc-1", department)],
            department,
        )
    )
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["fullUrl"] = "https://hospital.example/fhir/Encounter/enc-1"

    answer, code, issues = received_answer(records, message)

    assert (answer.status, code) == (400, "fatal-error")
    assert "record.reference_unresolved" in issues
    assert not RecordResource.objects.filter(citizen=citizen).exists()
