"""A value that cannot be real is refused with its bounds as a clinician
writes them: ``1 til 10 mmol/L`` and ``0,5`` on a Danish page, never
``1E+1``."""

from __future__ import annotations

import pytest

from acute.clinical.models import LabResult
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "value", "unit", "bounds"),
    [
        ("NPU03230", "-1", "mmol/L", "(1 til 10 mmol/L)"),
        ("NPU18016", "0", "umol/L", "(10 til 3000 µmol/L)"),
        ("NPU22089", "1000", "mmol/L", "(0,5 til 60 mmol/L)"),
    ],
)
def test_an_implausible_result_names_its_bounds_in_plain_danish_numbers(
    scene, code, value, unit, bounds
):
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": code, "value": value, "unit": unit}]},
        format="json",
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "lab.value_implausible"
    assert bounds in error["message"], error["message"]
    assert "E+" not in error["message"]
    assert not LabResult.objects.filter(visit=scene.visit).exists()


def test_the_same_bounds_in_english_keep_the_decimal_point(scene):
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU22089", "value": "0.1", "unit": "mmol/L"}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "(0.5 to 60 mmol/L)" in response.json()["error"]["message"]
