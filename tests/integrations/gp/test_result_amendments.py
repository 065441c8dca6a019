"""The GP who was sent a wrong value is told: MedCom's HomeCareObservation
again, ``modified-message`` with the corrected value or ``retract-message``
when nothing of it stands, with a Provenance naming the earlier message."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.outbox import outbox_acknowledge
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene

pytestmark = pytest.mark.django_db


def _resources(message: OutboundMessage, resource_type: str) -> list[dict]:
    return [
        e["resource"]
        for e in message.bundle["entry"]
        if e["resource"]["resourceType"] == resource_type
    ]


def _record(scene, *results):
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results", {"results": list(results)}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["results"]


def _provenances(message: OutboundMessage) -> dict[str, dict]:
    header = message.bundle["entry"][0]["resource"]
    own = f"MessageHeader/{header['id']}"
    return {
        ("own" if p["target"][0]["reference"] == own else "earlier"): p
        for p in _resources(message, "Provenance")
    }


def test_a_corrected_crp_reaches_the_gp_as_a_modified_message_naming_the_first() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox")
    crp, _potassium = _record(
        scene,
        {"code": "NPU19748", "value": "250", "unit": "mg/L"},
        {"code": "NPU03230", "value": "4.0", "unit": "mmol/L"},
    )
    [first] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)
    first_header = first.bundle["entry"][0]["resource"]["id"]

    response = f.client_for(scene.nurse).post(
        f"/api/clinical/results/{crp['id']}/correct",
        {"reason": "Tastefejl", "value": "25", "unit": "mg/L"},
        format="json",
    )
    assert response.status_code == 201, response.json()

    modified = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).exclude(
        pk=first.pk
    )
    [message] = modified
    assert validate_message(message.bundle) == []
    provenances = _provenances(message)
    own = provenances["own"]
    assert own["activity"]["coding"][0]["code"] == "modified-message"
    assert {"role": "revision", "what": {"reference": f"MessageHeader/{first_header}"}} in own[
        "entity"
    ]
    assert provenances["earlier"]["target"] == [{"reference": f"MessageHeader/{first_header}"}]
    # The report as it now stands: the wrong CRP entered in error (the same
    # Observation id as in the first message), the right one, the potassium.
    first_ids = {o["id"] for o in _resources(first, "Observation")}
    observations = _resources(message, "Observation")
    by_value = {(o["valueQuantity"]["value"], o["status"]) for o in observations}
    assert by_value == {(250.0, "entered-in-error"), (25.0, "final"), (4.0, "final")}
    withdrawn = next(o for o in observations if o["status"] == "entered-in-error")
    assert withdrawn["id"] in first_ids
    assert "Tastefejl" in withdrawn["text"]["div"]


def test_a_withdrawn_single_result_is_retracted_from_the_gp() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox")
    [crp] = _record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    [first] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)

    response = f.client_for(scene.nurse).post(
        f"/api/clinical/results/{crp['id']}/withdraw", {"reason": "Forkert borger"}, format="json"
    )
    assert response.status_code == 200, response.json()

    [message] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).exclude(
        pk=first.pk
    )
    assert validate_message(message.bundle) == []
    own = _provenances(message)["own"]
    assert own["activity"]["coding"][0]["code"] == "retract-message"
    [observation] = _resources(message, "Observation")
    assert observation["status"] == "entered-in-error"


def test_a_refused_withdrawal_tells_the_gp_nothing() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox")
    [crp] = _record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/results/{crp['id']}/withdraw", {"reason": ""}, format="json"
    )
    assert response.status_code == 400
    assert OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).count() == 1


def test_a_correction_of_parked_results_does_not_modify_a_report_the_gp_never_had() -> None:
    """The first report was parked for breaking MedCom's rules (the practice
    had no SOR code) and never left; once the practice is fixed, the
    corrected CRP goes as a new message, not as ``modified-message`` naming
    a MessageHeader the GP never received."""
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox")
    sor_code = scene.gp.sor_code
    scene.gp.sor_code = None
    scene.gp.save(update_fields=["sor_code"])
    [crp] = _record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    [parked] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)
    assert parked.status == OutboundMessage.Status.FAILED
    assert parked.last_error_code == "medcom.rule_broken"
    parked_header = parked.bundle["entry"][0]["resource"]["id"]

    scene.gp.sor_code = sor_code
    scene.gp.save(update_fields=["sor_code"])
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/results/{crp['id']}/correct",
        {"reason": "Tastefejl", "value": "25", "unit": "mg/L"},
        format="json",
    )
    assert response.status_code == 201, response.json()

    [message] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).exclude(
        pk=parked.pk
    )
    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert validate_message(message.bundle) == []
    assert parked_header not in str(message.bundle)
    [own] = _resources(message, "Provenance")
    assert own["activity"]["coding"][0]["code"] == "new-message"
    assert "entity" not in own


def test_a_correction_of_results_the_gp_refused_does_not_modify_a_report_it_never_kept() -> None:
    """The practice's system refused the first report (a fatal-error
    acknowledgement: it kept nothing), so the corrected CRP goes as a new
    message, not as ``modified-message`` naming a report the GP never kept:
    the same rule as for a reply in a conversation (``never_reached``)."""
    scene = visit_scene()
    gp = f.integration_partner(
        Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    [crp] = _record(scene, {"code": "NPU19748", "value": "250", "unit": "mg/L"})
    [refused] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION)
    OutboundMessage.objects.filter(pk=refused.pk).update(
        status=OutboundMessage.Status.AWAITING_ACK, sent_at=timezone.now()
    )
    outbox_acknowledge(partner=gp, answering=str(refused.message_id), code="fatal-error")
    refused.refresh_from_db()
    assert refused.status == OutboundMessage.Status.FAILED
    refused_header = refused.bundle["entry"][0]["resource"]["id"]

    response = f.client_for(scene.nurse).post(
        f"/api/clinical/results/{crp['id']}/correct",
        {"reason": "Tastefejl", "value": "25", "unit": "mg/L"},
        format="json",
    )
    assert response.status_code == 201, response.json()

    [message] = OutboundMessage.objects.filter(event=Event.HOME_CARE_OBSERVATION).exclude(
        pk=refused.pk
    )
    assert validate_message(message.bundle) == []
    assert refused_header not in str(message.bundle)
    [own] = _resources(message, "Provenance")
    assert own["activity"]["coding"][0]["code"] == "new-message"
