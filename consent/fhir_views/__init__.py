"""``/fhir/`` endpoints of the shared record, Patient, Consent and the insight Bundle.

The resource types are read and searched on the gated base
(:mod:`core.fhir.resources`); the writes (create, versioned update,
transaction, ``$withdraw``) and the operations are views of their own here,
each calling one service or selector that asks the gate. Every staff role may
*ask*; the gate decides per citizen and records the answer, so a refused role
is audited like any other refusal and sees the same "not found" as for a
record that does not exist.

The purpose of use comes from the ``X-Purpose-Of-Use`` header (the platform's
purpose or its HL7 v3 code: TREAT, ETREAT, HOPERAT …); without it, the one the
caller's role exists for (:mod:`core.purposes`). One the platform does not
know is refused (400 ``purpose.unknown``), one the role may not state too (403
``purpose.not_permitted``), and the attempt recorded as denied (R9, reason
``purpose_unknown`` or ``purpose_not_permitted``) on every door: the types'
reads and searches through the FHIR base, the writes and operations here
through :func:`stated_purpose`.
"""

from consent.fhir_views.common import stated_purpose
from consent.fhir_views.consents import ConsentResource, ConsentTypeView, ConsentWithdrawView
from consent.fhir_views.patient import (
    PatientEverythingView,
    PatientInsightView,
    PatientInstanceView,
    PatientResource,
    PatientTypeView,
)
from consent.fhir_views.record import (
    RECORD_RESOURCES,
    RecordInstanceView,
    RecordTypeView,
    RecordVersionView,
    SharedRecordResource,
    TransactionView,
)

PATIENT = PatientResource()
CONSENT = ConsentResource()
RESOURCES = (*RECORD_RESOURCES, PATIENT, CONSENT)

__all__ = [
    "CONSENT",
    "PATIENT",
    "RECORD_RESOURCES",
    "RESOURCES",
    "ConsentResource",
    "ConsentTypeView",
    "ConsentWithdrawView",
    "PatientEverythingView",
    "PatientInsightView",
    "PatientInstanceView",
    "PatientResource",
    "PatientTypeView",
    "RecordInstanceView",
    "RecordTypeView",
    "RecordVersionView",
    "SharedRecordResource",
    "TransactionView",
    "stated_purpose",
]
