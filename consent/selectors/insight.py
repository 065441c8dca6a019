"""The insight report (R5, *Min Log*): what the shared record holds about a
citizen, by category and source, and every access and disclosure of the last
two years, break-the-glass flagged — for the auditor who answers the
citizen's request, as a page and as a FHIR collection Bundle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from consent.audit.disclosures import Disclosure, audit_entries_for_citizen, insight_since
from consent.audit.fhir import (
    LOCAL_ROLE,
    PARTICIPATION_TYPE,
    TASK_SYSTEM,
    USER_SYSTEM,
    audit_event_resource,
)
from consent.audit.log import InclusionProof, checkpoint_served, inclusion_for_entries
from consent.audit.models import AuditEntry
from consent.audit.services import Action, Purpose
from consent.fhir import consent_resource, record_resource
from consent.gate import CATEGORY_INSIGHT, access_citizen
from consent.models import BreakGlass, ConsentDirective, DataCategory, RecordResource
from consent.selectors.consents import consent_directives
from core.actors import Actor
from core.fhir.patient import patient_resource
from core.models import Citizen
from core.times import fhir_instant


@dataclass
class InsightReport:
    citizen: Citizen
    generated_at: dt.datetime
    since: dt.datetime
    holdings: list[dict[str, Any]]
    resources: list[RecordResource]
    consents: list[ConsentDirective]
    accesses: list[Disclosure]
    break_glasses: list[BreakGlass]
    # Each listed access's place in the transparency log: the signed (and
    # witnessed) checkpoint and the inclusion proof, by entry id. An entry not
    # yet placed by the sequencer has none.
    proofs: dict[int, InclusionProof] = field(default_factory=dict)

    @property
    def checkpoints(self) -> list[str]:
        """The checkpoints the proofs lead to, once each, as served."""
        seen = {p.checkpoint.id: p.checkpoint for p in self.proofs.values()}
        return [checkpoint_served(c) for c in seen.values()]


def insight_report(
    *, actor: Actor, citizen_id: int, at: dt.datetime | None = None
) -> InsightReport:
    """What the record holds (by category and source) and every access and
    disclosure of the two years up to ``at`` (now), break-the-glass flagged."""
    citizen = access_citizen(
        actor=actor,
        citizen_id=citizen_id,
        action=Action.EXPORT,
        category=CATEGORY_INSIGHT,
        purpose=Purpose.AUDIT,
        resource_type="Patient",
        resource_id=str(citizen_id),
        detail={"operation": "insight"},
    )
    now = at or timezone.now()
    since = insight_since(now)
    holdings: list[dict[str, Any]] = [
        {**row, "category_label": DataCategory(row["category"]).label}
        for row in RecordResource.objects.filter(citizen=citizen)
        .values("category", "source_organisation__name")
        .annotate(count=Count("pk"))
        .order_by("category", "source_organisation__name")
    ]
    accesses = [
        d
        for d in audit_entries_for_citizen(citizen_id=citizen.pk, since=since)
        if d.outcome == "permitted" and d.at <= now
    ]
    entries = list(
        AuditEntry.objects.filter(pk__in=[d.entry_id for d in accesses]).only(
            "id", "recorded_at", "digest", "citizen_id"
        )
    )
    return InsightReport(
        proofs=inclusion_for_entries(entries),
        citizen=citizen,
        generated_at=now,
        since=since,
        holdings=holdings,
        resources=list(
            RecordResource.objects.filter(citizen=citizen)
            .select_related("source_organisation")
            .order_by("category", "-effective_at")
        ),
        consents=list(consent_directives(citizen.pk)),
        accesses=accesses,
        break_glasses=list(
            BreakGlass.objects.filter(citizen=citizen, started_at__gte=since, started_at__lte=now)
            .select_related("user", "organisation")
            .order_by("-started_at")
        ),
    )


def _audit_events(report: InsightReport) -> list[dict[str, Any]]:
    """The accesses as AuditEvents (the audit log's own mapping), each agent
    named as the page names it; overrides are flagged so the citizen sees them."""
    accesses = {d.entry_id: d for d in report.accesses}
    entries = AuditEntry.objects.filter(pk__in=list(accesses)).order_by("-recorded_at", "-id")
    events = []
    for entry in entries:
        access = accesses[entry.id]
        event = _for_the_citizen(audit_event_resource(entry), access)
        if access.emergency:
            event.setdefault("subtype", []).append(
                {"system": "urn:tvaerakut:audit-flag", "code": "break-the-glass"}
            )
        proof = report.proofs.get(entry.id)
        if proof is not None:
            event.setdefault("extension", []).append(_proof_extension(proof))
        events.append(event)
    return events


def _for_the_citizen(event: dict[str, Any], access: Disclosure) -> dict[str, Any]:
    """An access as the citizen is told it (R5): who — the person's name and
    role in words, the platform's work in words, the recipient by name; the
    identifiers stay beside them —, from which organisation, when, what and
    why. Not the network address of the staff member's device nor the
    platform's request id, which are the auditors' (their own AuditEvent
    search keeps them)."""
    for agent in event.get("agent", []):
        agent.pop("network", None)
        who = agent.get("who", {})
        system = (who.get("identifier") or {}).get("system")
        if system == USER_SYSTEM:
            who["display"] = access.who
            for role in agent.get("role", []):
                for coding in role.get("coding", []):
                    if coding.get("system") == LOCAL_ROLE and access.role_label:
                        coding["display"] = access.role_label
        elif system == TASK_SYSTEM:
            who["display"] = access.task_label
        elif access.recipient and "reference" in who and _is_recipient(agent):
            who["display"] = access.recipient
    entities = [
        entity
        for entity in event.get("entity", [])
        if (entity.get("type") or {}).get("code") != "XrequestId"
    ]
    if entities:
        event["entity"] = entities
    else:
        event.pop("entity", None)
    return event


def _is_recipient(agent: dict[str, Any]) -> bool:
    codings = (agent.get("type") or {}).get("coding", [])
    return any(c.get("system") == PARTICIPATION_TYPE and c.get("code") == "IRCP" for c in codings)


PROOF_EXTENSION = "urn:tvaerakut:audit-inclusion-proof"


def _proof_extension(proof: InclusionProof) -> dict[str, Any]:
    """The entry's RFC 6962 inclusion proof and the C2SP checkpoint it leads
    to, for anyone to check with public tools (docs/audit.md)."""
    found = proof.as_dict()
    parts: list[dict[str, Any]] = [
        {"url": "log", "valueString": found["log"]},
        {"url": "leafIndex", "valueInteger64": found["leaf_index"]},
        {"url": "treeSize", "valueInteger64": found["tree_size"]},
        {"url": "leaf", "valueBase64Binary": found["leaf"]},
        *({"url": "hash", "valueBase64Binary": h} for h in found["proof"]),  # type: ignore[attr-defined]
        {"url": "checkpoint", "valueString": found["checkpoint"]},
    ]
    return {"url": PROOF_EXTENSION, "extension": parts}


def insight_bundle(report: InsightReport) -> dict[str, Any]:
    """The insight report as a FHIR collection Bundle: Patient, the record,
    the citizen's directives, and one AuditEvent per access."""
    resources: list[dict[str, Any]] = [
        patient_resource(report.citizen),
        *(record_resource(r) for r in report.resources),
        *(consent_resource(d) for d in report.consents),
        *_audit_events(report),
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": fhir_instant(report.generated_at),
        "entry": [
            {"fullUrl": f"urn:tvaerakut:{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
