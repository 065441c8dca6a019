"""Administration <-> FHIR MedicationAdministration, linked to the order's MedicationRequest.

The lot is carried as a contained Medication with its batch (number and
expiry); the visit is the Encounter ``visit-<id>`` and the order the
``MedicationRequest/<id>`` served by the clinical app.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B.medicationadministration import MedicationAdministration

from core.times import LOCAL, fhir_instant
from medicine_cabinet.models import Administration

ATC_SYSTEM = "http://www.whocc.no/atc"
LOCAL_UNIT_SYSTEM = "urn:tvaerakut:cabinet-unit"


def _number(value: Any) -> float | int:
    normalised = value.normalize()
    return int(normalised) if normalised == normalised.to_integral() else float(normalised)


def _usable_until(expires_on: dt.date) -> str:
    """The last moment a lot is usable: the end of its expiry date by the
    Copenhagen calendar, with that day's offset (+02:00 in summer time, +01:00
    in winter), never one fixed offset that would move it by an hour."""
    return fhir_instant(dt.datetime.combine(expires_on, dt.time(23, 59, 59), tzinfo=LOCAL))


def medication_administration_resource(administration: Administration) -> dict[str, Any]:
    medicine = administration.medicine
    lot = administration.lot
    by = administration.by
    performers = [{"actor": {"display": by.display_name}, "function": {"text": "performer"}}]
    if administration.witness is not None:
        performers.append(
            {
                "actor": {"display": administration.witness.display_name},
                "function": {"text": "witness"},
            }
        )
    data: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(administration.pk),
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med",
                "code": {
                    "coding": [
                        {"system": ATC_SYSTEM, "code": medicine.atc_code, "display": medicine.name}
                    ],
                    "text": f"{medicine.name} {medicine.strength} {medicine.form}",
                },
                "batch": {
                    "lotNumber": lot.batch_number,
                    "expirationDate": _usable_until(lot.expires_on),
                },
            }
        ],
        "status": "completed",
        "medicationReference": {"reference": "#med"},
        "subject": {"reference": f"Patient/{administration.citizen_id}"},
        "context": {"reference": f"Encounter/visit-{administration.visit_id}"},
        "effectiveDateTime": fhir_instant(administration.administered_at),
        "performer": performers,
        "request": {"reference": f"MedicationRequest/{administration.order_id}"},
        "dosage": {
            "dose": {
                "value": _number(administration.quantity),
                "unit": administration.unit,
                "system": LOCAL_UNIT_SYSTEM,
                "code": administration.unit,
            }
        },
    }
    if administration.note:
        data["note"] = [{"text": administration.note}]
    return MedicationAdministration.model_validate(data).model_dump(mode="json", exclude_none=True)
