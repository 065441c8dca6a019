"""The predefined test catalogue (R7) as data: codes, units, limits, interpretation,
and extension by configuration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acute.clinical.catalogue import interpret
from acute.clinical.models import TestDefinition
from tests import factories
from tests.acute.clinical.conftest import Scene

pytestmark = pytest.mark.django_db

R7 = {
    "NPU22089": "mmol/L",
    "NPU21531": "mmol/L",
    "NPU19748": "mg/L",
    "NPU03429": "mmol/L",
    "NPU03230": "mmol/L",
    "NPU18016": "umol/L",
    "DNK35302": "mL/min/{1.73_m2}",
}


def test_catalogue_holds_r7_tests_and_procedures_with_units_and_limits():
    """R7: the predefined tests and procedures, each with NPU code and UCUM unit."""
    predefined = {t.code: t for t in TestDefinition.objects.filter(predefined=True)}
    for code, unit in R7.items():
        assert predefined[code].unit == unit
        assert predefined[code].critical_low is not None or predefined[code].critical_high
    assert {"urinary-catheter", "feeding-tube"} <= set(predefined)
    outside = set(TestDefinition.objects.filter(predefined=False).values_list("code", flat=True))
    assert {"NPU02319", "NPU01685", "urine-dipstick"} <= outside


@pytest.mark.parametrize(
    ("code", "value", "sex", "expected"),
    [
        ("NPU03230", "3.5", "female", "N"),  # reference limits are inclusive
        ("NPU03230", "3.4", "female", "L"),
        ("NPU03230", "4.5", "female", "H"),
        ("NPU03230", "6.5", "female", "H"),  # critical only beyond the limit
        ("NPU03230", "6.6", "female", "HH"),
        ("NPU03230", "2.4", "female", "LL"),
        ("NPU03429", "119", "male", "LL"),
        ("NPU18016", "100", "female", "H"),  # female interval 45-90
        ("NPU18016", "100", "male", "N"),  # male interval 60-105
        ("NPU22089", "26", "female", "HH"),
        ("NPU19748", "0", "male", "N"),
    ],
)
def test_interpretation(code: str, value: str, sex: str, expected: str):
    test = TestDefinition.objects.get(code=code)
    assert interpret(test, Decimal(value), sex=sex) == expected


def test_catalogue_extended_by_configuration_needs_no_code(scene: Scene):
    """A test added as data and marked predefined is taken without delegation."""
    hb = TestDefinition.objects.get(code="NPU02319")
    hb.predefined = True
    hb.save(update_fields=["predefined"])
    TestDefinition.objects.create(
        code="NPU01370",
        display="Albumin; plasma",
        kind="observation",
        predefined=True,
        unit="g/L",
        unit_display="g/L",
        decimals=0,
        reference_low=Decimal("36"),
        reference_high=Decimal("48"),
        plausible_low=Decimal("5"),
        plausible_high=Decimal("80"),
    )
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {
            "results": [
                {"code": "NPU02319", "value": "8.1", "unit": "mmol/L"},
                {"code": "NPU01370", "value": "30", "unit": "g/L"},
            ]
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert [r["interpretation"] for r in response.json()["results"]] == ["N", "L"]


def test_catalogue_endpoint(scene: Scene):
    body = factories.client_for(scene.nurse).get("/api/clinical/catalogue").json()
    by_code = {t["code"]: t for t in body["tests"]}
    assert by_code["DNK35302"]["derived_from"] == "NPU18016"
    assert by_code["NPU02319"]["predefined"] is False
    auditor = factories.staff("auditor", factories.acute_function())
    assert factories.client_for(auditor).get("/api/clinical/catalogue").status_code == 403
