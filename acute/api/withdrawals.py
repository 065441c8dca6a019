"""``POST /api/acute/referrals/<id>/withdraw``: the coordinator withdraws one
referral, most often on the referrer's call (``acute.services.referral_withdraw``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from acute import selectors, services
from acute.api.output import ReferralOut, referral_out
from acute.api.roles import COORDINATOR
from acute.models import Referral
from consent.audit.services import Action
from core.api import actor_of, valid
from core.refusals import Concerns


class WithdrawIn(serializers.Serializer[Any]):
    # Checked by the service, with the same codes as on the page, and the
    # refusal audited (R9).
    reason = serializers.CharField(
        allow_blank=True,
        default="",
        help_text="Why: one of " + ", ".join(Referral.WithdrawReason.values) + ".",
    )
    note = serializers.CharField(
        allow_blank=True,
        default="",
        help_text="Required with reason other; at most 4,000 characters. Goes to the"
        " referrer with the outcome when the episode lapses.",
    )


class ReferralWithdrawView(APIView):
    """Withdraw a referral before a nurse has seen the citizen on it: its visit
    not yet at the door is called back, and an episode left with nothing to do
    ends as ``referral_lapsed``."""

    permission_classes = [COORDINATOR]
    concerns = Concerns("ServiceRequest", Referral, path="pk")

    @extend_schema(
        operation_id="acute_referrals_withdraw", request=WithdrawIn, responses={200: ReferralOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        data = valid(WithdrawIn, request.data)
        referral = selectors.referral_get(actor=actor, referral_id=pk, action=Action.UPDATE)
        referral = services.referral_withdraw(
            referral=referral, reason=data["reason"], note=data["note"], actor=actor
        )
        return Response(referral_out(referral))
