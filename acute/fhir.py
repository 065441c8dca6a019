"""The acute function in FHIR R4: referral as ServiceRequest, assignment as Task,
visit as Encounter (ids ``visit-<n>``), vital signs as Observation (LOINC, UCUM).

Extensions (this platform's, under ``EXT``) carry what core FHIR has no
element for: the referrer's call-back number, the physician holding
treatment responsibility (*behandlingsansvar*), the hold while the citizen is
admitted to hospital and the coordinator's reason for sending a nurse anyway
(R12).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from acute.models import Outcome, Referral, Urgency, Visit, VitalSign
from acute.occurrence import occurrence_split
from consent.fhir import coded_values
from core.cpr import CPR_SYSTEM
from core.errors import InvalidInput
from core.fhir.references import reference_targets_checked
from core.fhir.validation import FHIRInvalid, fhir_refusal, fhir_validate
from core.times import fhir_instant
from core.validation import is_digits, text_blank, text_trimmed

EXT = "https://tvaerakut.dk/fhir/StructureDefinition"
EXT_CALLBACK = f"{EXT}/referrer-callback"
EXT_RESPONSIBLE = f"{EXT}/responsible-physician"
EXT_SKILLS = f"{EXT}/required-skills"
EXT_HOLD = f"{EXT}/on-hold"
EXT_HOLD_OVERRIDE = f"{EXT}/hold-override-reason"
EXT_DEADLINE = f"{EXT}/deadline"
HOLD_REASON_SYSTEM = "https://tvaerakut.dk/fhir/CodeSystem/hold-reason"
URGENCY_SYSTEM = "https://tvaerakut.dk/fhir/CodeSystem/urgency"
OUTCOME_SYSTEM = "https://tvaerakut.dk/fhir/CodeSystem/episode-outcome"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

PRIORITY_BY_URGENCY = {
    Urgency.WITHIN_2_HOURS: "asap",
    Urgency.WITHIN_SHIFT: "urgent",
    Urgency.NEXT_DAY: "routine",
}
# As the 1813 and hospital hand-offs read ServiceRequest.priority.
URGENCY_BY_PRIORITY = {
    "stat": Urgency.WITHIN_2_HOURS,
    "asap": Urgency.WITHIN_2_HOURS,
    "urgent": Urgency.WITHIN_SHIFT,
    "routine": Urgency.NEXT_DAY,
}

SERVICE_REQUEST_STATUS = {
    Referral.Status.RECEIVED: "draft",
    Referral.Status.ACCEPTED: "active",
    Referral.Status.DECLINED: "revoked",
    Referral.Status.CLOSED: "completed",
    # Withdrawn before a nurse reached the citizen: ended before its work was done.
    Referral.Status.WITHDRAWN: "revoked",
}
TASK_STATUS = {
    Visit.Status.ASSIGNED: "requested",
    Visit.Status.ACCEPTED: "accepted",
    Visit.Status.EN_ROUTE: "in-progress",
    Visit.Status.ON_SITE: "in-progress",
    Visit.Status.COMPLETED: "completed",
    Visit.Status.CANCELLED: "cancelled",
}
ENCOUNTER_STATUS = {
    Visit.Status.ASSIGNED: "planned",
    Visit.Status.ACCEPTED: "planned",
    Visit.Status.EN_ROUTE: "arrived",  # R4 has no "travelling": the nearest is arrived/planned
    Visit.Status.ON_SITE: "in-progress",
    Visit.Status.COMPLETED: "finished",
    Visit.Status.CANCELLED: "cancelled",
}
REJECTED_REASONS = (Visit.CancelReason.DECLINED, Visit.CancelReason.NO_ANSWER)


def _iso(value: Any) -> str | None:
    return fhir_instant(value) if value is not None else None


def _service_request_status(referral: Referral) -> str:
    # Held while the citizen is admitted to hospital (R12): FHIR's own "on-hold".
    if referral.on_hold_since is not None:
        return "on-hold"
    # A referral that lapsed before a nurse saw the citizen (the referrer
    # withdrew it, she was admitted by other means) ended before its work was
    # done: FHIR's "revoked", not "completed".
    if (
        referral.status == Referral.Status.CLOSED
        and referral.episode.outcome == Outcome.REFERRAL_LAPSED
    ):
        return "revoked"
    return SERVICE_REQUEST_STATUS[Referral.Status(referral.status)]


def service_request_resource(referral: Referral) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"referral-{referral.pk}",
        "status": _service_request_status(referral),
        "intent": "order",
        "priority": PRIORITY_BY_URGENCY[Urgency(referral.urgency)],
        "category": [
            {
                "coding": [
                    {
                        "system": URGENCY_SYSTEM,
                        "code": referral.urgency,
                        "display": referral.get_urgency_display(),
                    }
                ]
            }
        ],
        "code": {"text": "Acute nursing visit (akutsygeplejerskebesøg)"},
        "subject": {"reference": f"Patient/{referral.citizen_id}"},
        "authoredOn": fhir_instant(referral.received_at),
        "requester": {
            "display": referral.referrer_name,
            "extension": [
                {
                    "url": EXT_CALLBACK,
                    "valueContactPoint": {"system": "phone", "value": referral.referrer_phone},
                }
            ],
        },
        "reasonCode": [{"text": referral.reason}],
        "note": [{"text": referral.clinical_picture}],
        "orderDetail": [{"text": referral.requested_actions}],
        "extension": [
            {
                "url": EXT_RESPONSIBLE,
                "extension": [
                    {"url": "name", "valueString": referral.responsible_physician_name},
                    {"url": "phone", "valueString": referral.responsible_physician_phone},
                ],
            }
        ],
    }
    # The referrer's own time as sent (a visit planned for tomorrow morning
    # reads back as asked); without one, from receipt to the deadline.
    data.update(
        referral.requested_occurrence
        or {
            "occurrencePeriod": {
                "start": fhir_instant(referral.received_at),
                "end": fhir_instant(referral.deadline_at),
            }
        }
    )
    data["extension"].append(
        {"url": EXT_DEADLINE, "valueDateTime": fhir_instant(referral.deadline_at)}
    )
    if referral.source_organisation_id is not None:
        data["requester"]["reference"] = f"Organization/{referral.source_organisation_id}"
    if referral.external_id:
        data["identifier"] = [{"value": referral.external_id}]
    if referral.required_skills:
        data["extension"].extend(
            {"url": EXT_SKILLS, "valueCode": skill} for skill in referral.required_skills
        )
    if referral.on_hold_since is not None:
        data["extension"].append(
            {
                "url": EXT_HOLD,
                "extension": [
                    {"url": "since", "valueDateTime": fhir_instant(referral.on_hold_since)},
                    {
                        "url": "reason",
                        "valueCoding": {
                            "system": HOLD_REASON_SYSTEM,
                            "code": referral.on_hold_reason,
                        },
                    },
                ],
            }
        )
    if referral.decline_reason:
        data["note"].append({"text": f"Declined: {referral.decline_reason}"})
    return ServiceRequest.model_validate(data).model_dump(mode="json", exclude_none=True)


def task_resource(visit: Visit) -> dict[str, Any]:
    status = TASK_STATUS[Visit.Status(visit.status)]
    if visit.status == Visit.Status.CANCELLED and visit.cancel_reason in REJECTED_REASONS:
        status = "rejected"
    data: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"visit-{visit.pk}",
        "status": status,
        "intent": "order",
        "code": {"text": "Go to the citizen (acute visit)"},
        "for": {"reference": f"Patient/{visit.citizen_id}"},
        "encounter": {"reference": f"Encounter/visit-{visit.pk}"},
        "authoredOn": fhir_instant(visit.assigned_at),
        "owner": {"reference": f"Practitioner/{visit.nurse_id}"},
        "restriction": {"period": {"end": fhir_instant(visit.respond_by)}},
    }
    if visit.referral_id is not None:
        data["focus"] = {"reference": f"ServiceRequest/referral-{visit.referral_id}"}
        data["basedOn"] = [{"reference": f"ServiceRequest/referral-{visit.referral_id}"}]
    if visit.cancel_reason:
        data["statusReason"] = {"text": visit.get_cancel_reason_display()}
    if visit.hold_override_reason:
        data["extension"] = [{"url": EXT_HOLD_OVERRIDE, "valueString": visit.hold_override_reason}]
    return Task.model_validate(data).model_dump(mode="json", exclude_none=True)


def encounter_resource(visit: Visit) -> dict[str, Any]:
    start = visit.on_site_at or visit.en_route_at
    data: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"visit-{visit.pk}",
        "status": ENCOUNTER_STATUS[Visit.Status(visit.status)],
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "HH",
            "display": "home health",
        },
        "subject": {"reference": f"Patient/{visit.citizen_id}"},
        "participant": [{"individual": {"reference": f"Practitioner/{visit.nurse_id}"}}],
        "episodeOfCare": [{"reference": f"EpisodeOfCare/acute-{visit.episode_id}"}],
    }
    if start is not None:
        data["period"] = {"start": fhir_instant(start)}
        if visit.completed_at is not None:
            data["period"]["end"] = fhir_instant(visit.completed_at)
    if visit.referral_id is not None:
        data["basedOn"] = [{"reference": f"ServiceRequest/referral-{visit.referral_id}"}]
    if visit.outcome:
        data["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [
                    {
                        "system": OUTCOME_SYSTEM,
                        "code": visit.outcome,
                        "display": visit.get_outcome_display(),
                    }
                ]
            }
        }
    return Encounter.model_validate(data).model_dump(mode="json", exclude_none=True)


def observation_resource(sign: VitalSign, *, citizen_id: int) -> dict[str, Any]:
    data = {
        "resourceType": "Observation",
        "id": f"vital-{sign.pk}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": LOINC, "code": sign.code, "display": sign.get_code_display()}]
        },
        "subject": {"reference": f"Patient/{citizen_id}"},
        "encounter": {"reference": f"Encounter/visit-{sign.visit_id}"},
        "effectiveDateTime": fhir_instant(sign.measured_at),
        "performer": [{"reference": f"Practitioner/{sign.recorded_by_id}"}],
        "valueQuantity": {
            "value": float(sign.value),
            "unit": sign.unit,
            "system": UCUM,
            "code": sign.unit,
        },
    }
    return Observation.model_validate(data).model_dump(mode="json", exclude_none=True)


# --- parsing a posted ServiceRequest -----------------------------------------


def _texts(items: Any) -> str:
    out = []
    for item in items or []:
        if isinstance(item, dict):
            text = item.get("text") or " ".join(
                c.get("display", "") for c in item.get("coding") or [] if isinstance(c, dict)
            )
            if not text_blank(text):
                out.append(text_trimmed(text))
    return "\n".join(out)


def service_request_subject(body: Any) -> tuple[int | None, str]:
    """The citizen a posted ServiceRequest's ``subject`` names: a Patient
    reference's platform id and the CPR identifier's value (either may be
    missing). Read alike for the referral and for the log of its refusal."""
    subject = body.get("subject") if isinstance(body, dict) else None
    if not isinstance(subject, dict):
        return None, ""
    identifier = subject.get("identifier")
    identifier = identifier if isinstance(identifier, dict) else {}
    value = identifier.get("value")
    cpr = value if identifier.get("system") == CPR_SYSTEM and isinstance(value, str) else ""
    reference = subject.get("reference")
    citizen_id = None
    if isinstance(reference, str) and reference.startswith("Patient/") and is_digits(reference[8:]):
        citizen_id = int(reference[8:])
    return citizen_id, cpr


def parse_service_request(body: Any) -> dict[str, Any]:
    """The fields of ``referral_create`` from a posted ServiceRequest, plus the
    citizen's CPR number (``cpr``) or platform id (``citizen_id``) and its
    coded values (``codings``: a psychiatric diagnosis is refused, R2)."""
    if not isinstance(body, dict) or body.get("resourceType") != "ServiceRequest":
        raise InvalidInput(
            "fhir.resource_type", "Post a ServiceRequest resource.", field="resourceType"
        )
    # occurrence[x] is judged by the service, with codes of its own (R10).
    rest, occurrence = occurrence_split(body)
    try:
        validated = fhir_validate(ServiceRequest, rest)
    except FHIRInvalid as exc:
        raise fhir_refusal(exc, "ServiceRequest") from None
    # Each reference of a type its element takes; those to this server's
    # resources are looked up once the citizen is known (``referral_intake``).
    references = reference_targets_checked(rest, ServiceRequest)
    citizen_id, cpr = service_request_subject(body)
    if not cpr and citizen_id is None:
        raise InvalidInput(
            "referral.citizen_required",
            "ServiceRequest.subject needs the CPR identifier or a Patient reference.",
            field="subject",
        )
    # No priority (and no urgency category) is refused by the service
    # (``referral.urgency_required``), as on every door: FHIR reads a missing
    # priority as routine, but an acute referral's deadline is never guessed.
    priority = body.get("priority") or ""
    urgency = next(
        (
            coding.get("code")
            for concept in body.get("category") or []
            for coding in concept.get("coding") or []
            if coding.get("system") == URGENCY_SYSTEM
        ),
        None,
    ) or URGENCY_BY_PRIORITY.get(priority)
    if urgency is None and priority:
        raise InvalidInput("referral.urgency_unknown", "Unknown priority.", field="priority")
    requester = body.get("requester") or {}
    callback = next(
        (
            (ext.get("valueContactPoint") or {}).get("value", "")
            for ext in requester.get("extension") or []
            if ext.get("url") == EXT_CALLBACK
        ),
        "",
    )
    responsible: dict[str, str] = {}
    skills: list[str] = []
    for ext in body.get("extension") or []:
        if ext.get("url") == EXT_RESPONSIBLE:
            for sub in ext.get("extension") or []:
                responsible[sub.get("url", "")] = sub.get("valueString", "")
        elif ext.get("url") == EXT_SKILLS and ext.get("valueCode"):
            skills.append(ext["valueCode"])
    identifiers = [i.get("value", "") for i in body.get("identifier") or [] if i.get("value")]
    reason = _texts(body.get("reasonCode"))
    return {
        "cpr": cpr,
        "citizen_id": citizen_id,
        "urgency": urgency or "",
        "referrer_name": requester.get("display", ""),
        "referrer_phone": callback,
        "reason": reason,
        "clinical_picture": _texts(body.get("note")) or reason,
        "requested_actions": _texts(body.get("orderDetail")) or _texts([body.get("code")]),
        "responsible_physician_name": responsible.get("name", ""),
        "responsible_physician_phone": responsible.get("phone", ""),
        "required_skills": skills,
        "external_id": identifiers[0] if identifiers else "",
        # Every coded value, wherever it sits, for the service to judge (R2).
        "codings": coded_values(validated, diagnosis=False),
        # Only an active request is a referral: the service refuses the rest.
        "requested_status": str(body.get("status") or ""),
        "requested_intent": str(body.get("intent") or ""),
        # When the referrer asks her to be seen: tightens the deadline or is refused.
        "occurrence": occurrence,
        "references": references,
    }
