"""JSON API of the acute function under ``/api/acute/``, for coordinators and nurses.

Thin views: parse, one gate or selector, one service, serialize. Reads and
writes of citizen data pass the gate first (``acute.selectors``); writes record
their audit entry inside the service's transaction.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.fhir import observation_resource
from acute.models import (
    DeadlineWarning,
    NurseShift,
    Outcome,
    Referral,
    Skill,
    Urgency,
    Visit,
    VitalSign,
)
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.services import Outcome as AuditOutcome
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed
from core.models import Citizen, Organisation, Role, User
from core.permissions import actor_from_request, roles

COORDINATOR = roles(Role.COORDINATOR)
NURSE = roles(Role.ACUTE_NURSE)
CLINICAL_READERS = roles(Role.COORDINATOR, Role.ACUTE_NURSE)
REFERRERS = roles(Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE)
FIGURE_READERS = roles(Role.COORDINATOR, Role.ANALYST)

# The referral's source, from the organisation of a referrer using the short form.
SOURCE_BY_KIND = {
    Organisation.Kind.GP_PRACTICE: Referral.Source.GP,
    Organisation.Kind.HELPLINE_1813: Referral.Source.HELPLINE_1813,
    Organisation.Kind.HOSPITAL: Referral.Source.HOSPITAL,
    Organisation.Kind.HOSPITAL_DEPARTMENT: Referral.Source.HOSPITAL,
    Organisation.Kind.HOME_NURSING: Referral.Source.HOME_NURSING,
    Organisation.Kind.MUNICIPALITY: Referral.Source.HOME_NURSING,
}


def per_method(**by_method: type[BasePermission]) -> type[BasePermission]:
    """One view, different roles per HTTP method; a method not named is refused."""

    class ByMethod(BasePermission):
        message = "Your role may not use this endpoint."

        def has_permission(self, request: Request, view: Any) -> bool:
            allowed = by_method.get(request.method or "")
            return allowed is not None and allowed().has_permission(request, view)

    return ByMethod


def actor_of(request: Request) -> Actor:
    actor = actor_from_request(request)
    assert actor is not None  # the role permission has admitted it
    return actor


def valid(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


# --- output ------------------------------------------------------------------


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


# --- referrals ---------------------------------------------------------------


class ReferralIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(required=False, min_value=1)
    cpr = serializers.RegexField(r"^[0-9]{10}$", required=False)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Referral.Source.choices, required=False
    )
    referrer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    referrer_phone = serializers.CharField(max_length=32, allow_blank=True, default="")
    reason = serializers.CharField(allow_blank=True, default="")
    clinical_picture = serializers.CharField(allow_blank=True, default="")
    requested_actions = serializers.CharField(allow_blank=True, default="")
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    responsible_physician_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    responsible_physician_phone = serializers.CharField(max_length=32, allow_blank=True, default="")
    required_skills = serializers.ListField(
        child=serializers.ChoiceField(choices=Skill.choices), default=list, max_length=10
    )
    external_id = serializers.CharField(max_length=100, allow_blank=True, default="")


def find_citizen(*, actor: Actor, citizen_id: int | None, cpr: str) -> Citizen:
    """The referred citizen by platform id or CPR number. Unknown citizens are
    refused (and the attempt audited); the CPR number is never echoed."""
    qs = Citizen.objects.select_related("municipality")
    citizen = qs.filter(pk=citizen_id).first() if citizen_id else qs.filter(cpr=cpr).first()
    if citizen is None:
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=None,
            outcome=AuditOutcome.DENIED,
            resource_type="ServiceRequest",
            reason_code="unknown_citizen",
        )
        raise NotFoundOrNotAllowed(
            "referral.citizen_unknown",
            "No citizen with that identity is registered; check the CPR number.",
            field="citizen",
        )
    return citizen


def create_referral_from(
    actor: Actor, data: dict[str, Any], *, electronic: bool = False
) -> Referral:
    """Shared by the JSON API and ``POST /fhir/ServiceRequest``."""
    if not data.get("citizen_id") and not data.get("cpr"):
        raise InvalidInput(
            "referral.citizen_required", "Give the citizen (citizen_id or cpr).", field="citizen"
        )
    organisation = actor.organisation
    assert organisation is not None
    if actor.role == Role.COORDINATOR and not electronic:
        source = data.get("source")
        if not source:
            raise InvalidInput(
                "referral.source_required", "Say who referred (gp, 1813, ...).", field="source"
            )
        channel, source_organisation = Referral.Channel.PHONE, None
        referrer_name = data.get("referrer_name", "")
    else:
        source = SOURCE_BY_KIND.get(Organisation.Kind(organisation.kind))
        if source is None or actor.role == Role.COORDINATOR:
            raise Forbidden(
                "referral.not_a_referrer",
                "Your organisation does not refer to the acute function this way.",
            )
        channel = Referral.Channel.ELECTRONIC if electronic else Referral.Channel.FORM
        source_organisation = organisation
        referrer_name = data.get("referrer_name") or (actor.user.display_name if actor.user else "")
    citizen = find_citizen(actor=actor, citizen_id=data.get("citizen_id"), cpr=data.get("cpr", ""))
    return services.referral_create(
        citizen=citizen,
        source=source,
        channel=channel,
        referrer_name=referrer_name,
        referrer_phone=data.get("referrer_phone", ""),
        reason=data.get("reason", ""),
        clinical_picture=data.get("clinical_picture", ""),
        requested_actions=data.get("requested_actions", ""),
        urgency=data["urgency"],
        responsible_physician_name=data.get("responsible_physician_name", ""),
        responsible_physician_phone=data.get("responsible_physician_phone", ""),
        responsible_physician_organisation=source_organisation
        if actor.role == Role.PHYSICIAN
        else None,
        source_organisation=source_organisation,
        external_id=data.get("external_id", "") if source_organisation else "",
        required_skills=data.get("required_skills", []),
        by=actor,
    )


class ReferralListView(APIView):
    """``GET``: the coordinator board. ``POST``: a new referral — the coordinator
    types in a phone referral; a GP, 1813/hospital physician or home nurse uses
    the short form."""

    permission_classes = [per_method(GET=COORDINATOR, POST=REFERRERS)]

    def get(self, request: Request) -> Response:
        rows = selectors.referral_board(
            actor=actor_of(request), status=request.query_params.get("status", "")
        )
        return Response({"results": [referral_out(r) for r in rows]})

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        referral = create_referral_from(actor, valid(ReferralIn, request.data))
        # A receipt only: the referrer gave the citizen's data, and reading more
        # (name, address) would need the gate.
        return Response(
            {
                "id": referral.pk,
                "episode": referral.episode_id,
                "citizen": referral.citizen_id,
                "source": referral.source,
                "channel": referral.channel,
                "urgency": referral.urgency,
                "deadline_at": referral.deadline_at,
                "status": referral.status,
            },
            status=201,
        )


class ReferralDetailView(APIView):
    permission_classes = [CLINICAL_READERS]

    def get(self, request: Request, pk: int) -> Response:
        return Response(
            referral_out(selectors.referral_get(actor=actor_of(request), referral_id=pk))
        )


class DeclineIn(serializers.Serializer[Any]):
    reason = serializers.CharField(allow_blank=True, default="")


class ReferralTriageView(APIView):
    """``POST .../accept`` or ``.../decline`` with ``{"reason"}``."""

    permission_classes = [COORDINATOR]
    decision = ""

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        if self.decision == "accept":
            referral = services.referral_accept(referral=referral, by=actor)
        else:
            reason = valid(DeclineIn, request.data)["reason"]
            referral = services.referral_decline(referral=referral, reason=reason, by=actor)
        return Response(referral_out(referral))


class SuggestionsView(APIView):
    """Ranked nurses for a referral (*forslag*), best first."""

    permission_classes = [COORDINATOR]

    def get(self, request: Request, pk: int) -> Response:
        referral = selectors.referral_get(actor=actor_of(request), referral_id=pk)
        ranked = services.dispatch_rank(referral=referral)
        return Response(
            {
                "referral": referral.pk,
                "deadline_at": referral.deadline_at,
                # On hold, an assignment needs ``hold_override_reason`` (R12).
                "on_hold": hold_out(referral),
                "results": [
                    {
                        "rank": index + 1,
                        "shift": s.shift_id,
                        "nurse": {"id": s.nurse_id, "name": s.name},
                        "status": s.status,
                        "travel_minutes": s.travel_minutes,
                        "travel_km": s.travel_km,
                        "estimated_arrival_at": s.estimated_arrival_at,
                        "slack_minutes": s.slack_minutes,
                        "meets_deadline": s.meets_deadline,
                        "load": s.load,
                        "max_load": s.max_load,
                        "continuity": s.continuity,
                    }
                    for index, s in enumerate(ranked)
                ],
            }
        )


class HoldOverrideIn(serializers.Serializer[Any]):
    # Absent: an ordinary assignment, refused while the referral is on hold for
    # a hospital admission. Given: the coordinator's reason for sending a nurse
    # anyway (R12); the service refuses a blank one with its own code.
    hold_override_reason = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False
    )


class AssignIn(HoldOverrideIn):
    shift = serializers.IntegerField(min_value=1)
    replacing_visit = serializers.IntegerField(min_value=1, required=False)


class AssignView(APIView):
    """Assign (or with ``replacing_visit``, reassign) a nurse from the list; with
    ``hold_override_reason`` also to a referral on hold for a hospital admission (R12)."""

    permission_classes = [COORDINATOR]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(AssignIn, request.data)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        shift = NurseShift.objects.filter(pk=data["shift"]).first()
        if shift is None:
            raise NotFoundOrNotAllowed("shift.not_found", "No such shift.", field="shift")
        replacing = None
        if "replacing_visit" in data:
            replacing = Visit.objects.filter(pk=data["replacing_visit"], referral=referral).first()
            if replacing is None:
                raise NotFoundOrNotAllowed(
                    "visit.not_found", "No such visit on this referral.", field="replacing_visit"
                )
        visit = services.visit_assign(
            referral=referral,
            shift=shift,
            by=actor,
            replacing=replacing,
            hold_override_reason=data.get("hold_override_reason"),
        )
        return Response(visit_out(visit), status=201)


# --- visits ------------------------------------------------------------------


class VisitListView(APIView):
    """The nurse's own unfinished visits, for her tablet."""

    permission_classes = [NURSE]

    def get(self, request: Request) -> Response:
        rows = selectors.nurse_visits(actor=actor_of(request))
        return Response(
            {"results": [{**visit_out(v), "citizen": citizen_summary(v.citizen)} for v in rows]}
        )


class VisitDetailView(APIView):
    permission_classes = [CLINICAL_READERS]

    def get(self, request: Request, pk: int) -> Response:
        visit = selectors.visit_get(actor=actor_of(request), visit_id=pk)
        return Response({**visit_out(visit), "citizen": citizen_summary(visit.citizen)})


class CompleteIn(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    assessment = serializers.CharField(allow_blank=True, default="")
    note = serializers.CharField(allow_blank=True, default="")
    close_episode = serializers.BooleanField(default=True)


class VisitStepView(APIView):
    """The nurse moves her visit on: ``accept``, ``decline``, ``en-route``,
    ``on-site``, ``complete``."""

    permission_classes = [NURSE]
    step = ""

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        if self.step == "accept":
            visit = services.visit_accept(visit=visit, by=actor)
        elif self.step == "decline":
            reason = valid(DeclineIn, request.data)["reason"]
            visit = services.visit_decline(visit=visit, reason=reason, by=actor)
        elif self.step == "en-route":
            visit = services.visit_set_off(visit=visit, by=actor)
        elif self.step == "on-site":
            visit = services.visit_arrive(visit=visit, by=actor)
        else:
            data = valid(CompleteIn, request.data)
            visit = services.visit_complete(visit=visit, **data, by=actor)
        return Response(visit_out(visit))


class WithdrawView(APIView):
    permission_classes = [COORDINATOR]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        note = valid(DeclineIn, request.data)["reason"]
        return Response(visit_out(services.visit_withdraw(visit=visit, note=note, by=actor)))


class NoteIn(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["assessment", "note"], default="note")
    text = serializers.CharField(allow_blank=True, max_length=10000)


class VisitNoteView(APIView):
    permission_classes = [NURSE]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(NoteIn, request.data)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        note = services.visit_note_add(visit=visit, kind=data["kind"], text=data["text"], by=actor)
        return Response(
            {"id": note.pk, "kind": note.kind, "text": note.text, "written_at": note.written_at},
            status=201,
        )


class MeasurementIn(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=VitalSign.Code.choices)
    value = serializers.DecimalField(max_digits=6, decimal_places=1)


class VitalSignsIn(serializers.Serializer[Any]):
    measurements = MeasurementIn(many=True, allow_empty=False, max_length=20)  # type: ignore[call-arg]
    measured_at = serializers.DateTimeField(required=False)


class VitalSignsView(APIView):
    """``POST``: the nurse records vital signs. ``GET``: them as FHIR Observations."""

    permission_classes = [per_method(GET=CLINICAL_READERS, POST=NURSE)]

    def get(self, request: Request, pk: int) -> Response:
        visit = selectors.visit_get(actor=actor_of(request), visit_id=pk)
        return Response(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {"resource": observation_resource(s, citizen_id=visit.citizen_id)}
                    for s in visit.vital_signs.all()
                ],
            }
        )

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(VitalSignsIn, request.data)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        created = services.vital_signs_record(
            visit=visit,
            measurements=[(m["code"], m["value"]) for m in data["measurements"]],
            measured_at=data.get("measured_at"),
            by=actor,
        )
        return Response(
            {"results": [observation_resource(s, citizen_id=visit.citizen_id) for s in created]},
            status=201,
        )


# --- episodes ----------------------------------------------------------------


class FollowUpIn(HoldOverrideIn):
    shift = serializers.IntegerField(min_value=1)
    planned_for = serializers.DateTimeField()


class FollowUpView(APIView):
    permission_classes = [COORDINATOR]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(FollowUpIn, request.data)
        episode = selectors.episode_get(actor=actor, episode_id=pk, action=Action.UPDATE)
        shift = NurseShift.objects.filter(pk=data["shift"]).first()
        if shift is None:
            raise NotFoundOrNotAllowed("shift.not_found", "No such shift.", field="shift")
        visit = services.visit_plan_follow_up(
            episode=episode,
            shift=shift,
            planned_for=data["planned_for"],
            by=actor,
            hold_override_reason=data.get("hold_override_reason"),
        )
        return Response(visit_out(visit), status=201)


class EpisodeCompleteIn(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    note = serializers.CharField(allow_blank=True, default="")


class EpisodeCompleteView(APIView):
    """The coordinator closes an episode (e.g. after a follow-up, or the citizen declined)."""

    permission_classes = [COORDINATOR]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(EpisodeCompleteIn, request.data)
        episode = selectors.episode_get(actor=actor, episode_id=pk, action=Action.UPDATE)
        episode = services.episode_complete(episode=episode, **data, by=actor)
        return Response({"id": episode.pk, "status": episode.status, "outcome": episode.outcome})


# --- shifts ------------------------------------------------------------------


class ShiftIn(serializers.Serializer[Any]):
    nurse = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=NurseShift.Kind.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    skills = serializers.ListField(child=serializers.ChoiceField(choices=Skill.choices))
    max_load = serializers.IntegerField(min_value=1, max_value=10, default=3)
    base_name = serializers.CharField(max_length=100)
    base_latitude = serializers.FloatField(min_value=-90, max_value=90)
    base_longitude = serializers.FloatField(min_value=-180, max_value=180)


class ShiftListView(APIView):
    """``GET``: nurses on shift now with their load. ``POST``: put a nurse on the rota."""

    permission_classes = [COORDINATOR]

    def get(self, request: Request) -> Response:
        shifts = selectors.shifts_on().annotate(
            load=Count("visits", filter=Q(visits__status__in=Visit.ACTIVE_STATUSES))
        )
        return Response({"results": [shift_out(s, s.load) for s in shifts]})

    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(ShiftIn, request.data)
        nurse = User.objects.filter(pk=data.pop("nurse")).first()
        if nurse is None or actor.organisation is None:
            raise NotFoundOrNotAllowed("shift.nurse_unknown", "No such nurse.", field="nurse")
        shift = services.shift_create(
            nurse=nurse, acute_function=actor.organisation, **data, by=actor
        )
        return Response(shift_out(shift, 0), status=201)


class ShiftStatusIn(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=NurseShift.Status.choices)


class PositionIn(serializers.Serializer[Any]):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


class ShiftStatusView(APIView):
    """The nurse sets her status; the coordinator may too."""

    permission_classes = [roles(Role.ACUTE_NURSE, Role.COORDINATOR)]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        shift = NurseShift.objects.select_related("nurse").filter(pk=pk).first()
        if shift is None:
            raise NotFoundOrNotAllowed()
        status = valid(ShiftStatusIn, request.data)["status"]
        return Response(shift_out(services.shift_status_set(shift=shift, status=status, by=actor)))


class ShiftPositionView(APIView):
    """The tablet reports the nurse's position."""

    permission_classes = [NURSE]

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        shift = NurseShift.objects.select_related("nurse").filter(pk=pk).first()
        if shift is None:
            raise NotFoundOrNotAllowed()
        data = valid(PositionIn, request.data)
        shift = services.shift_position_report(shift=shift, by=actor, **data)
        return Response(shift_out(shift))


# --- deadline warnings and figures -------------------------------------------


class WarningListView(APIView):
    permission_classes = [COORDINATOR]

    def get(self, request: Request) -> Response:
        return Response(
            {
                "results": [
                    {
                        "id": w.pk,
                        "kind": w.kind,
                        "referral": w.referral_id,
                        "urgency": w.referral.urgency,
                        "deadline_at": w.referral.deadline_at,
                        "raised_at": w.raised_at,
                        "detail": w.detail,
                    }
                    for w in selectors.warnings_open()[:200]
                ]
            }
        )


class WarningAcknowledgeView(APIView):
    permission_classes = [COORDINATOR]

    def post(self, request: Request, pk: int) -> Response:
        warning = DeadlineWarning.objects.filter(pk=pk).first()
        if warning is None:
            raise NotFoundOrNotAllowed()
        warning = services.warning_acknowledge(warning=warning, by=actor_of(request))
        return Response({"id": warning.pk, "acknowledged_at": warning.acknowledged_at})


class FiguresIn(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    period = serializers.ChoiceField(choices=["day", "month"], default="day")
    output = serializers.ChoiceField(choices=["json", "csv"], default="json")


class FiguresView(APIView):
    """The trial's follow-up figures (aggregates only), as JSON or CSV
    (``?output=csv``). Coordinators and analysts."""

    permission_classes = [FIGURE_READERS]

    def get(self, request: Request) -> Response | HttpResponse:
        data = valid(FiguresIn, request.query_params)
        rows = selectors.figures(start=data["start"], end=data["end"], period=data["period"])
        if data["output"] == "csv":
            response = HttpResponse(selectors.figures_csv(rows), content_type="text/csv")
            response["Content-Disposition"] = (
                f'attachment; filename="acute-figures-{data["start"]}-{data["end"]}.csv"'
            )
            return response
        return Response({"period": data["period"], "results": rows})
