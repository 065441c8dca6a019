"""Referrals in the JSON API: the coordinator's board and new referrals
(``referral_intake``), triage, ranked suggestions and assigning a nurse."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.api.output import HoldOut, ReferralOut, VisitOut, hold_out, referral_out, visit_out
from acute.api.roles import CLINICAL_READERS, COORDINATOR, REFERRERS, per_method
from acute.awaiting import answer_awaited_mark
from acute.models import NurseShift, Referral, Skill, Urgency, Visit
from acute.occurrence import occurrence_period
from consent.audit.services import Action
from core.actors import Actor
from core.api import actor_of, valid
from core.created import Creates
from core.errors import NotFoundOrNotAllowed
from core.openapi import Reference, results_of
from core.refusals import Concerns
from core.times import InstantField


# The fields are checked by the service, with the same codes as on the pages
# and FHIR, and a refusal audited (R9); the schema documents what the CPR
# number, the urgency and the skills take.
@extend_schema_field({"type": "string", "pattern": "^[0-9]{6}-?[0-9]{4}$"})
class CprField(serializers.CharField):
    """A CPR number as a person types it: spaces (``010190 1234``) are
    dropped here as the phone and short forms drop them, so every typed door
    takes the same number; the service judges what is left."""

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data)).replace(" ", "")


@extend_schema_field(serializers.ChoiceField(choices=Urgency.choices))
class UrgencyField(serializers.CharField):
    pass


@extend_schema_field(serializers.ChoiceField(choices=Skill.choices))
class SkillField(serializers.CharField):
    pass


class ReferralIn(serializers.Serializer[Any]):
    citizen_id = serializers.IntegerField(required=False, min_value=1)
    cpr = CprField(required=False, allow_blank=True)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Referral.Source.choices, required=False
    )
    referrer_name = serializers.CharField(required=False, allow_blank=True)
    referrer_phone = serializers.CharField(allow_blank=True, default="")
    reason = serializers.CharField(allow_blank=True, default="")
    clinical_picture = serializers.CharField(allow_blank=True, default="")
    requested_actions = serializers.CharField(allow_blank=True, default="")
    # Missing or blank: ``400 referral.urgency_required`` from the service, as
    # on every door (R10).
    urgency = UrgencyField(allow_blank=True, default="")
    responsible_physician_name = serializers.CharField(allow_blank=True, default="")
    responsible_physician_phone = serializers.CharField(allow_blank=True, default="")
    required_skills = serializers.ListField(child=SkillField(), default=list, max_length=10)
    external_id = serializers.CharField(allow_blank=True, default="")
    # When the referrer asks the citizen to be seen (*ønsket tidspunkt*): the
    # FHIR door's occurrencePeriod, judged by the same rule and codes.
    requested_start = InstantField(
        required=False,
        help_text="Start of the requested period (ISO 8601 with its UTC offset). A start"
        " to come makes a planned visit: no nurse is sent before one hour ahead of it.",
    )
    requested_end = InstantField(
        required=False,
        help_text="End of the requested period (ISO 8601 with its UTC offset): the latest"
        " the citizen is to be seen by, when sooner than the urgency's deadline or planned.",
    )


# What the API's requested period is called in a refusal.
REQUESTED_PERIOD_FIELDS = {
    "occurrencePeriod": "requested_start",
    "occurrencePeriod.start": "requested_start",
    "occurrencePeriod.end": "requested_end",
}


class ReferralReceiptOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    episode = serializers.IntegerField()
    citizen = serializers.IntegerField()
    source = serializers.ChoiceField(choices=Referral.Source.choices)  # type: ignore[assignment]
    channel = serializers.ChoiceField(choices=Referral.Channel.choices)
    urgency = UrgencyField()
    deadline_at = serializers.DateTimeField()
    planned_for = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=Referral.Status.choices)


class ReferralListView(APIView):
    """``GET``: the coordinator board. ``POST``: a new referral — the coordinator
    types in a phone referral; a GP, 1813/hospital physician or home nurse uses
    the short form."""

    permission_classes = [per_method(GET=COORDINATOR, POST=REFERRERS)]
    # A role refused a new referral is recorded on the citizen it names (R9).
    concerns = Concerns("ServiceRequest", body="citizen_id", cpr="cpr")
    creates = Creates("acute-referral")

    @extend_schema(
        operation_id="acute_referrals_board",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=[str(s) for s in selectors.BOARD_STATUSES],
                required=False,
                description="The board shows referrals received or accepted, both when"
                " left out; another status is refused (400 board.status_invalid).",
            )
        ],
        responses={200: results_of("ReferralBoard", ReferralOut)},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.referral_board(
            actor=actor_of(request), status=request.query_params.get("status", "")
        )
        answer_awaited_mark(rows)  # one query for the whole list, as on the board
        return Response({"results": [referral_out(r) for r in rows]})

    @extend_schema(
        operation_id="acute_referrals_create",
        request=ReferralIn,
        responses={201: ReferralReceiptOut},
        description="Name the citizen by `citizen_id` or `cpr` (in the body, never the URL)."
        " An optional `requested_start`/`requested_end` says when the citizen is to be"
        " seen; a start to come is a planned visit (`planned_for`).",
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = valid(ReferralIn, request.data)
        occurrence = occurrence_period(
            data.pop("requested_start", None),
            data.pop("requested_end", None),
            fields=REQUESTED_PERIOD_FIELDS,
        )
        referral = services.referral_intake(actor=actor, occurrence=occurrence, **data)
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
                "planned_for": referral.planned_for,
                "status": referral.status,
            },
            status=201,
        )


class ReferralDetailView(APIView):
    permission_classes = [CLINICAL_READERS]
    concerns = Concerns("ServiceRequest", Referral, path="pk")

    @extend_schema(operation_id="acute_referrals_read", responses={200: ReferralOut})
    def get(self, request: Request, pk: int) -> Response:
        referral = selectors.referral_get(actor=actor_of(request), referral_id=pk)
        answer_awaited_mark([referral])
        return Response(referral_out(referral))


class DeclineIn(serializers.Serializer[Any]):
    reason = serializers.CharField(allow_blank=True, default="")


class ReferralTriageView(APIView):
    """``POST .../accept`` or ``.../decline`` with ``{"reason"}``."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("ServiceRequest", Referral, path="pk")
    decision = ""

    def request_schema(self) -> type[serializers.Serializer[Any]] | None:
        return DeclineIn if self.decision == "decline" else None

    def schema_operation_id(self) -> str:
        return f"acute_referrals_{self.decision}"

    @extend_schema(responses={200: ReferralOut})
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        if self.decision == "accept":
            referral = services.referral_accept(referral=referral, actor=actor)
        else:
            reason = valid(DeclineIn, request.data)["reason"]
            referral = services.referral_decline(referral=referral, reason=reason, actor=actor)
        return Response(referral_out(referral))


class ReferralChangeView(APIView):
    """The coordinator changes one referral with a body (``POST
    .../referrals/<id>/<change>``): the body checked by ``body``, the referral
    reached through the gate for an update, changed by ``change`` (the same
    service as on the page), and answered as it now is. A subclass names its
    operation with ``extend_schema_view``."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("ServiceRequest", Referral, path="pk")
    body: type[serializers.Serializer[Any]]

    def change(self, *, referral: Referral, data: dict[str, Any], actor: Actor) -> Referral:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(self.body, request.data)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        return Response(referral_out(self.change(referral=referral, data=data, actor=actor)))


class SuggestionOut(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    shift = serializers.IntegerField()
    nurse = Reference()
    status = serializers.CharField()
    travel_minutes = serializers.FloatField()
    travel_km = serializers.FloatField()
    estimated_arrival_at = serializers.DateTimeField()
    slack_minutes = serializers.FloatField()
    meets_deadline = serializers.BooleanField()
    load = serializers.IntegerField()
    max_load = serializers.IntegerField()
    continuity = serializers.BooleanField()


class SuggestionsView(APIView):
    """Ranked nurses for a referral (*forslag*), best first."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("ServiceRequest", Referral, path="pk")

    @extend_schema(
        operation_id="acute_referrals_suggestions",
        responses={
            200: results_of(
                "Suggestions",
                SuggestionOut,
                referral=serializers.IntegerField(),
                deadline_at=serializers.DateTimeField(),
                on_hold=HoldOut(allow_null=True),
            )
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        referral = selectors.referral_get(actor=actor_of(request), referral_id=pk)
        ranked = selectors.dispatch_rank(referral=referral)
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
    # True: the coordinator confirms a second nurse for a citizen another nurse
    # is already going to (otherwise ``409 episode.nurse_already_going``).
    also = serializers.BooleanField(default=False)


def shift_named(shift_id: int) -> NurseShift:
    """The shift a coordinator names for a visit (staff data, no gate)."""
    shift = NurseShift.objects.filter(pk=shift_id).first()
    if shift is None:
        raise NotFoundOrNotAllowed("shift.not_found", "No such shift.", field="shift")
    return shift


class AssignView(APIView):
    """Assign (or with ``replacing_visit``, reassign) a nurse from the list; with
    ``hold_override_reason`` also to a referral on hold for a hospital admission (R12)."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("ServiceRequest", Referral, path="pk")
    creates = Creates("acute-visit")

    @extend_schema(
        operation_id="acute_referrals_assign", request=AssignIn, responses={201: VisitOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(AssignIn, request.data)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        shift = shift_named(data["shift"])
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
            actor=actor,
            replacing=replacing,
            hold_override_reason=data.get("hold_override_reason"),
            also=data["also"],
        )
        return Response(visit_out(visit), status=201)
