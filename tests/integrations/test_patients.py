"""The citizen a partner's message is about, registered from its Patient
when new (``integrations.patients``): a death the Patient reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import InvalidInput
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.patients import citizen_find_or_register
from tests import factories as f
from tests.integrations.helpers import IMPOSSIBLE_DEATHS, new_citizen_patient

pytestmark = pytest.mark.django_db


def test_a_new_citizen_whose_patient_reports_her_dead_is_registered_dead() -> None:
    died = (timezone.now() - dt.timedelta(days=2)).replace(microsecond=0)
    _, patient = new_citizen_patient(deceasedDateTime=died.isoformat())

    citizen = citizen_find_or_register(patient)

    citizen.refresh_from_db()
    assert citizen.deceased_at == died


def test_a_date_of_death_alone_is_read_as_the_fhir_patient_create_reads_it() -> None:
    day = (timezone.now() - dt.timedelta(days=3)).date()
    _, patient = new_citizen_patient(deceasedDateTime=day.isoformat())

    citizen = citizen_find_or_register(patient)

    assert citizen.deceased_at == dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("death", "code", "field"),
    IMPOSSIBLE_DEATHS,
)
def test_a_new_citizen_with_an_impossible_or_timeless_death_is_not_registered(
    death, code, field
) -> None:
    cpr, patient = new_citizen_patient(**death)

    with pytest.raises(InvalidInput) as refused:
        citizen_find_or_register(patient)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Citizen.objects.filter(cpr=cpr).exists()


def test_a_death_in_a_message_about_a_known_citizen_registers_none() -> None:
    """Only the hospital's death event and her Patient over FHIR register a
    death for a citizen the platform knows."""
    known = f.citizen()
    died = timezone.now() - dt.timedelta(hours=1)
    patient = {**patient_resource(known), "deceasedDateTime": died.isoformat()}

    assert citizen_find_or_register(patient) == known
    known.refresh_from_db()
    assert known.deceased_at is None
