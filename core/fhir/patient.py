"""Citizen <-> FHIR Patient (DK-core CPR identifier)."""

from __future__ import annotations

from typing import Any

from core.cpr import CPR_SYSTEM
from core.deaths import death_written
from core.models import MUNICIPALITY_CODE_SYSTEM, Citizen

DK_MUNICIPALITY_EXTENSION = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes"


def home_address(citizen: Citizen) -> dict[str, Any]:
    """The citizen's home address as a FHIR Address, without extensions."""
    return {
        "use": "home",
        "line": [citizen.address_line],
        "postalCode": citizen.postal_code,
        "city": citizen.city,
    }


def patient_resource(citizen: Citizen, *, show_cpr: bool = True) -> dict[str, Any]:
    """The Patient for ``citizen``. ``show_cpr=False`` leaves the identifier out
    for readers who do not need it (the CPR number is sensitive)."""
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(citizen.pk),
        "name": [{"use": "official", "family": citizen.family_name, "given": [citizen.given_name]}],
        "gender": citizen.sex,
        "birthDate": citizen.birth_date.isoformat(),
        "address": [
            {
                **home_address(citizen),
                "country": "DK",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                        "extension": [
                            {"url": "latitude", "valueDecimal": float(citizen.latitude)},
                            {"url": "longitude", "valueDecimal": float(citizen.longitude)},
                        ],
                    }
                ],
            }
        ],
        "extension": [
            {
                "url": DK_MUNICIPALITY_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": MUNICIPALITY_CODE_SYSTEM,
                            "code": citizen.municipality.municipality_code,
                        }
                    ]
                },
            }
        ],
    }
    if show_cpr:
        # The CPR number and the replacement CPR (DK-core's x-ecpr / d-ecpr
        # slice, ``temp``) the citizen holds: both are identifying.
        identifiers: list[dict[str, str]] = []
        if citizen.cpr:
            identifiers.append({"system": CPR_SYSTEM, "value": citizen.cpr})
        if citizen.replacement_cpr:
            identifiers.append(
                {
                    "use": "temp",
                    "system": citizen.replacement_cpr_system,
                    "value": citizen.replacement_cpr,
                }
            )
        if identifiers:  # FHIR JSON leaves out a list with no item
            data["identifier"] = identifiers
    if citizen.phone:
        data["telecom"] = [{"system": "phone", "value": citizen.phone, "use": "home"}]
    died = death_written(citizen)
    if died is not None:
        # The day where it was given as a day, else the instant in UTC.
        data["deceasedDateTime"] = died
    if citizen.gp_practice_id is not None and citizen.gp_practice is not None:
        data["generalPractitioner"] = [
            {
                "reference": f"Organization/{citizen.gp_practice_id}",
                "display": citizen.gp_practice.name,
            }
        ]
    # Built from validated columns; the tests hold it to the R4B model, so it is
    # not validated again on every read.
    return data
