"""MedCom's invariants that every HospitalNotification meets, read directly
from the message's JSON instead of through fhirpathpy.

Each predicate answers exactly what fhirpathpy answers for its expression
(``[True]``, ``[False]`` or ``[]``), but only for the shapes it knows: a
Bundle whose ``entry`` is a list of entries, each with at most one resource
naming its ``resourceType``, elements where FHIR puts them. For anything else
it answers None and the validator asks fhirpathpy, so an odd message is
judged as before. ``tests/integrations/medcom/test_compiled_invariants.py``
holds them to fhirpathpy's answers on MedCom's examples and on variants of
them.

An expression that is not here (MedCom changes its wording, another message
type) is evaluated by fhirpathpy: the table is keyed by the expression's text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# conformsTo(url) over a collection, as the validator answers it.
ConformsTo = Callable[[list[Any], str], bool]
Predicate = Callable[[Any, ConformsTo], list[bool] | None]

HOSPITAL_NOTIFICATION_HEADER = (
    "http://medcomfhir.dk/fhir/hospitalnotification/StructureDefinition/"
    "medcom-hospitalNotification-messageHeader"
)
MESSAGING_HEADER = (
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-messageHeader"
)
HOSPITAL_NOTIFICATION_ACTIVITIES = (
    "http://medcomfhir.dk/fhir/dk-medcom-terminology/ValueSet/"
    "medcom-hospitalNotification-messageActivities"
)
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"


def _resources(bundle: Any) -> list[Any] | None:
    """The entries' resources (None where an entry has none), or None when
    the Bundle is not of the shape the predicates know."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or "_entry" in bundle:
        return None
    found: list[Any] = []
    for entry in entries:
        # An entry that names a resourceType is typed by it in fhirpathpy.
        if not isinstance(entry, dict) or "resourceType" in entry or "_resource" in entry:
            return None
        resource = entry.get("resource")
        if resource is not None and not (
            isinstance(resource, dict) and isinstance(resource.get("resourceType"), str)
        ):
            return None
        found.append(resource)
    return found


def _of_type(resources: list[Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in resources if r is not None and r["resourceType"] == resource_type]


def _elements(value: Any) -> list[dict[str, Any]] | None:
    """A repeating complex element as a list of its objects; None for
    anything else (a string or number where an object belongs)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        return None
    return items


def _equals(values: list[Any], expected: str) -> list[bool]:
    """FHIRPath's ``=`` of a collection and one string."""
    if not values:
        return []
    if len(values) > 1:
        return [False]
    return [values[0] == expected]


def _all_entries_of_type(bundle: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # entry.ofType(MessageHeader).all(...), entry.ofType(Provenance).all(...):
    # an entry is a BackboneElement, never of a resource's type, so the
    # collection is empty and all() is true.
    return None if _resources(bundle) is None else [True]


def _one_patient(bundle: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # entry.where(resource.is(Patient)).count() = 1
    resources = _resources(bundle)
    if resources is None:
        return None
    return [len(_of_type(resources, "Patient")) == 1]


def _patient_cpr(bundle: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # entry.resource.ofType(Patient).identifier.system = 'urn:oid:1.2.208.176.1.2'
    resources = _resources(bundle)
    if resources is None:
        return None
    systems: list[Any] = []
    for patient in _of_type(resources, "Patient"):
        identifiers = _elements(patient.get("identifier"))
        if identifiers is None or "_identifier" in patient:
            return None
        for identifier in identifiers:
            system = identifier.get("system")
            if "_system" in identifier or not isinstance(system, str | None):
                return None
            if system is not None:
                systems.append(system)
    return _equals(systems, CPR_SYSTEM)


def _primary_destination(bundle: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # Bundle.entry.resource.ofType(MessageHeader).destination.extension.value.code = 'primary'
    resources = _resources(bundle)
    if resources is None:
        return None
    codes: list[Any] = []
    for header in _of_type(resources, "MessageHeader"):
        destinations = _elements(header.get("destination"))
        if destinations is None or "_destination" in header:
            return None
        for destination in destinations:
            extensions = _elements(destination.get("extension"))
            if extensions is None or "_extension" in destination:
                return None
            for extension in extensions:
                values = [key for key in extension if key.startswith(("value", "_value"))]
                if not values:
                    continue
                if values != ["valueCoding"]:
                    return None  # another type of value: fhirpathpy decides
                coding = extension["valueCoding"]
                if not isinstance(coding, dict) or "_code" in coding:
                    return None
                code = coding.get("code")
                if not isinstance(code, str | None):
                    return None
                if code is not None:
                    codes.append(code)
    return _equals(codes, "primary")


def _first_entry_is_messaging_header(bundle: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # entry[0].resource.conformsTo('…/medcom-messaging-messageHeader')
    resources = _resources(bundle)
    if resources is None:
        return None
    first = resources[:1]
    return [conforms_to([r for r in first if r is not None], MESSAGING_HEADER)]


def _has_provenance(bundle: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # entry.resource.ofType(Provenance).exists()
    resources = _resources(bundle)
    if resources is None:
        return None
    return [bool(_of_type(resources, "Provenance"))]


def _on_leave_has_start(encounter: Any, conforms_to: ConformsTo) -> list[bool] | None:
    # where(status = 'onleave').extension.value.start.exists() or status != 'onleave'
    if not isinstance(encounter, dict) or encounter.get("resourceType") != "Encounter":
        return None
    status = encounter.get("status")
    if "_status" in encounter or not isinstance(status, str | None):
        return None
    if status is None:
        return []  # false or {}: empty
    if status != "onleave":
        return [True]
    extensions = _elements(encounter.get("extension"))
    if extensions is None or "_extension" in encounter:
        return None
    started = False
    for extension in extensions:
        values = [key for key in extension if key.startswith(("value", "_value"))]
        if not values:
            continue
        if values != ["valuePeriod"] or not isinstance(extension["valuePeriod"], dict):
            return None
        period = extension["valuePeriod"]
        if "_start" in period:
            return None
        started = started or period.get("start") is not None
    return [started]


COMPILED: dict[str, Predicate] = {
    "entry.ofType(MessageHeader).all(resource.conformsTo("
    f"'{HOSPITAL_NOTIFICATION_HEADER}'))": _all_entries_of_type,
    "entry.ofType(Provenance).all(resource.activity.memberOf("
    f"'{HOSPITAL_NOTIFICATION_ACTIVITIES}'))": _all_entries_of_type,
    "entry.where(resource.is(Patient)).count() = 1": _one_patient,
    f"entry.resource.ofType(Patient).identifier.system = '{CPR_SYSTEM}'": _patient_cpr,
    "Bundle.entry.resource.ofType(MessageHeader).destination.extension.value.code = 'primary'": (
        _primary_destination
    ),
    f"entry[0].resource.conformsTo('{MESSAGING_HEADER}')": _first_entry_is_messaging_header,
    "entry.resource.ofType(Provenance).exists()": _has_provenance,
    "where(status = 'onleave').extension.value.start.exists() or status != 'onleave'": (
        _on_leave_has_start
    ),
}
