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
