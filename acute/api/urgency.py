"""The coordinator changes an accepted referral's urgency after phoning the
citizen back (re-triage, R10): ``POST /api/acute/referrals/<id>/urgency``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.api.output import ReferralOut, referral_out
from acute.api.referrals import UrgencyField
from acute.api.roles import COORDINATOR
from acute.models import Referral
from consent.audit.services import Action
from core.api import actor_of, valid
from core.refusals import Concerns


class UrgencyIn(serializers.Serializer[Any]):
    # Blank or missing: ``400 referral.urgency_required``; another value:
    # ``400 referral.urgency_unknown``, from the service as on every door.
    urgency = UrgencyField(allow_blank=True, default="")
    # Why the urgency changes (what the citizen said on the phone); required.
    reason = serializers.CharField(allow_blank=True, default="")


class ReferralUrgencyView(APIView):
    """Change an accepted referral's urgency, up or down, with a reason. The
    deadline is the new urgency's counted from now (a more urgent class never
    moves it later, a less urgent one never sooner); the referrer's urgency
    stays in the audit history."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("ServiceRequest", Referral, path="pk")

    @extend_schema(
        operation_id="acute_referrals_urgency", request=UrgencyIn, responses={200: ReferralOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(UrgencyIn, request.data)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        referral = services.referral_retriage(
            referral=referral, urgency=data["urgency"], reason=data["reason"], actor=actor
        )
        return Response(referral_out(referral))
