"""The one walk that judges a message before the models are asked
(core/fhir/shape.py) may say "taken" only where the models take the message
too, with no misshapen primitive, modifier extension or implicit rules: held
side by side on MedCom's own messages and on every variant of them that
changes one element in one of the ways a partner's system gets FHIR wrong.
And it must take MedCom's valid messages, or every message pays for the
models' reading."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle

from core.fhir.shape import models_take
from core.fhir.validation import FHIRInvalid, fhir_check, fhir_validate

FIXTURES = Path(__file__).parents[1] / "integrations/medcom/fixtures"
MESSAGES = sorted(
    path
    for path in FIXTURES.rglob("*.json")
    if json.loads(path.read_text(encoding="utf-8")).get("resourceType") == "Bundle"
)
# One message of each kind, each of its elements changed in every way below;
# the other messages, a sample of their variants.
WHOLLY = (
    "hospitalnotification/a5e5b880-c087-4055-b9ec-99108695f81d.json",
    "carecommunication",
    "acknowledgement",
)
SAMPLED = 300

Step = str | int


def _models_take(message: Any) -> bool:
    """The models' own verdict, with the refusals core.fhir.validation adds
    (misshapen primitives, modifier extensions, implicit rules); FHIR's
    required bindings are a step of their own after both (core.fhir.bindings)."""
    try:
        fhir_validate(Bundle, message, bindings=False)
    except FHIRInvalid:
        return False
    return True


def _places(node: Any, steps: tuple[Step, ...] = ()) -> Iterator[tuple[tuple[Step, ...], Any]]:
    yield steps, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*steps, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _places(value, (*steps, index))


# What a value is replaced with: wrong JSON types, empty and blank values,
# strings each FHIR primitive type refuses, a value as a list and back.
_REPLACEMENTS: tuple[Any, ...] = (
    None,
    "",
    " ",
    "a  b",
    " padded ",
    "x" * 65,
    "2024-02-30",
    "2024-13-01",
    "2024-01-01T10:00:00",
    "2024-01-01T25:00:00+01:00",
    "1947",
    "true",
    "1",
    0,
    -1,
    1.5,
    True,
    [],
    {},
    {"extension": []},
    [None],
)
# What is added beside an object's elements.
_ADDITIONS: tuple[tuple[str, Any], ...] = (
    ("unknown", "x"),
    ("_status", {"extension": [{"url": "http://example.org/x", "valueString": "x"}]}),
    ("modifierExtension", [{"url": "http://example.org/x", "valueString": "x"}]),
    ("implicitRules", "http://example.org/rules"),
    ("fhir_comments", "x"),
    ("resource_type", "Bundle"),
    ("valueString", "x"),
    ("valueBoolean", True),
    ("resourceType", "Patient"),
    ("resourceType", "Nonsense"),
    ("resourceType", "Coding"),
    ("resourceType", "Resource"),
)


Change = tuple[str, tuple[Step, ...], Any]


def _changes(message: Any) -> Iterator[Change]:
    """Each variant as what it changes: a description, the element's steps
    and the new value (``_REMOVED`` to remove it); made by :func:`_variant`."""
    for steps, value in _places(message):
        if not steps:
            continue
        where = ".".join(str(step) for step in steps)
        yield f"{where} removed", steps, _REMOVED
        for new in _REPLACEMENTS:
            yield f"{where} = {new!r}", steps, new
        if isinstance(value, list) and value:
            yield f"{where} as its first item", steps, value[0]
        if not isinstance(value, list):
            yield f"{where} as a list", steps, [value]
        if isinstance(value, dict):
            for key, added in _ADDITIONS:
                yield f"{where}.{key} added", (*steps, key), added


_REMOVED = object()


def _variant(message: Any, steps: tuple[Step, ...], new: Any) -> Any:
    copy = orjson.loads(orjson.dumps(message))
    node = copy
    for step in steps[:-1]:
        node = node[step]
    if new is _REMOVED:
        del node[steps[-1]]
    else:
        node[steps[-1]] = orjson.loads(orjson.dumps(new))
    return copy


def _message(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check(message: Any, changes: list[Change]) -> tuple[int, int]:
    taken = refused = 0
    for described, steps, new in changes:
        variant = _variant(message, steps, new)
        if models_take(Bundle, variant):
            taken += 1
            assert _models_take(variant), f"taken, but the models refuse it: {described}"
        else:
            refused += 1
    return taken, refused


def test_medcoms_valid_messages_are_judged_by_the_walk_alone() -> None:
    valid = [path for path in MESSAGES if _models_take(_message(path))]
    assert len(valid) >= 60
    for path in valid:
        assert models_take(Bundle, _message(path)), path.name


def test_a_message_the_models_refuse_is_never_taken() -> None:
    refused = [path for path in MESSAGES if not _models_take(_message(path))]
    assert refused  # MedCom's test examples hold invalid messages too
    for path in refused:
        assert not models_take(Bundle, _message(path)), path.name


@pytest.mark.parametrize("name", WHOLLY)
def test_no_variant_of_a_message_is_taken_that_the_models_refuse(name: str) -> None:
    path = FIXTURES / name
    if path.is_dir():
        path = sorted(path.glob("*.json"))[0]
    message = _message(path)
    taken, refused = _check(message, list(_changes(message)))
    # Both verdicts are met: variants of a valid element stay valid.
    assert taken > 50 and refused > 1000


def test_no_sampled_variant_of_any_message_is_taken_that_the_models_refuse() -> None:
    chance = random.Random(20261206)
    for path in MESSAGES:
        message = _message(path)
        changes = list(_changes(message))
        _check(message, chance.sample(changes, min(SAMPLED, len(changes))))


def test_a_refusal_still_names_its_place_after_the_walk() -> None:
    message = _message(FIXTURES / WHOLLY[0])
    message["entry"][2]["resource"]["period"]["start"] = "2024-02-30T10:00:00+01:00"
    assert not models_take(Bundle, message)
    with pytest.raises(FHIRInvalid) as refused:
        fhir_check(Bundle, message)
    assert (refused.value.where, refused.value.element_type) == (
        "entry.2.resource.period.start",
        "dateTime",
    )
