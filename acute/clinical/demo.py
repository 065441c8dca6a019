"""Demo data for the visit's clinical work: on a visit already on site, a CRP and
a potassium, and a phone order from the demo physician awaiting her confirmation.
Idempotent: a visit that already has results is left alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from acute.clinical.models import LabResult
from acute.clinical.services import (
    OrderDetails,
    ResultInput,
    lab_results_record,
    phone_order_record,
)
from acute.models import Visit
from core.actors import Actor
from core.models import Membership, Role, User


def load(say: Callable[[str], Any], orgs: dict[str, Any]) -> None:
    visit = (
        Visit.objects.filter(status=Visit.Status.ON_SITE)
        .select_related("citizen", "shift__acute_function", "referral", "episode")
        .order_by("pk")
        .first()
    )
    if visit is None:
        say("clinical: no visit on site in the demo data; no results or orders added.")
        return
    if LabResult.objects.filter(visit=visit).exists():
        say(f"clinical: visit {visit.pk} already has results.")
        return
    membership = Membership.objects.filter(
        user=visit.nurse, role=Role.ACUTE_NURSE, is_active=True
    ).first()
    if membership is None:
        say("clinical: the visit's nurse has no acute nurse membership; skipped.")
        return
    actor = Actor.for_membership(membership)
    lab_results_record(
        actor=actor,
        visit=visit,
        entries=[
            ResultInput(code="NPU19748", value="86", unit="mg/L"),
            ResultInput(code="NPU03230", value="3.2", unit="mmol/L"),
            ResultInput(code="NPU18016", value="112", unit="umol/L"),
        ],
    )
    physician = User.objects.filter(username="physician").first()
    phone_order_record(
        actor=actor,
        visit=visit,
        details=OrderDetails(
            medicine_atc="J01CA08",
            medicine_name="Pivmecillinam 400 mg tablet",
            dose="400",
            dose_unit="mg",
            route="oral",
            frequency="3 times daily",
            duration="3 days",
            indication="Cystitis",
        ),
        ordered_at=timezone.now(),
        ordered_by_name=physician.display_name if physician else "Demo Læge",
        ordered_by_role="Physician",
        ordered_by_organisation_name="Lægevagten",
        ordered_by_authorisation_id=physician.authorisation_id if physician else "0DEMO",
        read_back=True,
        read_back_confirmed=True,
    )
    say(f"clinical: results and a phone order on visit {visit.pk}.")
