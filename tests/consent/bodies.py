"""FHIR bodies for shared-record tests."""

from __future__ import annotations

from typing import Any

CAT = "urn:tvaerakut:data-category"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
FHIR = "application/fhir+json"


def tag(category: str) -> dict[str, Any]:
    return {"tag": [{"system": CAT, "code": category}]}


def diagnosis(citizen_id: int, code: str = "I10", system: str = ICD10, **extra: Any) -> dict:
    return {
        "resourceType": "Condition",
        "meta": tag("somatic-diagnosis"),
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{citizen_id}"},
        "recordedDate": "2025-03-01",
        **extra,
    }


def nursing_problem(
    citizen_id: int, text: str = "Risiko for tryksår", recorded: str = "2025-04-01"
) -> dict:
    return {
        "resourceType": "Condition",
        "meta": tag("nursing-problem"),
        "code": {"text": text},
        "subject": {"reference": f"Patient/{citizen_id}"},
        "recordedDate": recorded,
    }


def municipal_help(
    citizen_id: int, service: str = "home-nursing", org_id: int | None = None
) -> dict:
    """The municipal help she receives; ``org_id``, an organisation the
    platform holds, names who manages it."""
    body = {
        "resourceType": "EpisodeOfCare",
        "meta": tag("municipal-help"),
        "status": "active",
        "type": [{"coding": [{"system": "urn:tvaerakut:municipal-service", "code": service}]}],
        "patient": {"reference": f"Patient/{citizen_id}"},
        "period": {"start": "2025-01-01"},
    }
    if org_id is not None:
        body["managingOrganization"] = {"reference": f"Organization/{org_id}"}
    return body


def care_plan(citizen_id: int) -> dict:
    return {
        "resourceType": "CarePlan",
        "meta": tag("care-plan"),
        "status": "active",
        "intent": "plan",
        "title": "Sårpleje",
        "subject": {"reference": f"Patient/{citizen_id}"},
        "period": {"start": "2025-05-01"},
    }


def hospital_contact(citizen_id: int, department_id: int, start: str = "2025-06-01") -> dict:
    return {
        "resourceType": "Encounter",
        "meta": tag("hospital-contact"),
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
        },
        "subject": {"reference": f"Patient/{citizen_id}"},
        "serviceProvider": {"reference": f"Organization/{department_id}"},
        "period": {"start": start},
    }


def refusal(
    citizen_id: int,
    *,
    organisations: list[int] = (),  # type: ignore[assignment]
    users: list[int] = (),  # type: ignore[assignment]
    purposes: list[str] = (),  # type: ignore[assignment]
    period: dict[str, str] | None = None,
    data_period: dict[str, str] | None = None,
    how: str = "oral",
    kind: str = "deny",
    sub_units: bool = True,
) -> dict:
    provision: dict[str, Any] = {"type": kind}
    actors = [
        {"role": {"text": "recipient"}, "reference": {"reference": f"Organization/{o}"}}
        for o in organisations
    ] + [
        {"role": {"text": "recipient"}, "reference": {"reference": f"Practitioner/{u}"}}
        for u in users
    ]
    if actors:
        provision["actor"] = actors
    if purposes:
        provision["purpose"] = [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": p}
            for p in purposes
        ]
    if period:
        provision["period"] = period
    if data_period:
        provision["dataPeriod"] = data_period
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{citizen_id}"},
        "extension": [
            {"url": "urn:tvaerakut:fhir:consent-given-how", "valueCode": how},
            {"url": "urn:tvaerakut:fhir:consent-include-sub-units", "valueBoolean": sub_units},
        ],
        "provision": provision,
    }


CPR = "urn:oid:1.2.208.176.1.2"
MUNICIPALITY_EXTENSION = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes"


def patient(
    cpr: str,
    *,
    municipality: str = "157",
    line: str = "Bernstorffsvej 20",
    gp_id: int | None = None,
    **extra: Any,
) -> dict:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": CPR, "value": cpr}],
        "name": [{"use": "official", "family": "Hansen", "given": ["Karen", "Marie"]}],
        "address": [
            {
                "use": "home",
                "line": [line],
                "postalCode": "2900",
                "city": "Hellerup",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                        "extension": [
                            {"url": "latitude", "valueDecimal": 55.7361},
                            {"url": "longitude", "valueDecimal": 12.5683},
                        ],
                    }
                ],
            }
        ],
        "telecom": [{"system": "phone", "value": "+4539000000"}],
        "extension": [
            {
                "url": MUNICIPALITY_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": "urn:oid:1.2.208.176.1.3", "code": municipality}]
                },
            }
        ],
    }
    if gp_id is not None:
        body["generalPractitioner"] = [{"reference": f"Organization/{gp_id}"}]
    body.update(extra)
    return body


def transaction(*resources: dict[str, Any]) -> dict[str, Any]:
    """A transaction Bundle that creates each of ``resources``."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in resources
        ],
    }
