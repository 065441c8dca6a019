"""A message Bundle is read entry by entry (each resource by the model its
``resourceType`` names), and a message is first judged by one walk of it
(core/fhir/shape.py): both must refuse exactly what reading the Bundle whole
refuses, at the same place in the Bundle, and build the same model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from core.fhir.validation import FHIRInvalid, fhir_check, fhir_validate

ADMISSION = (
    Path(__file__).parents[1]
    / "integrations/medcom/fixtures/hospitalnotification/a5e5b880-c087-4055-b9ec-99108695f81d.json"
)
# The admission's entries: 0 MessageHeader, 1 Patient, 2 Encounter,
# 3 and 4 Organization (sender and receiver), 5 Provenance.


def _admission(change: Callable[[dict[str, Any]], object] = lambda bundle: None) -> dict:
    bundle = json.loads(ADMISSION.read_text(encoding="utf-8"))
    change(bundle)
    return bundle


def _resource(bundle: dict[str, Any], index: int) -> dict[str, Any]:
    return bundle["entry"][index]["resource"]


def test_a_valid_message_builds_the_model_the_whole_bundle_builds() -> None:
    bundle = _admission()
    fhir_check(Bundle, bundle)
    assert fhir_validate(Bundle, bundle).model_dump() == Bundle.model_validate(bundle).model_dump()


@pytest.mark.parametrize(
    ("change", "where", "element_type"),
    [
        (
            lambda b: _resource(b, 3).update(identifier="x"),
            "entry.3.resource.identifier",
            "Identifier",
        ),
        (lambda b: _resource(b, 4).update(active="yes"), "entry.4.resource.active", "boolean"),
        (lambda b: _resource(b, 3).update(foo=5), "entry.3.resource.foo", ""),
        (
            lambda b: _resource(b, 2).update(period={"start": "tomorrow"}),
            "entry.2.resource.period.start",
            "dateTime",
        ),
        (lambda b: _resource(b, 2).update(status=5), "entry.2.resource.status", "code"),
        (lambda b: b["entry"][3].update(resource=[1]), "entry.3.resource.root", ""),
        (
            lambda b: _resource(b, 3).update(resourceType="OrganizationContact"),
            "entry.3.resource.root",
            "",
        ),
        (lambda b: _resource(b, 3).update(resourceType="Nonsense"), "", ""),
        (lambda b: _resource(b, 3).pop("resourceType"), "entry.3.resource.identifier", ""),
        (lambda b: b["entry"].__setitem__(3, "x"), "entry.3", "BundleEntry"),
    ],
)
def test_a_broken_entry_is_refused_at_its_place_in_the_bundle(change, where, element_type) -> None:
    bundle = _admission(change)
    for check in (fhir_check, fhir_validate):
        with pytest.raises(FHIRInvalid) as refused:
            check(Bundle, bundle)
        assert (refused.value.where, refused.value.element_type) == (where, element_type)


def test_the_first_five_problems_are_told_in_the_bundles_order() -> None:
    def change(bundle: dict[str, Any]) -> None:
        _resource(bundle, 2)["status"] = 5
        _resource(bundle, 4)["identifier"] = 5
        bundle["total"] = "x"

    with pytest.raises(FHIRInvalid) as refused:
        fhir_check(Bundle, _admission(change))
    assert [part.split(":")[0] for part in refused.value.problems.split("; ")] == [
        "entry.2.resource.status",
        "entry.4.resource.identifier",
        "total",
    ]


def test_a_message_taken_before_does_not_lift_a_refusal() -> None:
    fhir_check(Bundle, _admission())
    # The same organisations, another entry broken.
    with pytest.raises(FHIRInvalid) as refused:
        fhir_check(Bundle, _admission(lambda b: _resource(b, 1).update(gender=1)))
    assert refused.value.where == "entry.1.resource.gender"
    # An organisation changed into one that breaks a rule.
    with pytest.raises(FHIRInvalid) as refused:
        fhir_check(Bundle, _admission(lambda b: _resource(b, 4).update(active="yes")))
    assert refused.value.where == "entry.4.resource.active"
    broken = _admission(lambda b: _resource(b, 4)["identifier"][0].update(period="x"))
    with pytest.raises(FHIRInvalid) as refused:
        fhir_check(Bundle, broken)
    assert refused.value.where == "entry.4.resource.identifier.0.period"
