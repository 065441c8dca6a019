"""The reply form of a CareCommunication thread, on the coordinator's
referral page and the nurse's visit page (``integrations/_care_thread.html``).

The thread is reached through its gate (:func:`.selectors.care_thread_access`);
the reply goes back to the page it was written on.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consent.audit.services import Action
from core.errors import NotFoundOrNotAllowed, PlatformError
from core.messages import user_message
from core.middleware import not_allowed
from core.models import Role
from core.pages import page_actor
from core.permissions import page
from core.refusals import Concerns
from core.validation import row_id
from integrations.care_threads.reply import care_thread_reply
from integrations.care_threads.selectors import care_thread_access
from integrations.models import CareThread


def _back(request: HttpRequest) -> HttpResponse:
    """The page the form was on: a referral (coordinator) or a visit (nurse)."""
    on = str(request.POST.get("on", ""))
    kind, _sep, pk = on.partition("-")
    if kind == "referral":
        return redirect("referral-detail", referral_id=row_id(pk))
    if kind == "visit":
        return redirect("nurse-visit", visit_id=row_id(pk))
    return redirect("home")


@page(
    Role.ACUTE_NURSE,
    Role.COORDINATOR,
    concerns=Concerns("Communication", CareThread, path="thread_id"),
)
@require_POST
def care_thread_reply_page(request: HttpRequest, thread_id: int) -> HttpResponse:
    actor = page_actor(request)
    try:
        thread = care_thread_access(actor=actor, thread_id=thread_id, action=Action.CREATE)
        care_thread_reply(thread=thread, text=request.POST.get("text", ""), actor=actor)
    except NotFoundOrNotAllowed:
        return not_allowed(request)
    except PlatformError as exc:
        messages.error(request, user_message(exc))
        return _back(request)
    messages.success(request, _("Reply sent."))
    return _back(request)
