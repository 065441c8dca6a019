"""A message Bundle with more than one thing wrong is refused for the same
first one, whichever way it is read: a primitive of the wrong JSON shape
(a boolean sent as 1, a dateTime as a number) before a modifier the
platform does not understand, wherever in the Bundle each sits; among
several of one kind, the first in the Bundle's own order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from core.fhir.validation import (
    IMPLICIT_RULES_UNKNOWN,
    MODIFIER_UNKNOWN,
    FHIRInvalid,
    fhir_check,
    fhir_validate,
)

ADMISSION = (
    Path(__file__).parents[1]
    / "integrations/medcom/fixtures/hospitalnotification/a5e5b880-c087-4055-b9ec-99108695f81d.json"
)
# The admission's entries: 0 MessageHeader, 1 Patient, 2 Encounter,
# 3 and 4 Organization (sender and receiver), 5 Provenance.
MODIFIER = [{"url": "http://example.org/not-understood", "valueString": "x"}]


def _resource(bundle: dict[str, Any], index: int) -> dict[str, Any]:
    return bundle["entry"][index]["resource"]


def _modifier(bundle: dict[str, Any], index: int) -> None:
    _resource(bundle, index)["modifierExtension"] = MODIFIER


def _deceased_as_number(bundle: dict[str, Any]) -> None:
    _resource(bundle, 1)["deceasedBoolean"] = 1


def _start_as_number(bundle: dict[str, Any]) -> None:
    _resource(bundle, 2)["period"]["start"] = 1767225600


def _both(*changes: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        for one in changes:
            one(bundle)

    return change


@pytest.mark.parametrize(
    ("change", "where", "code", "element_type"),
    [
        # A misshapen primitive comes first, after a modifier or before it.
        (
            _both(lambda b: _modifier(b, 1), _start_as_number),
            "entry.2.resource.period.start",
            "",
            "dateTime",
        ),
        (
            _both(_deceased_as_number, lambda b: _modifier(b, 2)),
            "entry.1.resource.deceasedBoolean",
            "",
            "boolean",
        ),
        (
            _both(_start_as_number, _deceased_as_number),
            "entry.1.resource.deceasedBoolean",
            "",
            "boolean",
        ),
        # Modifiers and implicit rules: the first in the Bundle's order.
        (
            _both(
                lambda b: _modifier(b, 2),
                lambda b: _resource(b, 1).update(implicitRules="http://example.org/rules"),
            ),
            "Bundle.entry[1].resource.implicitRules",
            IMPLICIT_RULES_UNKNOWN,
            "",
        ),
        (
            _both(
                lambda b: _modifier(b, 4),
                lambda b: _resource(b, 0)["destination"][0].update(modifierExtension=MODIFIER),
            ),
            "Bundle.entry[0].resource.destination[0].modifierExtension[0]",
            MODIFIER_UNKNOWN,
            "",
        ),
        (
            _both(
                lambda b: _modifier(b, 2),
                lambda b: b["entry"][2].update(modifierExtension=MODIFIER),
            ),
            "Bundle.entry[2].modifierExtension[0]",
            MODIFIER_UNKNOWN,
            "",
        ),
        (
            _both(
                lambda b: _modifier(b, 1), lambda b: b.update(implicitRules="http://example.org/r")
            ),
            "Bundle.implicitRules",
            IMPLICIT_RULES_UNKNOWN,
            "",
        ),
    ],
)
def test_the_first_refusal_of_a_message_with_several_faults(
    change: Callable[[dict[str, Any]], object], where: str, code: str, element_type: str
) -> None:
    for read in (fhir_check, fhir_validate):
        bundle = json.loads(ADMISSION.read_text(encoding="utf-8"))
        change(bundle)
        with pytest.raises(FHIRInvalid) as refused:
            read(Bundle, bundle)
        assert (refused.value.where, refused.value.code, refused.value.element_type) == (
            where,
            code,
            element_type,
        )
        assert str(refused.value).startswith(f"{where}: ")
