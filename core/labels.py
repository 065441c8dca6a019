"""Danish names for what the platform records, as pages show them.

The audit log and FHIR keep the English resource type and reason code; a
person reads "Besøg", not "Encounter", and "ukendt borger", not
``unknown_citizen``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy

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
    "death_restated": pgettext_lazy(
        REASON_CONTEXT, "registered death kept by another hospital's report"
    ),
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
    "outside_audit_scope": pgettext_lazy(
        REASON_CONTEXT, "citizen outside what the auditor's organisation answers for"
    ),
    "not_alert_recipient": pgettext_lazy(REASON_CONTEXT, "not the alert's recipient"),
    "not_ordering_physician": pgettext_lazy(REASON_CONTEXT, "not the ordering physician"),
    "not_result_author": pgettext_lazy(
        REASON_CONTEXT, "neither the one who recorded the result nor of her acute function"
    ),
    "not_visit_nurse": pgettext_lazy(REASON_CONTEXT, "not her visit"),
    "offline.other_user": pgettext_lazy(
        REASON_CONTEXT, "sent from the tablet's queue of another user"
    ),
    "offline.time_unreadable": pgettext_lazy(REASON_CONTEXT, "tablet's time unreadable"),
    "offline.time_in_future": pgettext_lazy(REASON_CONTEXT, "tablet's time in the future"),
    "offline.time_too_old": pgettext_lazy(REASON_CONTEXT, "entry more than a day old"),
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
    "operation.param_unknown": pgettext_lazy(REASON_CONTEXT, "field the operation does not take"),
    "search_no_citizen": pgettext_lazy(REASON_CONTEXT, "search that showed no citizen"),
    "write.field_unknown": pgettext_lazy(REASON_CONTEXT, "field the write does not take"),
    "write.not_boolean": pgettext_lazy(REASON_CONTEXT, "a yes or no that is not true or false"),
    "write.not_text": pgettext_lazy(REASON_CONTEXT, "a number where text is written"),
    "write.param_unknown": pgettext_lazy(REASON_CONTEXT, "parameter in a write's address"),
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
    # A partner's message no open referral shows (docs/decisions/0031).
    "care_thread_unmatched": pgettext_lazy(REASON_CONTEXT, "message without an open referral"),
    "care_thread_handled": pgettext_lazy(REASON_CONTEXT, "message marked handled"),
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
    # A confirmation or prescription received by another route (decision 0037).
    "not_acute_function_order": pgettext_lazy(
        REASON_CONTEXT, "order not received by her acute function"
    ),
    "order.physician_confirms_herself": pgettext_lazy(
        REASON_CONTEXT, "the ordering physician is a user and confirms herself"
    ),
    "order.received_by_receiver": pgettext_lazy(
        REASON_CONTEXT, "confirmation recorded by the one who took the order down"
    ),
    "order.received_coordinator_only": pgettext_lazy(
        REASON_CONTEXT, "confirmation received by another route recorded by another role"
    ),
    "order.received_nothing": pgettext_lazy(REASON_CONTEXT, "nothing said to be received"),
    "order.received_seen_by_invalid": pgettext_lazy(
        REASON_CONTEXT, "unknown way of seeing the confirmation"
    ),
    "order.received_note_too_long": pgettext_lazy(REASON_CONTEXT, "note too long"),
    "release_not_given_to_analyst": pgettext_lazy(
        REASON_CONTEXT, "answer not given to this analyst"
    ),
    # A withdrawal phoned in by a physician who is no user (R8).
    "order.withdrawal_phoned_coordinator_only": pgettext_lazy(
        REASON_CONTEXT, "withdrawal phoned in recorded by another role"
    ),
    "order.physician_withdraws_herself": pgettext_lazy(
        REASON_CONTEXT, "the ordering physician is a user and withdraws herself"
    ),
    "order.withdrawal_phoned_by_required": pgettext_lazy(
        REASON_CONTEXT, "who phoned the withdrawal not named"
    ),
    "order.withdrawal_phoned_by_too_long": pgettext_lazy(
        REASON_CONTEXT, "name of who phoned too long"
    ),
    "order.withdrawal_phoned_at_invalid": pgettext_lazy(
        REASON_CONTEXT, "time of the withdrawal call not a date and time"
    ),
    "order.withdrawal_phoned_before_order": pgettext_lazy(
        REASON_CONTEXT, "withdrawal phoned before the order was given"
    ),
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
    "dose.tablet_halves": pgettext_lazy(REASON_CONTEXT, "part of a tablet other than a half"),
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
    "warning_raised": pgettext_lazy(REASON_CONTEXT, "deadline warning raised"),
    # A transaction refused for one of its entries, on the log of each
    # other citizen it names (consent.services.record).
    "bundle.entry_refused": pgettext_lazy(
        REASON_CONTEXT, "transaction refused for another of its entries"
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
    "patient.text_too_long": pgettext_lazy(REASON_CONTEXT, "citizen's data too long"),
    "referral.source_not_yours": pgettext_lazy(REASON_CONTEXT, "referrer other than her own"),
    "record.code_too_long": pgettext_lazy(REASON_CONTEXT, "code too long"),
    "consent.actor_role_unsupported": pgettext_lazy(REASON_CONTEXT, "actor not a recipient"),
    "consent.custodian_not_recorder": pgettext_lazy(
        REASON_CONTEXT, "custodian other than the recorder"
    ),
    "referral.external_id_not_taken": pgettext_lazy(
        REASON_CONTEXT, "referral number on a typed-in referral"
    ),
    "system.invalid": pgettext_lazy(REASON_CONTEXT, "system not registered"),
}


# Every other code an audit entry may carry, in the auditor's words: a refusal
# recorded with its code where ``core.messages.BY_CODE`` has no sentence for
# it, and MedCom's own message events (a permitted message's entry names the
# message it received by its event).
RECORDED_CODES: dict[str, Promise] = {
    "acknowledgement": pgettext_lazy(REASON_CONTEXT, "acknowledgement of a message"),
    "acknowledgement-message": pgettext_lazy(REASON_CONTEXT, "MedCom acknowledgement"),
    "care-communication-message": pgettext_lazy(REASON_CONTEXT, "MedCom correspondence message"),
    "empty-message": pgettext_lazy(REASON_CONTEXT, "empty MedCom message"),
    "homecareobservation-message": pgettext_lazy(REASON_CONTEXT, "MedCom results to the GP"),
    "hospital-notification-message": pgettext_lazy(REASON_CONTEXT, "MedCom hospital notification"),
    "invalid_request": pgettext_lazy(REASON_CONTEXT, "system sign-in request not valid"),
    "invalid_scope": pgettext_lazy(REASON_CONTEXT, "system asked for a scope it does not have"),
    "actor.required": pgettext_lazy(REASON_CONTEXT, "no user signed in"),
    "administration.confirmation_mismatch": pgettext_lazy(
        REASON_CONTEXT, "dose differs from the confirmed order"
    ),
    "administration.confirmed_dose_required": pgettext_lazy(
        REASON_CONTEXT, "confirmed dose missing"
    ),
    "administration.dose_mismatch": pgettext_lazy(REASON_CONTEXT, "dose differs from the order"),
    "administration.medicine_not_stocked": pgettext_lazy(REASON_CONTEXT, "medicine not in stock"),
    "administration.order_required": pgettext_lazy(
        REASON_CONTEXT, "dose without a physician's order"
    ),
    "administration.role": pgettext_lazy(REASON_CONTEXT, "role may not give medicine"),
    "analysis.budget_exhausted": pgettext_lazy(REASON_CONTEXT, "privacy budget used up"),
    "analysis.role": pgettext_lazy(REASON_CONTEXT, "role may not run analyses"),
    "assign.shift_unknown": pgettext_lazy(REASON_CONTEXT, "unknown shift"),
    "audit.alarm_not_found": pgettext_lazy(REASON_CONTEXT, "unknown witness alarm"),
    "audit.archive_file_exists": pgettext_lazy(REASON_CONTEXT, "archive file already exists"),
    "audit.archive_month_not_over": pgettext_lazy(
        REASON_CONTEXT, "month not yet over for archiving"
    ),
    "audit.archive_needs_postgres": pgettext_lazy(REASON_CONTEXT, "archiving needs PostgreSQL"),
    "audit.archive_not_oldest": pgettext_lazy(REASON_CONTEXT, "not the oldest month to archive"),
    "audit.archive_unknown_partition": pgettext_lazy(
        REASON_CONTEXT, "unknown monthly audit partition"
    ),
    "audit.archive_unplaced": pgettext_lazy(REASON_CONTEXT, "entries not yet placed in the log"),
    "audit.archive_within_insight": pgettext_lazy(
        REASON_CONTEXT, "month still within the citizen's insight period"
    ),
    "audit.checkpoint_unknown": pgettext_lazy(REASON_CONTEXT, "unknown checkpoint of the log"),
    "audit.citizen_search_empty": pgettext_lazy(
        REASON_CONTEXT, "citizen search without CPR number or name"
    ),
    "audit.cosignature_invalid": pgettext_lazy(REASON_CONTEXT, "witness signature not valid"),
    "audit.cpr_not_accepted": pgettext_lazy(REASON_CONTEXT, "CPR number not accepted here"),
    "audit.entry_not_flagged": pgettext_lazy(REASON_CONTEXT, "audit entry has no flag to review"),
    "audit.entry_not_yet_sequenced": pgettext_lazy(
        REASON_CONTEXT, "audit entry not yet placed in the log"
    ),
    "audit.log_unknown": pgettext_lazy(REASON_CONTEXT, "unknown audit log"),
    "audit.refusal_invalid": pgettext_lazy(REASON_CONTEXT, "witness refusal not valid"),
    "audit.review_comment_required": pgettext_lazy(REASON_CONTEXT, "review without a comment"),
    "audit.review_needs_user": pgettext_lazy(REASON_CONTEXT, "review without a user"),
    "audit.sizes_invalid": pgettext_lazy(REASON_CONTEXT, "log sizes not valid"),
    "audit.unavailable": pgettext_lazy(REASON_CONTEXT, "audit log briefly unavailable"),
    "audit.user_unknown": pgettext_lazy(REASON_CONTEXT, "unknown member of staff"),
    "audit.value_invalid": pgettext_lazy(REASON_CONTEXT, "search value not valid"),
    "audit.witness_unknown": pgettext_lazy(REASON_CONTEXT, "unknown witness"),
    "auth.forbidden": pgettext_lazy(REASON_CONTEXT, "not allowed for the role"),
    "auth.membership_required": pgettext_lazy(REASON_CONTEXT, "no role chosen"),
    "auth.membership_unknown": pgettext_lazy(REASON_CONTEXT, "unknown role"),
    "auth.no_membership": pgettext_lazy(REASON_CONTEXT, "no role in any organisation"),
    "auth.otp_enrolment_unknown": pgettext_lazy(REASON_CONTEXT, "unknown code app setup"),
    "auth.otp_required": pgettext_lazy(REASON_CONTEXT, "code from the code app missing"),
    "auth.partner_refused": pgettext_lazy(REASON_CONTEXT, "partner system not recognised"),
    "auth.required": pgettext_lazy(REASON_CONTEXT, "not signed in"),
    "auth.token_required": pgettext_lazy(REASON_CONTEXT, "access token missing"),
    "bag.none": pgettext_lazy(REASON_CONTEXT, "nurse has no bag"),
    "bag.not_a_nurse": pgettext_lazy(REASON_CONTEXT, "bag only for an acute nurse"),
    "bag.not_yours": pgettext_lazy(REASON_CONTEXT, "another nurse's bag"),
    "bag.off_shift": pgettext_lazy(REASON_CONTEXT, "bag used off shift"),
    "board.status_invalid": pgettext_lazy(REASON_CONTEXT, "board filter not valid"),
    "break_glass.reason_has_cpr": pgettext_lazy(
        REASON_CONTEXT, "CPR number in the stated reason for emergency access"
    ),
    "break_glass.reason_required": pgettext_lazy(
        REASON_CONTEXT, "emergency access without a stated reason"
    ),
    "break_glass.role": pgettext_lazy(REASON_CONTEXT, "role may not use emergency access"),
    "bundle.empty": pgettext_lazy(REASON_CONTEXT, "record load holds nothing"),
    "bundle.entry_request_incomplete": pgettext_lazy(
        REASON_CONTEXT, "record load entry incomplete"
    ),
    "bundle.entry_unsupported": pgettext_lazy(REASON_CONTEXT, "record load entry not supported"),
    "bundle.entry_url_mismatch": pgettext_lazy(
        REASON_CONTEXT, "record load entry with wrong address"
    ),
    "bundle.full_url_duplicate": pgettext_lazy(REASON_CONTEXT, "record load entry given twice"),
    "bundle.not_transaction": pgettext_lazy(REASON_CONTEXT, "record load not a transaction"),
    "bundle.reference_unresolved": pgettext_lazy(
        REASON_CONTEXT, "record load refers to something it does not hold"
    ),
    "bundle.too_large": pgettext_lazy(REASON_CONTEXT, "record load too large"),
    "cabinet.no_actor": pgettext_lazy(REASON_CONTEXT, "medicine cabinet without a user"),
    "cabinet.no_organisation": pgettext_lazy(
        REASON_CONTEXT, "medicine cabinet without an organisation"
    ),
    "cabinet.not_acute_function": pgettext_lazy(
        REASON_CONTEXT, "medicine cabinet outside the acute function"
    ),
    "cabinet.officer_only": pgettext_lazy(REASON_CONTEXT, "only the medicine officer"),
    "care_thread.no_sender": pgettext_lazy(
        REASON_CONTEXT, "correspondence without a sender to answer"
    ),
    "care_thread.nothing_to_answer": pgettext_lazy(
        REASON_CONTEXT, "correspondence with nothing to answer"
    ),
    "care_thread.reply_too_long": pgettext_lazy(REASON_CONTEXT, "reply too long"),
    "care_thread.already_handled": pgettext_lazy(
        REASON_CONTEXT, "message already answered or marked handled"
    ),
    "citizen.exists": pgettext_lazy(REASON_CONTEXT, "citizen already registered"),
    "citizen.gp_invalid": pgettext_lazy(REASON_CONTEXT, "GP practice not valid"),
    "citizen.identifier_missing": pgettext_lazy(REASON_CONTEXT, "citizen's identifier missing"),
    "citizen.municipality_invalid": pgettext_lazy(REASON_CONTEXT, "municipality not valid"),
    "citizen.not_found": pgettext_lazy(REASON_CONTEXT, "unknown citizen"),
    "consent.actor_invalid": pgettext_lazy(REASON_CONTEXT, "consent recorded by an unknown person"),
    "consent.already_withdrawn": pgettext_lazy(REASON_CONTEXT, "consent already withdrawn"),
    "consent.category_unsupported": pgettext_lazy(
        REASON_CONTEXT, "consent for an unknown data category"
    ),
    "consent.data_period_on_permit": pgettext_lazy(REASON_CONTEXT, "data period on a permission"),
    "consent.given_how_required": pgettext_lazy(
        REASON_CONTEXT, "how the consent was given is missing"
    ),
    "consent.organisation_unknown": pgettext_lazy(
        REASON_CONTEXT, "consent names an unknown organisation"
    ),
    "consent.period_invalid": pgettext_lazy(REASON_CONTEXT, "consent period not valid"),
    "consent.policy_rule_conflict": pgettext_lazy(
        REASON_CONTEXT, "consent rules contradict each other"
    ),
    "consent.policy_rule_unknown": pgettext_lazy(REASON_CONTEXT, "unknown consent rule"),
    "consent.professional_unknown": pgettext_lazy(
        REASON_CONTEXT, "consent names an unknown health professional"
    ),
    "consent.provision_invalid": pgettext_lazy(REASON_CONTEXT, "consent provision not valid"),
    "consent.provision_unsupported": pgettext_lazy(
        REASON_CONTEXT, "consent provision not supported"
    ),
    "consent.purpose_not_directed": pgettext_lazy(
        REASON_CONTEXT, "consent purpose not one of the defined purposes"
    ),
    "consent.purpose_unknown": pgettext_lazy(REASON_CONTEXT, "consent for an unknown purpose"),
    "consent.recorder_unknown": pgettext_lazy(
        REASON_CONTEXT, "consent recorded by an unknown person"
    ),
    "consent.scope_unsupported": pgettext_lazy(REASON_CONTEXT, "consent scope not supported"),
    "consent.status_not_active": pgettext_lazy(REASON_CONTEXT, "consent not active"),
    "consent.sub_units_invalid": pgettext_lazy(REASON_CONTEXT, "consent sub-units not valid"),
    "count.action_unknown": pgettext_lazy(REASON_CONTEXT, "unknown stock count action"),
    "count.already_recounted": pgettext_lazy(REASON_CONTEXT, "stock already recounted"),
    "count.approve_role": pgettext_lazy(REASON_CONTEXT, "role may not approve the count"),
    "count.changed": pgettext_lazy(REASON_CONTEXT, "stock count changed meanwhile"),
    "count.line_not_found": pgettext_lazy(REASON_CONTEXT, "unknown line in the stock count"),
    "count.lot_unknown": pgettext_lazy(REASON_CONTEXT, "unknown lot in the stock count"),
    "count.not_found": pgettext_lazy(REASON_CONTEXT, "unknown stock count"),
    "count.not_open": pgettext_lazy(REASON_CONTEXT, "stock count not open"),
    "count.not_submitted": pgettext_lazy(REASON_CONTEXT, "stock count not submitted"),
    "count.reason_required": pgettext_lazy(REASON_CONTEXT, "count discrepancy without a reason"),
    "count.recount_needed": pgettext_lazy(REASON_CONTEXT, "stock count needs a recount"),
    "count.recount_not_needed": pgettext_lazy(REASON_CONTEXT, "stock count needs no recount"),
    "count.role": pgettext_lazy(REASON_CONTEXT, "role may not count stock"),
    "count.stock_moved": pgettext_lazy(REASON_CONTEXT, "stock moved during the count"),
    "cpr.invalid": pgettext_lazy(REASON_CONTEXT, "CPR number not valid"),
    "date.invalid": pgettext_lazy(REASON_CONTEXT, "date not valid"),
    "delegation.derived_test": pgettext_lazy(REASON_CONTEXT, "delegation for a derived test"),
    "delegation.exists": pgettext_lazy(REASON_CONTEXT, "delegation already recorded"),
    "dispatch.load_limit": pgettext_lazy(REASON_CONTEXT, "nurse has too many visits"),
    "dispatch.missing_skills": pgettext_lazy(REASON_CONTEXT, "nurse lacks the skills needed"),
    "dispatch.not_available": pgettext_lazy(REASON_CONTEXT, "nurse not available"),
    "dispatch.not_on_shift": pgettext_lazy(REASON_CONTEXT, "nurse not on shift"),
    "episode.closed": pgettext_lazy(REASON_CONTEXT, "episode already ended"),
    "episode.outcome_unknown": pgettext_lazy(REASON_CONTEXT, "unknown outcome of the episode"),
    "episode.visit_on_site": pgettext_lazy(REASON_CONTEXT, "a nurse is still with the citizen"),
    "fhir.date_invalid": pgettext_lazy(REASON_CONTEXT, "date in the request not valid"),
    "fhir.code_outside_value_set": pgettext_lazy(REASON_CONTEXT, "code FHIR does not allow"),
    "fhir.coding_outside_value_set": pgettext_lazy(
        REASON_CONTEXT, "no coding of the value set FHIR requires"
    ),
    "fhir.date_out_of_range": pgettext_lazy(REASON_CONTEXT, "date in the request out of range"),
    "fhir.not_supported": pgettext_lazy(REASON_CONTEXT, "request not supported"),
    "fhir.resource_type": pgettext_lazy(REASON_CONTEXT, "wrong kind of record"),
    "fhir.type_mismatch": pgettext_lazy(
        REASON_CONTEXT, "kind of record does not match the address"
    ),
    "figures.date_invalid": pgettext_lazy(REASON_CONTEXT, "date in the figures not valid"),
    "figures.date_out_of_range": pgettext_lazy(REASON_CONTEXT, "date in the figures out of range"),
    "figures.param_repeated": pgettext_lazy(REASON_CONTEXT, "field given twice in the figures"),
    "figures.param_unknown": pgettext_lazy(REASON_CONTEXT, "field the figures do not take"),
    "figures.period_invalid": pgettext_lazy(REASON_CONTEXT, "period of the figures not valid"),
    "figures.period_not_allowed": pgettext_lazy(
        REASON_CONTEXT, "period of the figures not allowed"
    ),
    "figures.range_invalid": pgettext_lazy(REASON_CONTEXT, "range of the figures not valid"),
    "figures.range_not_whole_months": pgettext_lazy(REASON_CONTEXT, "figures not for whole months"),
    "figures.month_not_ended": pgettext_lazy(REASON_CONTEXT, "figures for a month not ended"),
    "figures.range_too_long": pgettext_lazy(REASON_CONTEXT, "range of the figures too long"),
    "follow_up.in_past": pgettext_lazy(REASON_CONTEXT, "follow-up time has passed"),
    "formulary.role": pgettext_lazy(REASON_CONTEXT, "role may not change the formulary"),
    "handoff.event_not_sent": pgettext_lazy(
        REASON_CONTEXT, "message of a kind not sent to this partner"
    ),
    "hospital.encounter_id_missing": pgettext_lazy(
        REASON_CONTEXT, "hospital stay without its identifier"
    ),
    "hospital.encounter_status_unsupported": pgettext_lazy(
        REASON_CONTEXT, "hospital stay with a status the platform does not know"
    ),
    "hospital.physician_missing": pgettext_lazy(
        REASON_CONTEXT, "hospital message without a physician"
    ),
    "inbox.already_noted": pgettext_lazy(REASON_CONTEXT, "refused message already seen"),
    "lab.already_withdrawn": pgettext_lazy(REASON_CONTEXT, "result already withdrawn"),
    "lab.correction_unchanged": pgettext_lazy(REASON_CONTEXT, "correction without a change"),
    "lab.egfr_not_applicable": pgettext_lazy(REASON_CONTEXT, "eGFR cannot be calculated"),
    "lab.empty": pgettext_lazy(REASON_CONTEXT, "no test results"),
    "lab.too_many": pgettext_lazy(REASON_CONTEXT, "too many test results at once"),
    "location.not_acute_function": pgettext_lazy(
        REASON_CONTEXT, "stock location outside the acute function"
    ),
    "location.not_found": pgettext_lazy(REASON_CONTEXT, "unknown stock location"),
    "lot.already_recalled": pgettext_lazy(REASON_CONTEXT, "lot already recalled"),
    "lot.batch_missing": pgettext_lazy(REASON_CONTEXT, "lot number missing"),
    "lot.expired": pgettext_lazy(REASON_CONTEXT, "lot expired"),
    "lot.expiry_implausible": pgettext_lazy(REASON_CONTEXT, "expiry date implausible"),
    "lot.expiry_mismatch": pgettext_lazy(REASON_CONTEXT, "expiry date differs from the lot's"),
    "lot.not_expired": pgettext_lazy(REASON_CONTEXT, "lot not expired"),
    "lot.not_found": pgettext_lazy(REASON_CONTEXT, "unknown lot"),
    "lot.not_recalled": pgettext_lazy(REASON_CONTEXT, "lot not recalled"),
    "lot.recalled": pgettext_lazy(REASON_CONTEXT, "lot recalled"),
    "lot.wrong_medicine": pgettext_lazy(REASON_CONTEXT, "lot of another medicine"),
    "medicine.amount_incomplete": pgettext_lazy(REASON_CONTEXT, "medicine strength incomplete"),
    "medicine.amount_unit_unknown": pgettext_lazy(REASON_CONTEXT, "unknown unit of the medicine"),
    "medicine.atc_invalid": pgettext_lazy(REASON_CONTEXT, "ATC code not valid"),
    "medicine.inactive": pgettext_lazy(REASON_CONTEXT, "medicine no longer in the formulary"),
    "medicine.not_found": pgettext_lazy(REASON_CONTEXT, "unknown medicine"),
    "medicine.unit_in_use": pgettext_lazy(REASON_CONTEXT, "unit of the medicine in use"),
    "message.patient_incomplete": pgettext_lazy(
        REASON_CONTEXT, "citizen in the message incomplete"
    ),
    "message.patient_location_missing": pgettext_lazy(
        REASON_CONTEXT, "citizen's address missing in the message"
    ),
    "notification.not_found": pgettext_lazy(REASON_CONTEXT, "unknown notification"),
    "order.atc_invalid": pgettext_lazy(REASON_CONTEXT, "ATC code of the order not valid"),
    "order.atc_group_unknown": pgettext_lazy(
        REASON_CONTEXT, "ATC code of the order in no anatomical main group"
    ),
    "order.medicine_name_mismatch": pgettext_lazy(
        REASON_CONTEXT, "medicine name of the order differs from its ATC code"
    ),
    "order.authorisation_missing": pgettext_lazy(
        REASON_CONTEXT, "physician's authorisation ID missing"
    ),
    "order.citizen_deceased": pgettext_lazy(
        REASON_CONTEXT, "order for a citizen registered deceased"
    ),
    "order.dose_invalid": pgettext_lazy(REASON_CONTEXT, "dose of the order not valid"),
    "order.ended": pgettext_lazy(REASON_CONTEXT, "order ended"),
    "order.limit_exceeded": pgettext_lazy(REASON_CONTEXT, "more than the order allows"),
    "order.medicine_mismatch": pgettext_lazy(REASON_CONTEXT, "medicine differs from the order"),
    "order.missing": pgettext_lazy(REASON_CONTEXT, "no physician's order"),
    "order.not_a_phone_order": pgettext_lazy(REASON_CONTEXT, "not a phone order"),
    "order.not_confirmed": pgettext_lazy(REASON_CONTEXT, "order not confirmed by the physician"),
    "order.not_for_citizen": pgettext_lazy(REASON_CONTEXT, "order for another citizen"),
    "order.other_visit": pgettext_lazy(REASON_CONTEXT, "order of another visit"),
    "order.physician_only": pgettext_lazy(REASON_CONTEXT, "only a physician orders"),
    "order.schedule_conflict": pgettext_lazy(REASON_CONTEXT, "dosage times contradict each other"),
    "order.schedule_invalid": pgettext_lazy(REASON_CONTEXT, "dosage times not valid"),
    "order.total_below_dose": pgettext_lazy(REASON_CONTEXT, "total amount below one dose"),
    "order.total_beyond_schedule": pgettext_lazy(
        REASON_CONTEXT, "total amount beyond the dosage times"
    ),
    "order.visit_mismatch": pgettext_lazy(REASON_CONTEXT, "order of another visit"),
    "order.visit_required": pgettext_lazy(REASON_CONTEXT, "order without a visit"),
    "order.written_required": pgettext_lazy(REASON_CONTEXT, "written order required (§4 medicine)"),
    "outbox.already_handled": pgettext_lazy(REASON_CONTEXT, "message already handled"),
    "outbox.not_failed": pgettext_lazy(REASON_CONTEXT, "message has not failed"),
    "outbox.rule_broken": pgettext_lazy(REASON_CONTEXT, "message breaks MedCom's rules"),
    "outbox.status_invalid": pgettext_lazy(REASON_CONTEXT, "message status filter not valid"),
    "patient.address_required": pgettext_lazy(REASON_CONTEXT, "citizen's address missing"),
    "patient.cpr_changed": pgettext_lazy(REASON_CONTEXT, "CPR number changed"),
    "patient.cpr_mismatch": pgettext_lazy(REASON_CONTEXT, "CPR number of another citizen"),
    "patient.cpr_required": pgettext_lazy(REASON_CONTEXT, "CPR number missing"),
    "patient.create_not_permitted": pgettext_lazy(REASON_CONTEXT, "role may not register citizens"),
    "patient.exists": pgettext_lazy(REASON_CONTEXT, "citizen already registered"),
    "patient.field_required": pgettext_lazy(
        REASON_CONTEXT, "required information about the citizen missing"
    ),
    "patient.geolocation_invalid": pgettext_lazy(REASON_CONTEXT, "citizen's location not valid"),
    "patient.geolocation_required": pgettext_lazy(REASON_CONTEXT, "citizen's location missing"),
    "patient.gp_unknown": pgettext_lazy(REASON_CONTEXT, "unknown GP practice"),
    "patient.municipality_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one municipality"),
    "patient.municipality_required": pgettext_lazy(
        REASON_CONTEXT, "citizen's municipality missing"
    ),
    "patient.municipality_unknown": pgettext_lazy(REASON_CONTEXT, "unknown municipality"),
    "patient.name_required": pgettext_lazy(REASON_CONTEXT, "citizen's name missing"),
    "patient.postal_code_invalid": pgettext_lazy(REASON_CONTEXT, "postal code not valid"),
    "procedure.status_invalid": pgettext_lazy(REASON_CONTEXT, "procedure status not valid"),
    "purpose.not_permitted": pgettext_lazy(REASON_CONTEXT, "purpose not permitted"),
    "purpose.unknown": pgettext_lazy(REASON_CONTEXT, "unknown purpose"),
    "quantity.negative": pgettext_lazy(REASON_CONTEXT, "negative quantity"),
    "recall.role": pgettext_lazy(REASON_CONTEXT, "role may not recall lots"),
    "receive.already_received": pgettext_lazy(REASON_CONTEXT, "delivery already received"),
    "receive.not_cabinet": pgettext_lazy(REASON_CONTEXT, "delivery received outside the cabinet"),
    "receive.role": pgettext_lazy(REASON_CONTEXT, "role may not receive deliveries"),
    "receive.source_missing": pgettext_lazy(REASON_CONTEXT, "delivery without a supplier"),
    "record.category_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one data category"),
    "record.category_not_permitted": pgettext_lazy(REASON_CONTEXT, "data category not shared (R2)"),
    "record.category_type_mismatch": pgettext_lazy(
        REASON_CONTEXT, "data category does not fit the kind of record"
    ),
    "record.code_required": pgettext_lazy(REASON_CONTEXT, "code missing"),
    "record.code_system_missing": pgettext_lazy(REASON_CONTEXT, "code without its code system"),
    "record.contact_detail_not_permitted": pgettext_lazy(
        REASON_CONTEXT, "contact details not shared (R2)"
    ),
    "record.contact_not_department": pgettext_lazy(
        REASON_CONTEXT, "contacts counted for something other than a hospital department"
    ),
    "record.contained_not_permitted": pgettext_lazy(
        REASON_CONTEXT, "embedded data not shared (R2)"
    ),
    "record.cpr_not_permitted": pgettext_lazy(
        REASON_CONTEXT, "CPR number in the record's text (R2)"
    ),
    "record.diagnosis_code_invalid": pgettext_lazy(REASON_CONTEXT, "diagnosis code not valid"),
    "record.diagnosis_code_required": pgettext_lazy(REASON_CONTEXT, "diagnosis code missing"),
    "record.diagnosis_system_unknown": pgettext_lazy(
        REASON_CONTEXT, "unknown diagnosis code system"
    ),
    "record.nothing_to_load": pgettext_lazy(
        REASON_CONTEXT, "update of the shared record holds nothing"
    ),
    "record.service_not_permitted": pgettext_lazy(
        REASON_CONTEXT, "municipal service not shared (R2)"
    ),
    "record.source_unknown": pgettext_lazy(REASON_CONTEXT, "unknown source system"),
    "record.subject_changed": pgettext_lazy(REASON_CONTEXT, "record moved to another citizen"),
    "record.subject_not_message_patient": pgettext_lazy(
        REASON_CONTEXT, "record about someone other than the citizen in the message"
    ),
    "record.reference_unresolved": pgettext_lazy(
        REASON_CONTEXT, "record referring to what the message does not carry"
    ),
    "referral.already_assigned": pgettext_lazy(REASON_CONTEXT, "referral already assigned"),
    "referral.already_reached": pgettext_lazy(REASON_CONTEXT, "citizen already reached"),
    "referral.already_visited": pgettext_lazy(REASON_CONTEXT, "referral already visited"),
    "referral.changed_since_shown": pgettext_lazy(
        REASON_CONTEXT, "referral changed since the page showed it"
    ),
    "referral.citizen_ambiguous": pgettext_lazy(REASON_CONTEXT, "more than one citizen matches"),
    "referral.citizen_required": pgettext_lazy(REASON_CONTEXT, "referral without a citizen"),
    "referral.citizen_unknown": pgettext_lazy(REASON_CONTEXT, "unknown citizen"),
    "referral.cpr_invalid": pgettext_lazy(REASON_CONTEXT, "CPR number not valid"),
    "referral.external_id_reused": pgettext_lazy(REASON_CONTEXT, "referral number already used"),
    "referral.hold_override_reason_cpr": pgettext_lazy(
        REASON_CONTEXT, "CPR number in the reason for sending despite admission"
    ),
    "referral.hold_override_reason_too_long": pgettext_lazy(
        REASON_CONTEXT, "reason for sending despite admission too long"
    ),
    "referral.municipality_not_served": pgettext_lazy(
        REASON_CONTEXT, "municipality without an agreement"
    ),
    "referral.not_a_referrer": pgettext_lazy(REASON_CONTEXT, "role may not refer"),
    "referral.not_accepted": pgettext_lazy(REASON_CONTEXT, "referral not accepted"),
    "referral.nurse_on_site": pgettext_lazy(REASON_CONTEXT, "a nurse is with the citizen"),
    "referral.occurrence_date_missing": pgettext_lazy(
        REASON_CONTEXT, "requested time without a date"
    ),
    "referral.on_hold": pgettext_lazy(REASON_CONTEXT, "referral on hold during admission"),
    "referral.phone_invalid": pgettext_lazy(REASON_CONTEXT, "phone number not valid"),
    "referral.physician_missing": pgettext_lazy(REASON_CONTEXT, "referral without a physician"),
    "referral.retriage_not_accepted": pgettext_lazy(
        REASON_CONTEXT, "urgency changed on a referral not accepted"
    ),
    "referral.retriage_reached": pgettext_lazy(
        REASON_CONTEXT, "urgency changed after the citizen was reached"
    ),
    "referral.source_required": pgettext_lazy(REASON_CONTEXT, "referral without its source"),
    "referral.urgency_unchanged": pgettext_lazy(REASON_CONTEXT, "urgency unchanged"),
    "referral.withdraw_confirm_required": pgettext_lazy(REASON_CONTEXT, "withdrawal not confirmed"),
    "referral.withdraw_note_required": pgettext_lazy(REASON_CONTEXT, "withdrawal without a note"),
    "referral.withdraw_reason_required": pgettext_lazy(
        REASON_CONTEXT, "withdrawal without a reason"
    ),
    "replacement_cpr.system_invalid": pgettext_lazy(
        REASON_CONTEXT, "replacement CPR number's system not valid"
    ),
    "search.date_invalid": pgettext_lazy(REASON_CONTEXT, "search date not valid"),
    "search.identifier_alone": pgettext_lazy(
        REASON_CONTEXT, "identifier searched together with other fields"
    ),
    "search.identifier_invalid": pgettext_lazy(
        REASON_CONTEXT, "identifier in the search not valid"
    ),
    "search.patient_invalid": pgettext_lazy(REASON_CONTEXT, "citizen in the search not valid"),
    "search.patient_required": pgettext_lazy(REASON_CONTEXT, "search without a citizen"),
    "search.use_post": pgettext_lazy(REASON_CONTEXT, "citizen search not sent the safe way"),
    "shift.ends_before_start": pgettext_lazy(REASON_CONTEXT, "shift ends before it starts"),
    "shift.not_an_acute_nurse": pgettext_lazy(
        REASON_CONTEXT, "shift for someone not an acute nurse"
    ),
    "shift.nurse_unknown": pgettext_lazy(REASON_CONTEXT, "unknown nurse"),
    "shift.overlaps": pgettext_lazy(REASON_CONTEXT, "shift overlaps another"),
    "shift.place_unknown": pgettext_lazy(REASON_CONTEXT, "unknown place of the shift"),
    "shift.position_invalid": pgettext_lazy(REASON_CONTEXT, "position not valid"),
    "shift.role_ends_first": pgettext_lazy(REASON_CONTEXT, "role ends before the shift"),
    "shift.skill_unknown": pgettext_lazy(REASON_CONTEXT, "unknown skill"),
    "shift.status_from_visits": pgettext_lazy(
        REASON_CONTEXT, "shift status follows from its visits"
    ),
    "shift.status_unknown": pgettext_lazy(REASON_CONTEXT, "unknown shift status"),
    "shift.too_far_ahead": pgettext_lazy(REASON_CONTEXT, "shift too far ahead"),
    "shift.too_far_back": pgettext_lazy(REASON_CONTEXT, "shift too far back"),
    "shift.too_long": pgettext_lazy(REASON_CONTEXT, "shift too long"),
    "shift.visit_under_way": pgettext_lazy(REASON_CONTEXT, "a visit of the shift is under way"),
    "shift.visits_assigned": pgettext_lazy(REASON_CONTEXT, "shift has visits assigned"),
    "signin.id_token_invalid": pgettext_lazy(
        REASON_CONTEXT, "sign-in through the organisation not valid"
    ),
    "signin.issuer_unknown": pgettext_lazy(REASON_CONTEXT, "sign-in from an unknown organisation"),
    "stock.none": pgettext_lazy(REASON_CONTEXT, "no stock"),
    "stock.none_usable": pgettext_lazy(REASON_CONTEXT, "no usable stock"),
    "submission.client_ref_invalid": pgettext_lazy(REASON_CONTEXT, "tablet's reference not valid"),
    "submission.client_ref_reused": pgettext_lazy(
        REASON_CONTEXT, "tablet's reference already used"
    ),
    "submission.form_unknown": pgettext_lazy(REASON_CONTEXT, "unknown form from the tablet"),
    "time.before_referral": pgettext_lazy(REASON_CONTEXT, "time before the referral"),
    "time.before_visit": pgettext_lazy(REASON_CONTEXT, "time before the visit"),
    "time.in_future": pgettext_lazy(REASON_CONTEXT, "time in the future"),
    "time.local_ambiguous": pgettext_lazy(
        REASON_CONTEXT, "time shown twice when the clocks go back"
    ),
    "time.local_nonexistent": pgettext_lazy(
        REASON_CONTEXT, "time skipped when the clocks go forward"
    ),
    "time.naive": pgettext_lazy(REASON_CONTEXT, "time without UTC offset"),
    "time.out_of_range": pgettext_lazy(REASON_CONTEXT, "time out of range"),
    "transfer.lot_required": pgettext_lazy(REASON_CONTEXT, "transfer without a lot"),
    "transfer.route_invalid": pgettext_lazy(
        REASON_CONTEXT, "transfer between these places not allowed"
    ),
    "visit.answer_too_late": pgettext_lazy(REASON_CONTEXT, "answer to the visit too late"),
    "visit.not_active": pgettext_lazy(REASON_CONTEXT, "visit not active"),
    "visit.not_found": pgettext_lazy(REASON_CONTEXT, "unknown visit"),
    "visit.not_on_site": pgettext_lazy(REASON_CONTEXT, "nurse not with the citizen"),
    "visit.nurse_only": pgettext_lazy(REASON_CONTEXT, "only the visit's nurse"),
    "visit.outcome_ends_episode": pgettext_lazy(REASON_CONTEXT, "outcome ends the episode"),
    "visit.step_in_future": pgettext_lazy(REASON_CONTEXT, "step of the visit in the future"),
    "visit.step_out_of_order": pgettext_lazy(REASON_CONTEXT, "step before the previous one"),
    "visit.step_too_old": pgettext_lazy(REASON_CONTEXT, "step more than a day old"),
    "visit.step_unknown": pgettext_lazy(REASON_CONTEXT, "unknown step of the visit"),
    "visit.too_late_to_reassign": pgettext_lazy(
        REASON_CONTEXT, "too late to give the visit to another nurse"
    ),
    "visit_note.kind_unknown": pgettext_lazy(REASON_CONTEXT, "unknown kind of note"),
    "vital_signs.before_visit": pgettext_lazy(REASON_CONTEXT, "vital signs before the visit"),
    "vital_signs.empty": pgettext_lazy(REASON_CONTEXT, "no vital signs"),
    "vital_signs.in_future": pgettext_lazy(REASON_CONTEXT, "vital signs in the future"),
    "warning.already_acknowledged": pgettext_lazy(REASON_CONTEXT, "warning already acknowledged"),
    "waste.note_required": pgettext_lazy(REASON_CONTEXT, "waste without a note"),
    "waste.reason_invalid": pgettext_lazy(REASON_CONTEXT, "reason for waste not valid"),
    "witness.invalid_credentials": pgettext_lazy(REASON_CONTEXT, "witness's sign-in wrong"),
    "witness.not_eligible": pgettext_lazy(REASON_CONTEXT, "witness may not witness"),
    "witness.not_on_duty": pgettext_lazy(REASON_CONTEXT, "witness not on duty"),
    "witness.same_person": pgettext_lazy(REASON_CONTEXT, "witness is the same person"),
    "ack.code_unknown": pgettext_lazy(REASON_CONTEXT, "acknowledgement with an unknown answer"),
    "ack.contradicts_earlier": pgettext_lazy(
        REASON_CONTEXT, "acknowledgement contradicts an earlier one"
    ),
    "ack.received": pgettext_lazy(REASON_CONTEXT, "acknowledgement received"),
    "ack.unknown_message": pgettext_lazy(REASON_CONTEXT, "acknowledgement of a message never sent"),
    "administration.invalid": pgettext_lazy(REASON_CONTEXT, "dose not valid"),
    "analysis.budget_entry_invalid": pgettext_lazy(
        REASON_CONTEXT, "privacy budget entry not valid"
    ),
    "analysis.release_invalid": pgettext_lazy(
        REASON_CONTEXT, "analysis result not valid for release"
    ),
    "audit.already_reviewed": pgettext_lazy(REASON_CONTEXT, "audit entry already reviewed"),
    "audit.review_invalid": pgettext_lazy(REASON_CONTEXT, "review not valid"),
    "break_glass.invalid": pgettext_lazy(REASON_CONTEXT, "emergency access not valid"),
    "care_thread.reply_empty": pgettext_lazy(REASON_CONTEXT, "empty reply"),
    "citizen.invalid": pgettext_lazy(REASON_CONTEXT, "citizen's data not valid"),
    "consent.invalid": pgettext_lazy(REASON_CONTEXT, "consent not valid"),
    "count.already_open": pgettext_lazy(REASON_CONTEXT, "stock count already open"),
    "count.line_exists": pgettext_lazy(REASON_CONTEXT, "line already in the stock count"),
    "db.conflict": pgettext_lazy(REASON_CONTEXT, "another change came first"),
    "db.unavailable": pgettext_lazy(REASON_CONTEXT, "database briefly unavailable"),
    "delegation.invalid": pgettext_lazy(REASON_CONTEXT, "delegation not valid"),
    "episode.invalid": pgettext_lazy(REASON_CONTEXT, "episode not valid"),
    "integrations.unconfigured": pgettext_lazy(REASON_CONTEXT, "partner connection not set up"),
    "lab.invalid": pgettext_lazy(REASON_CONTEXT, "test result not valid"),
    "lab.withdraw_reason_required": pgettext_lazy(
        REASON_CONTEXT, "result withdrawn without a reason"
    ),
    "location.invalid": pgettext_lazy(REASON_CONTEXT, "stock location not valid"),
    "medicine.invalid": pgettext_lazy(REASON_CONTEXT, "medicine not valid"),
    "message.bundle_id_reused": pgettext_lazy(
        REASON_CONTEXT, "message id already used by another message"
    ),
    "message.resent": pgettext_lazy(
        REASON_CONTEXT, "message received again: the first answer sent again, nothing done twice"
    ),
    "movement.invalid": pgettext_lazy(REASON_CONTEXT, "stock movement not valid"),
    "oauth.client_inactive": pgettext_lazy(REASON_CONTEXT, "system switched off"),
    "oauth.invalid_client": pgettext_lazy(REASON_CONTEXT, "unknown system or wrong secret"),
    "oauth.invalid_scope": pgettext_lazy(
        REASON_CONTEXT, "system asked for a scope it does not have"
    ),
    "oauth.token_missing": pgettext_lazy(REASON_CONTEXT, "system token missing"),
    "oauth.unsupported_grant_type": pgettext_lazy(
        REASON_CONTEXT, "system sign-in of an unsupported kind"
    ),
    "order.cancel_reason_required": pgettext_lazy(
        REASON_CONTEXT, "order cancelled without a reason"
    ),
    "order.invalid": pgettext_lazy(REASON_CONTEXT, "order not valid"),
    "order.total_quantity_invalid": pgettext_lazy(
        REASON_CONTEXT, "total amount of the order not valid"
    ),
    "partner.fatal_error": pgettext_lazy(REASON_CONTEXT, "partner refused the message"),
    "partner.inactive": pgettext_lazy(REASON_CONTEXT, "partner switched off"),
    "partner.no_address": pgettext_lazy(REASON_CONTEXT, "partner without an address"),
    "partner.transient_error": pgettext_lazy(REASON_CONTEXT, "partner briefly unable to receive"),
    "patient.invalid": pgettext_lazy(REASON_CONTEXT, "citizen's data not valid"),
    "procedure.invalid": pgettext_lazy(REASON_CONTEXT, "procedure not valid"),
    "recall.reason_missing": pgettext_lazy(REASON_CONTEXT, "recall without a reason"),
    "record.invalid": pgettext_lazy(REASON_CONTEXT, "record not valid"),
    "referral.callback_required": pgettext_lazy(
        REASON_CONTEXT, "referral without a callback number"
    ),
    "referral.decline_reason_required": pgettext_lazy(
        REASON_CONTEXT, "referral declined without a reason"
    ),
    "referral.episode_ended": pgettext_lazy(REASON_CONTEXT, "episode already ended"),
    "referral.hold_override_reason_required": pgettext_lazy(
        REASON_CONTEXT, "sent despite admission without a reason"
    ),
    "referral.invalid": pgettext_lazy(REASON_CONTEXT, "referral not valid"),
    "referral.referrer_required": pgettext_lazy(REASON_CONTEXT, "referral without a referrer"),
    "referral.responsible_physician_required": pgettext_lazy(
        REASON_CONTEXT, "referral without a responsible physician"
    ),
    "referral.retriage_reason_required": pgettext_lazy(
        REASON_CONTEXT, "urgency changed without a reason"
    ),
    "request.invalid": pgettext_lazy(REASON_CONTEXT, "request not valid"),
    "request.form_unreadable": pgettext_lazy(
        REASON_CONTEXT, "form in the request body not readable"
    ),
    "request.query_not_utf8": pgettext_lazy(REASON_CONTEXT, "address with text that is not UTF-8"),
    "operation.parameter_unknown": pgettext_lazy(
        REASON_CONTEXT, "parameter the operation does not take"
    ),
    "request.method_not_allowed": pgettext_lazy(REASON_CONTEXT, "request method not served"),
    "request.not_acceptable": pgettext_lazy(REASON_CONTEXT, "answer format not served"),
    "request.unsupported_media_type": pgettext_lazy(
        REASON_CONTEXT, "media type of the request body not read"
    ),
    "server.error": pgettext_lazy(REASON_CONTEXT, "error in the platform"),
    "shift.invalid": pgettext_lazy(REASON_CONTEXT, "shift not valid"),
    "signin.claims_missing": pgettext_lazy(
        REASON_CONTEXT, "sign-in through the organisation without the needed details"
    ),
    "signin.organisation_not_of_provider": pgettext_lazy(
        REASON_CONTEXT, "organisation not served by that sign-in"
    ),
    "signin.organisation_unknown": pgettext_lazy(
        REASON_CONTEXT, "sign-in for an unknown organisation"
    ),
    "signin.provider_unavailable": pgettext_lazy(
        REASON_CONTEXT, "organisation's sign-in briefly unavailable"
    ),
    "signin.provider_unknown": pgettext_lazy(REASON_CONTEXT, "unknown sign-in provider"),
    "signin.role_unknown": pgettext_lazy(REASON_CONTEXT, "sign-in with an unknown role"),
    "signin.role_withdrawn": pgettext_lazy(REASON_CONTEXT, "role withdrawn"),
    "visit.invalid": pgettext_lazy(REASON_CONTEXT, "visit not valid"),
    "visit_note.empty": pgettext_lazy(REASON_CONTEXT, "empty note"),
    "visit_note.invalid": pgettext_lazy(REASON_CONTEXT, "note not valid"),
    "vital_signs.value_invalid": pgettext_lazy(REASON_CONTEXT, "vital sign value not valid"),
    "warning.invalid": pgettext_lazy(REASON_CONTEXT, "warning not valid"),
}

# Labels a higher layer keeps beside the codes it writes (the hand-offs'
# refusals of a received message, ``integrations.models``), as untranslated
# msgids; registered when that app loads, read here so that one function names
# every code.
_REGISTERED: dict[str, str] = {}


def reason_labels_register(labels: Mapping[str, str]) -> None:
    """Add a layer's labels (``gettext_noop`` msgids) for the codes it writes;
    a code :data:`REASONS` or :data:`RECORDED_CODES` names keeps that label."""
    _REGISTERED.update(labels)


TASK_CONTEXT = "background task"

# The platform's own work that reads or discloses citizen data, as the audit
# log names it (``Actor.system(task)``) and as an auditor reads it.
TASKS: dict[str, Promise] = {
    "acute.auto_assign": pgettext_lazy(TASK_CONTEXT, "automatic assignment"),
    "acute.death_follow": pgettext_lazy(TASK_CONTEXT, "a registered death followed"),
    "acute.deadline_watch": pgettext_lazy(TASK_CONTEXT, "watch of deadlines"),
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
    label = REASONS.get(reason_code) or RECORDED_CODES.get(reason_code)
    if label is not None:
        return str(label)
    registered = _REGISTERED.get(reason_code)
    if registered is not None:
        return gettext(registered)
    label = BY_CODE.get(reason_code)
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
