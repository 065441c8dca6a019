"""Every time the platform writes in FHIR — its REST FHIR (read, search,
$everything, the CapabilityStatement, AuditEvents) and the MedCom messages
it builds — is in UTC written one way, ``Z`` (core.times.fhir_instant): a
partner that compares two times as text, or a person reading them, never
meets one instant written both ``…+00:00`` and ``…Z``. What a client wrote
into the shared record is given back as it wrote it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from acute.clinical.models import MedicationOrder
from core.models import Role
from core.times import fhir_instant
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.acute.clinical.test_order_received_by_another_route import UNKNOWN_PHYSICIAN
from tests.consent import bodies
from tests.consent.conftest import post

pytestmark = pytest.mark.django_db

# A FHIR dateTime or instant with a time of day (a date alone has no zone).
_WITH_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")
_UTC_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


def _times(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _times(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _times(inner, f"{where}[{i}]")
    elif isinstance(value, str) and _WITH_TIME.match(value):
        yield where, value


def test_fhir_instant_is_utc_with_z() -> None:
    copenhagen = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2026, 10, 25, 2, 30, 15, 250000, tzinfo=copenhagen)
    assert fhir_instant(at) == "2026-10-25T00:30:15.250000Z"
    assert fhir_instant(at, timespec="seconds") == "2026-10-25T00:30:15Z"
    assert fhir_instant(at.replace(microsecond=0)) == "2026-10-25T00:30:15Z"
    with pytest.raises(ValueError):
        fhir_instant(at.replace(tzinfo=None))


def test_every_time_in_fhir_output_and_built_messages_is_written_with_z() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8678/inbox")
    nurse = f.client_for(scene.nurse)
    visit = scene.visit.pk
    writes = [
        (
            f"/api/clinical/visits/{visit}/results",
            {"results": [{"code": "NPU03230", "value": "3.1", "unit": "mmol/L"}]},
        ),
        (f"/api/clinical/visits/{visit}/procedures", {"code": "feeding-tube"}),
        (
            f"/api/acute/visits/{visit}/vital-signs",
            {"measurements": [{"code": "8867-4", "value": "96"}]},
        ),
        (f"/api/clinical/visits/{visit}/phone-orders", PHONE_ORDER),
        (f"/api/clinical/visits/{visit}/phone-orders", {**PHONE_ORDER, **UNKNOWN_PHYSICIAN}),
    ]
    for path, body in writes:
        response = nurse.post(path, body, format="json")
        assert response.status_code == 201, (path, response.json())
    # A diagnosis in the shared record, its onset sent at +01:00.
    recorded = post(
        nurse,
        "/fhir/Condition",
        bodies.diagnosis(scene.citizen.pk, onsetDateTime="2026-12-01T10:00:00+01:00"),
    )
    assert recorded.status_code == 201, recorded.content[:300]
    unknown = MedicationOrder.objects.get(ordered_by_name=UNKNOWN_PHYSICIAN["ordered_by_name"])
    withdrawn = f.client_for(scene.coordinator).post(
        f"/api/clinical/orders/{unknown.pk}/withdrawal-phoned",
        {"phoned_by": "Peter Vagtlæge", "reason": "Forkert patient"},
        format="json",
    )
    assert withdrawn.status_code == 200, withdrawn.json()

    patient = scene.citizen.pk
    documents: dict[str, Any] = {}
    for path in (
        "/fhir/metadata",
        f"/fhir/Patient/{patient}",
        f"/fhir/Patient/{patient}/$everything",
        f"/fhir/ServiceRequest/referral-{scene.referral.pk}",
        f"/fhir/Task/visit-{visit}",
        f"/fhir/Encounter/visit-{visit}",
        *(
            f"/fhir/{kind}?patient=Patient/{patient}"
            for kind in (
                "Observation",
                "Procedure",
                "MedicationRequest",
            )
        ),
    ):
        response = nurse.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        documents[path] = response.json()
    # Each resource a search found, read on its own.
    for path, bundle in list(documents.items()):
        if "?" not in path:
            continue
        assert bundle.get("entry"), (path, bundle)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            read = f"/fhir/{resource['resourceType']}/{resource['id']}"
            response = nurse.get(read)
            assert response.status_code == 200, (read, response.content[:300])
            documents[read] = response.json()
    # The auditor's AuditEvents of the citizen.
    auditor = f.client_for(f.staff(Role.AUDITOR, scene.coordinator.organisation))
    response = auditor.get("/fhir/AuditEvent", {"patient": f"Patient/{patient}"})
    assert response.status_code == 200, response.content[:300]
    documents["/fhir/AuditEvent"] = response.json()
    # The MedCom messages the platform built (the GP asked to confirm the order).
    messages = list(OutboundMessage.objects.all())
    assert messages
    for message in messages:
        documents[f"outbox {message.event}"] = message.bundle

    found = [
        (doc, where, value) for doc, body in documents.items() for where, value in _times(body)
    ]
    assert {doc for doc, _, _ in found} >= {
        "/fhir/metadata",
        f"/fhir/Patient/{patient}/$everything",
        "/fhir/AuditEvent",
        *(f"outbox {m.event}" for m in messages),
    }
    assert any(where.endswith(".authoredOn") for _, where, _ in found)
    assert any(where == ".note[0].time" for _, where, _ in found)  # the phoned withdrawal
    other = [(doc, where, value) for doc, where, value in found if not _UTC_Z.fullmatch(value)]
    # Only what a client wrote in the shared record comes back as it wrote
    # it (the record keeps its author's words); every time the platform
    # writes is in the one form.
    assert {value for _, where, value in other if where.endswith(".onsetDateTime")} == {
        "2026-12-01T10:00:00+01:00"
    }
    assert [x for x in other if not x[1].endswith(".onsetDateTime")] == []
