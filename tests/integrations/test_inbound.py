"""Inbound messages over real HTTP: trust (HMAC), acknowledgements, duplicates (R12)."""

from __future__ import annotations

import json
import time

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from integrations.models import InboundMessage
from integrations.simulators import helpline_referral
from integrations.transport import post_signed, signed_headers
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def _ack(reply) -> tuple[str, str, dict]:
    bundle = reply.json()
    header = bundle["entry"][0]["resource"]
    outcome = next(
        (
            e["resource"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "OperationOutcome"
        ),
        {},
    )
    return header["response"]["code"], header["response"]["identifier"], outcome


def test_r12_a_1813_referral_becomes_a_referral_and_is_acknowledged_ok(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        reason="Feber og forvirring",
        case_id="1813-0001",
    )
    [reply] = sim.send(message)
    code, answering, _ = _ack(reply)
    assert (reply.status, code) == (200, "ok")
    assert answering == message["entry"][0]["resource"]["id"]
    referral = Referral.objects.get(citizen=citizen)
    assert referral.source == Referral.Source.HELPLINE_1813
    assert referral.channel == Referral.Channel.ELECTRONIC
    assert referral.external_id == "1813-0001"
    assert referral.source_organisation == live_network.helpline.organisation
    stored = InboundMessage.objects.get(partner=live_network.helpline)
    assert stored.result["referral"] == referral.pk
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, task="integrations.process_message"
    ).exists()


def test_r12_a_duplicate_gets_the_original_acknowledgement_and_is_processed_once(
    live_network,
) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    sim.state.duplicates = 3
    message = helpline_referral(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        reason="Dehydrering",
        case_id="1813-0002",
    )
    replies = sim.send(message)
    assert [r.status for r in replies] == [200, 200, 200]
    assert all(r.json() == replies[0].json() for r in replies)  # the very same acknowledgement
    assert replies[1].headers.get("x-duplicate-of-earlier-message") == "true"
    assert Referral.objects.filter(citizen=citizen).count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_new_citizen_referred_by_1813_is_registered_from_the_patient(live_network) -> None:
    template = f.citizen()
    patient = patient_resource(template)
    cpr = f.cpr_number()
    patient["identifier"][0]["value"] = cpr
    sim = live_network.sims["1813"]
    [reply] = sim.send(
        helpline_referral(sender_code=sim.code, patient=patient, reason="Fald", case_id="1813-0003")
    )
    assert _ack(reply)[0] == "ok"
    assert Referral.objects.filter(citizen__cpr=cpr).count() == 1


def test_malformed_message_gets_a_fatal_acknowledgement_and_creates_nothing(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0004"
    )
    # Not valid FHIR: an element the ServiceRequest does not have.
    message["entry"][2]["resource"]["bogus"] = True
    [reply] = sim.send(message)
    code, answering, outcome = _ack(reply)
    assert (reply.status, code) == (400, "fatal-error")
    assert answering == message["entry"][0]["resource"]["id"]
    issue = outcome["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "message.invalid_fhir"
    assert not Referral.objects.exists()
    # Sent again: the same fatal answer, still nothing created.
    [again] = sim.send(message)
    assert again.json() == reply.json()
    assert not Referral.objects.exists()


def test_a_referral_refused_by_acute_rules_is_fatal_and_rolls_back_everything(live_network) -> None:
    """A citizen of a municipality outside the joint function: acute refuses the
    referral, and the citizen registered from the message is not left behind."""
    template = f.citizen()
    f.municipality("101")
    patient = patient_resource(template)
    cpr = f.cpr_number()
    patient["identifier"][0]["value"] = cpr
    patient["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "101"
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient, reason="Fald", case_id="1813-0005"
    )
    [reply] = sim.send(message)
    code, _, outcome = _ack(reply)
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"].startswith("referral.")
    assert not Referral.objects.exists()
    from core.models import Citizen

    assert not Citizen.objects.filter(cpr=cpr).exists()


@pytest.mark.parametrize("problem", ["unknown_sender", "bad_signature", "stale", "unsigned"])
def test_untrusted_requests_are_refused_with_401_and_nothing_created(live_network, problem) -> None:
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    body = json.dumps(
        helpline_referral(
            sender_code=sim.code, patient=patient_resource(citizen), reason="x", case_id="c"
        )
    ).encode()
    secret, sender, now = sim.secret, sim.code, None
    if problem == "unknown_sender":
        sender = "nobody"
    elif problem == "bad_signature":
        secret = "not-the-secret"
    elif problem == "stale":
        now = time.time() - 3600
    headers = signed_headers(sender=sender, secret=secret, body=body, now=now)
    if problem == "unsigned":
        headers = {"Content-Type": "application/fhir+json"}
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", 8670, timeout=10)
    conn.request("POST", "/fhir/$process-message", body=body, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read())
    assert response.status == 401
    assert payload["resourceType"] == "OperationOutcome"
    assert sim.secret not in json.dumps(payload)
    assert not Referral.objects.exists()
    assert not InboundMessage.objects.exists()


def test_a_partner_may_send_only_its_own_kinds_of_message(live_network) -> None:
    """The GP inbox is not 1813: a referral message from it is refused (fatal)."""
    citizen = f.citizen()
    gp = live_network.sims["gp"]
    reply = post_signed(
        url=gp.platform_url,
        body=json.dumps(
            helpline_referral(
                sender_code=gp.code, patient=patient_resource(citizen), reason="x", case_id="c"
            )
        ).encode(),
        sender=gp.code,
        secret=gp.secret,
        timeout=10,
    )
    assert _ack(reply)[0] == "fatal-error"
    assert not Referral.objects.exists()


def _visit_for(citizen, network):
    """A first visit assigned to a nurse for ``citizen`` (accepted referral)."""
    import datetime as dt

    from django.utils import timezone

    from acute import services as acute
    from core.actors import Actor
    from core.models import Role

    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, network.acute))
    nurse = f.staff(Role.ACUTE_NURSE, network.acute)
    referral = acute.referral_create(
        citizen=citizen,
        source="gp",
        channel="phone",
        referrer_name="Dr. GP",
        referrer_phone="+4511111111",
        reason="Feber",
        clinical_picture="Feber",
        requested_actions="Vurdering",
        urgency="within_shift",
        responsible_physician_name="Dr. GP",
        responsible_physician_phone="+4511111111",
        actor=coordinator,
    )
    acute.referral_accept(referral=referral, actor=coordinator)
    now = timezone.now()
    shift = acute.shift_create(
        nurse=nurse.user,
        acute_function=network.acute,
        kind="day",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=7),
        skills=[],
        base_name="Base",
        base_latitude=55.75,
        base_longitude=12.55,
        actor=coordinator,
    )
    referral.refresh_from_db()
    return acute.visit_assign(referral=referral, shift=shift, actor=coordinator)


def test_r12_an_admission_withdraws_open_visits_and_opens_the_hospital_contact(
    live_network,
) -> None:
    from acute.models import Visit
    from consent.models import CareRelationship
    from integrations.simulators import hospital_notification

    citizen = f.citizen()
    visit = _visit_for(citizen, live_network)
    sim = live_network.sims["hospital"]
    [reply] = sim.send(
        hospital_notification(
            sender_code=sim.code,
            patient=patient_resource(citizen),
            encounter_id="E1",
            admitted=True,
        )
    )
    assert _ack(reply)[0] == "ok"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    contact = CareRelationship.objects.get(
        citizen=citizen, organisation=live_network.hospital.organisation
    )
    assert contact.basis == CareRelationship.Basis.HOSPITAL_CONTACT and contact.ended_at is None

    # Discharge with a follow-up: the contact closes, a hospital referral starts.
    [reply] = sim.send(
        hospital_notification(
            sender_code=sim.code,
            patient=patient_resource(citizen),
            encounter_id="E1",
            admitted=False,
            follow_up_reason="Kontrol af væsketal",
        )
    )
    assert _ack(reply)[0] == "ok"
    contact.refresh_from_db()
    assert contact.ended_at is not None
    follow_up = Referral.objects.get(citizen=citizen, source=Referral.Source.HOSPITAL)
    assert follow_up.source_organisation == live_network.hospital.organisation


def test_r2_a_psychiatric_diagnosis_from_a_municipal_record_system_is_refused(live_network) -> None:
    from integrations.simulators import shared_record_update

    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}]},
    }
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[condition]
        )
    )
    code, _, outcome = _ack(reply)
    assert code == "fatal-error"
    assert "R2" in json.dumps(outcome) or "psychiatric" in json.dumps(outcome).lower()
