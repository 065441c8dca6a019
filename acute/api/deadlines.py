"""Deadline warnings (R10) for the coordinator, and the trial's follow-up
figures on deadlines met (aggregates only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.api.roles import COORDINATOR, FIGURE_READERS
from acute.models import DeadlineWarning, Outcome, Urgency
from core.api import actor_of, valid
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.logging import scrub
from core.openapi import results_of
from core.refusals import Concerns

FIGURES_CONCERN = Concerns(resource_type="Figures", purpose="operations", action="export")


class ReferrerToTellOut(serializers.Serializer[Any]):
    referrer_name = serializers.CharField()
    referrer_organisation = serializers.CharField(help_text="Empty when none is known.")
    referrer_phone = serializers.CharField(help_text="The call-back number.")
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    outcome_note = serializers.CharField(allow_blank=True)


class VisitWithdrawnOut(serializers.Serializer[Any]):
    visit = serializers.IntegerField()
    nurse_name = serializers.CharField(help_text="Empty when the nurse is no longer known.")
    nurse_phone = serializers.CharField(help_text="Empty when none is known.")


class WarningOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DeadlineWarning.Kind.choices)
    referral = serializers.IntegerField()
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    deadline_at = serializers.DateTimeField()
    raised_at = serializers.DateTimeField()
    detail = serializers.DictField()
    referrer_to_tell = ReferrerToTellOut(
        allow_null=True,
        help_text="R11, `referrer_untold` only: whom to phone with the episode's outcome"
        " (audited as a read of the citizen's data); `null` on every other warning.",
    )
    visit_withdrawn = VisitWithdrawnOut(
        allow_null=True,
        help_text="R12, `admitted` and `deceased` only: the visit the hospital's report"
        " withdrew from the referral and the nurse who was on it, to phone her;"
        " `null` otherwise.",
    )


class WarningAcknowledgedOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField()


class FigureRowOut(serializers.Serializer[Any]):
    period = serializers.CharField(help_text="`YYYY-MM-DD` or `YYYY-MM`.")
    figure = serializers.ChoiceField(
        choices=[
            "reached_within_deadline",
            "minutes_referral_to_arrival",
            "episode_outcome",
            "visits",
        ]
    )
    dimension = serializers.CharField()
    value = serializers.CharField()
    count = serializers.IntegerField(
        allow_null=True,
        help_text="For `reached_within_deadline`: the referrals whose deadline is decided"
        " (met, or missed), not those still under way (docs/dispatch.md). `null` where"
        " suppressed for an analyst.",
    )
    met = serializers.IntegerField(allow_null=True)
    share = serializers.FloatField(allow_null=True)
    mean_minutes = serializers.FloatField(required=False, allow_null=True)


class WarningListView(APIView):
    permission_classes = [COORDINATOR]
    # Another role refused here is recorded (R9): the warnings name citizens.
    concerns = Concerns("Flag", action="read")

    @extend_schema(
        operation_id="acute_warnings_open", responses={200: results_of("OpenWarnings", WarningOut)}
    )
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
                        "referrer_to_tell": getattr(w, "referrer_to_tell", None),
                        "visit_withdrawn": getattr(w, "visit_withdrawn", None),
                    }
                    for w in selectors.warnings_open(actor=actor_of(request), limit=200)
                ]
            }
        )


class WarningAcknowledgeView(APIView):
    permission_classes = [COORDINATOR]
    concerns = Concerns("Flag", DeadlineWarning, path="pk", citizen_field="referral__citizen_id")

    @extend_schema(
        operation_id="acute_warnings_acknowledge",
        request=None,
        responses={200: WarningAcknowledgedOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        warning = selectors.warning_of(actor=actor, pk=pk)
        if warning is None:
            raise NotFoundOrNotAllowed()
        warning = services.warning_acknowledge(warning=warning, actor=actor)
        return Response({"id": warning.pk, "acknowledged_at": warning.acknowledged_at})


class FiguresDateField(serializers.DateField):
    """A date of the figures read by the page's parser
    (:func:`acute.selectors.figures_date`): ``YYYY-MM-DD`` only."""

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        return selectors.figures_date(value, field=str(self.field_name))


class FiguresIn(serializers.Serializer[Any]):
    start = FiguresDateField()
    end = FiguresDateField()
    period = serializers.ChoiceField(choices=["day", "month"], default="day")
    output = serializers.ChoiceField(choices=["json", "csv"], default="json")


class FiguresView(APIView):
    """The trial's follow-up figures (aggregates only), as JSON or CSV
    (``?output=csv``). Coordinators get exact totals; analysts whole months
    that have ended, each as first released, with small counts suppressed
    (R6, docs/decisions/0035). Every release is audited."""

    permission_classes = [FIGURE_READERS]
    # Another role refused here is recorded (R6, R9): about no citizen.
    concerns = FIGURES_CONCERN

    def query_refused(self, request: Request, refused: InvalidInput) -> None:
        """A query the API's gate refuses is refused in the figures' words
        (as on their page) and recorded."""
        unknown = sorted(set(request.query_params) - {*FiguresIn().fields, "format"})
        if unknown:
            refused = InvalidInput(
                "figures.param_unknown",
                _("The figures take start, end, period and output."),
                field=scrub(unknown[0])[:30],
            )
        else:
            try:
                selectors.figures_params_once(dict(request.query_params.lists()))
            except InvalidInput as repeated:
                refused = repeated
        selectors.figures_refused(
            actor=actor_of(request), reason_code=refused.code, field=refused.field
        )
        raise refused

    @extend_schema(
        operation_id="acute_figures",
        parameters=[FiguresIn],
        responses={
            200: results_of(
                "Figures", FigureRowOut, period=serializers.ChoiceField(["day", "month"])
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="With `output=csv`."),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        actor = actor_of(request)
        try:
            data = valid(FiguresIn, request.query_params)
        except (PlatformError, ValidationError) as refused:
            selectors.figures_refused(
                actor=actor,
                reason_code=getattr(refused, "code", "") or "request.invalid",
                field=getattr(refused, "field", None),
            )
            raise
        rows = selectors.figures_release(
            actor=actor, start=data["start"], end=data["end"], period=data["period"]
        )
        if data["output"] == "csv":
            response = HttpResponse(selectors.figures_csv(rows), content_type="text/csv")
            response["Content-Disposition"] = (
                f'attachment; filename="acute-figures-{data["start"]}-{data["end"]}.csv"'
            )
            return response
        return Response({"period": data["period"], "results": rows})
