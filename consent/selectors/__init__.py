"""Reads in ``consent``, each through the gate (:mod:`consent.gate`), one module
per use case; every name is importable from ``consent.selectors``.

- :mod:`~consent.selectors.record` — one record resource, an earlier version
  of it, and ``$everything``, with data in a refused period left out (R4);
- :mod:`~consent.selectors.record_search` — searching the shared record;
- :mod:`~consent.selectors.patients` — a citizen's Patient, its version, and
  the search by CPR number (from a request body only);
- :mod:`~consent.selectors.patient_search` — Patient search with the ordinary
  parameters, and the refusal of a CPR number in a URL;
- :mod:`~consent.selectors.consents` — a citizen's refusals and consents;
- :mod:`~consent.selectors.insight` — the insight report (R5);
- :mod:`~consent.selectors.dates` — the date parameters both searches take.
"""

from consent.audit.disclosures import INSIGHT_YEARS
from consent.selectors.consents import (
    access_directive,
    consent_directives,
    directive_citizen_id,
)
from consent.selectors.dates import DATE_PREFIXES
from consent.selectors.insight import (
    InsightReport,
    insight_bundle,
    insight_report,
)
from consent.selectors.patient_search import (
    CPR_LIKE,
    GENDER_SYSTEM,
    MAX_IDS,
    PATIENT_SEARCH_PARAMS,
    PATIENT_STRING_PARAMS,
    PRESENTATION_PARAMS,
    STRING_MODIFIERS,
    PatientSearch,
    cpr_in_query,
    parse_patient_search,
    patient_ids_named,
    patient_search,
    patient_search_refused_in_url,
)
from consent.selectors.patients import (
    IntakeLookup,
    patient_intake_lookup,
    patient_search_by_cpr,
    patient_version,
    versioned_patient,
)
from consent.selectors.record import (
    hidden_for,
    patient_everything,
    record_citizen_id,
    record_held_each,
    record_read,
    record_read_bare,
    record_version_read,
    without_hidden_data,
)
from consent.selectors.record_search import (
    SEARCH_PARAMS,
    SearchParams,
    parse_search,
    record_search,
)

# The names these had when the reads were one module; the FHIR views use the first.
_consents = consent_directives
BIRTHDATE_PREFIXES = DATE_PREFIXES

__all__ = [
    "BIRTHDATE_PREFIXES",
    "CPR_LIKE",
    "DATE_PREFIXES",
    "GENDER_SYSTEM",
    "INSIGHT_YEARS",
    "MAX_IDS",
    "PATIENT_SEARCH_PARAMS",
    "PATIENT_STRING_PARAMS",
    "PRESENTATION_PARAMS",
    "SEARCH_PARAMS",
    "STRING_MODIFIERS",
    "InsightReport",
    "IntakeLookup",
    "PatientSearch",
    "SearchParams",
    "access_directive",
    "consent_directives",
    "cpr_in_query",
    "directive_citizen_id",
    "hidden_for",
    "insight_bundle",
    "insight_report",
    "parse_patient_search",
    "parse_search",
    "patient_everything",
    "patient_ids_named",
    "patient_intake_lookup",
    "patient_search",
    "patient_search_by_cpr",
    "patient_search_refused_in_url",
    "patient_version",
    "record_citizen_id",
    "record_held_each",
    "record_read",
    "record_read_bare",
    "record_search",
    "record_version_read",
    "versioned_patient",
    "without_hidden_data",
]
