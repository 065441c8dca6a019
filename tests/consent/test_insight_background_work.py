"""R5, R9: the platform's own scheduled work on a citizen's data is on her
log under the organisation whose work it is — the acute function whose
assignment went unanswered, or which serves her for a planned visit — so
the auditors' search by organisation finds it and her insight report says
who did it, from which organisation, on every door."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import services, tasks
from acute.clinical.models import MedicationOrder
from acute.clinical.services import medication_orders_watch
from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.consent.test_insight import _page_client

pytestmark = pytest.mark.django_db


def _unanswered_assignment_expires():
    function = f.acute_function()
    coordinator = f.staff(Role.COORDINATOR, function)
    _nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    sent = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert sent.status_code == 201, sent.content
    assert services.visits_expire_unanswered(now=timezone.now() + dt.timedelta(hours=2)) == 1
    return function, referral


def test_r5_an_unanswered_assignment_expiring_names_the_acute_function_on_her_report() -> None:
    function, referral = _unanswered_assignment_expires()
    background = AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, task="acute.visits_expire_unanswered"
    ).get()
    assert (background.actor_organisation_id, background.actor_organisation_name) == (
        function.pk,
        function.name,
    )
    assert background.actor_user_id is None and background.partner_organisation_id is None

    auditor = f.staff(Role.AUDITOR, function)
    # The auditors' search by organisation finds the function's own scheduled work.
    found = f.client_for(auditor).get(
        f"/api/audit/entries?organisation={function.pk}&citizen={referral.citizen_id}&limit=200"
    )
    assert background.pk in [e["id"] for e in found.json()["results"]]

    bundle = f.client_for(auditor).get(f"/fhir/Patient/{referral.citizen_id}/$insight").json()
    event = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "AuditEvent"
        and e["resource"]["id"] == str(background.pk)
    )
    organisations = [
        a["who"]
        for a in event["agent"]
        if a["who"].get("reference", "").startswith("Organization/")
    ]
    assert {"reference": f"Organization/{function.pk}", "display": function.name} in organisations

    page = _page_client(auditor).get(f"/consent/insight/{referral.citizen_id}/").content.decode()
    row_at = page.index("ubesvarede besøg udløber")
    row = page[page.rindex("<tr", 0, row_at) : page.index("</tr>", row_at)]
    assert function.name in row


def test_r5_a_planned_visit_sent_by_the_platform_names_the_function_serving_her(settings) -> None:
    function = f.acute_function()
    coordinator = f.staff(Role.COORDINATOR, function)
    _nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    Referral.objects.filter(pk=referral.pk).update(planned_for=timezone.now())
    settings.ACUTE_AUTO_ASSIGN = True

    assert tasks.planned_dispatch() == 1
    assert Visit.objects.get(referral=referral).shift_id == shift.pk
    background = AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, task="acute.planned_dispatch"
    )
    assert background.exists()
    assert {(e.actor_organisation_id, e.actor_organisation_name) for e in background} == {
        (function.pk, function.name)
    }


def test_r5_the_phone_order_watch_names_the_function_that_recorded_the_order(settings) -> None:
    scene = visit_scene()
    posted = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert posted.status_code == 201, posted.content
    order = MedicationOrder.objects.get()
    later = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES + 1
    )
    assert medication_orders_watch(now=later).reminded == 1
    reminder = AuditEntry.objects.get(
        citizen_id=scene.citizen.pk, task="clinical.medication_orders_watch"
    )
    assert reminder.actor_organisation_id == order.recorded_by_organisation_id
    assert reminder.actor_organisation_name == scene.nurse.organisation.name
