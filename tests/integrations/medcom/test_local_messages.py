"""The platform's local events (hand-offs MedCom has no standard for) go in
MedCom's envelope and are checked against what MedCom's rules ask of it
before they may go: the messaging Bundle and MessageHeader (their event the
platform's own), FHIR's invariants and the references between the entries,
and MedCom's profiles of the organisations and the citizen."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from acute import services as acute
from acute.models import Referral
from core.actors import Actor
from core.models import Citizen, Organisation, Role
from integrations.medcom import outbound as medcom
from integrations.medcom.validation import validate_message
from integrations.messages import Event, patient_ref
from integrations.models import InboundMessage, OutboundMessage, Partner
from integrations.receivers import admission_handoff_send
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.integrations.helpers import referral_from_1813
from tests.integrations.medcom.conftest import OUR_EAN, OUR_SOR
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed

pytestmark = pytest.mark.django_db

LOCAL_EVENTS = {
    Event.REFERRAL_STATUS,
    Event.ORDER_CONFIRMATION_REQUEST,
    Event.ADMISSION_HANDOFF,
}


def _every_local_message() -> list[OutboundMessage]:
    """One of each local event the platform sends, built as a user causes it:
    the status of 1813's referral (a ``status-update``), the phone order to
    confirm, the admission hand-off."""
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:9/1813"
    )
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    referral = referral_from_1813(f.citizen(), helpline, by=coordinator, external_id="1813-9")
    acute.referral_decline(referral=referral, reason="Borgeren er indlagt", actor=coordinator)

    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:9/gp")
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte")
    hospital.serves.add(scene.citizen.municipality)
    f.integration_partner(Partner.Kind.HOSPITAL, hospital, endpoint_url="http://127.0.0.1:9/h")
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201, response.json()
    with transaction.atomic():
        admission_handoff_send(
            visit=scene.visit, by=Actor.for_membership(scene.nurse), reason="Pneumoni"
        )
    return list(OutboundMessage.objects.filter(event__in=LOCAL_EVENTS).order_by("pk"))


def test_every_local_message_the_platform_sends_keeps_medcoms_envelope() -> None:
    messages = _every_local_message()

    assert {m.event for m in messages} == LOCAL_EVENTS
    for message in messages:
        header = message.bundle["entry"][0]["resource"]
        assert header["eventCoding"] == {
            "system": "urn:tvaerakut:message-event",
            "code": message.event,
        }
        assert validate_message(message.bundle, local=True) == [], message.event
        assert message.status == OutboundMessage.Status.PENDING, message.last_error


def test_a_local_event_is_not_one_of_medcoms_message_types_nor_anything_else() -> None:
    [message, *_] = _every_local_message()
    event_binding = ("medcom-messaging-messageHeader", "eventCoding", "binding")
    # Read as MedCom's, its event is no MedCom message type; as the local
    # event it is, that rule gives way to the platform's own event system.
    assert event_binding in [(v.profile, v.path, v.rule) for v in validate_message(message.bundle)]
    assert validate_message(message.bundle, local=True) == []
    # As a local event, it must be the platform's own.
    header = message.bundle["entry"][0]["resource"]
    header["eventCoding"]["system"] = "urn:elsewhere:events"
    [broken] = validate_message(message.bundle, local=True)
    assert (broken.path, broken.rule) == ("eventCoding", "binding")
    assert "urn:tvaerakut:message-event" in broken.expected


def _sender_to_no_entry(bundle: dict[str, Any]) -> None:
    header = bundle["entry"][0]["resource"]
    header["sender"] = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}


def _no_source_endpoint(bundle: dict[str, Any]) -> None:
    del bundle["entry"][0]["resource"]["source"]["endpoint"]


def _patient_without_cpr(bundle: dict[str, Any]) -> None:
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["identifier"] = []


def _no_provenance(bundle: dict[str, Any]) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Provenance"]


BREAKS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    # what breaks: (how, the rule's profile, the rule)
    "sender to no entry": (_sender_to_no_entry, "Bundle", "reference"),
    "no source endpoint": (_no_source_endpoint, "MessageHeader", "cardinality"),
    "patient without cpr": (_patient_without_cpr, "dk-core-patient", "cardinality"),
    "no provenance": (_no_provenance, "medcom-messaging-message", "invariant:medcom-messaging-2"),
}


@pytest.mark.parametrize("what", list(BREAKS))
def test_a_local_message_broken_in_its_envelope_names_the_rule(what: str) -> None:
    """Each fault a defect in building the envelope could make is named by
    the rules a local message is checked against before it may go."""
    breaking, profile, rule = BREAKS[what]
    [message, *_] = _every_local_message()
    bundle = message.bundle
    assert validate_message(bundle, local=True) == []
    breaking(bundle)
    broken = validate_message(bundle, local=True)
    assert any((v.profile, v.rule) == (profile, rule) for v in broken), broken


def test_a_local_message_that_would_break_the_envelope_is_parked_naming_the_rule() -> None:
    """1813's organisation has lost the SOR code and EAN number MedCom names a
    receiver by: the status message is parked for a person, never sent, and
    what the person is shown names the rule, never an identifier's value."""
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:9/1813"
    )
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    referral = referral_from_1813(f.citizen(), helpline, by=coordinator, external_id="1813-7")
    Organisation.objects.filter(pk=helpline.pk).update(sor_code=None, ean=None)

    acute.referral_decline(referral=referral, reason="Borgeren er indlagt", actor=coordinator)

    [message] = OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS)
    assert message.status == OutboundMessage.Status.FAILED
    assert message.sent_at is None and message.attempts == 0
    assert message.last_error_code == medcom.RULE_BROKEN
    broken = validate_message(message.bundle, local=True)
    assert broken and all(v.profile in message.last_error for v in broken[:1]), broken
    patient = next(
        e["resource"] for e in message.bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    for identifier in patient["identifier"]:
        assert identifier["value"] not in message.last_error


# --- received --------------------------------------------------------------------


def _referral_from_1813_in_envelope(partner: Partner, citizen: Citizen) -> dict[str, Any]:
    """1813's referral (a local event) in MedCom's envelope, declared local as
    the platform declares its own: the local event system and MessageDefinition."""
    physician = {
        "resourceType": "Practitioner",
        "id": str(uuid.uuid4()),
        "name": [{"text": "Læge Hansen, 1813"}],
        "telecom": [{"system": "phone", "value": "+4570131813"}],
    }
    request = {
        "resourceType": "ServiceRequest",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": "urn:tvaerakut:helpline-1813:case", "value": "1813-55"}],
        "status": "active",
        "intent": "order",
        "priority": "asap",
        "code": {"text": "Acute nursing assessment at home"},
        "subject": patient_ref(citizen),
        "requester": {"reference": f"urn:uuid:{physician['id']}"},
        "reasonCode": [{"text": "Dehydrering"}],
    }
    us = f.acute_function()
    return medcom.build(
        shape=medcom.local_shape(Event.REFERRAL),
        citizen=citizen,
        citizen_reference=patient_ref(citizen)["reference"],
        focus=[request],
        supporting=[physician],
        sender=partner.organisation,
        receiver=us,
        receiver_endpoint="urn:tvaerakut:acute-function",
        sender_endpoint="http://127.0.0.1:9/1813",
    )


@pytest.fixture
def helpline_partner() -> Partner:
    acute_org = f.acute_function()
    acute_org.sor_code, acute_org.ean = OUR_SOR, OUR_EAN
    acute_org.save(update_fields=["sor_code", "ean"])
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    return f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:9/1813"
    )


def test_a_local_event_in_medcoms_envelope_is_checked_and_answered_the_medcom_way(
    helpline_partner: Partner,
) -> None:
    message = _referral_from_1813_in_envelope(helpline_partner, f.citizen())
    assert validate_message(message, local=True) == []

    status, body = post_signed(helpline_partner, message)

    assert (status, *ack_parts(body)) == (200, "ok", header_id(message), [])
    assert Referral.objects.filter(source=Referral.Source.HELPLINE_1813).count() == 1


@pytest.mark.parametrize("what", list(BREAKS))
def test_a_local_event_breaking_the_envelope_gets_a_fatal_error_naming_the_rule(
    what: str, helpline_partner: Partner
) -> None:
    breaking, profile, rule = BREAKS[what]
    message = _referral_from_1813_in_envelope(helpline_partner, f.citizen())
    breaking(message)

    status, body = post_signed(helpline_partner, message)

    code, answering, _details = ack_parts(body)
    assert (status, code, answering) == (400, "fatal-error", header_id(message))
    texts = [
        # The rule named: in the text, and its own words in diagnostics (Danish answer).
        f"{issue['details']['text']} {issue.get('diagnostics', '')}"
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]
    assert any(profile in text and rule in text for text in texts), texts
    assert not Referral.objects.exists()
    assert InboundMessage.objects.get().outcome == InboundMessage.Outcome.FATAL
