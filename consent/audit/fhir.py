"""Audit entries as FHIR AuditEvent, shaped after IHE Basic Audit Log Patterns (BALP).

Auditors see the log, not clinical content: an AuditEvent names the patient by
reference (internal id), never the CPR number, and carries no record data.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent

from consent.audit.models import Action, AuditEntry, Outcome, Purpose
from core.times import fhir_instant

AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
PURPOSE_OF_USE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOCAL_ACTION = "urn:tvaerakut:audit-action"
LOCAL_ROLE = "urn:tvaerakut:role"
LOCAL_REASON = "urn:tvaerakut:access-reason"
USER_SYSTEM = "urn:tvaerakut:user"
TASK_SYSTEM = "urn:tvaerakut:task"

_INTERACTION = {
    Action.READ: "read",
    Action.SEARCH: "search-type",
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.DELETE: "delete",
}
_CRUDE = {
    Action.READ: "R",
    Action.SEARCH: "E",
    Action.CREATE: "C",
    Action.UPDATE: "U",
    Action.DELETE: "D",
    Action.EXPORT: "R",
    Action.DISCLOSE: "R",
    Action.BREAK_GLASS: "E",
}
_PURPOSE = {
    Purpose.TREATMENT: ("TREAT", "treatment"),
    Purpose.EMERGENCY: ("ETREAT", "Emergency Treatment"),
    Purpose.OPERATIONS: ("HOPERAT", "healthcare operations"),
    Purpose.ANALYSIS: ("POPHLTH", "population health"),
    Purpose.AUDIT: ("HCOMPL", "health compliance"),
}
# FHIR R4 AuditEvent.outcome: 0 success, 4 minor failure (a refusal), 8 serious, 12 major.
OUTCOME_CODE = {Outcome.PERMITTED: "0", Outcome.DENIED: "4"}
OUTCOME_BY_CODE = {code: outcome for outcome, code in OUTCOME_CODE.items()}


def break_glass_reason(entry: AuditEntry) -> str | None:
    """The reason stated for the break-the-glass behind this entry: on the
    override itself, and on every access made under it."""
    detail = entry.detail or {}
    if entry.action == Action.BREAK_GLASS:
        return detail.get("reason")
    return detail.get("break_glass_reason")


def searched_params(entry: AuditEntry) -> list[str]:
    """The parameters a search that showed no citizen searched by, by name
    (never a value: a name or a CPR number may be in one); none for any
    other entry."""
    if entry.citizen_id is not None or entry.action != Action.SEARCH:
        return []
    named = (entry.detail or {}).get("params")
    return [str(n) for n in named] if isinstance(named, list) else []


def _break_glass_details(entry: AuditEntry) -> list[dict[str, str]]:
    glass_id = (entry.detail or {}).get("break_glass_id")
    if glass_id is None:
        return []
    details = [
        {"type": "break-glass-id", "valueString": str(glass_id)},
        {"type": "break-glass-reason", "valueString": break_glass_reason(entry) or ""},
    ]
    if entry.action == Action.BREAK_GLASS:
        # The override itself also states its basis and its time limit (R4).
        detail = entry.detail or {}
        for kind, key in (("break-glass-basis", "basis"), ("break-glass-expires", "expires_at")):
            if isinstance(detail.get(key), str):
                details.append({"type": kind, "valueString": detail[key]})
    return details


def disclosure_recipient_id(entry: AuditEntry) -> int | None:
    """The organisation a disclosure went to: the partner the entry names.
    A hand-off sent on behalf of a member of staff records her organisation
    as the actor's and the partner beside it; one the platform sent alone (a
    result passed on from a laboratory's message, a scheduled hand-back)
    records the partner as both, and went to it all the same (R5)."""
    if entry.action != Action.DISCLOSE:
        return None
    return entry.partner_organisation_id


def audit_event_resource(entry: AuditEntry) -> dict[str, Any]:
    interaction = _INTERACTION.get(Action(entry.action))
    subtype = [
        {"system": LOCAL_ACTION, "code": entry.action, "display": Action(entry.action).label}
    ]
    if interaction:
        subtype.insert(0, {"system": RESTFUL_INTERACTION, "code": interaction})
    purpose_code, purpose_display = _PURPOSE[Purpose(entry.purpose)]
    purpose = [
        {"coding": [{"system": PURPOSE_OF_USE, "code": purpose_code, "display": purpose_display}]}
    ]

    agents: list[dict[str, Any]] = []
    if entry.actor_user_id is not None:
        user: dict[str, Any] = {
            "type": {
                "coding": [
                    {
                        "system": PARTICIPATION_TYPE,
                        "code": "IRCP",
                        "display": "information recipient",
                    }
                ]
            },
            "who": {
                "identifier": {"system": USER_SYSTEM, "value": str(entry.actor_user_id)},
                "display": entry.actor_username,
            },
            "requestor": not entry.task,
            "purposeOfUse": purpose,
        }
        if entry.actor_role:
            user["role"] = [{"coding": [{"system": LOCAL_ROLE, "code": entry.actor_role}]}]
        if entry.client_address:
            user["network"] = {"address": str(entry.client_address), "type": "2"}
        agents.append(user)
    if entry.task:
        agents.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": SECURITY_SOURCE_TYPE,
                            "code": "4",
                            "display": "Application Server",
                        }
                    ]
                },
                "who": {
                    "identifier": {"system": TASK_SYSTEM, "value": entry.task},
                    "display": entry.task,
                },
                "requestor": entry.actor_user_id is None,
                "purposeOfUse": purpose,
            }
        )
    organisation_id = entry.actor_organisation_id or entry.partner_organisation_id
    if organisation_id is not None:
        agents.append(
            {
                "who": {
                    "reference": f"Organization/{organisation_id}",
                    "display": entry.actor_organisation_name or None,
                },
                "requestor": False,
            }
        )
    recipient_id = disclosure_recipient_id(entry)
    if recipient_id is not None:
        # Whom the hand-off disclosed the data to (R5: the citizen sees who got it).
        agents.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": PARTICIPATION_TYPE,
                            "code": "IRCP",
                            "display": "information recipient",
                        }
                    ]
                },
                "who": {"reference": f"Organization/{recipient_id}"},
                "requestor": False,
            }
        )
    if not agents:
        agents.append({"who": {"display": "unknown"}, "requestor": True})

    entities: list[dict[str, Any]] = []
    if entry.citizen_id is not None:
        patient: dict[str, Any] = {
            "what": {"reference": f"Patient/{entry.citizen_id}"},
            "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
        }
        # An emergency access names the override it was made under, and why.
        glass = _break_glass_details(entry)
        if glass:
            patient["detail"] = glass
        entities.append(patient)
    if entry.resource_type:
        what: dict[str, Any] = {"type": entry.resource_type}
        if entry.resource_id:
            what["identifier"] = {"value": entry.resource_id}
        searched: dict[str, Any] = {
            "what": what,
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
        }
        by = searched_params(entry)
        if by:
            searched["detail"] = [{"type": "searched-by", "valueString": ", ".join(by)}]
        entities.append(searched)
    if entry.request_id:
        entities.append(
            {
                "what": {"identifier": {"value": entry.request_id}},
                "type": {"system": BALP_ENTITY_TYPE, "code": "XrequestId"},
            }
        )

    data: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(entry.id),
        "type": {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "subtype": subtype,
        "action": _CRUDE[Action(entry.action)],
        "recorded": fhir_instant(entry.recorded_at),
        "outcome": OUTCOME_CODE[Outcome(entry.outcome)],
        "purposeOfEvent": purpose,
        "agent": agents,
        "source": {
            "observer": {"display": "tvaerakut"},
            "type": [
                {"system": SECURITY_SOURCE_TYPE, "code": "4", "display": "Application Server"}
            ],
        },
    }
    if entry.reason_code:
        data["outcomeDesc"] = entry.reason_code
    if entities:
        data["entity"] = entities
    return AuditEvent.model_validate(data).model_dump(mode="json", exclude_none=True)


def audit_bundle(entries: list[AuditEntry], *, base: str) -> dict[str, Any]:
    """An export: a collection Bundle of AuditEvents."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{base}/AuditEvent/{e.id}", "resource": audit_event_resource(e)}
            for e in entries
        ],
    }
