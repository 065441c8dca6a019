"""Danish names for what the platform records, as pages show them.

The audit log and FHIR keep the English resource type and reason code; a
person reads "Besøg", not "Encounter", and "ukendt borger", not
``unknown_citizen``.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from core.messages import BY_CODE

RESOURCE_CONTEXT = "resource type"

RESOURCE_TYPES: dict[str, Promise] = {
    "Analysis": pgettext_lazy(RESOURCE_CONTEXT, "Analysis"),
    "AuditEvent": pgettext_lazy(RESOURCE_CONTEXT, "Audit log entry"),
    "Bundle": pgettext_lazy(RESOURCE_CONTEXT, "Record extract"),
    "CarePlan": pgettext_lazy(RESOURCE_CONTEXT, "Care plan"),
    "Communication": pgettext_lazy(RESOURCE_CONTEXT, "Correspondence"),
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
    "Session": pgettext_lazy(RESOURCE_CONTEXT, "Sign-in"),
    "StockCount": pgettext_lazy(RESOURCE_CONTEXT, "Stock count"),
    "StockMovement": pgettext_lazy(RESOURCE_CONTEXT, "Stock movement"),
    "Task": pgettext_lazy(RESOURCE_CONTEXT, "Task"),
    "Token": pgettext_lazy(RESOURCE_CONTEXT, "Access token"),
    "WitnessAlarm": pgettext_lazy(RESOURCE_CONTEXT, "Witness alarm"),
}

REASON_CONTEXT = "reason code"

REASONS: dict[str, Promise] = {
    "acute_function": pgettext_lazy(REASON_CONTEXT, "assignment in the acute function"),
    "admin.change": pgettext_lazy(REASON_CONTEXT, "changed in the administration"),
    "analysis.unknown": pgettext_lazy(REASON_CONTEXT, "unknown analysis"),
    "analysis.diagnosis_invalid": pgettext_lazy(REASON_CONTEXT, "diagnosis not valid"),
    "analysis.service_invalid": pgettext_lazy(REASON_CONTEXT, "municipal service not valid"),
    "analysis.days_invalid": pgettext_lazy(REASON_CONTEXT, "number of days out of range"),
    "analysis.param_invalid": pgettext_lazy(REASON_CONTEXT, "value in the question not valid"),
    "analysis.param_unknown": pgettext_lazy(REASON_CONTEXT, "field the analysis does not take"),
    "analysis.param_repeated": pgettext_lazy(REASON_CONTEXT, "field given twice in the question"),
    "break_glass": pgettext_lazy(REASON_CONTEXT, "emergency access"),
    "budget_exhausted": pgettext_lazy(REASON_CONTEXT, "privacy budget used up"),
    "care_relationship": pgettext_lazy(REASON_CONTEXT, "care relationship"),
    "citizen_deceased": pgettext_lazy(REASON_CONTEXT, "citizen registered deceased"),
    "death_withdrawn": pgettext_lazy(REASON_CONTEXT, "registered death withdrawn"),
    "category_not_permitted": pgettext_lazy(REASON_CONTEXT, "data category not shared"),
    "citizen_mismatch": pgettext_lazy(REASON_CONTEXT, "id and CPR number of two citizens"),
    "consent_administration": pgettext_lazy(REASON_CONTEXT, "consent administration"),
    "consent.own_refusal": pgettext_lazy(REASON_CONTEXT, "a refusal naming the recorder herself"),
    "consent.own_organisation_refusal": pgettext_lazy(
        REASON_CONTEXT, "a refusal naming the recorder's own organisation"
    ),
    "consent.lifted_under_break_glass": pgettext_lazy(
        REASON_CONTEXT, "a refusal lifted under break-the-glass"
    ),
    "cpr_in_url": pgettext_lazy(REASON_CONTEXT, "CPR number in the address"),
    "hold_override": pgettext_lazy(REASON_CONTEXT, "sent despite admission"),
    "import_from_source": pgettext_lazy(REASON_CONTEXT, "received from the source system"),
    "left_out_of_list": pgettext_lazy(REASON_CONTEXT, "left out of the list"),
    "municipality_not_served": pgettext_lazy(REASON_CONTEXT, "municipality without an agreement"),
    "municipality_not_participating": pgettext_lazy(
        REASON_CONTEXT, "municipality no longer in the acute function"
    ),
    "no_actor": pgettext_lazy(REASON_CONTEXT, "no user"),
    "no_break_glass": pgettext_lazy(REASON_CONTEXT, "refused, no emergency access"),
    "no_care_relationship": pgettext_lazy(REASON_CONTEXT, "no care relationship"),
    "no_gate": pgettext_lazy(REASON_CONTEXT, "no access check"),
    "dump.citizen_data": pgettext_lazy(REASON_CONTEXT, "citizens' data is never dumped"),
    "load.citizen_data": pgettext_lazy(REASON_CONTEXT, "citizens' data is never loaded"),
    "no_recipient": pgettext_lazy(REASON_CONTEXT, "no relevant recipient"),
    "not_alert_recipient": pgettext_lazy(REASON_CONTEXT, "not the alert's recipient"),
    "not_ordering_physician": pgettext_lazy(REASON_CONTEXT, "not the ordering physician"),
    "not_result_author": pgettext_lazy(
        REASON_CONTEXT, "neither the one who recorded the result nor of her acute function"
    ),
    "not_visit_nurse": pgettext_lazy(REASON_CONTEXT, "not her visit"),
    "offline.other_user": pgettext_lazy(
        REASON_CONTEXT, "sent from the tablet's queue of another user"
    ),
    "oauth.client_credentials": pgettext_lazy(REASON_CONTEXT, "system sign-in"),
    "oauth.token_revoked": pgettext_lazy(REASON_CONTEXT, "system token revoked"),
    "auth.throttled": pgettext_lazy(REASON_CONTEXT, "login locked after failed attempts"),
    "auth.otp_throttled": pgettext_lazy(REASON_CONTEXT, "code app paused after wrong codes"),
    "auth.invalid_credentials": pgettext_lazy(REASON_CONTEXT, "wrong username or password"),
    "auth.otp_invalid": pgettext_lazy(REASON_CONTEXT, "wrong or used code"),
    "auth.otp_not_enrolled": pgettext_lazy(REASON_CONTEXT, "no code app set up"),
    "auth.municipality_not_participating": pgettext_lazy(
        REASON_CONTEXT, "sign-in for a municipality that has left the acute function"
    ),
    "ordering_physician": pgettext_lazy(REASON_CONTEXT, "the ordering physician"),
    "patient.version_conflict": pgettext_lazy(REASON_CONTEXT, "changed meanwhile"),
    "patient_exists": pgettext_lazy(REASON_CONTEXT, "citizen already registered"),
    "patient_intake": pgettext_lazy(REASON_CONTEXT, "citizen registered"),
    "purpose_not_permitted": pgettext_lazy(REASON_CONTEXT, "purpose not permitted"),
    "read.param_unknown": pgettext_lazy(REASON_CONTEXT, "field a read does not take"),
    "purpose_unknown": pgettext_lazy(REASON_CONTEXT, "unknown purpose"),
    "recall": pgettext_lazy(REASON_CONTEXT, "recall"),
    "referral_intake": pgettext_lazy(REASON_CONTEXT, "phone referral being taken"),
    "refused": pgettext_lazy(REASON_CONTEXT, "the citizen refused"),
    "refused_data_period": pgettext_lazy(REASON_CONTEXT, "the citizen refused for a period"),
    "restricted_analysis": pgettext_lazy(REASON_CONTEXT, "restricted analysis"),
    "right_of_insight": pgettext_lazy(REASON_CONTEXT, "right of insight"),
    "role_not_permitted": pgettext_lazy(REASON_CONTEXT, "role not permitted"),
    "scope_not_granted": pgettext_lazy(REASON_CONTEXT, "outside the system's scopes"),
    "signin.oidc": pgettext_lazy(REASON_CONTEXT, "sign-in through the organisation"),
    "signin.password": pgettext_lazy(REASON_CONTEXT, "sign-in with password and code"),
    "signout": pgettext_lazy(REASON_CONTEXT, "sign-out"),
    "signout.idle": pgettext_lazy(REASON_CONTEXT, "signed out after inactivity"),
    "unknown_citizen": pgettext_lazy(REASON_CONTEXT, "unknown citizen"),
    "unknown_care_thread": pgettext_lazy(REASON_CONTEXT, "unknown correspondence"),
    "unknown_resource": pgettext_lazy(REASON_CONTEXT, "unknown record"),
    "unknown_alert": pgettext_lazy(REASON_CONTEXT, "unknown alert"),
    "unknown_order": pgettext_lazy(REASON_CONTEXT, "unknown order"),
    "unknown_result": pgettext_lazy(REASON_CONTEXT, "unknown result"),
    "unknown_visit": pgettext_lazy(REASON_CONTEXT, "unknown visit"),
    "visit_not_yours": pgettext_lazy(REASON_CONTEXT, "not her visit"),
    # Her own care passing the citizen's refusal (docs/decisions/0029).
    "visit_nurse": pgettext_lazy(REASON_CONTEXT, "the nurse's own visit under way"),
    "episode_end": pgettext_lazy(REASON_CONTEXT, "the acute function ending its episode"),
    # Writes refused by a service, recorded with the refusal's code.
    "clinical.delegation_required": pgettext_lazy(REASON_CONTEXT, "needs a physician's delegation"),
    "clinical.delegation_after_task": pgettext_lazy(
        REASON_CONTEXT, "done before the physician's delegation"
    ),
    "delegation.not_physician": pgettext_lazy(
        REASON_CONTEXT, "delegation not given by a physician"
    ),
    "lab.value_invalid": pgettext_lazy(REASON_CONTEXT, "invalid test value"),
    "order.dependence_forming_by_phone": pgettext_lazy(
        REASON_CONTEXT, "§4 medicine ordered by phone"
    ),
    "order.read_back_required": pgettext_lazy(REASON_CONTEXT, "order not read back"),
    "order.not_physician": pgettext_lazy(REASON_CONTEXT, "order not given by a physician"),
    "order.doses_given": pgettext_lazy(REASON_CONTEXT, "correction after doses were given"),
    "prescription.order_unconfirmed": pgettext_lazy(
        REASON_CONTEXT, "prescription before the order was confirmed"
    ),
    "order.not_awaiting_confirmation": pgettext_lazy(
        REASON_CONTEXT, "order not awaiting confirmation"
    ),
    "order.cancelled": pgettext_lazy(REASON_CONTEXT, "order already cancelled"),
    "prescription.already_sent": pgettext_lazy(REASON_CONTEXT, "prescription already sent"),
    "not_ordering_organisation": pgettext_lazy(
        REASON_CONTEXT, "acting for another organisation than the order's"
    ),
    "audit.entry_not_found": pgettext_lazy(REASON_CONTEXT, "unknown audit entry"),
    "audit.export_too_large": pgettext_lazy(REASON_CONTEXT, "export beyond its largest size"),
    "record.category_missing": pgettext_lazy(REASON_CONTEXT, "data category missing"),
    "record.psychiatric_diagnosis": pgettext_lazy(REASON_CONTEXT, "psychiatric diagnosis (R2)"),
    "record.psychiatric_code_in_text": pgettext_lazy(
        REASON_CONTEXT, "psychiatric diagnosis code in the text (R2)"
    ),
    "record.type_not_permitted": pgettext_lazy(REASON_CONTEXT, "data type not shared (R2)"),
    "record.medication_not_permitted": pgettext_lazy(REASON_CONTEXT, "medication not shared (R2)"),
    "record.nursing_problem_is_diagnosis": pgettext_lazy(
        REASON_CONTEXT, "diagnosis sent as a nursing problem (R2)"
    ),
    "time.after_death": pgettext_lazy(REASON_CONTEXT, "time after the registered death"),
    "vital_signs.after_death": pgettext_lazy(REASON_CONTEXT, "time after the registered death"),
    "administration.citizen_deceased": pgettext_lazy(
        REASON_CONTEXT, "dose after the registered death"
    ),
    "order.given_before_order": pgettext_lazy(REASON_CONTEXT, "dose before the order"),
    "dose.indivisible_form": pgettext_lazy(
        REASON_CONTEXT, "part of a capsule, suppository or sachet"
    ),
    "referral.citizen_deceased": pgettext_lazy(REASON_CONTEXT, "citizen registered deceased"),
    "referral.status_not_active": pgettext_lazy(
        REASON_CONTEXT, "referral not active (withdrawn, in error or on hold)"
    ),
    "referral.intent_not_order": pgettext_lazy(
        REASON_CONTEXT, "referral not an order (a proposal or a plan)"
    ),
    "referral.urgency_required": pgettext_lazy(REASON_CONTEXT, "no urgency stated"),
    "referral.occurrence_invalid": pgettext_lazy(REASON_CONTEXT, "requested time unreadable"),
    "referral.occurrence_offset_missing": pgettext_lazy(
        REASON_CONTEXT, "requested time without UTC offset"
    ),
    "referral.occurrence_time_missing": pgettext_lazy(
        REASON_CONTEXT, "requested time without time of day"
    ),
    "referral.occurrence_past": pgettext_lazy(REASON_CONTEXT, "requested time has passed"),
    "referral.occurrence_period_reversed": pgettext_lazy(
        REASON_CONTEXT, "requested period ends before it starts"
    ),
    "referral.occurrence_too_far_ahead": pgettext_lazy(
        REASON_CONTEXT, "requested time more than 14 days ahead"
    ),
    "referral.planned_later": pgettext_lazy(REASON_CONTEXT, "visit planned for later"),
    "referral.occurrence_timing_unsupported": pgettext_lazy(
        REASON_CONTEXT, "repeated visit times requested"
    ),
    "visit.citizen_deceased": pgettext_lazy(REASON_CONTEXT, "citizen registered deceased"),
    "shift.not_found": pgettext_lazy(REASON_CONTEXT, "nurse of another acute function"),
    "dispatch.municipality_not_served": pgettext_lazy(
        REASON_CONTEXT, "nurse's acute function does not serve the municipality"
    ),
    "dispatch.nurse_not_in_force": pgettext_lazy(
        REASON_CONTEXT, "nurse's role ended or switched off"
    ),
    "patient.deceased_time_required": pgettext_lazy(REASON_CONTEXT, "death without its time"),
    # A hand-off's entry names the message it disclosed or received by its
    # event (integrations.messages.Event).
    "acute-referral": pgettext_lazy(REASON_CONTEXT, "referral message"),
    "acute-referral-status": pgettext_lazy(REASON_CONTEXT, "message about the referral's status"),
    "hospital-notification": pgettext_lazy(REASON_CONTEXT, "hospital notification"),
    "admission-handoff": pgettext_lazy(REASON_CONTEXT, "hand-over at admission"),
    "homecareobservation": pgettext_lazy(REASON_CONTEXT, "results to the GP"),
    "care-communication": pgettext_lazy(REASON_CONTEXT, "correspondence message"),
    "care-communication-reply": pgettext_lazy(REASON_CONTEXT, "reply in a correspondence"),
    "order-confirmation-request": pgettext_lazy(REASON_CONTEXT, "order sent for confirmation"),
    "shared-record-update": pgettext_lazy(REASON_CONTEXT, "shared record update"),
    # A coordinator's action on a hand-off on her board.
    "outbox.resent": pgettext_lazy(REASON_CONTEXT, "message sent again by the coordinator"),
    "outbox.handled": pgettext_lazy(REASON_CONTEXT, "message handled by the coordinator"),
    # R11: whom the coordinator phones with an ended episode's outcome.
    "referrer_untold": pgettext_lazy(REASON_CONTEXT, "referrer to be told the outcome by phone"),
    "warning_acknowledged": pgettext_lazy(
        REASON_CONTEXT, "warning acknowledged by the coordinator"
    ),
    "outcome.contradicts_death": pgettext_lazy(
        REASON_CONTEXT, "outcome contradicts the registered death"
    ),
    "patient.cpr_use_invalid": pgettext_lazy(REASON_CONTEXT, "CPR number not marked official"),
    "patient.name_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one name"),
    "patient.address_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one home address"),
    "patient.phone_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one phone number"),
    "patient.gp_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one GP practice"),
    "patient.inactive_unsupported": pgettext_lazy(REASON_CONTEXT, "Patient marked inactive"),
    "patient.element_unsupported": pgettext_lazy(
        REASON_CONTEXT, "element the platform does not keep"
    ),
}


TASK_CONTEXT = "background task"

# The platform's own work that reads or discloses citizen data, as the audit
# log names it (``Actor.system(task)``) and as an auditor reads it.
TASKS: dict[str, Promise] = {
    "acute.auto_assign": pgettext_lazy(TASK_CONTEXT, "automatic assignment"),
    "acute.death_follow": pgettext_lazy(TASK_CONTEXT, "a registered death followed"),
    "acute.dispatch_move_on": pgettext_lazy(TASK_CONTEXT, "dispatch to the next nurse"),
    "acute.planned_dispatch": pgettext_lazy(TASK_CONTEXT, "nurse sent to a planned visit"),
    "acute.visits_expire_unanswered": pgettext_lazy(TASK_CONTEXT, "unanswered visits expire"),
    "clinical.medication_orders_watch": pgettext_lazy(TASK_CONTEXT, "watch of medicine orders"),
    "consent.audit_prove": pgettext_lazy(TASK_CONTEXT, "proof of an audit entry shown"),
    "administration": pgettext_lazy(TASK_CONTEXT, "the administration"),
    "consent.demo": pgettext_lazy(TASK_CONTEXT, "demo data of the shared record"),
    "consent.dumpdata": pgettext_lazy(TASK_CONTEXT, "configuration dump"),
    "consent.loaddata": pgettext_lazy(TASK_CONTEXT, "configuration load"),
    "consent.load_shared_record": pgettext_lazy(TASK_CONTEXT, "shared record loaded"),
    "demo": pgettext_lazy(TASK_CONTEXT, "demo data"),
    "integrations.process_message": pgettext_lazy(TASK_CONTEXT, "message received"),
    "integrations.outbox_enqueue": pgettext_lazy(TASK_CONTEXT, "message prepared"),
    "integrations.outbox_deliver": pgettext_lazy(TASK_CONTEXT, "message sent"),
    "integrations.outbox_sweep": pgettext_lazy(TASK_CONTEXT, "waiting messages sent on"),
    "integrations.simulator_demo": pgettext_lazy(TASK_CONTEXT, "demo messages from partners"),
    "sign-in": pgettext_lazy(TASK_CONTEXT, "sign-in"),
    "system-client-credentials": pgettext_lazy(TASK_CONTEXT, "system sign-in"),
}


def task_label(task: str | None) -> str:
    """A background task in words; one not named here says it is the platform's."""
    if not task:
        return ""
    label = TASKS.get(task)
    return str(label) if label is not None else str(pgettext_lazy(TASK_CONTEXT, "the platform"))


def resource_type_label(resource_type: str | None) -> str:
    if not resource_type:
        return ""
    label = RESOURCE_TYPES.get(resource_type)
    return str(label) if label is not None else resource_type


def reason_label(reason_code: str | None) -> str:
    """A reason in words, never its code. A write refused by a service is
    recorded with the refusal's code (``record.psychiatric_diagnosis``): it
    reads as that refusal's sentence where the platform has one, otherwise as
    a refusal by the platform's rules."""
    if not reason_code:
        return ""
    label = REASONS.get(reason_code) or BY_CODE.get(reason_code)
    if label is not None:
        return str(label)
    if "." in reason_code:
        return str(pgettext_lazy(REASON_CONTEXT, "refused by the platform's rules"))
    return str(pgettext_lazy(REASON_CONTEXT, "other reason"))


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
