"""1813's referrals over real HTTP from the 1813 simulator (R12)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone, translation

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.models import InboundMessage
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.integrations.helpers import IMPOSSIBLE_DEATHS, ack_of, new_citizen_patient

pytestmark = pytest.mark.django_db(transaction=True)


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
    code, answering, _ = ack_of(reply)
    assert (reply.status, code) == (200, "ok")
    assert answering == message["entry"][0]["resource"]["id"]
    referral = Referral.objects.get(citizen=citizen)
    assert referral.source == Referral.Source.HELPLINE_1813
    assert referral.channel == Referral.Channel.ELECTRONIC
    assert referral.external_id == "1813-0001"
    assert referral.source_organisation == live_network.helpline.organisation
    assert referral.responsible_physician_name == "Læge Hansen, 1813"
    assert referral.responsible_physician_phone == "+4570131813"
    assert referral.urgency == "within_2_hours"  # priority asap
    # 1813 asked for nothing in particular: the coordinator and the nurse read the
    # platform's default in Danish, not "Assess and treat at home".
    assert referral.requested_actions == "Vurdering og behandling i hjemmet"
    stored = InboundMessage.objects.get(partner=live_network.helpline)
    assert stored.result["referral"] == referral.pk
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, task="integrations.process_message"
    ).exists()


def test_a_new_citizen_referred_by_1813_is_registered_from_the_patient(live_network) -> None:
    template = f.citizen()
    patient = patient_resource(template)
    cpr = f.cpr_number()
    patient["identifier"][0]["value"] = cpr
    sim = live_network.sims["1813"]
    [reply] = sim.send(
        helpline_referral(sender_code=sim.code, patient=patient, reason="Fald", case_id="1813-0003")
    )
    assert ack_of(reply)[0] == "ok"
    assert Referral.objects.filter(citizen__cpr=cpr).count() == 1


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
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"].startswith("referral.")
    assert not Referral.objects.exists()
    assert not Citizen.objects.filter(cpr=cpr).exists()


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        ("no_physician", "referral.physician_missing"),
        ("no_reason", "referral.reason_missing"),
        ("invisible_reason", "referral.reason_missing"),
        ("odd_priority", "referral.priority_unknown"),
        # R10: a missing priority is neither taken as "urgent" nor as routine.
        ("no_priority", "referral.urgency_required"),
    ],
)
def test_r12_a_1813_referral_without_what_acute_needs_is_fatal_and_creates_nothing(
    live_network, spoil, code
) -> None:
    """The referral must name the 1813 physician, a known priority and its reason."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0006"
    )
    request = message["entry"][2]["resource"]
    if spoil == "no_physician":
        message["entry"] = [
            e for e in message["entry"] if e["resource"]["resourceType"] != "Practitioner"
        ]
        del request["requester"]
    elif spoil == "no_reason":
        del request["reasonCode"]
    elif spoil == "invisible_reason":
        # Zero-width joiner and a Hangul filler: a reason nobody can read.
        request["reasonCode"] = [{"text": "\u200d\u3164"}]
    elif spoil == "no_priority":
        del request["priority"]
    else:
        request["priority"] = "whenever"
    [reply] = sim.send(message)
    answer, _, outcome = ack_of(reply)
    assert answer == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == code
    assert not Referral.objects.exists()


def test_a_1813_referral_for_a_new_citizen_reported_dead_is_refused_and_registers_no_one(
    live_network,
) -> None:
    """The Patient says she died an hour ago: she is registered dead, so the
    referral is refused as one for any citizen registered dead, and the
    registration rolls back with it — no citizen, no referral, no episode."""
    died = (timezone.now() - dt.timedelta(hours=1)).isoformat(timespec="seconds")
    cpr, patient = new_citizen_patient(deceasedDateTime=died)
    sim = live_network.sims["1813"]
    [reply] = sim.send(
        helpline_referral(sender_code=sim.code, patient=patient, reason="Fald", case_id="1813-0007")
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.citizen_deceased"
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.exists()
    assert not InboundMessage.objects.filter(outcome=InboundMessage.Outcome.OK).exists()


def test_r9_a_refused_1813_referral_for_a_new_citizen_reported_dead_is_audited_naming_no_one(
    live_network,
) -> None:
    """Her registration rolled back with the refused referral, so the denied
    attempt names no citizen: one entry, by the message's task for 1813,
    with the refusal's reason and a detail saying a new citizen was refused
    — never her CPR number — and nothing else written."""
    died = (timezone.now() - dt.timedelta(hours=1)).isoformat(timespec="seconds")
    cpr, patient = new_citizen_patient(deceasedDateTime=died)
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient, reason="Fald", case_id="1813-0009"
    )
    [reply] = sim.send(message)
    assert ack_of(reply)[0] == "fatal-error"
    [entry] = AuditEntry.objects.exclude(pk__in=before)
    assert (entry.citizen_id, entry.outcome, entry.action) == (None, "denied", "create")
    assert (entry.resource_type, entry.resource_id) == ("Bundle", message["id"])
    assert entry.reason_code == "referral.citizen_deceased"
    assert entry.task == "integrations.process_message"
    assert entry.partner_organisation_id == live_network.helpline.organisation_id
    assert entry.detail == {
        "partner": live_network.helpline.code,
        "event": message["entry"][0]["resource"]["eventCoding"]["code"],
        "new_citizen": True,
    }
    assert cpr not in json.dumps(entry.detail)
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.exists()
    assert list(InboundMessage.objects.values_list("outcome", flat=True)) == [
        InboundMessage.Outcome.FATAL
    ]


def test_r9_a_refused_1813_referral_for_a_citizen_known_dead_is_audited_on_her_record(
    live_network,
) -> None:
    """The same refusal for a citizen the platform knows as dead names her."""
    citizen = f.citizen()
    Citizen.objects.filter(pk=citizen.pk).update(deceased_at=timezone.now() - dt.timedelta(days=1))
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0010"
    )
    [reply] = sim.send(message)
    assert ack_of(reply)[0] == "fatal-error"
    [entry] = AuditEntry.objects.exclude(pk__in=before)
    assert (entry.citizen_id, entry.outcome) == (citizen.pk, "denied")
    assert (entry.resource_type, entry.reason_code) == ("Bundle", "referral.citizen_deceased")
    assert "new_citizen" not in entry.detail
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("death", "code", "element"),
    [
        *IMPOSSIBLE_DEATHS,
        # A month states a death but not its time: not registered alive.
        (
            {"deceasedDateTime": "2025-03"},
            "patient.deceased_time_required",
            "Patient.deceasedDateTime",
        ),
    ],
)
def test_a_1813_referral_for_a_new_citizen_with_an_impossible_death_is_fatal(
    live_network, death, code, element
) -> None:
    """A death that cannot be true (to come, before her birth) or has no time
    is refused as the FHIR Patient create refuses it, naming the element;
    she is not registered alive against the message, and nothing is written."""
    cpr, patient = new_citizen_patient(**death)
    sim = live_network.sims["1813"]
    [reply] = sim.send(
        helpline_referral(sender_code=sim.code, patient=patient, reason="Fald", case_id="1813-0008")
    )
    answer, _, outcome = ack_of(reply)
    assert answer == "fatal-error"
    issue = outcome["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code
    assert element in json.dumps(issue)
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.exists()


def test_r2_a_1813_referral_coding_a_psychiatric_diagnosis_is_fatal_and_creates_nothing(
    live_network,
) -> None:
    """R2 on the partners' door as on /fhir/: an ICD-10 chapter F code in the
    referral's reason is refused with the rule, nothing is written, and the
    attempt is recorded as denied on the citizen."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Uro", case_id="1813-0007"
    )
    request = message["entry"][2]["resource"]
    request["reasonCode"][0]["coding"] = [
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1", "display": "Depression"}
    ]
    [reply] = sim.send(message)
    answer, _, outcome = ack_of(reply)
    assert answer == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "record.psychiatric_diagnosis"
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied").exists()

    # A somatic code is taken as before.
    request["reasonCode"][0]["coding"][0].update(code="J18.9", display="Pneumoni")
    message["id"] = "e1b7c3a0-0000-4000-8000-000000000007"
    message["entry"][0]["resource"]["id"] = "e1b7c3a0-0000-4000-8000-000000000008"
    [reply] = sim.send(message)
    assert ack_of(reply)[0] == "ok"
    assert Referral.objects.filter(citizen=citizen).count() == 1


@pytest.mark.parametrize("status", ["revoked", "entered-in-error"])
def test_a_1813_case_sent_again_revoked_is_fatal_never_acknowledged_as_taken(
    live_network, status
) -> None:
    """1813 revokes a case it referred: the acute function cannot take a
    withdrawal by message, so the message is refused naming why (a phone
    call withdraws it), never acknowledged ok as if the referral were gone;
    the referral stays on the coordinator's board as it was."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    first = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0042"
    )
    assert ack_of(sim.send(first)[0])[0] == "ok"
    again = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0042"
    )
    again["entry"][2]["resource"]["status"] = status
    [reply] = sim.send(again)
    answer, _, outcome = ack_of(reply)
    assert (reply.status, answer) == (400, "fatal-error")
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.status_not_active"
    referral = Referral.objects.get(citizen=citizen)
    assert referral.status == Referral.Status.RECEIVED


def test_a_1813_proposal_is_fatal_and_no_referral_is_made(live_network) -> None:
    """A ServiceRequest whose intent is a proposal asks nobody to go: the
    message is refused naming why, as on POST /fhir/ServiceRequest."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    message = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0043"
    )
    message["entry"][2]["resource"]["intent"] = "proposal"
    [reply] = sim.send(message)
    answer, _, outcome = ack_of(reply)
    assert (reply.status, answer) == (400, "fatal-error")
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.intent_not_order"
    assert not Referral.objects.filter(citizen=citizen).exists()


def test_a_1813_case_sent_again_with_other_content_is_fatal_never_silently_dropped(
    live_network,
) -> None:
    """1813 sends its case again under the same case id, but the reason and
    the physician's note now say something else: the referral is neither
    answered ok as if the change were taken (the nurse would read the first
    reason only) nor taken in as a second referral. The message is refused
    naming why, the referral stays as first sent, the refused attempt is on
    the citizen's record (R9), and the coordinator reads on her board, in
    Danish, that a referral came again changed."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    first = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0050"
    )
    assert ack_of(sim.send(first)[0])[0] == "ok"
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    changed = helpline_referral(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        reason="Brystsmerter og åndenød",
        case_id="1813-0050",
    )
    [reply] = sim.send(changed)
    answer, _, outcome = ack_of(reply)
    assert (reply.status, answer) == (400, "fatal-error")
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.resent_changed"
    referral = Referral.objects.get(citizen=citizen)
    assert (referral.reason, referral.clinical_picture) == ("Fald", "Fald")
    denied = AuditEntry.objects.exclude(pk__in=before).filter(outcome="denied")
    assert [(e.citizen_id, e.reason_code) for e in denied] == [
        (citizen.pk, "referral.resent_changed")
    ]
    refused = InboundMessage.objects.get(outcome=InboundMessage.Outcome.FATAL)
    with translation.override("da"):
        assert refused.reason_display() == (
            "En henvisning, der allerede er modtaget, er sendt igen med et andet indhold; "
            "ring til henviseren"
        )
    # The same case sent again as first sent is still answered with the referral.
    again = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0050"
    )
    [reply] = sim.send(again)
    assert ack_of(reply)[0] == "ok"
    assert Referral.objects.filter(citizen=citizen).count() == 1


def test_a_1813_case_sent_again_naming_another_physician_is_fatal(live_network) -> None:
    """The physician responsible is who the nurse phones: a resend naming
    another is refused, never answered with the first physician kept."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    first = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0051"
    )
    assert ack_of(sim.send(first)[0])[0] == "ok"
    other = helpline_referral(
        sender_code=sim.code,
        patient=patient_resource(citizen),
        reason="Fald",
        case_id="1813-0051",
        doctor=("Læge Jensen, 1813", "+4570131814"),
    )
    [reply] = sim.send(other)
    answer, _, outcome = ack_of(reply)
    assert answer == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.resent_changed"
    assert Referral.objects.get(citizen=citizen).responsible_physician_name == "Læge Hansen, 1813"


def test_a_revoked_1813_case_reads_on_the_board_as_a_withdrawal_to_follow_up(
    live_network,
) -> None:
    """A withdrawal by message is refused (a phone call withdraws it), so the
    coordinator must learn of it: her board says in Danish that the referrer
    withdrew or changed a referral, not that some rule refused a message."""
    citizen = f.citizen()
    sim = live_network.sims["1813"]
    first = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0052"
    )
    assert ack_of(sim.send(first)[0])[0] == "ok"
    revoked = helpline_referral(
        sender_code=sim.code, patient=patient_resource(citizen), reason="Fald", case_id="1813-0052"
    )
    revoked["entry"][2]["resource"]["status"] = "revoked"
    assert ack_of(sim.send(revoked)[0])[0] == "fatal-error"
    refused = InboundMessage.objects.get(outcome=InboundMessage.Outcome.FATAL)
    with translation.override("da"):
        assert refused.reason_display() == (
            "Ikke en aktiv henvisning (tilbagekaldt, fejlregistreret, sat i bero eller en "
            "kladde); ring til henviseren, og tjek borgerens henvisning"
        )
