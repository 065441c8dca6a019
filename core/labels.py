"""Danish names for what the platform records, as pages show them.

The audit log and FHIR keep the English resource type and reason code; a
person reads "Besøg", not "Encounter", and "ukendt borger", not
``unknown_citizen``.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

RESOURCE_CONTEXT = "resource type"

RESOURCE_TYPES: dict[str, Promise] = {
    "Analysis": pgettext_lazy(RESOURCE_CONTEXT, "Analysis"),
    "AuditEvent": pgettext_lazy(RESOURCE_CONTEXT, "Audit log entry"),
    "Bundle": pgettext_lazy(RESOURCE_CONTEXT, "Record extract"),
    "CarePlan": pgettext_lazy(RESOURCE_CONTEXT, "Care plan"),
    "Condition": pgettext_lazy(RESOURCE_CONTEXT, "Diagnoses and problems"),
    "Consent": pgettext_lazy(RESOURCE_CONTEXT, "Consent"),
    "Delegation": pgettext_lazy(RESOURCE_CONTEXT, "Delegation"),
    "Encounter": pgettext_lazy(RESOURCE_CONTEXT, "Visit"),
    "EpisodeOfCare": pgettext_lazy(RESOURCE_CONTEXT, "Episode"),
    "Figures": pgettext_lazy(RESOURCE_CONTEXT, "Figures"),
    "Flag": pgettext_lazy(RESOURCE_CONTEXT, "Warning"),
    "Lot": pgettext_lazy(RESOURCE_CONTEXT, "Lot"),
    "MedicationAdministration": pgettext_lazy(RESOURCE_CONTEXT, "Medicine given"),
    "MedicationRequest": pgettext_lazy(RESOURCE_CONTEXT, "Order"),
    "MedicationStatement": pgettext_lazy(RESOURCE_CONTEXT, "Medicine"),
    "Observation": pgettext_lazy(RESOURCE_CONTEXT, "Measurements and results"),
    "Patient": pgettext_lazy(RESOURCE_CONTEXT, "Citizen"),
    "Procedure": pgettext_lazy(RESOURCE_CONTEXT, "Procedure"),
    "ServiceRequest": pgettext_lazy(RESOURCE_CONTEXT, "Referral"),
    "StockCount": pgettext_lazy(RESOURCE_CONTEXT, "Stock count"),
    "Task": pgettext_lazy(RESOURCE_CONTEXT, "Task"),
}

REASON_CONTEXT = "reason code"

REASONS: dict[str, Promise] = {
    "break_glass": pgettext_lazy(REASON_CONTEXT, "emergency access"),
    "budget_exhausted": pgettext_lazy(REASON_CONTEXT, "privacy budget used up"),
    "care_relationship": pgettext_lazy(REASON_CONTEXT, "no care relationship"),
    "cpr_in_url": pgettext_lazy(REASON_CONTEXT, "CPR number in the address"),
    "hold_override": pgettext_lazy(REASON_CONTEXT, "sent despite admission"),
    "left_out_of_list": pgettext_lazy(REASON_CONTEXT, "left out of the list"),
    "ordering_physician": pgettext_lazy(REASON_CONTEXT, "not the ordering physician"),
    "patient.version_conflict": pgettext_lazy(REASON_CONTEXT, "changed meanwhile"),
    "patient_exists": pgettext_lazy(REASON_CONTEXT, "citizen already registered"),
    "recall": pgettext_lazy(REASON_CONTEXT, "recall"),
    "refused": pgettext_lazy(REASON_CONTEXT, "the citizen refused"),
    "restricted_analysis": pgettext_lazy(REASON_CONTEXT, "restricted analysis"),
    "role_not_permitted": pgettext_lazy(REASON_CONTEXT, "role not permitted"),
    "unknown_citizen": pgettext_lazy(REASON_CONTEXT, "unknown citizen"),
    "unknown_resource": pgettext_lazy(REASON_CONTEXT, "unknown record"),
    "visit_not_yours": pgettext_lazy(REASON_CONTEXT, "not her visit"),
}


def resource_type_label(resource_type: str | None) -> str:
    if not resource_type:
        return ""
    label = RESOURCE_TYPES.get(resource_type)
    return str(label) if label is not None else resource_type


def reason_label(reason_code: str | None) -> str:
    if not reason_code:
        return ""
    label = REASONS.get(reason_code)
    return str(label) if label is not None else reason_code


CARE_CATEGORY_CONTEXT = "care communication category"

# MedCom's CareCommunication categories (medcom-careCommunication-categoryCodes);
# the Danish msgstr are MedCom's own Danish designations.
CARE_CATEGORIES: dict[str, Promise] = {
    "alcohol-and-drug-treatment": pgettext_lazy(
        CARE_CATEGORY_CONTEXT, "Alcohol and drug treatment"
    ),
    "assistive-devices": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Assistive technology"),
    "carecoordination": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Care Coordination"),
    "decease": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Decease"),
    "discharge": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Discharge"),
    "examination-results": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Examination Results"),
    "healthcare": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Healthcare"),
    "home-care-assessment": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Home care assessment"),
    "medicine": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Medicine"),
    "nursing": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Nursing"),
    "outpatient": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Outpatient"),
    "psychiatry-social-disability": pgettext_lazy(
        CARE_CATEGORY_CONTEXT, "Psychiatry, Social, Disability"
    ),
    "regarding-referral": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Regarding Referral"),
    "telemedicine": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Telemedicine"),
    "training": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Training"),
    "acute-ambulant": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Acute ambulant"),
    "extended-care-responsibility": pgettext_lazy(
        CARE_CATEGORY_CONTEXT, "Extended care responsibility"
    ),
    "other": pgettext_lazy(CARE_CATEGORY_CONTEXT, "Other"),
}


def care_category_label(code: str | None) -> str:
    if not code:
        return ""
    label = CARE_CATEGORIES.get(code)
    return str(label) if label is not None else code
