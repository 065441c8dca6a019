"""The cabinet's demo data: the typical formulary, a stocked cabinet and bags; idempotent."""

import pytest

from acute import demo as acute_demo
from core import demo as core_demo
from medicine_cabinet import demo, selectors
from medicine_cabinet.models import Location, Medicine, Movement

pytestmark = pytest.mark.django_db


def test_demo_loads_the_formulary_and_stock_once() -> None:
    orgs = core_demo.load(lambda _: None)
    acute_demo.load(lambda _: None, orgs)  # the rota: a §4 line is witnessed on duty
    demo.load(lambda _: None, orgs)
    counts = (Medicine.objects.count(), Location.objects.count(), Movement.objects.count())
    demo.load(lambda _: None, orgs)
    assert counts == (Medicine.objects.count(), Location.objects.count(), Movement.objects.count())
    assert counts[0] == 12
    dependence_forming = set(
        Medicine.objects.filter(dependence_forming=True).values_list("atc_code", flat=True)
    )
    assert dependence_forming == {"N02AA01", "N05CD08"}
    assert Medicine.objects.get(atc_code="N02BE01").dispensing == "otc"
    assert not Movement.objects.filter(
        lot__medicine__dependence_forming=True, witness__isnull=True
    ).exists()
    bag = Location.objects.filter(kind="bag").first()
    assert bag is not None and selectors.location_balance(location=bag)
