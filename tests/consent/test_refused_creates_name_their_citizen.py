"""R9: a create on ``/fhir/`` refused before the gate is asked — a purpose
of use that names none, a body the input checks refuse, a header a create
does not take — is recorded on the log of the citizen its body names as
sent: ``subject`` as ``Patient/<id>`` or as a CPR identifier, looked up and
never written to the log. These attempts were recorded on no one's log,
where the same refusal of a transaction Bundle lands on hers. A body naming
nobody registered is on no one's log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective, RecordResource
from core.cpr import CPR_SYSTEM
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

pytestmark = pytest.mark.django_db


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _added(before: int) -> list[tuple[str, str, str, int | None]]:
    return [
        (e.outcome, e.action, e.reason_code, e.citizen_id)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]


def _by_number(world: World) -> dict[str, Any]:
    return {
        **bodies.diagnosis(world.person.pk),
        "subject": {"identifier": {"system": CPR_SYSTEM, "value": world.person.cpr}},
    }


@pytest.mark.parametrize(("purpose", "code"), [("NONSENSE", "purpose_unknown")])
def test_r9_a_create_refused_for_its_purpose_is_on_her_log(
    world: World, purpose: str, code: str
) -> None:
    client = f.client_for(world.nurse)
    records = RecordResource.objects.count()
    for body in (bodies.diagnosis(world.person.pk), _by_number(world)):
        before = _last_id()
        response = post(client, "/fhir/Condition", body, HTTP_X_PURPOSE_OF_USE=purpose)
        assert response.status_code == 400, response.content
        assert _added(before) == [("denied", "create", code, world.person.pk)]
    before = _last_id()
    nobody = post(
        client, "/fhir/Condition", bodies.diagnosis(987654321), HTTP_X_PURPOSE_OF_USE=purpose
    )
    assert nobody.status_code == 400
    assert _added(before) == [("denied", "create", code, None)]
    assert RecordResource.objects.count() == records


def test_r9_a_create_whose_body_the_input_checks_refuse_is_on_her_log(world: World) -> None:
    """A key given twice is refused before the body is read; the subject as
    sent still names her, and her CPR number is nowhere in the entry."""
    client = f.client_for(world.nurse)
    sent = json.dumps(_by_number(world)).replace(
        '"recordedDate": "2025-03-01"',
        '"recordedDate": "2025-03-01", "recordedDate": "2025-03-02"',
    )
    assert sent.count("recordedDate") == 2
    records = RecordResource.objects.count()
    before = _last_id()
    response = client.post("/fhir/Condition", data=sent, content_type=bodies.FHIR)
    assert response.status_code == 400, response.content
    [entry] = AuditEntry.objects.filter(id__gt=before)
    assert (entry.outcome, entry.action, entry.reason_code, entry.citizen_id) == (
        "denied",
        "create",
        issue_code(response),
        world.person.pk,
    )
    recorded = json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str)
    assert world.person.cpr not in recorded
    assert RecordResource.objects.count() == records


def _consent_by_number(world: World) -> dict[str, Any]:
    return {
        **bodies.refusal(world.person.pk),
        "patient": {"identifier": {"system": CPR_SYSTEM, "value": world.person.cpr}},
    }


def test_r9_a_consent_refused_at_the_door_is_on_her_log(world: World) -> None:
    """A ``POST /fhir/Consent`` refused before its purpose is asked — a
    header a create does not take, a key given twice, a NUL — is on the log
    of the citizen its ``patient`` names, by ``Patient/<id>`` or by CPR
    identifier (never recorded); one naming nobody registered on no one's."""
    client = f.client_for(world.coordinator)
    directives = ConsentDirective.objects.count()
    by_id = json.dumps(bodies.refusal(world.person.pk))
    by_number = json.dumps(_consent_by_number(world))
    twice = by_id.replace('"status": "active"', '"status": "active", "status": "active"')
    nul = by_number.replace('"active"', '"act\\u0000ive"')
    assert twice != by_id and nul != by_number
    for sent, headers in (
        (by_id, {"HTTP_IF_NONE_EXIST": "patient=1"}),
        (by_number, {"HTTP_IF_MATCH": 'W/"1"'}),
        (twice, {}),
        (nul, {}),
    ):
        before = _last_id()
        response = client.post("/fhir/Consent", data=sent, content_type=bodies.FHIR, **headers)
        assert response.status_code in (400, 412), response.content
        [entry] = AuditEntry.objects.filter(id__gt=before)
        assert (entry.outcome, entry.action, entry.reason_code, entry.citizen_id) == (
            "denied",
            "create",
            issue_code(response),
            world.person.pk,
        ), (sent[:80], headers)
        recorded = json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str)
        assert world.person.cpr not in recorded
    before = _last_id()
    nobody = client.post(
        "/fhir/Consent",
        data=json.dumps(bodies.refusal(987654321)),
        content_type=bodies.FHIR,
        HTTP_IF_NONE_EXIST="patient=1",
    )
    assert nobody.status_code == 400
    assert _added(before) == [("denied", "create", issue_code(nobody), None)]
    assert ConsentDirective.objects.count() == directives
