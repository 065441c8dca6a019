"""A number typed on the nurse's pages is read as a Dane writes it: ``38,5``
(or ``38.5`` from a tablet's keyboard) is thirty-eight and a half, but
``1.000`` is a thousand to her and one to the keyboard, so it is refused on
its field, never stored as one; an exponent (``1e3``) is no number a person
types. The API's JSON numbers keep their meaning."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acute.clinical.models import LabResult, MedicationOrder
from acute.models import VitalSign
from medicine_cabinet.models import Administration, Balance
from tests import factories
from tests.acute.test_pages_nurse import _give_on_page, _on_site, _phone_order_on_page, _stocked

pytestmark = pytest.mark.django_db

GROUPED = (
    "Skriv tallet uden punktum som tusindtalsskilletegn: 1000,"
    " eller med komma som decimaltegn: 1,5."
)
NOT_A_NUMBER = "Skriv tallet kun med cifre og med komma som decimaltegn (fx 38,5)."

ORDER = {
    "medicine_atc": "N02BE01",
    "medicine_name": "Paracetamol",
    "dose_unit": "mg",
    "frequency": "engangsdosis",
    "duration": "1 dag",
}


def _refused_on(response, field: str, sentence: str) -> None:
    html = response.content.decode()
    assert response.status_code == 400, html[:2000]
    assert f'data-field="{field}"' in html
    assert sentence in html


@pytest.mark.parametrize(("typed", "sentence"), [("1.000", GROUPED), ("1e3", NOT_A_NUMBER)])
def test_vital_signs_typed_ambiguously_or_with_an_exponent_are_refused(typed, sentence):
    _nurse, _shift, visit, client = _on_site()
    response = client.post(f"/nurse/visits/{visit.pk}/vitals/", {"vital_8867-4": typed})
    _refused_on(response, "vital_8867-4", sentence)
    assert not VitalSign.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("typed", ["+38,5", "38,", ",5", "38,,5", "\u0663\u0668", "38 ,5"])
def test_vital_signs_typed_with_a_plus_or_a_bare_decimal_sign_are_refused(typed):
    _nurse, _shift, visit, client = _on_site()
    response = client.post(f"/nurse/visits/{visit.pk}/vitals/", {"vital_8310-5": typed})
    _refused_on(response, "vital_8310-5", NOT_A_NUMBER)
    assert not VitalSign.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("typed", ["38,5", "38.5", " 38,5 ", "38,5\u00a0"])
def test_a_temperature_with_a_decimal_comma_or_point_is_saved(typed):
    _nurse, _shift, visit, client = _on_site()
    assert (
        client.post(f"/nurse/visits/{visit.pk}/vitals/", {"vital_8310-5": typed}).status_code == 302
    )
    assert VitalSign.objects.get(visit=visit).value == Decimal("38.5")


@pytest.mark.parametrize(("typed", "sentence"), [("1.000", GROUPED), ("1e3", NOT_A_NUMBER)])
def test_a_lab_value_typed_ambiguously_or_with_an_exponent_is_refused(typed, sentence):
    _nurse, _shift, visit, client = _on_site()
    response = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": typed})
    _refused_on(response, "value", sentence)
    assert not LabResult.objects.filter(visit=visit).exists()
    shown = client.get(
        f"/nurse/visits/{visit.pk}/interpret/", {"code": "NPU19748", "value": typed}
    ).content.decode()
    assert "data-interpretation" not in shown and sentence in shown


@pytest.mark.parametrize("typed", ["5,5", "5.5"])
def test_a_lab_value_with_a_decimal_comma_or_point_is_saved(typed):
    _nurse, _shift, visit, client = _on_site()
    posted = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU22089", "value": typed})
    assert posted.status_code == 302
    assert LabResult.objects.get(visit=visit).value == Decimal("5.5")


@pytest.mark.parametrize(
    ("field", "typed", "sentence"),
    [
        ("dose", "1.000", GROUPED),
        ("dose", "1e3", NOT_A_NUMBER),
        ("total_quantity", "1.000", GROUPED),
        ("total_quantity", "1E-2", NOT_A_NUMBER),
    ],
)
def test_r8_a_phone_order_typed_ambiguously_is_refused_and_not_recorded(field, typed, sentence):
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "route": "oral",
            "indication": "Feber",
            "read_back": "on",
            "read_back_confirmed": "on",
            **ORDER,
            "dose": "500",
            field: typed,
        },
    )
    _refused_on(response, field, sentence)
    assert not MedicationOrder.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("typed", ["1.000", "1e3"])
def test_r8_the_doses_a_day_typed_with_a_dot_or_an_exponent_are_refused(typed):
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "route": "oral",
            "indication": "Feber",
            "read_back": "on",
            "read_back_confirmed": "on",
            **ORDER,
            "dose": "500",
            "frequency": "",
            "duration": "",
            "doses_per_day": typed,
        },
    )
    assert response.status_code == 400
    assert 'data-field="doses_per_day"' in response.content.decode()
    assert not MedicationOrder.objects.filter(visit=visit).exists()


@pytest.mark.parametrize("typed", ["0,5", "0.5"])
def test_r8_a_phone_order_dose_with_a_decimal_comma_or_point_is_recorded(typed):
    _nurse, _shift, visit, client = _on_site()
    order = _phone_order_on_page(client, visit, **{**ORDER, "dose": typed, "dose_unit": "g"})
    assert order.dose == Decimal("0.5")


@pytest.mark.parametrize(("typed", "sentence"), [("1.000", GROUPED), ("1e3", NOT_A_NUMBER)])
def test_r8_a_dose_typed_ambiguously_on_the_dose_form_leaves_the_bag_untouched(typed, sentence):
    nurse, _shift, visit, client = _on_site()
    furosemide, bag, lot = _stocked(
        nurse,
        atc="C03CA01",
        name="Furosemid",
        strength="10 mg/mL",
        form="solution for injection",
        unit="mL",
    )
    order = _phone_order_on_page(
        client,
        visit,
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="1,5",
        dose_unit="mL",
        frequency="én gang",
        duration="engangsdosis",
    )
    response = _give_on_page(client, visit, order, furosemide, typed)
    _refused_on(response, "quantity", sentence)
    confirmed = _give_on_page(client, visit, order, furosemide, "1,5", confirmed_dose=typed)
    _refused_on(confirmed, "confirmed_dose", sentence)
    assert not Administration.objects.filter(order=order).exists()
    assert Balance.objects.get(location=bag, lot=lot).quantity == 5

    assert _give_on_page(client, visit, order, furosemide, "1.5").status_code == 302
    assert Balance.objects.get(location=bag, lot=lot).quantity == Decimal("3.5")


def test_the_api_reads_json_numbers_and_point_decimals_as_before():
    nurse, _shift, visit, _client = _on_site()
    api = factories.client_for(nurse)
    # A JSON number literal with an exponent is a number; the same as text
    # ("1.000e2") is refused as every number written out is.
    answer = api.post(
        f"/api/acute/visits/{visit.pk}/vital-signs",
        data=b'{"measurements": [{"code": "8310-5", "value": 38.5},'
        b' {"code": "8867-4", "value": 1.000e2}]}',
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert sorted(VitalSign.objects.filter(visit=visit).values_list("value", flat=True)) == [
        Decimal("38.5"),
        Decimal("100.0"),
    ]
    nonsense = api.post(
        f"/api/acute/visits/{visit.pk}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": "NaN"}]},
        format="json",
    )
    assert nonsense.status_code == 400
    assert nonsense.json()["error"]["code"] == "vital_signs.value_invalid"
