"""A page form that is refused comes back as it was filled in, with the
refusal under the field it concerns: the coordinator's records of a phone
order's withdrawal or confirmation received by another route (R8), and the
nurse's correction of a result on her visit page. Before, the first two
went back to the board with a message and the typed name, time and note
gone, and the third came back with the correction's reason and value
emptied and folded away."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.models import LabResult, MedicationOrder
from acute.clinical.services import medication_orders_watch
from tests.acute.clinical.conftest import Scene
from tests.acute.clinical.test_order_received_by_another_route import (
    UNKNOWN_PHYSICIAN,
    _login,
    _phone_order,
)
from tests.acute.test_pages import _assigned, _walk_to_site
from tests.acute.test_pages import _login as _nurse_login

pytestmark = pytest.mark.django_db


def _escalated(scene: Scene, settings) -> MedicationOrder:
    """A phone order of the 1813 doctor, no user, overdue: on the board's alerts."""
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    medication_orders_watch(
        now=timezone.now()
        + dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1)
    )
    return order


def _input(page: str, name: str, form_action: str) -> str:
    """The tag of the input ``name`` in the form posting to ``form_action``."""
    start = page.index(f'action="{form_action}"')
    form = page[start : page.index("</form>", start)]
    match = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', form)
    assert match, f"no {name} in the form"
    return match.group(0)


def test_r8_a_refused_withdrawal_comes_back_with_who_phoned_when_and_why(
    scene: Scene, settings
) -> None:
    order = _escalated(scene, settings)
    client = _login(scene.coordinator)
    action = f"/coordinator/orders/{order.pk}/withdrawal-phoned/"

    response = client.post(
        action,
        {
            "phoned_by": "Dr. Jens Vagt",
            "phoned_at": "2026-02-30T03:10",
            "reason": "Forkert patient i telefonen",
        },
    )

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert 'value="Dr. Jens Vagt"' in _input(page, "phoned_by", action)
    assert 'value="Forkert patient i telefonen"' in _input(page, "reason", action)
    phoned_at = _input(page, "phoned_at", action)
    assert 'value="2026-02-30T03:10"' in phoned_at
    assert 'aria-invalid="true"' in phoned_at
    assert "Skriv dato og klokkeslæt for, hvornår lægen ringede." in page
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


def test_r8_a_refused_receipt_comes_back_with_how_it_was_seen_and_the_note(
    scene: Scene, settings
) -> None:
    order = _escalated(scene, settings)
    client = _login(scene.coordinator)
    action = f"/coordinator/orders/{order.pk}/received/"

    # Neither the confirmation nor the prescription ticked.
    response = client.post(action, {"seen_by": "written", "note": "Mail fra lægen kl. 07.10"})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert 'value="Mail fra lægen kl. 07.10"' in _input(page, "note", action)
    assert re.search(r'<option value="written" selected>', page)
    assert 'name="confirmation" checked' not in page  # as she sent it: unticked
    assert "Angiv, om bekræftelsen, recepten eller begge er modtaget." in page
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION

    # Sent again as corrected, from the form shown: recorded.
    ref = _input(page, "form_ref", action).split('value="')[1].split('"')[0]
    again = client.post(
        action,
        {"form_ref": ref, "confirmation": "on", "seen_by": "written", "note": "Mail fra lægen"},
    )
    assert again.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED


def test_a_refused_correction_of_a_result_comes_back_open_with_its_reason_and_value() -> None:
    nurse, _shift, visit = _assigned()
    client: Client = _nurse_login(nurse)
    _walk_to_site(client, visit)
    client.post(
        f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": "250", "unit": "mg/L"}
    )
    crp = LabResult.objects.get(visit=visit)
    action = f"/nurse/visits/{visit.pk}/results/{crp.pk}/fix/"

    response = client.post(action, {"reason": "Tastefejl ved aflæsning", "value": "2x5"})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert 'value="Tastefejl ved aflæsning"' in _input(page, "reason", action)
    value = _input(page, "value", action)
    assert 'value="2x5"' in value
    assert "<details open><summary>" in page[: page.index(f'action="{action}"')]
    assert not LabResult.objects.filter(replaces=crp).exists()
    crp.refresh_from_db()
    assert crp.status != LabResult.Status.ENTERED_IN_ERROR
