"""R2 on free text: a psychiatric diagnosis written as a code (ICD-10 chapter
F, SKS ``DF…``) in text that leaves the acute function (the visit's
assessment and the outcome's note into the hand-back and the referrer's
outcome, the coordinator's reason for declining a referral, a care-thread
reply) or enters the shared record (a record
resource's text) is refused as a coded one is, nothing written, the attempt
audited. Ordinary clinical text (times, temperatures, doses) is taken, and
words are not judged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from acute import services
from acute.models import Episode, Referral, Visit, VisitNote
from consent.audit.models import AuditEntry
from consent.classifications import psychiatric_code_in_text
from consent.models import RecordResource
from core.actors import Actor
from core.models import Citizen, Organisation, Role
from integrations.models import CareThread, OutboundMessage, Partner
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene
from tests.consent import bodies
from tests.consent.conftest import World, post
from tests.integrations.medcom.peers import example, post_signed

CODE = "record.psychiatric_code_in_text"
REFUSED = ["F32 depression", "Vurdering: dF20.0, følges op", "kendt med DF321.", "(F10)"]
ORDINARY = [
    "Temp 38,2, puls 96",
    "Ses igen kl. 14.30",
    "Fx 32 mg givet",
    "Feber 101 F, 38 F om natten",
    "Hb 7,2; E11.9 kendt",
    "Depression kendt, ingen kode",
]


@pytest.mark.parametrize(
    "text, code",
    [
        ("F32 depression", "F32"),
        ("dF20.0", "dF20.0"),
        ("DF321", "DF321"),
        ("F32.A", "F32.A"),
        ("ICD-10:F32.", "F32"),
        ("F32-diagnose", "F32"),
        ("F320X", "F320X"),
        ("\uff26\uff13\uff12", "F32"),  # full-width
        ("F\u200b32", "F32"),  # a zero-width space pasted between
    ],
)
def test_r2_a_psychiatric_code_is_found_as_a_token_of_its_own(text: str, code: str) -> None:
    assert psychiatric_code_in_text(text) == code


@pytest.mark.parametrize(
    "text",
    [*ORDINARY, "98.6F", "AF321", "F32mg", "F 32", "F-32", "F1", "Fe 32", "F3210000", "NPU03429"],
)
def test_r2_ordinary_text_and_longer_words_are_not_codes(text: str) -> None:
    assert psychiatric_code_in_text(text) is None


def _denied(citizen_id: int, resource_type: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=citizen_id, outcome="denied", reason_code=CODE, resource_type=resource_type
    ).count()


@pytest.mark.parametrize("text", REFUSED)
def test_r2_a_shared_record_text_naming_a_psychiatric_code_is_refused(
    world: World, text: str
) -> None:
    client = f.client_for(world.nurse)
    held = RecordResource.objects.count()
    problem = bodies.nursing_problem(world.person.pk)
    problem["note"] = [{"text": text}]
    response = post(client, "/fhir/Condition", problem)
    assert response.status_code == 400, response.content
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == CODE
    assert [c["code"] for c in issue["details"]["coding"][1:]] == ["R2"]
    assert "R2 (kun tilladte data): " in issue["diagnostics"]
    assert issue["expression"] == ["Condition.note[0].text"]
    assert RecordResource.objects.count() == held
    assert _denied(world.person.pk, "Condition") == 1
    # The problem's own text and a plan's title alike.
    plan = bodies.care_plan(world.person.pk)
    plan["title"] = text
    assert post(client, "/fhir/CarePlan", plan).status_code == 400
    assert RecordResource.objects.count() == held


def test_r2_ordinary_record_text_is_taken(world: World) -> None:
    client = f.client_for(world.nurse)
    for text in ORDINARY:
        problem = bodies.nursing_problem(world.person.pk, text=text)
        problem["note"] = [{"text": text}]
        assert post(client, "/fhir/Condition", problem).status_code == 201, text


def test_r2_a_coding_display_in_icpc2_is_judged_by_its_system_not_as_text(world: World) -> None:
    # F70 is the eye in ICPC-2: its display beside the code is the code's name.
    client = f.client_for(world.nurse)
    problem = bodies.nursing_problem(world.person.pk)
    problem["code"]["coding"] = [
        {"system": "http://hl7.org/fhir/sid/icpc-2", "code": "F70", "display": "F70 Konjunktivitis"}
    ]
    assert post(client, "/fhir/Condition", problem).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["assessment", "note"])
def test_r2_completing_a_visit_with_a_psychiatric_code_is_refused_and_audited(field: str) -> None:
    scene = visit_scene()
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        {"outcome": "treated_at_home", field: "dF20.0 kendt"},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == CODE
    assert response.json()["error"]["field"] == field
    scene.visit.refresh_from_db()
    assert scene.visit.status == Visit.Status.ON_SITE
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN
    assert _denied(scene.visit.citizen_id, "Encounter") == 1


@pytest.mark.django_db
def test_r2_ordinary_assessment_and_note_complete_the_visit() -> None:
    scene = visit_scene()
    services.visit_complete(
        visit=scene.visit,
        outcome="treated_at_home",
        assessment="Temp 38,2, Fx 32 mg givet kl. 14.30",
        note="Feber 101 F",
        actor=Actor.for_membership(scene.nurse),
    )
    scene.visit.refresh_from_db()
    assert scene.visit.assessment == "Temp 38,2, Fx 32 mg givet kl. 14.30"
    assert Episode.objects.get(pk=scene.visit.episode_id).outcome_note == "Feber 101 F"


@pytest.mark.django_db
def test_r2_an_assessment_on_the_page_is_refused_in_danish_and_not_saved() -> None:
    scene = visit_scene()
    page = Client()
    assert f.log_in(page, scene.nurse).status_code == 302
    response = page.post(
        f"/nurse/visits/{scene.visit.pk}/note/",
        {"kind": "assessment", "text": "F32 depression"},
        follow=True,
    )
    assert "teksten nævner den psykiatriske diagnosekode F32" in response.content.decode()
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    scene.visit.refresh_from_db()
    assert scene.visit.assessment == ""
    assert _denied(scene.visit.citizen_id, "Encounter") == 1
    # A note that stays in the acute function is not screened.
    page.post(f"/nurse/visits/{scene.visit.pk}/note/", {"kind": "note", "text": "Temp 38,2"})
    assert VisitNote.objects.filter(visit=scene.visit, kind="note").exists()


@pytest.mark.django_db
def test_r2_the_coordinators_outcome_note_is_screened() -> None:
    scene = visit_scene(on_site=False)
    coordinator = f.client_for(scene.coordinator)
    url = f"/api/acute/episodes/{scene.visit.episode_id}/complete"
    refused = coordinator.post(
        url, {"outcome": "treated_at_home", "note": "F32 depression"}, format="json"
    )
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["code"] == CODE
    assert Episode.objects.get(pk=scene.visit.episode_id).status == Episode.Status.OPEN
    assert _denied(scene.visit.citizen_id, "EpisodeOfCare") == 1
    taken = coordinator.post(
        url, {"outcome": "treated_at_home", "note": "kl. 14.30"}, format="json"
    )
    assert taken.status_code == 200, taken.json()


@pytest.mark.django_db
def test_r2_a_decline_reason_naming_a_psychiatric_code_is_not_sent_to_the_referrer() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    messages_before = OutboundMessage.objects.count()
    url = f"/api/acute/referrals/{referral.pk}/decline"
    api = f.client_for(coordinator)

    refused = api.post(url, {"reason": "Kendt med DF321, henvises til psykiatrien"}, format="json")

    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["code"] == CODE
    assert refused.json()["error"]["field"] == "reason"
    referral.refresh_from_db()
    assert (referral.status, referral.decline_reason) == (Referral.Status.RECEIVED, "")
    assert OutboundMessage.objects.count() == messages_before
    assert _denied(referral.citizen_id, "ServiceRequest") == 1

    # The coordinator's page refuses it alike, in Danish on the reason's field.
    page = Client()
    assert f.log_in(page, coordinator).status_code == 302
    answer = page.post(
        f"/coordinator/referrals/{referral.pk}/triage/",
        {"decision": "decline", "reason": "F32 depression"},
    )
    assert answer.status_code == 400
    assert "teksten nævner den psykiatriske diagnosekode F32" in answer.content.decode()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED
    assert _denied(referral.citizen_id, "ServiceRequest") == 2

    taken = api.post(url, {"reason": "Indlagt kl. 14.30, temp 38,2"}, format="json")
    assert taken.status_code == 200, taken.json()
    referral.refresh_from_db()
    assert referral.decline_reason == "Indlagt kl. 14.30, temp 38,2"


def _thread() -> tuple[CareThread, Any, Any]:
    acute = f.acute_function()
    acute.sor_code, acute.ean = "953741000016009", "5790001348120"
    acute.save(update_fields=["sor_code", "ean"])
    hospital_org = f.organisation(
        Organisation.Kind.HOSPITAL,
        "Herlev og Gentofte",
        sor_code="265161000016000",
        ean="5790000209354",
    )
    hospital = f.integration_partner(
        Partner.Kind.HOSPITAL, hospital_org, endpoint_url="http://127.0.0.1:9/hospital"
    )
    person = f.citizen()
    Citizen.objects.filter(pk=person.pk).update(cpr="2509479989")  # MedCom's test person
    coordinator = f.staff(Role.COORDINATOR, acute)
    referral = f.acute_referral(person=person, by=coordinator)
    post_signed(hospital, example("carecommunication", "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"))
    page = Client()
    assert f.log_in(page, coordinator).status_code == 302
    return CareThread.objects.get(), page, referral


@pytest.mark.django_db
def test_r2_a_care_thread_reply_naming_a_psychiatric_code_is_not_sent() -> None:
    thread, page, referral = _thread()
    answer = page.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Borgeren har dF20.0", "on": f"referral-{referral.pk}"},
    )
    assert answer.status_code == 400
    told = answer.content.decode()
    assert "teksten nævner den psykiatriske diagnosekode dF20.0" in told
    assert "Borgeren har dF20.0" in told  # shown again as she wrote it
    assert not thread.messages.filter(direction="out").exists()
    assert not OutboundMessage.objects.exists()
    assert _denied(thread.citizen_id, "Communication") == 1
    page.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Temp 38,2, ses kl. 14.30", "on": f"referral-{referral.pk}"},
    )
    assert thread.messages.filter(direction="out").exists()
