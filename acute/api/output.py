"""How the acute function's records look in its JSON API."""

from __future__ import annotations

from typing import Any

from acute.models import NurseShift, Referral, Visit
from core.models import Citizen


def citizen_summary(citizen: Citizen) -> dict[str, Any]:
    return {
        "id": citizen.pk,
        "name": citizen.full_name,
        "masked_cpr": citizen.masked_cpr,
        "address": f"{citizen.address_line}, {citizen.postal_code} {citizen.city}",
        "municipality": citizen.municipality.name,
        "latitude": float(citizen.latitude),
        "longitude": float(citizen.longitude),
    }


def visit_out(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "episode": visit.episode_id,
        "referral": visit.referral_id,
        "kind": visit.kind,
        "status": visit.status,
        "nurse": {"id": visit.nurse_id, "name": visit.nurse.display_name},
        "shift": visit.shift_id,
        "planned_for": visit.planned_for,
        "assigned_at": visit.assigned_at,
        "respond_by": visit.respond_by,
        "estimated_arrival_at": visit.estimated_arrival_at,
        "accepted_at": visit.accepted_at,
        "en_route_at": visit.en_route_at,
        "on_site_at": visit.on_site_at,
        "completed_at": visit.completed_at,
        "cancelled_at": visit.cancelled_at,
        "cancel_reason": visit.cancel_reason,
        "assessment": visit.assessment,
        "outcome": visit.outcome,
        "hold_override_reason": visit.hold_override_reason,
    }


def hold_out(referral: Referral) -> dict[str, Any] | None:
    """The hospital admission hold (R12), or ``None`` when the referral is not on hold."""
    if referral.on_hold_since is None:
        return None
    return {"since": referral.on_hold_since, "reason": referral.on_hold_reason}


def referral_out(referral: Referral) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": referral.pk,
        "episode": referral.episode_id,
        "citizen": citizen_summary(referral.citizen),
        "source": referral.source,
        "channel": referral.channel,
        "referrer": {"name": referral.referrer_name, "phone": referral.referrer_phone},
        "reason": referral.reason,
        "clinical_picture": referral.clinical_picture,
        "requested_actions": referral.requested_actions,
        "required_skills": referral.required_skills,
        "urgency": referral.urgency,
        "deadline_at": referral.deadline_at,
        "responsible_physician": {
            "name": referral.responsible_physician_name,
            "phone": referral.responsible_physician_phone,
        },
        "status": referral.status,
        "received_at": referral.received_at,
        "triaged_at": referral.triaged_at,
        "decline_reason": referral.decline_reason,
        "reached_at": referral.reached_at,
        "on_hold": hold_out(referral),
    }
    active = getattr(referral, "active_visits", None)
    if active is not None:
        data["active_visit"] = visit_out(active[0]) if active else None
    warnings = getattr(referral, "open_warnings", None)
    if warnings is not None:
        data["warnings"] = [
            {"id": w.pk, "kind": w.kind, "raised_at": w.raised_at, "detail": w.detail}
            for w in warnings
        ]
    return data


def shift_out(shift: NurseShift, load: int | None = None) -> dict[str, Any]:
    return {
        "id": shift.pk,
        "nurse": {"id": shift.nurse_id, "name": shift.nurse.display_name},
        "kind": shift.kind,
        "starts_at": shift.starts_at,
        "ends_at": shift.ends_at,
        "status": shift.status,
        "skills": shift.skills,
        "max_load": shift.max_load,
        "load": load,
        "base": shift.base_name,
        "position": None
        if shift.latitude is None
        else {"latitude": shift.latitude, "longitude": shift.longitude, "at": shift.position_at},
    }
