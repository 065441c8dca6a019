"""Citizens: a valid CPR number, stored once, never shown in full by accident."""

from decimal import Decimal

import pytest

from core.cpr import X_ECPR_SYSTEM, ReplacementCpr
from core.errors import STATUS_BY_KIND, Duplicate, InvalidInput
from core.models import Citizen
from core.services import citizen_create
from tests import factories as f

pytestmark = pytest.mark.django_db


def _create(**overrides: object) -> Citizen:
    fields: dict[str, object] = dict(
        cpr="050345-1236",
        given_name="Karen",
        family_name="Holm",
        address_line="Søborg Hovedgade 12",
        postal_code="2860",
        city="Søborg",
        latitude=Decimal("55.728"),
        longitude=Decimal("12.508"),
        municipality=f.municipality("159"),
    )
    fields.update(overrides)
    return citizen_create(**fields)


def test_a_citizen_is_created_with_birth_date_and_sex_from_the_cpr_number() -> None:
    person = _create()
    assert person.cpr == "0503451236"
    assert str(person.birth_date) == "1945-03-05"
    assert person.sex == "female"
    assert person.masked_cpr == "050345-XXXX"
    assert "0503451236" not in str(person)


def test_an_invalid_cpr_number_creates_nothing() -> None:
    with pytest.raises(InvalidInput) as caught:
        _create(cpr="3102451236")
    assert caught.value.code == "cpr.invalid"
    assert Citizen.objects.count() == 0


def test_the_same_cpr_number_cannot_be_registered_twice() -> None:
    """Already registered is a conflict with her record (409 on every door),
    under the code partners know, and the sentence never repeats the number."""
    _create()
    with pytest.raises(Duplicate) as caught:
        _create(given_name="Someone else")
    assert caught.value.code == "citizen.exists"
    assert caught.value.field == "cpr"
    assert STATUS_BY_KIND[caught.value.kind] == 409
    assert "0503451236" not in caught.value.message
    assert "050345" not in caught.value.message
    assert Citizen.objects.count() == 1


def test_residence_must_be_a_municipality() -> None:
    with pytest.raises(InvalidInput) as caught:
        _create(municipality=f.gp_practice())
    assert caught.value.field == "municipality"


def test_coordinates_outside_the_globe_are_refused() -> None:
    with pytest.raises(InvalidInput):
        _create(latitude=Decimal("123.0"))
    assert Citizen.objects.count() == 0


def test_the_patient_resource_is_valid_r4b_with_every_optional_part() -> None:
    """Patients are served as built from the citizen's columns: the FHIR R4B model
    must accept them, with and without phone, death, GP and CPR."""
    import datetime as dt

    from fhir.resources.R4B.patient import Patient

    from core.fhir.patient import patient_resource

    full = f.citizen()
    full.phone = "+45 12 34 56 78"
    full.deceased_at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    full.gp_practice = f.gp_practice()
    for citizen, show_cpr in ((full, True), (full, False), (f.citizen(), True)):
        data = patient_resource(citizen, show_cpr=show_cpr)
        parsed = Patient.model_validate(data)
        assert parsed.model_dump(mode="json", exclude_none=True) == data
        assert ("identifier" in data) is show_cpr
    assert data.get("telecom") is None and "generalPractitioner" not in data


def test_a_citizen_without_cpr_number_is_registered_by_replacement_cpr() -> None:
    """Birth date and sex from the replacement CPR; shown masked; one issuer's
    number registered once."""
    number = ReplacementCpr(X_ECPR_SYSTEM, "0703921vj4")
    person = _create(cpr=None, replacement_cpr=number)
    assert (person.cpr, person.replacement_cpr) == (None, "0703921VJ4")
    assert (str(person.birth_date), person.sex) == ("1992-03-07", "female")
    assert person.masked_cpr == "070392-XXXX"
    assert "0703921VJ4" not in str(person)
    with pytest.raises(Duplicate) as again:
        _create(cpr=None, replacement_cpr=number, given_name="Birgit")
    assert again.value.code == "citizen.exists"
    assert again.value.field == "replacement_cpr"


def test_a_citizen_needs_a_cpr_number_or_a_replacement_cpr() -> None:
    with pytest.raises(InvalidInput) as refused:
        _create(cpr=None)
    assert refused.value.code == "citizen.identifier_missing"


def test_a_day_of_death_is_kept_only_with_the_death_it_is_the_day_of() -> None:
    """The day a death was given as is kept beside its instant, never
    without it: the database refuses a day of death for the living, and
    citizen_create keeps no day that is not the instant's (a time of day)."""
    import datetime as dt

    from django.db import IntegrityError, transaction

    day = dt.date(2026, 11, 30)
    start = dt.datetime(2026, 11, 29, 23, tzinfo=dt.UTC)
    as_day = _create(deceased_at=start, deceased_on=day)
    as_day.refresh_from_db()
    assert (as_day.deceased_at, as_day.deceased_on) == (start, day)
    timed = _create(
        cpr=f.cpr_number(born=dt.date(1945, 3, 5)),
        deceased_at=start + dt.timedelta(hours=9),
        deceased_on=day,
    )
    timed.refresh_from_db()
    assert timed.deceased_on is None
    with pytest.raises(IntegrityError), transaction.atomic():
        Citizen.objects.filter(pk=as_day.pk).update(deceased_at=None)
