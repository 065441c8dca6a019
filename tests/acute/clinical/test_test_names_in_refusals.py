"""A refusal that names a test (R7: not predefined, already predefined,
implausible, the wrong unit) names it as the pages list it: in Danish on a
Danish page and in the API's Danish answer, in English when English is asked
for. The catalogue keeps the English display, exchanged as the FHIR code's
display, so the name is translated where the sentence is written out."""

from __future__ import annotations

import pytest

from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db


def _results(scene: Scene, entry: dict[str, str], language: str):
    return factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [entry]},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.parametrize(
    ("entry", "code", "danish", "english"),
    [
        (
            {"code": "NPU02319", "value": "7.9", "unit": "mmol/L"},
            "clinical.delegation_required",
            "Hæmoglobin(Fe); blod",
            "Haemoglobin(Fe); blood",
        ),
        (
            {"code": "NPU22089", "value": "7.4", "unit": "mg/L"},
            "lab.unit_mismatch",
            "Glukose; kapillært blod-plasma",
            "Glucose; capillary blood plasma",
        ),
        (
            {"code": "NPU22089", "value": "900", "unit": "mmol/L"},
            "lab.value_implausible",
            "Glukose; kapillært blod-plasma",
            "Glucose; capillary blood plasma",
        ),
    ],
)
def test_r7_the_api_names_the_test_in_the_language_asked_for(
    scene: Scene, entry, code, danish, english
):
    danish_answer = _results(scene, entry, "da")
    assert danish_answer.json()["error"]["code"] == code
    message = danish_answer.json()["error"]["message"]
    assert danish in message and english not in message
    english_answer = _results(scene, entry, "en")
    assert english in english_answer.json()["error"]["message"]


def test_r7_the_visit_page_names_a_test_outside_r7_in_danish():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    refused = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU02319", "value": "7,4"})
    html = refused.content.decode()
    assert refused.status_code == 403
    assert 'data-code="clinical.delegation_required"' in html
    assert "Hæmoglobin(Fe); blod er ikke en af de foruddefinerede prøver" in html
    assert "Haemoglobin" not in html
    dipstick = client.post(f"/nurse/visits/{visit.pk}/procedure/", {"code": "urine-dipstick"})
    assert "Urinstix er ikke en af de foruddefinerede prøver" in dipstick.content.decode()
    predefined = client.post(
        f"/nurse/visits/{visit.pk}/delegation/",
        {
            "code": "NPU22089",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
        },
    )
    text = predefined.content.decode()
    assert 'data-code="delegation.not_required"' in text
    assert "Glukose; kapillært blod-plasma" in text.split('data-code="delegation.not_required"')[1]
