"""A MedCom message is held to its message type's profile whatever its
``Bundle.meta.profile`` declares. MedCom requires no ``meta.profile`` (its
test scripts validate a message by its type), so one without is received;
but a declared profile used to stand in for the type's: a HospitalNotification
declaring the base messaging profile escaped every rule of its type (exactly
one Patient, a CPR number, the stay's episode-of-care identifier). Such a
message gets MedCom's fatal-error naming the broken rule, and nothing is
written (R12)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.utils import timezone

from consent.models import CareRelationship
from integrations.models import InboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example
from tests.integrations.medcom.test_stay_order import _occurred

pytestmark = pytest.mark.django_db

BASE = "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-message"


def _admission() -> dict[str, Any]:
    return _occurred(_example(STIN), timezone.now().isoformat())


def _of(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e for e in message["entry"] if e["resource"]["resourceType"] == kind)


def _issues(body: dict[str, Any]) -> list[str]:
    outcome = _of(body, "OperationOutcome")["resource"]
    return [i.get("diagnostics") or i["details"]["text"] for i in outcome["issue"]]


def test_r12_a_second_patient_is_refused_whatever_profile_the_bundle_declares(hospital, citizen):
    message = _admission()
    message["meta"] = {"profile": [BASE]}
    other = copy.deepcopy(_of(message, "Patient"))
    other["resource"]["id"] = "a0000000-0000-4000-8000-000000000001"
    other["fullUrl"] = "urn:uuid:a0000000-0000-4000-8000-000000000001"
    message["entry"].append(other)
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert any("medcom-hospitalNotification-2" in issue for issue in _issues(body))
    assert not CareRelationship.objects.filter(citizen=citizen).exists()


def test_r12_a_message_declaring_no_profile_is_received(hospital, citizen):
    f.acute_referral(person=citizen, accepted=False)
    message = _admission()
    del message["meta"]
    assert ack_parts(post_signed(hospital, message)[1])[0] == "ok"


CORE_ENCOUNTER = "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-encounter"


def test_r12_an_encounter_declaring_a_laxer_profile_is_held_to_its_message_types(hospital, citizen):
    """An Encounter declaring MedCom's core Encounter (which asks for no
    episode of care) is still a HospitalNotification's Encounter: without
    the stay's episode-of-care identifier it breaks that profile's rule, and
    the acknowledgement says so, naming the profile and the element."""
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _admission()
    encounter = _of(message, "Encounter")["resource"]
    encounter["meta"] = {"profile": [CORE_ENCOUNTER]}
    del encounter["episodeOfCare"]
    status, body = post_signed(hospital, message)
    code, _answered, details = ack_parts(body)
    assert (status, code) == (400, "fatal-error")
    assert "MSG_RESOURCE_REQUIRED" in details
    assert any(
        "medcom-hospitalNotification-encounter" in issue and "episodeOfCare" in issue
        for issue in _issues(body)
    )
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not InboundMessage.objects.filter(outcome=InboundMessage.Outcome.OK).exists()


def test_r12_an_encounter_declaring_its_types_ancestor_is_received(hospital, citizen):
    """The same ancestor declared by a valid Encounter: MedCom's rules are
    kept, the message is received."""
    f.acute_referral(person=citizen, accepted=False)
    message = _admission()
    _of(message, "Encounter")["resource"]["meta"] = {"profile": [CORE_ENCOUNTER]}
    assert ack_parts(post_signed(hospital, message)[1])[0] == "ok"


CORE_ORGANIZATION = "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-organization"


def test_r12_a_sender_declaring_a_laxer_profile_is_held_to_the_senders(hospital, citizen):
    """The MessageHeader's sender is a MedComMessagingOrganization (SOR and
    EAN number) whatever its entry declares: one declaring MedCom's core
    Organization, without its EAN number, breaks the messaging profile's rule."""
    f.acute_referral(person=citizen, accepted=False)
    message = _admission()
    sender_ref = message["entry"][0]["resource"]["sender"]["reference"]
    sender = next(
        e["resource"]
        for e in message["entry"]
        if sender_ref in (e.get("fullUrl"), f"Organization/{e['resource'].get('id')}")
    )
    sender["meta"] = {"profile": [CORE_ORGANIZATION]}
    sender["identifier"] = [i for i in sender["identifier"] if "gln" not in i["system"]]
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (400, "fatal-error")
    assert any(
        "medcom-messaging-organization" in issue and "identifier" in issue
        for issue in _issues(body)
    )
    assert not InboundMessage.objects.filter(outcome=InboundMessage.Outcome.OK).exists()
