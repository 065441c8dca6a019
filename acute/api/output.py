"""How the acute function's records look in its JSON API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from acute.models import DeadlineWarning, NurseShift, Outcome, Referral, Skill, Urgency, Visit
from core.models import Citizen
from core.openapi import NamedContact, Reference


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
        "cancel_note": visit.cancel_note,
        "assessment": visit.assessment,
        "outcome": visit.outcome,
        "hold_override_reason": visit.hold_override_reason,
    }


def hold_out(referral: Referral) -> dict[str, Any] | None:
    """The hospital admission hold (R12), or ``None`` when the referral is not on hold."""
    if referral.on_hold_since is None:
        return None
    return {"since": referral.on_hold_since, "reason": referral.on_hold_reason}


def withdrawal_out(referral: Referral) -> dict[str, Any] | None:
    """Why and when the coordinator withdrew the referral, if she did."""
    if referral.status != Referral.Status.WITHDRAWN:
        return None
    return {
        "at": referral.withdrawn_at,
        "reason": referral.withdraw_reason,
        "note": referral.withdraw_note,
    }


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
        "withdrawal": withdrawal_out(referral),
    }
    active = getattr(referral, "active_visits", None)
    if active is not None:
        data["active_visit"] = visit_out(active[0]) if active else None
    awaited = getattr(referral, "answer_awaited", None)
    if awaited is not None:
        data["answer_awaited"] = awaited
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


# The same shapes for the OpenAPI description (core/openapi.py).


class CitizenSummaryOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    masked_cpr = serializers.CharField(help_text="The CPR number with its last four digits hidden.")
    address = serializers.CharField()
    municipality = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()


class VisitOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    episode = serializers.IntegerField()
    referral = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=Visit.Kind.choices)
    status = serializers.ChoiceField(choices=Visit.Status.choices)
    nurse = Reference()
    shift = serializers.IntegerField()
    planned_for = serializers.DateTimeField(allow_null=True)
    assigned_at = serializers.DateTimeField()
    respond_by = serializers.DateTimeField()
    estimated_arrival_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    en_route_at = serializers.DateTimeField(allow_null=True)
    on_site_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.ChoiceField(choices=Visit.CancelReason.choices, allow_blank=True)
    cancel_note = serializers.CharField(
        allow_blank=True, help_text="The note given with the cancellation, as written."
    )
    assessment = serializers.CharField(allow_blank=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True)
    hold_override_reason = serializers.CharField(allow_blank=True)


class VisitWithCitizenOut(VisitOut):
    citizen = CitizenSummaryOut()


class HoldOut(serializers.Serializer[Any]):
    since = serializers.DateTimeField()
    reason = serializers.CharField()


class ReferralWarningOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DeadlineWarning.Kind.choices)
    raised_at = serializers.DateTimeField()
    detail = serializers.DictField()


class WithdrawalOut(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=Referral.WithdrawReason.choices)
    note = serializers.CharField(allow_blank=True)


class ReferralOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    episode = serializers.IntegerField()
    citizen = CitizenSummaryOut()
    source = serializers.ChoiceField(choices=Referral.Source.choices)  # type: ignore[assignment]
    channel = serializers.ChoiceField(choices=Referral.Channel.choices)
    referrer = NamedContact()
    reason = serializers.CharField(allow_blank=True)
    clinical_picture = serializers.CharField(allow_blank=True)
    requested_actions = serializers.CharField(allow_blank=True)
    required_skills = serializers.ListField(child=serializers.ChoiceField(choices=Skill.choices))
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    deadline_at = serializers.DateTimeField()
    responsible_physician = NamedContact()
    status = serializers.ChoiceField(choices=Referral.Status.choices)
    received_at = serializers.DateTimeField()
    triaged_at = serializers.DateTimeField(allow_null=True)
    decline_reason = serializers.CharField(allow_blank=True)
    reached_at = serializers.DateTimeField(allow_null=True)
    on_hold = HoldOut(allow_null=True, help_text="The hospital admission hold (R12), if any.")
    withdrawal = WithdrawalOut(
        allow_null=True, help_text="Why and when the coordinator withdrew it, if she did."
    )
    active_visit = VisitOut(
        allow_null=True,
        required=False,
        help_text="On the coordinator's board: the visit under way.",
    )
    warnings = ReferralWarningOut(
        many=True, required=False, help_text="On the coordinator's board: open deadline warnings."
    )
    answer_awaited = serializers.BooleanField(
        required=False,
        help_text="On the board and a referral read: a partner's CareCommunication about the"
        " citizen, shown with this referral, awaits the acute function's reply (the board's"
        " mark). Its content is read in the thread, never here.",
    )


class PositionOut(serializers.Serializer[Any]):
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    at = serializers.DateTimeField(allow_null=True)


class ShiftOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    nurse = Reference()
    kind = serializers.ChoiceField(choices=NurseShift.Kind.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=NurseShift.Status.choices)
    skills = serializers.ListField(child=serializers.ChoiceField(choices=Skill.choices))
    max_load = serializers.IntegerField()
    load = serializers.IntegerField(allow_null=True, help_text="Active visits, where counted.")
    base = serializers.CharField()
    position = PositionOut(allow_null=True)
