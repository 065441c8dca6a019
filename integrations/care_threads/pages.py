"""The reply form of a CareCommunication thread, on the coordinator's
referral page and the nurse's visit page (``integrations/_care_thread.html``),
and the coordinator's page of a partner's message without an open referral,
with its reply and "handled" (``integrations/care_thread.html``, decision 0031).

The thread is reached through its gate (:func:`.selectors.care_thread_access`);
the reply goes back to the page it was written on; a refused one comes
back as it was written, to be corrected (``integrations/care_thread_reply.html``).
The form carries the reference it was drawn with: sent twice (a double click, a reload) it is one
reply. A reply the citizen's refusal withholds (R4) is kept, and the person
is told it was not sent.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.audit.services import Action
from core.errors import Conflict, NotFoundOrNotAllowed, PlatformError
from core.form_once import form_refused, once_per_form
from core.middleware import not_allowed
from core.models import Role
from core.pages import page_actor, render_page
from core.permissions import page, serves
from core.refusals import Concerns
from core.validation import row_id_text
from integrations.care_threads.reply import care_thread_reply
from integrations.care_threads.unmatched import (
    care_thread_handled,
    care_thread_unmatched,
    care_thread_unmatched_audit,
    care_thread_unmatched_refused,
)
from integrations.models import PARTNER_INACTIVE, CareMessage, CareThread, OutboundMessage

# The form sent twice (a double click, a reload) is one reply: the second
# send is told the first came (``core.form_once``).
REPLY_ALREADY_RECEIVED = gettext_noop("This reply was already received.")


def _back_url(request: HttpRequest) -> str:
    """The page the form was on: a referral (coordinator) or a visit (nurse)."""
    on = str(request.POST.get("on", ""))
    kind, _sep, text = on.partition("-")
    # An id no row can have ("referral-0") names no page: the start page.
    pk = row_id_text(text)
    if pk is not None and kind == "referral":
        return reverse("referral-detail", kwargs={"referral_id": pk})
    if pk is not None and kind == "visit":
        return reverse("nurse-visit", kwargs={"visit_id": pk})
    if pk is not None and kind == "thread":
        return reverse("care-thread", kwargs={"thread_id": pk})
    return reverse("home")


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(_back_url(request))


@page(Role.COORDINATOR, concerns=Concerns("Communication", CareThread, path="thread_id"))
@serves("GET")
def care_thread_page(request: HttpRequest, thread_id: int) -> HttpResponse:
    """A partner's message no open referral shows, opened from the board:
    the thread, a reply in it, or "handled" (decision 0031). A thread an
    open referral shows is read there; this page is refused for it as for
    anything the coordinator may not see."""
    actor = page_actor(request)
    thread = care_thread_unmatched(actor=actor, thread_id=thread_id)
    if thread is None:
        care_thread_unmatched_refused(actor=actor, thread_id=thread_id, action=Action.READ)
        return not_allowed(request)
    care_thread_unmatched_audit(actor=actor, thread=thread, action=Action.READ)
    segments = list(thread.messages.select_related("outbound").order_by("written_at", "pk"))
    latest = max(segments, key=lambda segment: segment.pk, default=None)
    awaiting = (
        latest is not None
        and latest.direction == CareMessage.Direction.IN
        and (thread.handled_through_id is None or thread.handled_through_id < latest.pk)
    )
    return render_page(
        request,
        "integrations/care_thread.html",
        {
            "thread": thread,
            "citizen_name": f"{thread.citizen.given_name} {thread.citizen.family_name}",
            "segments": segments,
            "awaiting": awaiting,
        },
    )


@page(Role.COORDINATOR, concerns=Concerns("Communication", CareThread, path="thread_id"))
@serves("POST")
@once_per_form
def care_thread_handled_page(request: HttpRequest, thread_id: int) -> HttpResponse:
    """The coordinator has dealt with the partner's message another way (she
    phoned): it leaves the board until the partner writes again."""
    try:
        care_thread_handled(actor=page_actor(request), thread_id=thread_id)
    except NotFoundOrNotAllowed:
        return not_allowed(request)
    except Conflict:
        messages.info(request, _("The message has already been answered or marked handled."))
    else:
        messages.success(request, _("The message is marked handled and has left the board."))
    return redirect("coordinator-board")


@page(
    Role.ACUTE_NURSE,
    Role.COORDINATOR,
    concerns=Concerns("Communication", CareThread, path="thread_id"),
)
@serves("POST")
@once_per_form(notice=REPLY_ALREADY_RECEIVED)
def care_thread_reply_page(request: HttpRequest, thread_id: int) -> HttpResponse:
    actor = page_actor(request)
    try:
        segment = care_thread_reply(
            thread_id=thread_id, text=request.POST.get("text", ""), actor=actor
        )
    except NotFoundOrNotAllowed:
        return not_allowed(request)
    except PlatformError as exc:
        # Refused: the reply comes back as she wrote it, the refusal under
        # it, to be corrected and sent with the same form; the page it was
        # written on is a link away. A message there would lose her text.
        form_refused(request)
        return render_page(
            request,
            "integrations/care_thread_reply.html",
            {"thread_id": thread_id, "back": _back_url(request)},
            error=exc,
        )
    if segment.outbound is not None and segment.outbound.status == OutboundMessage.Status.WITHHELD:
        # R4: kept for the record, never silently dropped: the person knows.
        messages.warning(
            request,
            _("The reply is kept but not sent: the citizen has refused disclosure to %(partner)s.")
            % {"partner": segment.thread.partner.organisation.name},
        )
        return _back(request)
    if (
        segment.outbound is not None
        and segment.outbound.status == OutboundMessage.Status.FAILED
        and segment.outbound.last_error_code == PARTNER_INACTIVE
    ):
        # The partner is no longer one the platform sends to: kept for a person.
        messages.warning(
            request,
            _(
                "The reply is kept but not sent: %(partner)s is no longer an active partner. "
                "The list of hand-offs that need a person says why."
            )
            % {"partner": segment.thread.partner.organisation.name},
        )
        return _back(request)
    if segment.outbound is not None and segment.outbound.status == OutboundMessage.Status.FAILED:
        # Held back as it was written (it breaks MedCom's rules): never "sent".
        messages.warning(
            request,
            _(
                "The reply is kept but not sent: it could not be made into a valid message. "
                "The list of hand-offs that need a person says why."
            ),
        )
        return _back(request)
    # Saved and queued: the partner has it when its acknowledgement comes.
    messages.success(
        request,
        _("Reply saved: it is on its way to %(partner)s.")
        % {"partner": segment.thread.partner.organisation.name},
    )
    return _back(request)
