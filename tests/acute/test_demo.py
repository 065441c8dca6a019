"""The acute demo tells a newcomer whom to sign in as: the nurses on shift now
(the rota depends on the hour) and the one with a visit to accept."""

import pytest
from django.utils import timezone

from acute import demo
from acute.models import NurseShift, Visit
from core import demo as core_demo
from medicine_cabinet import demo as cabinet_demo
from medicine_cabinet import selectors as cabinet_selectors
from medicine_cabinet.models import Location

pytestmark = pytest.mark.django_db


def test_demo_names_the_nurses_on_shift_now_and_who_has_a_visit_to_accept() -> None:
    orgs = core_demo.load(lambda _: None)
    said: list[str] = []
    demo.load(said.append, orgs)

    now = timezone.now()
    on_shift = set(
        NurseShift.objects.filter(starts_at__lte=now, ends_at__gt=now).values_list(
            "nurse__username", flat=True
        )
    )
    assert on_shift
    line = next(s for s in said if s.startswith("acute: on shift now: "))
    assert set(line.removeprefix("acute: on shift now: ").split(", ")) == on_shift

    waiting = Visit.objects.get(status=Visit.Status.ASSIGNED)
    assert waiting.nurse.username in on_shift
    assert any(s.startswith(f"acute: {waiting.nurse.username} has a visit to accept") for s in said)

    # Loading again creates nothing but still says whom to sign in as.
    said.clear()
    demo.load(said.append, orgs)
    assert any(s.startswith("acute: on shift now: ") for s in said)


def test_nurses_on_shift_when_the_demo_is_loaded_have_stocked_bags() -> None:
    """R8: a nurse packs only her own bag and only on her shift, so the demo
    (loaded at every ``make run``) stocks the bags of nurses on shift then."""
    orgs = core_demo.load(lambda _: None)
    demo.load(lambda _: None, orgs)
    cabinet_demo.load(lambda _: None, orgs)
    stocked = {
        bag.nurse.username
        for bag in Location.objects.filter(kind=Location.Kind.BAG).select_related("nurse")
        if cabinet_selectors.location_balance(location=bag)
    }
    now = timezone.now()
    on_shift = set(
        NurseShift.objects.filter(starts_at__lte=now, ends_at__gt=now).values_list(
            "nurse__username", flat=True
        )
    )
    assert len(stocked) == cabinet_demo.STOCKED_BAGS
    assert stocked <= on_shift
