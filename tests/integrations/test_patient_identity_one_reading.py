"""A partner's Patient read as the FHIR Patient door reads it
(``consent.fhir.patient``): the official CPR number, the official name,
the home address and the phone to call, each one; of two, the message is
refused with a fatal-error naming the element, never the first taken."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.models import Citizen
from integrations.messages import InvalidMessage
from integrations.patients import citizen_find, citizen_find_or_register
from tests import factories as f
from tests.integrations.helpers import new_citizen_patient

pytestmark = pytest.mark.django_db


def _new() -> tuple[str, dict[str, Any]]:
    cpr, patient = new_citizen_patient()
    return cpr, dict(patient)


def _refused(patient: dict[str, Any]) -> tuple[str, str | None]:
    with pytest.raises(InvalidMessage) as refused:
        citizen_find_or_register(patient)
    return refused.value.code, refused.value.field


@pytest.mark.parametrize("use", ["old", "secondary"])
def test_a_cpr_number_not_marked_official_names_no_citizen(use: str) -> None:
    known = f.citizen()
    _cpr, patient = _new()
    patient["identifier"][0].update(value=known.cpr, use=use)

    with pytest.raises(InvalidMessage) as refused:
        citizen_find(patient)

    assert (refused.value.code, refused.value.field) == (
        "patient.cpr_use_invalid",
        "Patient.identifier",
    )


def test_two_cpr_numbers_are_refused_not_the_first_taken() -> None:
    known = f.citizen()
    cpr, patient = _new()
    patient["identifier"].append(
        {"use": "official", "system": patient["identifier"][0]["system"], "value": known.cpr}
    )

    assert _refused(patient) == ("message.patient_cpr_ambiguous", "Patient.identifier")
    assert not Citizen.objects.filter(cpr=cpr).exists()


def test_the_official_name_and_the_home_address_are_taken_not_the_first() -> None:
    _cpr, patient = _new()
    official = patient["name"][0]
    home = patient["address"][0]
    patient["name"].insert(0, {"use": "maiden", "family": "Pigenavn", "given": ["Karen"]})
    patient["address"].insert(0, {**copy.deepcopy(home), "use": "work", "line": ["Kontorvej 2"]})

    citizen = citizen_find_or_register(patient)

    assert (citizen.family_name, citizen.address_line) == (official["family"], home["line"][0])


@pytest.mark.parametrize(
    ("element", "changes", "code"),
    [
        ("name", {"given": ["Else"]}, "patient.name_ambiguous"),
        ("address", {"line": ["Strandvejen 1"]}, "patient.address_ambiguous"),
        ("telecom", {"value": "+4539000001"}, "patient.phone_ambiguous"),
    ],
)
def test_two_of_what_a_citizen_has_one_of_refuse_the_message(
    element: str, changes: dict[str, Any], code: str
) -> None:
    cpr, patient = _new()
    patient.setdefault("telecom", [{"system": "phone", "value": "+4539000000"}])
    other = copy.deepcopy(patient[element][0])
    other.update(changes)
    patient[element].append(other)

    assert _refused(patient) == (code, f"Patient.{element}")
    assert not Citizen.objects.filter(cpr=cpr).exists()
