"""R8: a physician with no login phones to stop her order after a dose was
given against it (an adverse reaction is the common cause). The
coordinator records it as the physician's own stop would be: no further
dose may be given, the order reads ``stopped`` on FHIR, and the
prescription for the dose already given is still owed."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from core.models import Role
from tests import factories as f
from tests.medicine_cabinet.conftest import visit_for
from tests.medicine_cabinet.test_order_limit import _give, _in_bag, _phone_order

pytestmark = pytest.mark.django_db


def test_r8_a_phoned_withdrawal_after_a_dose_stops_further_doses(
    officer, nurse, cabinet, bag, furosemide
):
    _in_bag(officer, nurse, cabinet, bag, furosemide, "5")
    visit = visit_for(nurse, f.citizen())
    # The physician on the phone is no user of the platform.
    order = _phone_order(
        nurse,
        visit,
        furosemide,
        frequency="3 times daily",
        duration="2 days",
        ordered_by_authorisation_id="9Z9Z9",
    )
    assert MedicationOrder.objects.get(pk=order["id"]).ordering_physician is None
    assert _give(nurse, visit, order["id"], furosemide, "1").status_code == 201
    coordinator = f.staff(Role.COORDINATOR, nurse.organisation)

    response = f.client_for(coordinator).post(
        f"/api/clinical/orders/{order['id']}/withdrawal-phoned",
        {"phoned_by": "Peter Vagtlæge", "reason": "Ringede: allergisk reaktion, stop"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    stopped = MedicationOrder.objects.get(pk=order["id"])
    assert stopped.status == MedicationOrder.Status.CANCELLED
    assert stopped.cancel_phoned_by == "Peter Vagtlæge"
    owed = MedicationOrder.objects.filter(MedicationOrder.prescription_owed(), pk=order["id"])
    assert owed.exists()
    again = _give(nurse, visit, order["id"], furosemide, "1")
    assert again.status_code == 412, again.json()
    assert again.json()["error"]["code"] == "order.cancelled"
    read = f.client_for(nurse).get(f"/fhir/MedicationRequest/{order['id']}")
    assert read.json()["status"] == "stopped"
