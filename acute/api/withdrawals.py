"""``POST /api/acute/referrals/<id>/withdraw``: the coordinator withdraws one
referral, most often on the referrer's call (``acute.services.referral_withdraw``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from acute import services
from acute.api.output import ReferralOut
from acute.api.referrals import ReferralChangeView
from acute.models import Referral
from core.actors import Actor


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


@extend_schema_view(
    post=extend_schema(
        operation_id="acute_referrals_withdraw", request=WithdrawIn, responses={200: ReferralOut}
    )
)
class ReferralWithdrawView(ReferralChangeView):
    """Withdraw a referral before a nurse has seen the citizen on it: its visit
    not yet at the door is called back, and an episode left with nothing to do
    ends as ``referral_lapsed``."""

    body = WithdrawIn

    def change(self, *, referral: Referral, data: dict[str, Any], actor: Actor) -> Referral:
        return services.referral_withdraw(
            referral=referral, reason=data["reason"], note=data["note"], actor=actor
        )
