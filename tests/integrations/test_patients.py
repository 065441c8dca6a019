"""The citizen a partner's message is about, registered from its Patient
when new (``integrations.patients``): a death the Patient reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import InvalidInput
from core.fhir.patient import patient_resource
from core.models import Citizen
from core.times import LOCAL as COPENHAGEN
from integrations.messages import InvalidMessage
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

    # That Danish day from its first moment, not midnight UTC (01:00 or
    # 02:00 on a Danish clock).
    assert citizen.deceased_at == dt.datetime(day.year, day.month, day.day, tzinfo=COPENHAGEN)
    # Kept as the day it was given, and written back so.
    citizen.refresh_from_db()
    assert citizen.deceased_on == day
    assert patient_resource(citizen)["deceasedDateTime"] == day.isoformat()


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


def _second_municipality(patient: dict[str, object], code: str, *, own_extension: bool) -> None:
    extensions = patient["extension"]
    assert isinstance(extensions, list)
    municipality = next(e for e in extensions if "municipalityCodes" in e["url"])
    coding = {"system": "urn:oid:1.2.208.176.1.3", "code": code}
    if own_extension:
        extensions.append({**municipality, "valueCodeableConcept": {"coding": [coding]}})
    else:
        municipality["valueCodeableConcept"]["coding"].append(coding)


@pytest.mark.parametrize("own_extension", [True, False])
def test_r1_a_new_citizen_given_two_municipalities_is_not_registered_in_the_first(
    own_extension: bool,
) -> None:
    """The municipality decides who serves her and who gets the hand-back
    (R1, R11): of 157 and 159 the first was taken silently. Refused as on
    the FHIR Patient door, nothing registered; the same code twice is one."""
    f.municipality("159")
    cpr, patient = new_citizen_patient()
    _second_municipality(patient, "159", own_extension=own_extension)

    with pytest.raises(InvalidMessage) as refused:
        citizen_find_or_register(patient)

    assert refused.value.code == "message.patient_municipality_ambiguous"
    assert not Citizen.objects.filter(cpr=cpr).exists()

    cpr, patient = new_citizen_patient()
    _second_municipality(patient, "157", own_extension=own_extension)
    assert citizen_find_or_register(patient).municipality.municipality_code == "157"
