"""Validation of FHIR R4B input against the ``fhir.resources`` models, for
every door that takes FHIR (the shared record, referrals, signed messages).

The models raise pydantic's ValidationError for most wrong input, but some
shapes (a contained resource or a Bundle entry of no known type, a list where
a resourceType should be) surface as TypeError, KeyError or ValueError from
deep inside them. Whatever they raise on a client's body is the client's
mistake: one :class:`FHIRInvalid` with the place and the reason, never the
values sent.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from core.errors import InvalidInput
from core.fhir.bindings import codes_outside
from core.fhir.invariants import invariant_broken
from core.fhir.shape import models_take
from core.times import naive_refused

Model = TypeVar("Model", bound=BaseModel)


class FHIRInvalid(Exception):
    """``where``: the first wrong element's path (empty for the resource as a
    whole); ``problems``: up to five places with their reasons; ``element_type``:
    the FHIR type of the element at ``where`` (``dateTime``, ``string``,
    ``Period`` ...), '' where the models do not say."""

    def __init__(self, where: str, problems: str, element_type: str = "", code: str = ""):
        super().__init__(problems)
        self.where = where
        self.problems = problems
        self.element_type = element_type
        # A refusal with its own error code (a modifier the platform does not
        # understand); '' for an element the models refuse (``fhir.invalid``).
        self.code = code


class FHIRCodeOutside(FHIRInvalid):
    """A code outside FHIR R4's required value set of its element
    (``Patient.gender`` "xx", ``Consent.status`` "xx"): no FHIR, though the
    models take it (:mod:`core.fhir.bindings`). ``allowed``: the element's
    codes. Refused on every door that writes FHIR as
    :data:`CODE_OUTSIDE_VALUE_SET`, naming the element and its codes; a
    CodeableConcept element (``Condition.clinicalStatus``) with no coding of
    its value set's ``system`` and codes as :data:`CODING_OUTSIDE_VALUE_SET`,
    naming the system too."""

    def __init__(self, where: str, allowed: tuple[str, ...], system: str = ""):
        if system:
            problem = (
                f"{where}: a coding of {system} with a code of FHIR R4's required"
                f" value set: {' | '.join(allowed)}"
            )
        else:
            problem = f"{where}: a code of FHIR R4's required value set: {' | '.join(allowed)}"
        super().__init__(
            where,
            problem,
            "CodeableConcept" if system else "code",
            code=CODING_OUTSIDE_VALUE_SET if system else CODE_OUTSIDE_VALUE_SET,
        )
        self.allowed = allowed
        self.system = system


class FHIRTimeNaive(FHIRInvalid):
    """A dateTime or instant with a time of day and no offset from UTC: FHIR
    R4 says it SHALL carry one (datatypes.html#dateTime), and the platform
    does not guess a zone (``core.times``). Refused on ``/fhir/`` as on
    ``/api/``, ``time.naive`` naming the element (:func:`fhir_refusal`)."""


# A date and a time of day to the second, as FHIR writes them, with nothing
# after: what a dateTime or instant is once its offset is added.
_NAIVE_TIME = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?"
)


# A resource or element whose meaning is changed by what the platform does not
# understand is refused whole (FHIR R4 extensibility.html#modifierExtension,
# resource.html#implicitRules): read without it, the platform would store,
# show or pass on something else than what was meant. None is understood here.
MODIFIER_UNKNOWN = "fhir.modifier_unknown"
IMPLICIT_RULES_UNKNOWN = "fhir.implicit_rules_unknown"
# A code outside its element's required value set (FHIR R4
# terminologies.html#required).
CODE_OUTSIDE_VALUE_SET = "fhir.code_outside_value_set"
# A CodeableConcept bound as required with no coding of its value set: of its
# code system, with one of its codes (a text or another system's code alone
# is not enough).
CODING_OUTSIDE_VALUE_SET = "fhir.coding_outside_value_set"


def refuse_unknown_modifiers(data: Any, where: str = "") -> None:
    """Raise :class:`FHIRInvalid` at the first ``modifierExtension`` (on any
    element, in a contained resource or a Bundle entry too) and the first
    ``implicitRules`` of a resource in ``data``."""
    if isinstance(data, list):
        for index, item in enumerate(data):
            refuse_unknown_modifiers(item, f"{where}[{index}]")
        return
    if not isinstance(data, dict):
        return
    if isinstance(data.get("resourceType"), str) and not where:
        where = data["resourceType"][:40]
    if data.get("modifierExtension"):
        raise _modifier_refused(where, MODIFIER_UNKNOWN)
    if "resourceType" in data and data.get("implicitRules") not in (None, ""):
        raise _modifier_refused(where, IMPLICIT_RULES_UNKNOWN)
    for key, value in data.items():
        if isinstance(value, dict | list):
            refuse_unknown_modifiers(value, f"{where}.{key}".lstrip("."))


def _modifier_refused(where: str, code: str) -> FHIRInvalid:
    """The refusal of a modifier extension (``code`` MODIFIER_UNKNOWN) or of
    implicit rules on the element or resource at ``where``."""
    if code == MODIFIER_UNKNOWN:
        place = f"{where}.modifierExtension[0]".lstrip(".")
        problem = f"{place}: a modifier extension is not understood here"
        return FHIRInvalid(place, problem, code=code)
    place = f"{where}.implicitRules".lstrip(".")
    return FHIRInvalid(place, f"{place}: implicit rules are not understood here", code=code)


# The FHIR primitive types the models mark on a field (``Annotated[datetime,
# DateTime()]``), by the marker's class name.
_PRIMITIVE_NAMES = {"DateTime": "dateTime", "Instant": "instant", "Date": "date", "Time": "time"}


def _field_of(model: type[BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return info
    return None


def _element_type(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    """The FHIR type an annotation declares, and its model where it is complex."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *marks = typing.get_args(annotation)
        for mark in marks:
            name = type(mark).__name__
            if name in _PRIMITIVE_NAMES:
                return _PRIMITIVE_NAMES[name], None
            if name:
                return name[:1].lower() + name[1:], None
        return _element_type(base)
    if origin is not None:  # Optional, Union, List: the one FHIR type inside
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _element_type(arg)
        return "", None
    klass = getattr(annotation, "get_model_klass", None)
    if klass is not None:
        model = klass()
        return model.__name__, model
    return getattr(annotation, "__name__", ""), None


def element_type(model: type[BaseModel], data: Any, location: tuple[Any, ...]) -> str:
    """The FHIR type of the element at ``location`` (pydantic's ``loc``) in
    ``data`` read as ``model``: decided by the models' own declaration, never
    by the wording of an error. A Resource slot (a Bundle entry) is read as
    the resourceType ``data`` gives there. '' where the path cannot be followed."""
    current: type[BaseModel] | None = model
    node = data
    kind = ""
    for step in location:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
            continue
        if current is None:
            return ""
        if current.__name__ == "Resource" and isinstance(node, dict):
            try:
                current = get_fhir_model_class(str(node.get("resourceType", "")))
            except (KeyError, ValueError, AttributeError):
                return ""
        info = _field_of(current, str(step))
        if info is None:
            return ""
        kind, current = _element_type(info.annotation)
        if current is None and kind in ("Resource", "ResourceType"):
            current = get_fhir_model_class("Resource")
        node = node.get(step) if isinstance(node, dict) else None
    return kind


def _resource_model(model: type[BaseModel] | None, data: Any) -> type[BaseModel] | None:
    """The model of a Resource slot (a Bundle entry, a contained resource) is
    the one its ``resourceType`` names."""
    if model is not None and model.__name__ == "Resource" and isinstance(data, dict):
        try:
            return get_fhir_model_class(str(data.get("resourceType", "")))
        except (KeyError, ValueError, AttributeError):
            return None
    return model


# FHIR's JSON writes a boolean as true or false, a date, dateTime, instant
# or time as a string and an integer or decimal as a number. The models take
# more: "yes", "on", 1 or "0" for a boolean (the platform would store a flag
# nobody set), a number for a moment, read as seconds since 1970 (a year sent
# as 2025 would be stored as 1970-01-01T00:33:45Z, a time nobody meant), and
# true for an integer, read as 1 (a timing's frequency nobody gave), or text
# of digits for one.
_NUMBER: tuple[type, ...] = (int, float)
_JSON_SHAPE: dict[str, type | tuple[type, ...]] = {
    "bool": bool,
    "boolean": bool,
    "date": str,
    "dateTime": str,
    "instant": str,
    "time": str,
    "integer": int,
    "integer64": int,
    "positiveInt": int,
    "unsignedInt": int,
    "decimal": _NUMBER,
}
_SHAPE_WORDS: dict[Any, str] = {bool: "true or false (JSON)", str: "a JSON string"}


def _shape_fits(value: Any, shape: type | tuple[type, ...]) -> bool:
    """Whether ``value`` has the JSON shape ``shape``: JSON's true and false are
    no numbers, though Python's bool is an int."""
    if isinstance(value, bool):
        return shape is bool
    return isinstance(value, shape)


def primitive_misshapen(
    model: type[BaseModel] | None, data: Any, where: str = ""
) -> tuple[str, str]:
    """The place and FHIR type of the first boolean that is not JSON's
    ``true`` or ``false``, date, dateTime, instant or time that is not a
    JSON string, or integer or decimal that is not a JSON number, in
    ``data`` (read as ``model``); ``("", "")`` when none is."""
    if isinstance(data, list):
        for index, item in enumerate(data):
            found = primitive_misshapen(model, item, f"{where}.{index}".lstrip("."))
            if found[0]:
                return found
        return "", ""
    model = _resource_model(model, data)
    if model is None or not isinstance(data, dict):
        return "", ""
    for key, value in data.items():
        if value is None:
            continue
        kind, shape, inner = _declared(model, str(key))
        if shape is not None:
            values = value if isinstance(value, list) else [value]
            if any(v is not None and not _shape_fits(v, shape) for v in values):
                place = f"{where}.{key}".lstrip(".")
                return place, "boolean" if shape is bool else kind
            continue
        if inner is not None and isinstance(value, dict | list):
            found = primitive_misshapen(inner, value, f"{where}.{key}".lstrip("."))
            if found[0]:
                return found
    return "", ""


Step = str | int
# The kind :func:`_first_refusals` gives a null that holds no place in its list.
NULL_IN_LIST = "null"
# The kind it gives a string longer than FHIR lets one be: "Strings SHALL NOT
# exceed 1MB (1024*1024 characters) in size" (R4 datatypes.html#string). The
# models do not count; the body's limit alone would let a 9 MB note through.
STRING_TOO_LONG = "string_too_long"
STRING_MAX_CHARS = 1024 * 1024


def _too_long(value: Any) -> tuple[Step, ...] | None:
    """The steps from ``value`` (a primitive or a list of them) to its first
    string longer than :data:`STRING_MAX_CHARS`; None when none is."""
    if isinstance(value, str):
        return () if len(value) > STRING_MAX_CHARS else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and len(item) > STRING_MAX_CHARS:
                return (index,)
    return None


def _first_refusals(
    model: type[BaseModel] | None, data: Any
) -> tuple[tuple[Step, ...] | None, str, tuple[tuple[Step, ...], str] | None]:
    """What :func:`primitive_misshapen` and :func:`refuse_unknown_modifiers`
    find in ``data``, in one walk of it: the steps to the first misshapen
    primitive and its FHIR type (None, '' when none is; ``NULL_IN_LIST``
    for a null in a list without its ``_element`` partner), and the steps to
    the first element with a modifier extension or resource with implicit
    rules and the code of its refusal (None when none is, or when a
    misshapen primitive was found first: that refusal comes first). Both
    in the order the two walks meet them."""
    steps: list[Step] = []
    modifier: list[tuple[tuple[Step, ...], str]] = []

    def step_into(
        step: Step, model: type[BaseModel] | None, node: Any
    ) -> tuple[tuple[Step, ...], str] | None:
        steps.append(step)
        found = walk(model, node)
        steps.pop()
        return found

    def walk(model: type[BaseModel] | None, node: Any) -> tuple[tuple[Step, ...], str] | None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, dict | list):
                    found = step_into(index, model, item)
                    if found is not None:
                        return found
            return None
        if model is not None:
            model = _resource_model(model, node)
        if not modifier:
            if node.get("modifierExtension"):
                modifier.append((tuple(steps), MODIFIER_UNKNOWN))
            elif "resourceType" in node and node.get("implicitRules") not in (None, ""):
                modifier.append((tuple(steps), IMPLICIT_RULES_UNKNOWN))
        for key, value in node.items():
            if value is None:
                continue
            if isinstance(value, list) and None in value:
                # FHIR JSON: null holds a place in a list only for a value
                # whose extension the ``_element`` list carries at that index.
                partner = node.get(f"_{key}")
                for index, item in enumerate(value):
                    if item is None and not (
                        isinstance(partner, list)
                        and index < len(partner)
                        and partner[index] is not None
                    ):
                        return (*steps, key, index), NULL_IN_LIST
            inner = None
            if model is not None:
                kind, shape, inner = _declared(model, str(key))
                # base64Binary (an attachment's data) has no such bound.
                long = _too_long(value) if kind != "base64Binary" else None
                if long is not None:
                    return (*steps, key, *long), STRING_TOO_LONG
                if shape is not None:
                    # A primitive of the right shape holds no element below it.
                    values = value if isinstance(value, list) else [value]
                    if any(v is not None and not _shape_fits(v, shape) for v in values):
                        return (*steps, key), "boolean" if shape is bool else kind
                    continue
            if isinstance(value, dict | list):
                found = step_into(key, inner, value)
                if found is not None:
                    return found
        return None

    misshapen = walk(model, data) if isinstance(data, dict | list) else None
    if misshapen is not None:
        return misshapen[0], misshapen[1], None
    return None, "", modifier[0] if modifier else None


def _misshapen_place(steps: tuple[Step, ...]) -> str:
    """A misshapen primitive's place as :func:`primitive_misshapen` writes it."""
    where = ""
    for step in steps:
        where = f"{where}.{step}".lstrip(".")
    return where


def _modifier_place(data: Any, steps: tuple[Step, ...]) -> str:
    """An element's place as :func:`refuse_unknown_modifiers` writes it."""
    where = ""
    node = data
    for step in (*steps, None):
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str) and not where:
            where = node["resourceType"][:40]
        if step is None:
            break
        where = f"{where}[{step}]" if isinstance(step, int) else f"{where}.{step}".lstrip(".")
        node = node[step]
    return where


# What a model declares of each of its fields, as primitive_misshapen reads it:
# the models do not change while the process runs, and a message names the
# same few hundred fields each time.
_Shape = type | tuple[type, ...]
_DECLARED: dict[tuple[type[BaseModel], str], tuple[str, _Shape | None, type[BaseModel] | None]] = {}
_DECLARED_MAX = 10_000


def _declared(
    model: type[BaseModel], key: str
) -> tuple[str, _Shape | None, type[BaseModel] | None]:
    """The FHIR type of ``model``'s field ``key`` (by name or JSON alias), the
    JSON shape its primitive must have (:data:`_JSON_SHAPE`, None for another
    type) and the model of a complex type; ``("", None, None)`` for a name the
    model does not have."""
    found = _DECLARED.get((model, key))
    if found is None:
        info = _field_of(model, key)
        if info is None:
            # ``resourceType`` on every resource; other names a client sends
            # are unbounded, so a name the model lacks is kept only so far.
            if len(_DECLARED) < _DECLARED_MAX:
                _DECLARED[(model, key)] = ("", None, None)
            return "", None, None
        kind, inner = _element_type(info.annotation)
        if inner is None and kind in ("Resource", "ResourceType"):
            inner = get_fhir_model_class("Resource")
        found = (kind, _JSON_SHAPE.get(kind), inner)
        _DECLARED[(model, key)] = found
    return found


# What the models raise on input of a shape they do not expect.
_SHAPE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, LookupError)


def _entry_resource(resource: Any) -> Any:
    """A Bundle entry's resource read as the model its ``resourceType``
    names, as the Bundle's own Resource slot reads it (the models raise what
    they would there, at the resource's own place); anything else unread."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return resource
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _bundle_read(model: type[Model], data: Any) -> Model | None:
    """A Bundle read with each entry's resource read first by its own model:
    the same rules, without the Resource slot finding the model anew for
    each entry. None where anything is wrong (or ``data`` is no Bundle):
    the whole is then read as it comes, so a refusal names its place in
    the Bundle, as ever."""
    entries = data.get("entry") if isinstance(data, dict) else None
    if model.__name__ != "Bundle" or not isinstance(entries, list):
        return None
    try:
        read = [
            {**entry, "resource": _entry_resource(entry["resource"])}
            if isinstance(entry, dict) and "resource" in entry
            else entry
            for entry in entries
        ]
        return model.model_validate({**data, "entry": read})
    except (ValidationError, *_SHAPE_ERRORS):
        return None


def fhir_check(model: type[BaseModel], data: Any) -> None:
    """The checks of :func:`fhir_validate`, where the model is not wanted
    (a message Bundle read as JSON): a document of the plain shape FHIR's
    JSON writes is judged by one walk (:func:`core.fhir.shape.models_take`),
    anything else by the models, which name the fault; then, as there, no
    element or list may be empty (:func:`empty_element`) and no resource
    may break an invariant (:mod:`core.fhir.invariants`). The required
    bindings are the message validator's to word."""
    if not models_take(model, data):
        _validated(model, data)
    _refuse_empty(data)
    _refuse_invariant(data)


# FHIR R4 ele-1 (every element): "All FHIR elements must have a @value or
# children" (an id is neither); ext-1 (every extension): "Must have either
# extensions or value[x], not both". The models take ``"maritalStatus": {}``,
# ``"coding": [{}]``, ``"_gender": {"id": "a"}`` without a gender, and an
# extension with its url alone, which the platform would store and pass on.
EMPTY_ELEMENT = "an element holds a value or elements of its own (FHIR ele-1)"
EMPTY_EXTENSION = "an extension holds either a value or extensions (FHIR ext-1)"
# FHIR R4's JSON (json.html): an array is never empty; a repeating element
# with no item is left out. The models take ``"coding": []`` and drop it,
# so what was stored differs from what was sent.
EMPTY_LIST = "a list holds at least one item; an element with none is left out (FHIR ele-1)"


def empty_element(data: Any) -> tuple[str, str]:
    """The place of the first element of ``data`` (a resource, the resources
    it holds too) that breaks ele-1 or ext-1, or a list with no item, with
    the rule it breaks;
    ``("", "")`` when none does. Read from the JSON alone: the rules hold for
    every element of every type."""
    if not isinstance(data, dict):
        return "", ""
    return _first_empty(data, str(data.get("resourceType") or "resource")[:40])


def _holds(element: dict[str, Any]) -> bool:
    return any(
        key not in ("id", "fhir_comments") and value not in (None, [], {})
        for key, value in element.items()
    )


def _extension_holds(extension: dict[str, Any]) -> bool:
    valued = any(key.startswith("value") and value is not None for key, value in extension.items())
    return valued != bool(extension.get("extension"))


def _first_empty(node: dict[str, Any], where: str) -> tuple[str, str]:
    for key, value in node.items():
        place = f"{where}.{key}"
        many = isinstance(value, list)
        if many and not value:
            return place, EMPTY_LIST
        items = value if many else [value]
        if key.startswith("_") and len(key) > 1:
            # A primitive's id and extensions: empty only beside no value.
            partner = node.get(key[1:])
            values = partner if isinstance(partner, list) else [partner]
            for index, item in enumerate(items):
                valued = index < len(values) and values[index] is not None
                if isinstance(item, dict) and not valued and not _holds(item):
                    return (f"{place}[{index}]" if many else place), EMPTY_ELEMENT
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            at = f"{place}[{index}]" if many else place
            # What lies inside first: ``"code": {"coding": []}`` names its
            # empty list, not the concept it leaves empty.
            found = _first_empty(item, at)
            if found[0]:
                return found
            if key in ("extension", "modifierExtension") and not _extension_holds(item):
                return at, EMPTY_EXTENSION
            if not key.startswith("_") and "resourceType" not in item and not _holds(item):
                return at, EMPTY_ELEMENT
    return "", ""


def _refuse_empty(data: Any) -> None:
    place, rule = empty_element(data)
    if place:
        raise FHIRInvalid(place, f"{place}: {rule}")


def _refuse_invariant(data: Any) -> None:
    """Refuse, as an element the models refuse, the first resource of
    ``data`` that breaks an invariant (:data:`core.fhir.invariants.INVARIANTS`),
    naming the element, the invariant's key and FHIR's wording of it."""
    broken = invariant_broken(data)
    if broken is not None:
        place, invariant = broken
        raise FHIRInvalid(place, f"{place}: {invariant.rule} (FHIR {invariant.key})")


def fhir_validate(model: type[Model], data: Any, *, bindings: bool = True) -> Model:
    """``data`` as an instance of ``model``, or :class:`FHIRInvalid` (also for
    a modifier the platform does not understand, :func:`refuse_unknown_modifiers`,
    and, after the models took it, for an empty element or list,
    :func:`empty_element`, a broken invariant, :mod:`core.fhir.invariants`,
    and a code outside FHIR R4's required value set of its element,
    :class:`FHIRCodeOutside`, in the resources it holds too).
    ``bindings=False`` only where these were held to them already (a MedCom
    message, by :func:`fhir_check` and its validator, which refuses a code
    with MedCom's own error)."""
    validated = _validated(model, data)
    if bindings:
        _refuse_empty(data)
        outside = codes_outside(data, held=True)
        if outside:
            first = outside[0]
            raise FHIRCodeOutside(first.place, first.allowed, first.system)
        # Read from codes held to their value sets.
        _refuse_invariant(data)
    return validated


def _validated(model: type[Model], data: Any) -> Model:
    try:
        validated = _bundle_read(model, data)
        if validated is None:
            validated = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()[:5]
        places = [".".join(str(p) for p in e.get("loc", ())) for e in errors]
        # Pydantic's message names the field and the rule, never the value.
        problems = "; ".join(
            f"{place or 'resource'}: {e.get('msg', 'invalid')}"
            for place, e in zip(places, errors, strict=True)
        )
        where = errors[0].get("loc", ()) if errors else ()
        try:
            kind = element_type(model, data, tuple(where))
        except (TypeError, ValueError, LookupError, AttributeError):
            kind = ""  # a path the models cannot follow: the type is not known
        value = errors[0].get("input") if errors else None
        naive = isinstance(value, str) and _NAIVE_TIME.fullmatch(value) is not None
        if kind in ("dateTime", "instant") and naive:
            place = places[0]
            raise FHIRTimeNaive(
                place, f"{place}: a FHIR {kind} with a time of day carries its offset", kind
            ) from None
        raise FHIRInvalid(places[0] if places else "", problems, kind) from None
    except _SHAPE_ERRORS:
        raise FHIRInvalid("", "an element has the wrong shape") from None
    # primitive_misshapen's refusal first, then refuse_unknown_modifiers':
    # both found in one walk.
    try:
        steps, kind, modifier = _first_refusals(model, data)
    except (TypeError, ValueError, LookupError, AttributeError):
        # A path the models cannot follow: they took the shape.
        refuse_unknown_modifiers(data)
        return validated
    if steps is not None:
        place = _misshapen_place(steps)
        if kind == NULL_IN_LIST:
            raise FHIRInvalid(
                place, f"{place}: null stands in a list only beside its extension in _element"
            )
        if kind == STRING_TOO_LONG:
            raise FHIRInvalid(
                place, f"{place}: a FHIR string holds at most {STRING_MAX_CHARS} characters"
            )
        shape = _SHAPE_WORDS.get(_JSON_SHAPE.get(kind, str), "a JSON number")
        raise FHIRInvalid(place, f"{place}: a FHIR {kind} is {shape}", kind)
    if modifier is not None:
        raise _modifier_refused(_modifier_place(data, modifier[0]), modifier[1])
    return validated


# A literal reference's target: ``Type/id`` or an absolute URL ending so,
# either with its version (``…/_history/2``).
_LITERAL_REFERENCE = re.compile(
    r"(?:^|/)([A-Z][A-Za-z]{1,63})/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


def references_in(model: type[BaseModel], data: Any) -> list[tuple[str, str]]:
    """The place and ``reference`` of every Reference in ``data`` (read as
    ``model``, contained resources too) that names its target by a literal
    reference, in the order of the body."""
    return [(place, reference) for place, reference, _allowed in _references(model, data)]


def _references(model: type[BaseModel], data: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """Each literal reference in ``data`` read as ``model``: its place, its
    value and the types its element takes (``("Resource",)`` for any)."""
    root = data if isinstance(data, dict) else {}
    found: list[tuple[str, str, tuple[str, ...]]] = []

    def walk(model: type[BaseModel] | None, node: Any, where: str) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(model, item, f"{where}[{index}]")
            return
        model = _resource_model(model, node)
        if model is None or not isinstance(node, dict):
            return
        for key, value in node.items():
            if not isinstance(value, dict | list):
                continue
            kind, _shape, inner = _declared(model, str(key))
            place = f"{where}.{key}"
            if kind == "Reference":
                extra = getattr(_field_of(model, str(key)), "json_schema_extra", None)
                allowed = (
                    tuple(extra.get("enum_reference_types") or ())
                    if isinstance(extra, dict)
                    else ()
                ) or ("Resource",)
                items = value if isinstance(value, list) else [value]
                for index, item in enumerate(items):
                    reference = item.get("reference") if isinstance(item, dict) else None
                    if isinstance(reference, str):
                        at = f"{place}[{index}]" if isinstance(value, list) else place
                        found.append((at, reference, allowed))
            if inner is not None:
                walk(inner, value, place)

    walk(model, data, str(root.get("resourceType") or model.__name__)[:40])
    return found


def reference_target_refused(
    model: type[BaseModel], data: Any, local: Mapping[str, str] | None = None
) -> tuple[str, tuple[str, ...]] | None:
    """The place of the first Reference in ``data`` (read as ``model``) whose
    target is of a type its element does not take, with the types it takes;
    None when each names one it takes. FHIR R4 (references.html) lets a
    Reference name only a resource of its element's types: the models do
    not look, and ``Condition.encounter`` naming a Condition would be stored
    as if it named the encounter. A target's type is read from the reference
    (``Type/id``, an absolute URL so ending, ``#id`` of a contained
    resource) or, in a Bundle, from the entry ``local`` maps its fullUrl to;
    a reference naming no type that can be read is left to the other checks."""
    root = data if isinstance(data, dict) else {}
    contained = {
        str(c.get("id")): str(c.get("resourceType"))
        for c in root.get("contained") or []
        if isinstance(c, dict)
    }

    def target(reference: str) -> str | None:
        if reference.startswith("#"):
            return contained.get(reference[1:])
        if local and reference in local:
            return local[reference]
        found = _LITERAL_REFERENCE.search(reference)
        return found.group(1) if found and found.end() == len(reference) else None

    for place, reference, allowed in _references(model, data):
        if "Resource" in allowed:
            continue
        named = target(reference)
        if named is not None and named not in allowed:
            return place, allowed
    return None


def fhir_refusal(refused: FHIRInvalid, resource_type: str) -> InvalidInput:
    """A body the models refused, as every REST door that takes FHIR answers
    it: a modifier the platform does not understand (:func:`unknown_modifier`),
    a time without its offset as ``/api/`` refuses one (``time.naive``), else
    ``fhir.invalid`` naming the place and the reason, never the values sent."""
    if isinstance(refused, FHIRCodeOutside):
        return code_outside_refused(refused)
    if refused.code:
        return unknown_modifier(refused)
    if isinstance(refused, FHIRTimeNaive):
        return naive_refused(refused.where)
    return InvalidInput(
        "fhir.invalid", f"Not a valid {resource_type}: {refused}", field=refused.where or None
    )


def code_outside_refused(refused: FHIRCodeOutside) -> InvalidInput:
    """A code outside its element's required value set, as the doors that
    take FHIR answer it: 400 naming the element and the codes it takes (and,
    for a CodeableConcept, their code system); the code sent is not
    repeated: it may be free text."""
    element = refused.where or "resource"
    codes = ", ".join(refused.allowed)
    if refused.system:
        return InvalidInput(
            CODING_OUTSIDE_VALUE_SET,
            f"{element} needs a coding of {refused.system} with one of the codes {codes};"
            " nothing was written.",
            field=element,
            params={"element": element, "system": refused.system, "codes": codes},
        )
    return InvalidInput(
        CODE_OUTSIDE_VALUE_SET,
        f"{element} takes only the codes {codes}; nothing was written.",
        field=element,
        params={"element": element, "codes": codes},
    )


class ModifierNotUnderstood(InvalidInput):
    """A body refused for a modifier the platform does not understand: bad
    input like any other (a door that records refused input records it),
    answered as not supported (issue type ``not-supported``)."""

    kind = "not_supported"


def unknown_modifier(refused: FHIRInvalid) -> ModifierNotUnderstood:
    """The refusal of a modifier the platform does not understand, as the
    doors that take FHIR answer it: 400, issue type not-supported."""
    element = refused.where or "resource"
    if refused.code == IMPLICIT_RULES_UNKNOWN:
        message = f"{element}: the resource follows rules the platform does not know."
    else:
        message = (
            f"{element} changes the meaning of its element in a way"
            " the platform does not understand."
        )
    return ModifierNotUnderstood(refused.code, message, field=element, params={"element": element})
