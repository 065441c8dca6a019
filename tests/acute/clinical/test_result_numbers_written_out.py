"""A measurement sent as text is the number written out, as a dose and a
cabinet quantity are: a CRP "1e2" is no CRP of 100. Text with an exponent,
and text that is no plain decimal ("1_000", "0x10", a fullwidth five), is
refused with the field's own code — a lab result, its correction and vital
signs alike — nothing is written, and the refusal is recorded on the citizen
(R9). Text is the number as JSON writes it, with the decimal comma these
fields document: a space around the digits, a plus, a leading zero or a
decimal sign without a digit on each side is no number written out, on the
API as for a dose. A JSON number literal (``1.000e2``) is a number, not
text, and keeps its meaning."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acute.clinical.models import LabResult
from acute.models import VitalSign
from consent.audit.models import AuditEntry
from tests import factories
from tests.acute.clinical.conftest import Scene

pytestmark = pytest.mark.django_db

ODD = ["1e2", "1E2", "10e+1", "1.5e1", "1_000", "0x10", "\uff15"]
ODD += [" 5 ", "5 ", "\t5", "+5", "05", "5.", ".5", "5,", ",5", "5,,0"]


def _refused_on_her(scene: Scene, code: str) -> bool:
    return AuditEntry.objects.filter(
        citizen_id=scene.visit.citizen_id,
        resource_type="Observation",
        outcome="denied",
        reason_code=code,
    ).exists()


@pytest.mark.parametrize("sent", ODD)
def test_r9_a_lab_value_sent_as_odd_text_is_refused_and_recorded(scene: Scene, sent: str):
    answer = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": sent, "unit": "mg/L"}]},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("lab.value_invalid", "results[0].value")
    assert error["message"] == "Angiv et tal."
    assert not LabResult.objects.exists()
    assert _refused_on_her(scene, "lab.value_invalid")


@pytest.mark.parametrize("sent", ODD)
def test_r9_a_correction_sent_as_odd_text_is_refused_and_the_result_stands(scene: Scene, sent: str):
    nurse = factories.client_for(scene.nurse)
    recorded = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": "250", "unit": "mg/L"}]},
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    [crp] = recorded.json()["results"]
    answer = nurse.post(
        f"/api/clinical/results/{crp['id']}/correct",
        {"reason": "Tastefejl", "value": sent, "unit": "mg/L"},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == (
        "lab.value_invalid",
        "value",
    )
    assert list(LabResult.objects.values_list("value", "status")) == [(Decimal("250"), "final")]
    assert _refused_on_her(scene, "lab.value_invalid")


@pytest.mark.parametrize("sent", ODD)
def test_r9_vital_signs_sent_as_odd_text_are_refused_and_recorded(scene: Scene, sent: str):
    answer = factories.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": "38.5"}, {"code": "8867-4", "value": sent}]},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == (
        "vital_signs.value_invalid",
        "measurements[1].value",
    )
    assert not VitalSign.objects.exists()
    assert _refused_on_her(scene, "vital_signs.value_invalid")


def test_json_number_literals_and_decimal_text_keep_their_meaning(scene: Scene):
    nurse = factories.client_for(scene.nurse)
    vitals = nurse.post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        data=b'{"measurements": [{"code": "8867-4", "value": 1.000e2},'
        b' {"code": "8310-5", "value": "38,5"}]}',
        content_type="application/json",
    )
    assert vitals.status_code == 201, vitals.content
    assert sorted(VitalSign.objects.values_list("value", flat=True)) == [
        Decimal("38.5"),
        Decimal("100.0"),
    ]
    results = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        data=b'{"results": [{"code": "NPU19748", "value": 1.2e2, "unit": "mg/L"},'
        b' {"code": "NPU19748", "value": "15,0", "unit": "mg/L"}]}',
        content_type="application/json",
    )
    assert results.status_code == 201, results.content
    assert sorted(LabResult.objects.values_list("value", flat=True)) == [
        Decimal("15"),
        Decimal("120"),
    ]


@pytest.mark.parametrize("sent", ["5", "5.0", "5,0"])
def test_a_lab_value_written_out_is_read_as_a_dose_is(scene: Scene, sent: str):
    answer = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": sent, "unit": "mg/L"}]},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert LabResult.objects.get().value == Decimal("5")
