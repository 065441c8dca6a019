"""The coordinator withdraws a referral from its page (*træk henvisningen
tilbage*), with the same service as the API's
(``acute.services.referral_withdraw``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_noop

from acute import services
from acute.pages.referrals import REFERRAL, referral_change
from core.form_once import once_per_form
from core.models import Role
from core.permissions import page, serves

# What the coordinator is told: the nurse's tablet shows the visit withdrawn;
# what the referrer is owed, if anything, is on the board (R11).
REFERRAL_WITHDRAWN = gettext_noop(
    "Referral withdrawn. A nurse on it has been called back; an outcome that cannot be sent"
    " is shown on the board."
)


@page(Role.COORDINATOR, concerns=REFERRAL)
@serves("POST")
@once_per_form
def referral_withdraw(request: HttpRequest, referral_id: int) -> HttpResponse:
    """A nurse already on her way is called back only once the coordinator
    has ticked that she is (``confirm``): she may be minutes from the door."""
    return referral_change(
        request,
        referral_id,
        lambda referral, actor: services.referral_withdraw(
            referral=referral,
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
            call_back_confirmed=request.POST.get("confirm") == "1",
            actor=actor,
        ),
        done=REFERRAL_WITHDRAWN,
        # To the board: an episode that lapsed with it has ended the acute
        # function's access to the citizen (R1).
        then=redirect("coordinator-board"),
    )
