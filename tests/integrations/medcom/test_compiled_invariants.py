"""MedCom's invariants read directly from the JSON (``validation.invariants``)
answer as fhirpathpy answers the same expression: on MedCom's example
messages and on many variants of them (entries removed, doubled, retyped,
elements dropped, emptied, given other values or shapes). Where a predicate
does not know a shape it says so (None) and fhirpathpy is asked, as before.
No database is needed: validation is pure."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from integrations.medcom.validation import validate_message, validator
from integrations.medcom.validation.invariants import COMPILED
from integrations.medcom.validation.validator import EVALUATION_ERRORS

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BUNDLES = [
    path
    for path in sorted(FIXTURES.rglob("*.json"))
    if json.loads(path.read_text(encoding="utf-8")).get("resourceType") == "Bundle"
]
ENCOUNTER_EXPRESSION = next(e for e in COMPILED if e.startswith("where(status"))
# What an element may become in a variant: other values, other shapes.
REPLACEMENTS: list[Any] = [
    None,
    "",
    "primary",
    "onleave",
    "in-progress",
    "urn:oid:1.2.208.176.1.2",
    "Patient",
    "Provenance",
    "MessageHeader",
    7,
    True,
    [],
    {},
    {"start": "2023-02-01T10:00:00+01:00"},
    {"code": "primary"},
    {"system": "urn:oid:1.2.208.176.1.2"},
]


def _fhirpathpy(expression: str, node: Any, resource: Any) -> list[Any]:
    """What the validator made of fhirpathpy's answer before (an error on
    malformed data breaks the rule)."""
    v = validator()
    try:
        return list(v._compile(expression)(node, {"resource": resource}))
    except EVALUATION_ERRORS:
        return [False]
    except Exception:  # noqa: BLE001 - fhirpathpy raises bare Exception on bad data
        return [False]


def _containers(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in ``value``."""
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((value, key))
            _containers(child, found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((value, index))
            _containers(child, found)
    return found


def _variant(bundle: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``bundle`` with one to three changes."""
    changed = copy.deepcopy(bundle)
    for _ in range(rng.randint(1, 3)):
        places = _containers(changed, [])
        if not places:
            break
        container, key = rng.choice(places)
        action = rng.random()
        if action < 0.3 and isinstance(container, dict):
            del container[key]
        elif action < 0.4 and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif action < 0.5 and isinstance(container, list):
            del container[key]
        elif action < 0.6:
            # A list where one item belongs, or one item where a list does.
            value = container[key]
            container[key] = value[0] if isinstance(value, list) and value else [value]
        else:
            container[key] = copy.deepcopy(rng.choice(REPLACEMENTS))
    return changed


def _agrees(bundle: Any) -> int:
    """Assert that each compiled predicate agrees with fhirpathpy on
    ``bundle`` (and its Encounters); the number of answers compared."""
    conforms_to = validator()._conforms_to
    compared = 0
    for expression, predicate in COMPILED.items():
        if expression == ENCOUNTER_EXPRESSION:
            entries = bundle.get("entry") if isinstance(bundle, dict) else None
            nodes = [
                entry["resource"]
                for entry in (entries if isinstance(entries, list) else [])
                if isinstance(entry, dict)
                and isinstance(entry.get("resource"), dict)
                and entry["resource"].get("resourceType") == "Encounter"
            ]
        else:
            nodes = [bundle]
        for node in nodes:
            answer = predicate(node, conforms_to)
            if answer is None:
                continue  # fhirpathpy is asked
            assert answer == _fhirpathpy(expression, node, bundle), expression
            compared += 1
    return compared


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_compiled_invariants_answer_as_fhirpathpy_on_medcoms_examples(path: Path) -> None:
    _agrees(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_compiled_invariants_answer_as_fhirpathpy_on_variants(path: Path) -> None:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    rng = random.Random(path.stem)
    compared = sum(_agrees(_variant(bundle, rng)) for _ in range(60))
    assert compared > 0  # the variants were mostly read without fhirpathpy


def test_the_on_leave_rule_answers_as_fhirpathpy_for_each_status_and_start() -> None:
    start = {"url": "http://example.org/leave", "valuePeriod": {"start": "2023-02-01"}}
    no_start = {"url": "http://example.org/leave", "valuePeriod": {"end": "2023-02-01"}}
    predicate = COMPILED[ENCOUNTER_EXPRESSION]
    for status in (None, "onleave", "in-progress", "finished"):
        for extension in (None, [], [start], [no_start], [no_start, start]):
            encounter: dict[str, Any] = {"resourceType": "Encounter"}
            if status is not None:
                encounter["status"] = status
            if extension is not None:
                encounter["extension"] = extension
            answer = predicate(encounter, validator()._conforms_to)
            assert answer == _fhirpathpy(ENCOUNTER_EXPRESSION, encounter, encounter)


def test_a_hospital_notification_breaking_a_compiled_invariant_is_refused_naming_it() -> None:
    path = FIXTURES / "hospitalnotification" / "a5e5b880-c087-4055-b9ec-99108695f81d.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert validate_message(bundle) == []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            for identifier in resource["identifier"]:
                identifier["system"] = "urn:oid:1.2.208.176.1.99"
    rules = {v.rule for v in validate_message(bundle)}
    assert "invariant:medcom-hospitalNotification-4" in rules


def _directed_variants(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The admission with the elements the compiled invariants read changed."""

    def changed(change: Any) -> dict[str, Any]:
        variant = copy.deepcopy(bundle)
        change(variant)
        return variant

    def header(b: dict[str, Any]) -> dict[str, Any]:
        return b["entry"][0]["resource"]

    def patient(b: dict[str, Any]) -> dict[str, Any]:
        return next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient")

    def without(b: dict[str, Any], resource_type: str) -> None:
        b["entry"] = [e for e in b["entry"] if e["resource"]["resourceType"] != resource_type]

    return [
        changed(
            lambda b: header(b)["destination"][0]["extension"][0]["valueCoding"].update(code="cc")
        ),
        changed(
            lambda b: header(b)["destination"].append(copy.deepcopy(header(b)["destination"][0]))
        ),
        changed(lambda b: header(b)["destination"][0].pop("extension")),
        changed(lambda b: header(b)["destination"][0]["extension"][0].update(valueCoding={})),
        changed(lambda b: patient(b)["identifier"].append({"system": "urn:oid:1.2.3"})),
        changed(lambda b: patient(b)["identifier"].append({"value": "1"})),
        changed(lambda b: b["entry"].append(copy.deepcopy(b["entry"][1]))),
        changed(lambda b: without(b, "Provenance")),
        changed(lambda b: without(b, "Patient")),
        changed(lambda b: b.update(entry=b["entry"][1:])),
        changed(lambda b: b.update(entry=[])),
        changed(lambda b: b.pop("entry")),
    ]


def test_the_compiled_invariants_answer_as_fhirpathpy_where_they_read() -> None:
    path = FIXTURES / "hospitalnotification" / "a5e5b880-c087-4055-b9ec-99108695f81d.json"
    for variant in _directed_variants(json.loads(path.read_text(encoding="utf-8"))):
        assert _agrees(variant) >= len(COMPILED) - 1
