"""The physician's page: her phone orders waiting for confirmation, confirm,
mark the prescription sent (R8) — through the clinical selectors and services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db

ORDER = {
    "ordered_by_name": "Læge Hansen",
    "ordered_by_organisation_name": "Lægehuset",
    "medicine_atc": "J01CA08",
    "medicine_name": "Pivmecillinam",
    "dose": "400",
    "dose_unit": "mg",
    "route": "oral",
    "frequency": "3 gange dagligt",
    "duration": "5 dage",
    "indication": "Urinvejsinfektion",
    "read_back": "on",
    "read_back_confirmed": "on",
}


def _physician(authorisation_id: str):
    membership = factories.staff(Role.PHYSICIAN, factories.gp_practice())
    membership.user.authorisation_id = authorisation_id
    membership.user.save(update_fields=["authorisation_id"])
    return membership


def _phone_order(physician) -> MedicationOrder:
    nurse, _shift, visit = _assigned()
    nurse_client = _login(nurse)
    _walk_to_site(nurse_client, visit)
    response = nurse_client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {**ORDER, "ordered_by_authorisation_id": physician.user.authorisation_id},
    )
    assert response.status_code == 302
    return MedicationOrder.objects.get(visit=visit)


def test_physician_confirms_her_order_and_marks_the_prescription_sent(
    django_assert_max_num_queries,
):
    physician = _physician("PH001")
    order = _phone_order(physician)
    assert order.ordering_physician_id == physician.user_id
    client: Client = _login(physician)
    client.get("/physician/orders/")
    with django_assert_max_num_queries(14):
        html = client.get("/physician/orders/").content.decode()
    assert "Pivmecillinam" in html and f"/physician/orders/{order.pk}/confirm/" in html

    assert client.post(f"/physician/orders/{order.pk}/confirm/").status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED
    again = client.post(f"/physician/orders/{order.pk}/confirm/")
    assert again.status_code == 409
    assert 'data-code="order.not_awaiting_confirmation"' in again.content.decode()

    assert client.post(f"/physician/orders/{order.pk}/prescription-sent/").status_code == 302
    order.refresh_from_db()
    assert order.prescription_status == MedicationOrder.PrescriptionStatus.SENT


def test_another_physician_cannot_confirm_and_is_audited():
    order = _phone_order(_physician("PH002"))
    other = _physician("PH003")
    response = _login(other).post(f"/physician/orders/{order.pk}/confirm/")
    assert response.status_code in (403, 404)
    assert "Ikke tilgængelig" in response.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert AuditEntry.objects.filter(
        actor_user_id=other.user_id, outcome="denied", resource_type="MedicationRequest"
    ).exists()


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.COORDINATOR, Role.AUDITOR])
def test_other_roles_are_refused_the_physician_page(role):
    client = _login(factories.staff(role, factories.acute_function()))
    assert client.get("/physician/orders/").status_code == 403
    assert client.post("/physician/orders/1/confirm/").status_code == 403


def test_a_critical_result_reaches_her_page_in_danish_and_seen_there_ends_the_nurses_warning():
    """The alert a critical value raises for the responsible physician shows on
    her page — the test's Danish name, a decimal comma, the unit as written —
    and she marks it seen there; another physician cannot, and is audited."""
    from acute.clinical.models import PhysicianAlert
    from tests.acute.clinical.conftest import visit_scene

    scene = visit_scene()
    nurse = factories.client_for(scene.nurse)
    response = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "7.2", "unit": "mmol/L"}]},
        format="json",
    )
    assert response.status_code == 201
    alert = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CRITICAL_RESULT)
    assert alert.recipient_id == scene.physician.user_id

    client: Client = _login(scene.physician)
    html = client.get("/physician/orders/").content.decode()
    assert f'id="alert-{alert.pk}"' in html
    assert "Kalium; plasma: 7,2 mmol/L" in html and "Kritisk høj" in html
    assert scene.citizen.family_name in html

    other = _physician("PH009")
    refused = _login(other).post(f"/physician/alerts/{alert.pk}/acknowledge/")
    assert refused.status_code in (403, 404)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert AuditEntry.objects.filter(
        actor_user_id=other.user_id, outcome="denied", resource_type="Flag"
    ).exists()

    assert client.post(f"/physician/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by_id == scene.physician.user_id
    assert f'id="alert-{alert.pk}"' not in client.get("/physician/orders/").content.decode()


@pytest.mark.parametrize(
    ("confirm_by", "shown"),
    [
        # The night summer time ends: 02:30 comes twice, she is told which.
        ("2026-10-25T00:30:00+00:00", "25. okt 02:30 (sommertid)"),
        ("2026-10-25T01:30:00+00:00", "25. okt 02:30 (vintertid)"),
    ],
)
def test_r8_the_time_to_confirm_by_says_which_hour_on_the_night_it_comes_twice(
    confirm_by: str, shown: str
):
    physician = _physician("PH001")
    order = _phone_order(physician)
    MedicationOrder.objects.filter(pk=order.pk).update(
        confirm_by=dt.datetime.fromisoformat(confirm_by)
    )
    html = _login(physician).get("/physician/orders/").content.decode()
    card = html[html.index(f'id="order-{order.pk}"') :]
    assert f"<dd>{shown}</dd>" in card[: card.index("</article>")]
