"""``manage.py loaddata`` loads the configuration, never a citizen's data:
a fixture holding anything else loads nothing, not even its configuration,
and the refused load is in the audit log (R2, R9; CPR numbers never printed,
decision 0002)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from acute.clinical.models import TestDefinition
from consent.audit.models import Action, AuditEntry, Outcome
from consent.management.configuration import CONFIGURATION
from consent.models import ConsentDirective
from core.labels import REASONS, TASKS
from core.models import Citizen, Organisation, Role
from tests import factories

pytestmark = pytest.mark.django_db

CPR = "0101709995"


def _fixture(tmp_path: Path, objects: list[dict[str, Any]], name: str = "fixture") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(objects), encoding="utf-8")
    return str(path)


def _organisation(pk: int = 990001) -> dict[str, Any]:
    return {
        "model": "core.organisation",
        "pk": pk,
        "fields": {"kind": "rehabilitation_unit", "name": "Genoptræning Nord"},
    }


def _citizen(municipality: Organisation) -> dict[str, Any]:
    return {
        "model": "core.citizen",
        "pk": 990001,
        "fields": {
            "cpr": CPR,
            "given_name": "Karen",
            "family_name": "Fiktiv",
            "birth_date": "1970-01-01",
            "sex": "female",
            "address_line": "Testvej 1",
            "postal_code": "2900",
            "city": "Hellerup",
            "latitude": "55.730000",
            "longitude": "12.570000",
            "municipality": municipality.pk,
        },
    }


def _test_definition() -> dict[str, Any]:
    # As docs/clinical.md shows it.
    return {
        "model": "clinical.testdefinition",
        "fields": {
            "code": "NPU01370",
            "system": "urn:oid:1.2.208.176.2.1",
            "display": "Albumin; plasma",
            "kind": "observation",
            "predefined": False,
            "unit": "g/L",
            "unit_display": "g/L",
            "decimals": 0,
            "reference_low": "36",
            "reference_high": "48",
            "plausible_low": "5",
            "plausible_high": "80",
        },
    }


def _refused_entry() -> AuditEntry:
    entry = AuditEntry.objects.get(task="consent.loaddata")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        Action.CREATE,
        Outcome.DENIED,
        "load.citizen_data",
    )
    assert entry.task in TASKS and entry.reason_code in REASONS
    return entry


def test_r9_a_fixture_holding_a_citizen_loads_nothing_and_is_recorded(tmp_path: Path) -> None:
    municipality = factories.municipality("157")
    # The configuration comes first in the file: it is not loaded either.
    fixture = _fixture(tmp_path, [_organisation(), _citizen(municipality)])
    with pytest.raises(CommandError) as refused:
        call_command("loaddata", fixture, stdout=io.StringIO())
    assert "core.Citizen" in str(refused.value)
    assert CPR not in str(refused.value)
    assert not Citizen.objects.filter(cpr=CPR).exists()
    assert not Organisation.objects.filter(pk=990001).exists()
    assert _refused_entry().detail == {"models": ["core.Citizen"]}


def test_r4_a_consent_is_never_loaded_past_the_service(tmp_path: Path) -> None:
    """A directive written straight into its table would skip the citizen's
    gate, the recorder and the audit log; the second fixture file is read
    before the first is loaded."""
    person = factories.citizen()
    recorder = factories.staff(Role.ADMINISTRATOR, factories.acute_function())
    directive = {
        "model": "consent.consentdirective",
        "fields": {
            "citizen": person.pk,
            "provision": "permit",
            "given_how": "oral",
            "recorded_by": recorder.user_id,
            "recorded_by_organisation": recorder.organisation_id,
        },
    }
    first = _fixture(tmp_path, [_organisation()], "first")
    second = _fixture(tmp_path, [directive], "second")
    with pytest.raises(CommandError, match=r"Refused: consent\.ConsentDirective"):
        call_command("loaddata", first, second, stdout=io.StringIO())
    assert not ConsentDirective.objects.exists()
    assert not Organisation.objects.filter(pk=990001).exists()
    _refused_entry()


def test_r9_standard_input_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    municipality = factories.municipality("157")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps([_citizen(municipality)])))
    with pytest.raises(CommandError, match=r"Refused: core\.Citizen"):
        call_command("loaddata", "-", format="json", stdout=io.StringIO())
    assert not Citizen.objects.filter(cpr=CPR).exists()
    _refused_entry()


def test_the_configuration_loads_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    call_command("loaddata", _fixture(tmp_path, [_test_definition()]), stdout=out)
    assert "Installed 1 object(s) from 1 fixture(s)" in out.getvalue()
    assert TestDefinition.objects.get(code="NPU01370").display == "Albumin; plasma"
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps([_organisation()])))
    call_command("loaddata", "-", format="json", stdout=io.StringIO())
    assert Organisation.objects.get(pk=990001).name == "Genoptræning Nord"
    # A citizen excluded by name is not loaded, so nothing is refused.
    municipality = factories.municipality("159")
    fixture = _fixture(tmp_path, [_organisation(990002), _citizen(municipality)], "mixed")
    call_command("loaddata", fixture, exclude=["core.Citizen"], stdout=io.StringIO())
    assert Organisation.objects.filter(pk=990002).exists()
    assert not Citizen.objects.filter(cpr=CPR).exists()
    assert not AuditEntry.objects.filter(task="consent.loaddata").exists()


def test_every_model_of_the_configuration_exists() -> None:
    """A misspelt label would refuse what it meant to allow, silently."""
    for label in CONFIGURATION:
        assert apps.get_model(label)._meta.label == label
