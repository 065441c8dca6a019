"""Whether the ``fhir.resources`` models certainly take a FHIR JSON document,
decided in one walk of it, without building the models.

Reading a message Bundle with the models builds some fifty model instances,
each through Python validators of its own: the larger part of the CPU a
received message costs before MedCom's rules are asked. Where a door needs
only the verdict (a message is read as JSON afterwards), :func:`models_take`
answers from what the models declare of each of their fields: its JSON name,
whether it repeats, its FHIR type, which elements are required and which
choices (``value[x]``) exclude each other. Each primitive value is checked by
the validator the models themselves use for its type (pydantic's
``TypeAdapter`` of the field's declared type).

The walk answers one way only. It says True where every element has the
plain shape FHIR's JSON writes (a JSON string for strings and moments, true
or false for a boolean, a number for a number; no null, no empty object or
array, no ``_element`` sibling, no ``fhir_comments``, no modifier extension,
no implicit rules, no model of unusual validators) and each rule above holds.
Anything else, it says False, and the caller reads the document with the
models, which name the fault exactly as before. So a document it takes, the
models take too, and the refusals of :mod:`core.fhir.validation` are
unchanged: ``tests/core/test_fhir_shape.py`` holds the two side by side, on
MedCom's messages and on a great many variants of them.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, TypeAdapter, ValidationError

# The validators every model has (fhir_core's own), whose rules the walk
# checks itself. A model with any other is left to the models.
_KNOWN_VALIDATORS = frozenset({"reject_null_complex_elements", "validate_after_model_construction"})

# The JSON types a primitive's value has in FHIR's JSON, by the Python type
# the models read it as. ``type(value) in shape``: a boolean is no integer.
_JSON_SHAPES: dict[Any, tuple[type, ...]] = {
    str: (str,),
    bool: (bool,),
    int: (int,),
    decimal.Decimal: (int, float),
    datetime.date: (str,),
    datetime.datetime: (str,),
    datetime.time: (str,),
    bytes: (str,),
    uuid.UUID: (str,),
}

# Names whose presence the walk leaves to the models: the elements whose
# refusals core.fhir.validation words itself, and the models' own extras.
_LEFT_TO_MODELS = frozenset({"modifierExtension", "implicitRules", "fhir_comments", "resourceType"})


@dataclass(frozen=True, slots=True)
class _Field:
    repeats: bool
    # One of three: a complex type's model; a Resource slot (the model its
    # ``resourceType`` names); a primitive's validator and JSON types.
    model: type[BaseModel] | None = None
    resource: bool = False
    primitive: TypeAdapter[Any] | None = None
    shape: tuple[type, ...] = ()


@dataclass(frozen=True, slots=True)
class _Model:
    fields: dict[str, _Field]  # by JSON name
    required: tuple[str, ...]
    # Each choice's JSON names, and whether one of them is required.
    choices: tuple[tuple[tuple[str, ...], bool], ...]
    resource_type: str | None  # a resource's own; None for an element


# Compiled once per model: the models do not change while the process runs.
# None for a model the walk leaves to the models.
_MODELS: dict[type[BaseModel], _Model | None] = {}
_RESOURCES: dict[str, type[BaseModel]] = {}


def models_take(model: type[BaseModel], data: Any) -> bool:
    """True where ``model.model_validate(data)`` certainly succeeds and ``data``
    holds no misshapen primitive, modifier extension or implicit rules;
    False where the models must be asked."""
    try:
        return _takes(model, data)
    except (ValidationError, TypeError, ValueError, LookupError, AttributeError, RecursionError):
        return False


def _takes(model: type[BaseModel], node: Any) -> bool:
    spec = _MODELS[model] if model in _MODELS else _compiled(model)
    if spec is None or type(node) is not dict or not node:
        return False
    fields = spec.fields
    for key, value in node.items():
        if key == "resourceType":
            if spec.resource_type is None or value != spec.resource_type:
                return False
            continue
        field = fields.get(key)
        if field is None:
            return False
        if field.repeats:
            if type(value) is not list or not value:
                return False
            for item in value:
                if not _value_takes(field, item):
                    return False
        elif not _value_takes(field, value):
            return False
    for name in spec.required:
        if name not in node:
            return False
    for names, required in spec.choices:
        present = sum(1 for name in names if name in node)
        if present > 1 or (required and not present):
            return False
    return True


# FHIR's bound on a string (R4 datatypes.html#string), which the models do
# not check: a longer one is left to core.fhir.validation, which refuses it.
_STRING_MAX_CHARS = 1024 * 1024


def _value_takes(field: _Field, value: Any) -> bool:
    if field.primitive is not None:
        if type(value) not in field.shape:
            return False
        if type(value) is str and len(value) > _STRING_MAX_CHARS:
            return False
        field.primitive.validate_python(value)  # ValidationError: not taken
        return True
    if field.resource:
        if type(value) is not dict:
            return False
        model = _resource_model(value.get("resourceType"))
        return model is not None and _takes(model, value)
    return field.model is not None and _takes(field.model, value)


def _resource_model(kind: Any) -> type[BaseModel] | None:
    """The model of a concrete resource named ``kind``; None for anything else."""
    if type(kind) is not str:
        return None
    found = _RESOURCES.get(kind)
    if found is None:
        if kind in ("Resource", "DomainResource"):
            return None
        try:
            klass = get_fhir_model_class(kind)
        except (KeyError, ValueError, AttributeError):
            return None
        if not klass.has_resource_base() or klass.get_resource_type() != kind:
            return None
        _RESOURCES[kind] = found = klass
    return found


def _compiled(model: type[BaseModel]) -> _Model | None:
    if model not in _MODELS:
        _MODELS[model] = _compile(model)
    return _MODELS[model]


def _compile(model: type[BaseModel]) -> _Model | None:
    decorators = model.__pydantic_decorators__
    if (
        set(decorators.model_validators) - _KNOWN_VALIDATORS
        or decorators.field_validators
        or decorators.validators
        or decorators.root_validators
    ):
        return None
    fields: dict[str, _Field] = {}
    required: list[str] = []
    names: dict[str, str] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        names[name] = key
        field = None
        if not (key in _LEFT_TO_MODELS or key.startswith("_") or info.metadata):
            field = _field_of(info.annotation)
        if field is not None:
            fields[key] = field
        if info.is_required():
            if field is None:
                return None
            required.append(key)
    # fhir_core declares these on an instance; they read nothing of it.
    blank = model.model_construct()
    get_required = getattr(blank, "get_required_fields", None)
    get_choices = getattr(blank, "get_one_of_many_fields", None)
    if get_required is None or get_choices is None:
        return None
    for element, _extension in get_required():
        required.append(element)
    choices = []
    for choice in get_choices().values():
        extra = model.model_fields[choice[0]].json_schema_extra
        one_required = isinstance(extra, dict) and extra.get("one_of_many_required") is True
        choices.append((tuple(names[name] for name in choice), one_required))
    resource_type = None
    if getattr(model, "has_resource_base", lambda: False)():
        resource_type = model.get_resource_type()  # type: ignore[attr-defined]
    return _Model(fields, tuple(dict.fromkeys(required)), tuple(choices), resource_type)


def _optional_removed(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return annotation


def _field_of(annotation: Any) -> _Field | None:
    """What a field's annotation declares, as the walk reads it; None for a
    declaration it leaves to the models."""
    annotation = _optional_removed(annotation)
    repeats = typing.get_origin(annotation) in (list, typing.List)  # noqa: UP006
    if repeats:
        (annotation,) = typing.get_args(annotation)
        annotation = _optional_removed(annotation)
    klass = getattr(annotation, "get_model_klass", None)
    if klass is not None:
        model = klass()
        if model.__name__ == "Resource":
            return _Field(repeats, resource=True)
        if model.__name__ == "Element" or not issubclass(model, BaseModel):
            return None
        return _Field(repeats, model=model)
    base = annotation
    if typing.get_origin(annotation) is typing.Annotated:
        base = typing.get_args(annotation)[0]
    if typing.get_origin(base) in (typing.Union, types.UnionType) and str in typing.get_args(base):
        base = str  # a url: a URL or a relative reference, a JSON string either way
    shape = _JSON_SHAPES.get(base)
    if shape is None:
        return None
    return _Field(repeats, primitive=TypeAdapter(annotation), shape=shape)
