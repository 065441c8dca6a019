"""R8: the physician's written correction of her own phone order is the
legally required written follow-up of an order already given, so it is
entered also after the nurse has completed the visit — from her page, in one
step, audited — while a new order on the completed visit is still refused.
A correction after a dose was given stays refused (``order.doses_given``,
tests/medicine_cabinet/test_cancelled_order_prescription.py): the ledger
keeps what was given against which order."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from acute.clinical.services import written_order_record
from acute.clinical.services.orders import OrderDetails
from acute.models import Visit
from acute.services import visit_complete
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import PlatformError
from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.clinical.test_pages_written_orders import _phone_order

pytestmark = pytest.mark.django_db

CORRECTED = {
    "medicine_atc": "J01CA08",
    "medicine_name": "Pivmecillinam 200 mg tablet",
    "dose": "200",
    "dose_unit": "mg",
    "route": "oral",
    "frequency": "3 gange dagligt",
    "duration": "3 dage",
    "indication": "Cystitis",
    "reason": "Dosis hørt forkert",
}


def _completed(scene: Scene) -> None:
    visit_complete(
        visit=Visit.objects.get(pk=scene.visit.pk),
        outcome="treated_at_home",
        actor=Actor.for_membership(scene.nurse),
    )


def test_r8_physician_corrects_her_phone_order_after_the_visit_was_completed(scene: Scene):
    order = _phone_order(scene)
    _completed(scene)
    client = Client()
    assert factories.log_in(client, scene.physician).status_code == 302

    corrected = client.post(f"/physician/orders/{order.pk}/correct/", CORRECTED)

    assert corrected.status_code == 302, corrected.content.decode()[:3000]
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_reason == "Dosis hørt forkert"
    new = MedicationOrder.objects.exclude(pk=order.pk).get()
    assert (new.kind, new.status, new.visit_id) == (
        MedicationOrder.Kind.WRITTEN,
        MedicationOrder.Status.CONFIRMED,
        scene.visit.pk,
    )
    assert str(new.dose) == "200.000"
    written = AuditEntry.objects.filter(
        actor_user_id=scene.physician.user_id,
        resource_type="MedicationRequest",
        outcome="permitted",
    )
    assert set(written.values_list("resource_id", "action")) >= {
        (str(order.pk), "update"),
        (str(new.pk), "create"),
    }
    # Only the correction of an order already given is written after the
    # visit: a new order on the completed visit is still refused.
    with pytest.raises(PlatformError) as caught:
        written_order_record(
            actor=Actor.for_membership(scene.physician),
            visit=Visit.objects.get(pk=scene.visit.pk),
            details=OrderDetails(**{k: v for k, v in CORRECTED.items() if k != "reason"}),
        )
    assert caught.value.code == "visit.wrong_status"
    assert MedicationOrder.objects.count() == 2
