"""A refusal's English sentence on the API names statuses by their code: it
was built from the statuses' labels in the active language, so the API said
"The order is bekræftet af lægen, not awaiting confirmation." The Danish
sentence for the pages is core.messages' own."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from tests import factories
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.acute.clinical.test_orders import post_phone_order

pytestmark = pytest.mark.django_db


def test_confirming_twice_says_so_in_one_language(scene: Scene):
    assert post_phone_order(scene).status_code == 201
    order = MedicationOrder.objects.get(visit=scene.visit)
    physician = factories.client_for(scene.physician)
    assert physician.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 200
    again = physician.post(f"/api/clinical/orders/{order.pk}/confirm", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "order.not_awaiting_confirmation"
    assert error["message"] == "The order is confirmed by the physician, not awaiting confirmation."
    # Without Accept-Language the API speaks Danish (docs/api.md), the pages' sentence.
    danish = physician.post(f"/api/clinical/orders/{order.pk}/confirm").json()["error"]
    assert danish["message"] == "Ordinationen er bekræftet af lægen og afventer ikke bekræftelse."


def test_a_result_before_she_is_there_says_so_in_one_language():
    scene = visit_scene(on_site=False)
    refused = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": "50", "unit": "mg/L"}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 412, refused.content
    error = refused.json()["error"]
    assert error["code"] == "visit.wrong_status"
    assert error["message"].endswith("while the visit is on site; it is assigned.")
