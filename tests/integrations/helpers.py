"""Helpers the hand-off tests share: reading an acknowledgement, a visit under way."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.utils import timezone

from acute import services as acute
from acute.deadlines import shift_kind_for
from acute.models import Referral, Visit
from core.actors import Actor
from core.fhir.patient import patient_resource
from core.models import Citizen, Organisation, Role
from integrations.inbound import Answer, message_receive
from integrations.models import Partner
from integrations.simulators import PartnerSimulator, hospital_notification
from integrations.transport import HttpReply
from tests import factories as f


def ack_of(reply: HttpReply) -> tuple[str, str, dict[str, Any]]:
    """The acknowledgement's code, the message id it answers, and its OperationOutcome."""
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


def received_answer(partner: Partner, message: dict[str, Any]) -> tuple[Answer, str, list[str]]:
    """The platform's answer to ``message`` received from ``partner``, the
    acknowledgement's response code, and the codes of its issues."""
    answer = message_receive(partner=partner, raw=json.dumps(message).encode())
    by_type = {e["resource"]["resourceType"]: e["resource"] for e in answer.body["entry"]}
    codes = [
        issue["details"]["coding"][0]["code"]
        for issue in by_type.get("OperationOutcome", {}).get("issue", [])
    ]
    return answer, by_type["MessageHeader"]["response"]["code"], codes


def new_citizen_patient(**death: object) -> tuple[str, dict[str, object]]:
    """The Patient of a citizen the platform does not know yet, reporting ``death``,
    and her CPR number."""
    patient = patient_resource(f.citizen())
    cpr = f.cpr_number()
    patient["identifier"][0]["value"] = cpr
    return cpr, {**patient, **death}


# A death a new citizen's Patient may not report, the code it is refused with and
# the element that code names: to come, before her birth, or without a time.
IMPOSSIBLE_DEATHS: list[tuple[dict[str, object], str, str]] = [
    (
        {"deceasedDateTime": "2099-01-01T12:00:00+01:00"},
        "death.in_future",
        "Patient.deceasedDateTime",
    ),
    (
        {"deceasedDateTime": "1850-01-01T12:00:00+01:00"},
        "death.before_birth",
        "Patient.deceasedDateTime",
    ),
    ({"deceasedBoolean": True}, "patient.deceased_time_required", "Patient.deceasedBoolean"),
]


def visit_for(citizen: Citizen, acute_org: Organisation) -> Visit:
    """A referral accepted by the coordinator and a nurse assigned to visit ``citizen``."""
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, acute_org))
    nurse = f.staff(Role.ACUTE_NURSE, acute_org)
    referral = f.acute_referral(person=citizen, urgency="within_shift", by=coordinator.membership)
    now = timezone.now()
    shift = acute.shift_create(
        nurse=nurse.user,
        acute_function=acute_org,
        kind=shift_kind_for(now - dt.timedelta(hours=1), now + dt.timedelta(hours=7)),
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=7),
        skills=[],
        base_name="Gentofte",
        base_latitude=55.75,
        base_longitude=12.55,
        actor=coordinator,
    )
    return acute.visit_assign(referral=referral, shift=shift, actor=coordinator)


def referral_from_1813(
    citizen: Citizen, helpline: Organisation, *, by: Actor, external_id: str
) -> Referral:
    """A referral 1813 sent about ``citizen``, as acute holds it (not yet triaged)."""
    return acute.referral_create(
        citizen=citizen,
        source=Referral.Source.HELPLINE_1813,
        channel=Referral.Channel.ELECTRONIC,
        referrer_name="1813-læge",
        referrer_phone="+4570131813",
        reason="Dehydrering",
        clinical_picture="Drikker ikke",
        requested_actions="Væsketal",
        urgency="within_2_hours",
        responsible_physician_name="1813-læge",
        responsible_physician_phone="+4570131813",
        source_organisation=helpline,
        external_id=external_id,
        actor=by,
    )


def notify_hospital(
    sim: PartnerSimulator,
    citizen: Citizen,
    *,
    encounter_id: str,
    admitted: bool,
    follow_up_reason: str = "",
    strip_physician: bool = False,
) -> HttpReply:
    """The hospital simulator reports ``citizen`` admitted or discharged;
    ``strip_physician`` leaves the discharging physician out of a follow-up."""
    message = hospital_notification(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        encounter_id=encounter_id,
        admitted=admitted,
        follow_up_reason=follow_up_reason,
    )
    if strip_physician:
        message["entry"] = [
            e for e in message["entry"] if e["resource"]["resourceType"] != "Practitioner"
        ]
        for entry in message["entry"]:
            entry["resource"].pop("requester", None)
    [reply] = sim.send(message)
    return reply
