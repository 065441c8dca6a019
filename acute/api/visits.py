"""Visits and episodes in the JSON API: the nurse's own visits and their steps,
notes and vital signs; the coordinator's withdrawal, follow-ups and the end of
an episode."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.api.output import VisitOut, VisitWithCitizenOut, citizen_summary, visit_out
from acute.api.referrals import DeclineIn, HoldOverrideIn, shift_named
from acute.api.roles import CLINICAL_READERS, COORDINATOR, NURSE, per_method
from acute.fhir import observation_resource
from acute.models import Episode, Outcome, Visit, VisitNote, VitalSign
from acute.services.documentation import VITAL_SIGN_DECIMAL_COMMA, VITAL_SIGN_VALUE
from consent.audit.services import Action, Purpose
from consent.services.denied import audit_denied
from core.actors import Actor
from core.api import BoundedDecimalField, actor_of, valid
from core.created import Creates
from core.errors import PlatformError
from core.openapi import FhirResource, results_of
from core.refusals import Concerns
from core.times import InstantField


class VisitListView(APIView):
    """The nurse's own unfinished visits, for her tablet."""

    permission_classes = [NURSE]
    # Another role refused here is recorded (R9): the list names citizens.
    concerns = Concerns("Encounter", action="search")

    @extend_schema(
        operation_id="acute_visits_mine",
        responses={200: results_of("MyVisits", VisitWithCitizenOut)},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.nurse_visits(actor=actor_of(request))
        return Response(
            {"results": [{**visit_out(v), "citizen": citizen_summary(v.citizen)} for v in rows]}
        )


class VisitDetailView(APIView):
    permission_classes = [CLINICAL_READERS]
    concerns = Concerns("Encounter", Visit, path="pk")

    @extend_schema(operation_id="acute_visits_read", responses={200: VisitWithCitizenOut})
    def get(self, request: Request, pk: int) -> Response:
        visit = selectors.visit_get(actor=actor_of(request), visit_id=pk)
        return Response({**visit_out(visit), "citizen": citizen_summary(visit.citizen)})


def step_at() -> InstantField:
    """A step's optional ``at``: when she took it, for a step her tablet sends
    later. Judged by the rule of the tablet's offline queue on the pages
    (``acute.services.step_time``), with the same codes."""
    return InstantField(
        required=False,
        help_text=(
            "When she took the step, by the tablet's clock, for a step sent later (kept"
            " offline): ISO 8601 with its offset from UTC (time.naive without one)."
            " Recorded as given, never moved: refused more than five minutes ahead of"
            " the server's clock (offline.time_in_future), more than a day back"
            " (offline.time_too_old) or before the visit's previous step"
            " (visit.step_out_of_order). Without it the step is taken now."
        ),
    )


class StepIn(serializers.Serializer[Any]):
    at = step_at()


class CompleteIn(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    assessment = serializers.CharField(allow_blank=True, default="")
    note = serializers.CharField(allow_blank=True, default="")
    close_episode = serializers.BooleanField(default=True)
    at = step_at()


# Each step of the API by the name its audit entry gives it.
STEP_RECORDED_AS = {
    "accept": "accepted",
    "decline": "declined",
    "en-route": "en_route",
    "on-site": "on_site",
    "complete": "completed",
}


class VisitStepView(APIView):
    """The nurse moves her visit on: ``accept``, ``decline``, ``en-route``,
    ``on-site``, ``complete``. Each but ``decline`` (online only, as on the
    tablet's page) takes ``at``, the time she took it, when her tablet sends
    it later."""

    permission_classes = [NURSE]
    concerns = Concerns("Encounter", Visit, path="pk")
    step = ""

    def request_schema(self) -> type[serializers.Serializer[Any]]:
        return {"decline": DeclineIn, "complete": CompleteIn}.get(self.step, StepIn)

    def schema_operation_id(self) -> str:
        return "acute_visits_" + self.step.replace("-", "_")

    def _input(self, request: Request, actor: Actor, visit: Visit) -> dict[str, Any]:
        """The step's body read; a refused one (a time that is no time, or
        says no offset) is a denied attempt on the citizen (R9), as a time
        her tablet's page sends unreadable is."""
        try:
            return valid(self.request_schema(), request.data)
        except (PlatformError, serializers.ValidationError) as refused:
            audit_denied(
                actor=actor,
                action=Action.UPDATE,
                purpose=Purpose.TREATMENT,
                reason_code=refused.code
                if isinstance(refused, PlatformError)
                else "request.invalid",
                citizen_id=visit.citizen_id,
                resource_type="Encounter",
                resource_id=f"visit-{visit.pk}",
                detail={"step": STEP_RECORDED_AS[self.step]},
            )
            raise

    @extend_schema(responses={200: VisitOut})
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        data = self._input(request, actor, visit)
        if self.step == "accept":
            visit = services.visit_accept(visit=visit, actor=actor, at=data.get("at"))
        elif self.step == "decline":
            visit = services.visit_decline(visit=visit, reason=data["reason"], actor=actor)
        elif self.step == "en-route":
            visit = services.visit_set_off(visit=visit, actor=actor, at=data.get("at"))
        elif self.step == "on-site":
            visit = services.visit_arrive(visit=visit, actor=actor, at=data.get("at"))
        else:
            visit = services.visit_complete(visit=visit, **data, actor=actor)
        return Response(visit_out(visit))


class WithdrawView(APIView):
    permission_classes = [COORDINATOR]
    concerns = Concerns("Encounter", Visit, path="pk")

    @extend_schema(
        operation_id="acute_visits_withdraw", request=DeclineIn, responses={200: VisitOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        note = valid(DeclineIn, request.data)["reason"]
        return Response(visit_out(services.visit_withdraw(visit=visit, note=note, actor=actor)))


def tablet_time(what: str) -> InstantField:
    """An optional clinical time her tablet gives, for an entry it sends
    later: judged by the rule of every door (``acute.services.tablet_time_judged``),
    with the codes of the tablet's offline queue on the pages."""
    return InstantField(
        required=False,
        help_text=(
            f"When {what}, by the tablet's clock, for an entry sent later (kept offline):"
            " ISO 8601 with its offset from UTC (time.naive without one). Recorded as"
            " given, never moved: refused more than five minutes ahead of the server's"
            " clock (offline.time_in_future) or more than a day back"
            " (offline.time_too_old). Without it, now."
        ),
    )


class NoteIn(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=VisitNote.Kind.choices, default=VisitNote.Kind.NOTE)
    text = serializers.CharField(allow_blank=True, max_length=10000)
    written_at = tablet_time("she wrote the note")


class NoteOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=VisitNote.Kind.choices)
    text = serializers.CharField(allow_blank=True)
    written_at = serializers.DateTimeField()


class VisitNoteView(APIView):
    permission_classes = [NURSE]
    concerns = Concerns("Encounter", Visit, path="pk")
    creates = Creates(None)

    @extend_schema(operation_id="acute_visits_note_add", request=NoteIn, responses={201: NoteOut})
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(NoteIn, request.data)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        note = services.visit_note_add(
            visit=visit,
            kind=data["kind"],
            text=data["text"],
            written_at=data.get("written_at"),
            actor=actor,
        )
        return Response(
            {"id": note.pk, "kind": note.kind, "text": note.text, "written_at": note.written_at},
            status=201,
        )


class MeasurementIn(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=VitalSign.Code.choices)
    value = BoundedDecimalField(
        VITAL_SIGN_VALUE,
        code="vital_signs.value_invalid",
        decimal_comma=VITAL_SIGN_DECIMAL_COMMA,
        parsed_by_service=True,
    )


class VitalSignsIn(serializers.Serializer[Any]):
    measurements = MeasurementIn(many=True, allow_empty=False, max_length=20)  # type: ignore[call-arg]
    measured_at = tablet_time("she measured them")


class VitalSignsView(APIView):
    """``POST``: the nurse records vital signs. ``GET``: them as FHIR Observations."""

    permission_classes = [per_method(GET=CLINICAL_READERS, POST=NURSE)]
    concerns = Concerns("Observation", Visit, path="pk")
    creates = Creates(None)

    @extend_schema(
        operation_id="acute_visits_vital_signs_read",
        responses={200: FhirResource},
        description="A FHIR Bundle (type `collection`) of the visit's vital-sign Observations.",
    )
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

    @extend_schema(
        operation_id="acute_visits_vital_signs_record",
        request=VitalSignsIn,
        responses={201: results_of("RecordedVitalSigns", FhirResource)},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(VitalSignsIn, request.data)
        visit = selectors.visit_get(actor=actor, visit_id=pk, action=Action.UPDATE)
        created = services.vital_signs_record(
            visit=visit,
            measurements=[(m["code"], m["value"]) for m in data["measurements"]],
            measured_at=data.get("measured_at"),
            actor=actor,
        )
        return Response(
            {"results": [observation_resource(s, citizen_id=visit.citizen_id) for s in created]},
            status=201,
        )


class FollowUpIn(HoldOverrideIn):
    shift = serializers.IntegerField(min_value=1)
    planned_for = InstantField()


class FollowUpView(APIView):
    permission_classes = [COORDINATOR]
    concerns = Concerns("EpisodeOfCare", Episode, path="pk")
    creates = Creates("acute-visit")

    @extend_schema(
        operation_id="acute_episodes_follow_up_plan", request=FollowUpIn, responses={201: VisitOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(FollowUpIn, request.data)
        episode = selectors.episode_get(actor=actor, episode_id=pk, action=Action.UPDATE)
        shift = shift_named(data["shift"])
        visit = services.visit_plan_follow_up(
            episode=episode,
            shift=shift,
            planned_for=data["planned_for"],
            actor=actor,
            hold_override_reason=data.get("hold_override_reason"),
        )
        return Response(visit_out(visit), status=201)


class EpisodeCompleteIn(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    note = serializers.CharField(allow_blank=True, default="")


class EpisodeOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Episode.Status.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True)


class EpisodeCompleteView(APIView):
    """The coordinator closes an episode (e.g. after a follow-up, or the citizen declined)."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("EpisodeOfCare", Episode, path="pk")

    @extend_schema(
        operation_id="acute_episodes_complete",
        request=EpisodeCompleteIn,
        responses={200: EpisodeOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(EpisodeCompleteIn, request.data)
        # Ending it is a step on the episode, not a read of the record: the
        # citizen's refusal does not keep it open (docs/decisions/0029).
        episode = selectors.episode_get(
            actor=actor, episode_id=pk, action=Action.UPDATE, ending=True
        )
        episode = services.episode_complete(episode=episode, **data, actor=actor)
        return Response({"id": episode.pk, "status": episode.status, "outcome": episode.outcome})
