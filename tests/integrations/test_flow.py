"""The whole hand-off story through the simulators, a real worker and Redis (R11, R12):
a 1813 referral arrives, a nurse is dispatched, results reach the GP, the
citizen is admitted (hand-off to the hospital), the outcome goes back to 1813
and the hand-back reaches home nursing — every message acknowledged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from acute import services as acute
from acute.clinical.models import LabResult, TestDefinition
from acute.clinical.signals import results_recorded
from acute.deadlines import shift_kind_for
from acute.models import Outcome, Referral
from consent.audit.models import Action, AuditEntry
from core.actors import Actor
from core.fhir.patient import patient_resource
from core.models import Role
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _events(sim, event: str) -> list[dict]:
    return sim.messages(event)


def _task_codes(sim) -> list[str]:
    codes = []
    for bundle in _events(sim, Event.REFERRAL_STATUS):
        task = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"
        )
        codes.append(task["businessStatus"]["coding"][0]["code"])
    return codes


def test_r11_r12_referral_to_hand_back_flows_through_every_partner(
    live_network, celery_worker
) -> None:
    net = live_network
    gp_org = net.gp.organisation
    citizen = f.citizen(gp=gp_org)
    sims = net.sims

    # 1813 refers electronically.
    [reply] = sims["1813"].send(
        helpline_referral(
            sender_code=net.helpline.code,
            patient=patient_resource(citizen),
            reason="Feber, faldet, svært ved at drikke",
            case_id="1813-9001",
        )
    )
    assert reply.status == 200
    referral = Referral.objects.get(citizen=citizen)

    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, net.acute))
    nurse_membership = f.staff(Role.ACUTE_NURSE, net.acute)
    nurse = Actor.for_membership(nurse_membership)
    acute.referral_accept(referral=referral, actor=coordinator)
    now = timezone.now()
    shift = acute.shift_create(
        nurse=nurse_membership.user,
        acute_function=net.acute,
        kind=shift_kind_for(now - dt.timedelta(hours=1), now + dt.timedelta(hours=7)),
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=7),
        skills=["blood_samples"],
        base_name="Gentofte",
        base_latitude=55.75,
        base_longitude=12.55,
        actor=coordinator,
    )
    referral.refresh_from_db()
    visit = acute.visit_assign(referral=referral, shift=shift, actor=coordinator)
    visit = acute.visit_accept(visit=visit, actor=nurse)
    visit = acute.visit_set_off(visit=visit, actor=nurse)
    visit = acute.visit_arrive(visit=visit, actor=nurse)

    # Results taken on the visit reach the citizen's GP (HomeCareObservation).
    crp, _ = TestDefinition.objects.get_or_create(
        code="NPU19748",
        defaults={
            "display": "P-C-reaktivt protein",
            "kind": "observation",
            "unit": "mg/L",
            "predefined": True,
        },
    )
    with transaction.atomic():
        result = LabResult.objects.create(
            visit=visit,
            citizen=citizen,
            test=crp,
            value=Decimal("87"),
            unit="mg/L",
            interpretation="H",
            reference_high=Decimal("8"),
            effective_at=timezone.now(),
            recorded_by=nurse_membership.user,
            recorded_by_organisation=net.acute,
        )
        results_recorded.send(
            sender=LabResult,
            visit=visit,
            citizen=citizen,
            gp_practice=gp_org,
            results=[result],
            referral=referral,
            by=nurse,
        )

    acute.visit_complete(
        visit=visit,
        outcome=Outcome.ADMITTED,
        assessment="Pneumoni, påvirket",
        note="Mistanke om pneumoni",
        actor=nurse,
    )

    expected = {"1813": 5, "gp": 2, "hospital": 1, "home_nursing": 1}
    assert wait_for(
        lambda: all(sims[k].processed_count() >= n for k, n in expected.items()), timeout=30
    ), {k: sims[k].processed_count() for k in expected}
    assert wait_for(
        lambda: (
            not OutboundMessage.objects.exclude(status=OutboundMessage.Status.ACKNOWLEDGED).exists()
        ),
        timeout=15,
    ), list(OutboundMessage.objects.values_list("event", "status", "last_error"))

    # Every partner answered every message with MedCom's Acknowledgement, the
    # local events (status to 1813, the admission hand-off) too.
    for sim in sims.values():
        for _status, ack in sim.state.acks.values():
            assert ack["entry"][0]["resource"]["eventCoding"]["code"] == "acknowledgement-message"
            assert validate_message(ack) == []
    assert _task_codes(sims["1813"]) == [
        "accepted",
        "nurse-assigned",
        "nurse-en-route",
        "nurse-on-site",
        "completed",
    ]
    # MedCom's HomeCareObservation and CareCommunication, keeping MedCom's rules.
    [observation_msg] = _events(sims["gp"], "homecareobservation-message")
    assert validate_message(observation_msg) == []
    observation = next(
        e["resource"]
        for e in observation_msg["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert observation["code"]["coding"][0]["code"] == "NPU19748"
    assert observation["valueQuantity"] == {
        "value": 87.0,
        "unit": "mg/L",
        "system": "http://unitsofmeasure.org",
        "code": "mg/L",
    }
    [outcome] = _events(sims["gp"], "care-communication-message")  # the citizen's GP is told
    assert validate_message(outcome) == []
    [admission] = _events(sims["hospital"], Event.ADMISSION_HANDOFF)
    kinds = [e["resource"]["resourceType"] for e in admission["entry"]]
    assert kinds[0] == "MessageHeader" and kinds[-1] == "Provenance"
    assert {"Encounter", "Communication", "Observation", "Patient"} <= set(kinds)
    [handback] = _events(sims["home_nursing"], "care-communication-message")
    assert validate_message(handback) == []
    communication = next(
        e["resource"] for e in handback["entry"] if e["resource"]["resourceType"] == "Communication"
    )
    assert communication["category"][0]["coding"][0]["code"] == "nursing"
    assert "Pneumoni" in communication["payload"][0]["contentString"]

    # Every delivery disclosed citizen data: audited once per message, by the task
    # on behalf of the person who caused it (R9).
    disclosures = AuditEntry.objects.filter(citizen_id=citizen.pk, action=Action.DISCLOSE)
    assert disclosures.count() == OutboundMessage.objects.count() == 9
    assert set(disclosures.values_list("task", flat=True)) == {"integrations.outbox_deliver"}
    assert nurse_membership.user.username in set(
        disclosures.values_list("actor_username", flat=True)
    )
