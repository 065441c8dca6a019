"""The coordinator changes an accepted referral's urgency after phoning the
citizen back (re-triage, R10): ``POST /api/acute/referrals/<id>/urgency``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from acute import services
from acute.api.output import ReferralOut
from acute.api.referrals import ReferralChangeView, UrgencyField
from acute.models import Referral
from core.actors import Actor


class UrgencyIn(serializers.Serializer[Any]):
    # Blank or missing: ``400 referral.urgency_required``; another value:
    # ``400 referral.urgency_unknown``, from the service as on every door.
    urgency = UrgencyField(allow_blank=True, default="")
    # Why the urgency changes (what the citizen said on the phone); required.
    reason = serializers.CharField(allow_blank=True, default="")


@extend_schema_view(
    post=extend_schema(
        operation_id="acute_referrals_urgency", request=UrgencyIn, responses={200: ReferralOut}
    )
)
class ReferralUrgencyView(ReferralChangeView):
    """Change an accepted referral's urgency, up or down, with a reason. The
    deadline is the new urgency's counted from now (a more urgent class never
    moves it later, a less urgent one never sooner); the referrer's urgency
    stays in the audit history."""

    body = UrgencyIn

    def change(self, *, referral: Referral, data: dict[str, Any], actor: Actor) -> Referral:
        return services.referral_retriage(
            referral=referral, urgency=data["urgency"], reason=data["reason"], actor=actor
        )
