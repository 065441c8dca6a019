"""Mapping between the shared record and FHIR R4 (validated with the R4B
models), one module per kind of resource; every name is importable from
``consent.fhir``.

- :mod:`~consent.fhir.record` — the record's resources in and out, checked
  against R2 before anything else;
- :mod:`~consent.fhir.codings` — R2 on every coded value, judged by its system;
- :mod:`~consent.fhir.consent` — refusals and consents as FHIR Consent;
- :mod:`~consent.fhir.patient` — a Patient written over FHIR, read as the
  citizen's facts;
- :mod:`~consent.fhir.datatypes` — R4B validation and the datatypes all of
  them read (references, instants, periods, codings).
"""

from consent.fhir.codings import (
    DIAGNOSIS_SYSTEMS_TEXT,
    MAIN_DIAGNOSIS_ORDER,
    CodedValue,
    coded_values,
    judge_codings,
    judge_free_text,
)
from consent.fhir.consent import (
    GIVEN_HOW_EXTENSION,
    PURPOSE_BY_CODE,
    PURPOSE_CODES,
    PURPOSE_SYSTEM,
    RECORDED_BY_EXTENSION,
    SUB_UNITS_EXTENSION,
    WITHDRAWN_EXTENSION,
    ParsedConsent,
    consent_resource,
    parse_consent,
)
from consent.fhir.datatypes import RecordRefused, period_bound, validate_fhir
from consent.fhir.patient import GEOLOCATION_EXTENSION, ParsedPatient, parse_patient
from consent.fhir.record import (
    CATEGORY_SYSTEM,
    CONDITION_CATEGORY_SYSTEM,
    ENCOUNTER_ELEMENTS,
    MUNICIPAL_SERVICE_SYSTEM,
    MUNICIPAL_SERVICES,
    RECORD_JSON_FIELDS,
    RECORD_TYPES,
    SOURCE_EXTENSION,
    TYPE_BY_CATEGORY,
    ParsedResource,
    check_reference_targets,
    clinical_date,
    etag,
    parse_record_resource,
    record_json,
    record_resource,
    with_subject,
)

__all__ = [
    "CATEGORY_SYSTEM",
    "CONDITION_CATEGORY_SYSTEM",
    "DIAGNOSIS_SYSTEMS_TEXT",
    "ENCOUNTER_ELEMENTS",
    "GEOLOCATION_EXTENSION",
    "GIVEN_HOW_EXTENSION",
    "MAIN_DIAGNOSIS_ORDER",
    "MUNICIPAL_SERVICES",
    "MUNICIPAL_SERVICE_SYSTEM",
    "PURPOSE_BY_CODE",
    "PURPOSE_CODES",
    "PURPOSE_SYSTEM",
    "RECORDED_BY_EXTENSION",
    "RECORD_JSON_FIELDS",
    "RECORD_TYPES",
    "SOURCE_EXTENSION",
    "SUB_UNITS_EXTENSION",
    "TYPE_BY_CATEGORY",
    "WITHDRAWN_EXTENSION",
    "CodedValue",
    "ParsedConsent",
    "ParsedPatient",
    "ParsedResource",
    "RecordRefused",
    "check_reference_targets",
    "clinical_date",
    "coded_values",
    "consent_resource",
    "etag",
    "judge_codings",
    "judge_free_text",
    "parse_consent",
    "parse_patient",
    "parse_record_resource",
    "period_bound",
    "record_json",
    "record_resource",
    "validate_fhir",
    "with_subject",
]
