"""Messages to the hospital that the platform builds as its adapter declares."""

from __future__ import annotations

import pytest

from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, physician_of, visit_scene

pytestmark = pytest.mark.django_db


def test_r8_a_hospital_physicians_phone_order_goes_to_the_hospital_to_confirm() -> None:
    """The ordering physician works in a hospital department: the request to
    confirm goes to the hospital's partner (the department's parent), not to
    the citizen's GP."""
    scene = visit_scene()
    department = f.hospital_department()
    physician_of(department, first="Bo", last="Berg", authorisation_id="9Z8Y7")
    hospital = f.integration_partner(
        Partner.Kind.HOSPITAL, department.parent, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8678/inbox")
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "ordered_by_name": "Bo Berg", "ordered_by_authorisation_id": "9Z8Y7"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    [message] = OutboundMessage.objects.filter(event=Event.ORDER_CONFIRMATION_REQUEST)
    assert message.partner == hospital
