"""A MedCom message's references resolve within the message as FHIR R4
resolves references in a Bundle: a relative ``Encounter/<id>`` against the
base of the fullUrl of the entry holding it. MedCom's own examples write
RESTful fullUrls with relative references, and are taken; the same
reference where the message's Encounter sits on another base names nothing
in the message, and a reference MedCom requires to be bundled (the
HospitalNotification's focus) is refused: fatal-error ``MSG_NO_EXIST``,
nothing applied, a denied attempt on the citizen's log (R9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.models import Citizen
from integrations.models import InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, post_signed
from tests.integrations.medcom.test_hospital_notification import STIN, _example
from tests.integrations.medcom.test_stay_order import _occurred

pytestmark = pytest.mark.django_db


def _admission() -> dict[str, Any]:
    return _occurred(_example(STIN), timezone.now().isoformat())


def test_r12_a_relative_focus_resolving_inside_the_message_is_taken(
    hospital: Partner, citizen: Citizen
) -> None:
    f.acute_referral(person=citizen, accepted=False)

    status, body = post_signed(hospital, _admission())

    assert (status, ack_parts(body)[0]) == (200, "ok")


def test_r9_a_relative_focus_naming_no_entry_of_the_message_is_refused(
    hospital: Partner, citizen: Citizen
) -> None:
    f.acute_referral(person=citizen, accepted=False)
    message = _admission()
    for entry in message["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            # The same type and id, on another server's base: not the
            # Encounter the header's "Encounter/<id>" names.
            entry["fullUrl"] = f"https://other.example.dk/fhir/Encounter/{resource['id']}"

    status, body = post_signed(hospital, message)

    code, _, issues = ack_parts(body)
    assert (status, code) == (400, "fatal-error")
    assert "MSG_NO_EXIST" in issues
    assert not InboundMessage.objects.filter(outcome="ok").exists()
    refused = InboundMessage.objects.get(bundle_id=message["id"])
    assert (refused.outcome, refused.reason_code) == ("fatal-error", "medcom.rule_broken")
    [entry] = AuditEntry.objects.filter(citizen_id=citizen.pk, reason_code="medcom.rule_broken")
    assert entry.outcome == "denied"
