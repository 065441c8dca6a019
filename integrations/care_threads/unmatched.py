"""Messages from partners about citizens without an open referral
(*beskeder uden åbent forløb*): a CareCommunication the platform
acknowledged ``ok`` that no referral page shows — a new conversation about a
citizen with no referral, a home nursing's answer after the episode closed.

They are the acute function's correspondence, and a coordinator of the
function that serves the citizen's municipality sees them on her board
until someone replies in the thread or marks it handled; the partner's
next message puts it back. Without a care relationship the gate does not
open the citizen to her, so this module decides, as narrowly as that, and
audits every showing (R9) with reason ``care_thread_unmatched``. A citizen
whose refusal covers her (R4) is not named and her message not opened:
she sees from whom and when, to phone the partner.
See docs/decisions/0031-a-message-without-an-open-referral-is-the-boards.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from acute.models import Referral
from consent.audit.services import Action, Outcome, Purpose, audit_record, audit_record_many
from consent.gate.rules import active_directives, refusal_for
from consent.models import ConsentDirective
from core.actors import Actor
from core.errors import Conflict, NotFoundOrNotAllowed
from core.models import Role
from integrations.models import CareMessage, CareThread

# The reason every showing, opening, reply and mark is recorded with.
UNMATCHED = "care_thread_unmatched"
HANDLED = "care_thread_handled"
# A referral whose page shows its citizen's threads (received or accepted).
OPEN_STATUSES = (Referral.Status.RECEIVED, Referral.Status.ACCEPTED)
LIST_LIMIT = 100


@dataclass(frozen=True)
class Unmatched:
    """One thread on the list: shown with its citizen's name and topic, or,
    when the citizen's refusal covers the reader, only from whom and when."""

    thread: CareThread
    received_at: dt.datetime
    refused: bool


def _without_open_referral() -> Q:
    """Threads no open referral's page shows: one on no referral whose
    citizen has none open (``has_open``), one on a referral no longer open."""
    return Q(referral__isnull=True, has_open=False) | (
        Q(referral__isnull=False) & ~Q(referral__status__in=OPEN_STATUSES)
    )


def _served(actor: Actor) -> QuerySet[CareThread]:
    """Threads about citizens of the municipalities the coordinator's acute
    function serves that no open referral shows; none for anyone else."""
    if actor.role != Role.COORDINATOR or actor.organisation is None:
        return CareThread.objects.none()
    return (
        CareThread.objects.filter(citizen__municipality__in=actor.organisation.serves.all())
        .annotate(
            has_open=Exists(
                Referral.objects.filter(citizen_id=OuterRef("citizen_id"), status__in=OPEN_STATUSES)
            )
        )
        .filter(_without_open_referral())
    )


def _waiting(threads: QuerySet[CareThread]) -> QuerySet[CareThread]:
    """Of ``threads``, those whose latest segment (in the order they arrived)
    is the partner's and that nobody has marked handled since, in the order
    those messages came."""
    latest = CareMessage.objects.filter(thread=OuterRef("pk")).order_by("-pk")
    return (
        threads.annotate(
            latest_pk=Subquery(latest.values("pk")[:1]),
            latest_direction=Subquery(latest.values("direction")[:1]),
            latest_at=Subquery(latest.values("recorded_at")[:1]),
        )
        .filter(latest_direction=CareMessage.Direction.IN)
        .filter(Q(handled_through__isnull=True) | Q(handled_through_id__lt=F("latest_pk")))
        .order_by("latest_pk")
    )


def _refused(actor: Actor, citizen_ids: set[int]) -> set[int]:
    """The citizens whose refusal in force covers the reader (R4)."""
    directives = active_directives(citizen_ids)
    by_citizen: dict[int, list[ConsentDirective]] = {}
    for directive in directives:
        by_citizen.setdefault(directive.citizen_id, []).append(directive)
    return {
        citizen_id
        for citizen_id, held in by_citizen.items()
        if refusal_for(held, actor, Purpose.TREATMENT)[0]
    }


def care_threads_unmatched(*, actor: Actor, limit: int = LIST_LIMIT) -> list[Unmatched]:
    """The coordinator's list: threads without an open referral with a
    partner's message awaiting an answer, oldest first. Every citizen named
    is a read of her data (R9); one the reader is refused is not named."""
    threads = list(
        _waiting(_served(actor)).select_related("partner__organisation", "citizen")[:limit]
    )
    refused = _refused(actor, {t.citizen_id for t in threads})
    rows = [Unmatched(t, t.latest_at, t.citizen_id in refused) for t in threads]  # type: ignore[attr-defined]
    shown = [r.thread.citizen_id for r in rows if not r.refused]
    if shown:
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=shown,
            resource_type="Communication",
            reason_code=UNMATCHED,
        )
    return rows


def care_thread_unmatched(*, actor: Actor, thread_id: int) -> CareThread | None:
    """The thread, when it is one without an open referral that the
    coordinator's function serves and its citizen has not refused her (the
    caller records the access); None otherwise, and the caller asks the gate."""
    thread = _served_one(actor, thread_id)
    if thread is None or _refused(actor, {thread.citizen_id}):
        return None
    return thread


def _served_one(actor: Actor, thread_id: int) -> CareThread | None:
    return (
        _served(actor)
        .filter(pk=thread_id)
        .select_related("partner__organisation", "citizen", "handled_by__user")
        .first()
    )


def care_thread_unmatched_audit(*, actor: Actor, thread: CareThread, action: str) -> None:
    """An opening of, or a reply in, a thread without an open referral (R9)."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=thread.citizen_id,
        outcome=Outcome.PERMITTED,
        resource_type="Communication",
        resource_id=f"care-thread-{thread.pk}",
        reason_code=UNMATCHED,
        detail={"partner": thread.partner.code},
    )


def care_thread_unmatched_refused(*, actor: Actor, thread_id: int, action: str) -> None:
    """A thread asked for that is not one the coordinator may open here: a
    denied attempt on its citizen's log (R9), nothing said of why."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=CareThread.objects.filter(pk=thread_id)
        .values_list("citizen_id", flat=True)
        .first(),
        outcome=Outcome.DENIED,
        resource_type="Communication",
        resource_id=f"care-thread-{thread_id}",
        reason_code=UNMATCHED,
    )


def care_thread_handled(*, actor: Actor, thread_id: int) -> CareThread:
    """The coordinator has dealt with a partner's message another way (she
    phoned the partner): the thread leaves the list, up to its latest
    segment, kept for the record. Nothing is sent. A second mark of the same
    message is 409, the first stands. A thread the coordinator may not see,
    or one an open referral shows, is not found (and recorded). A citizen's
    refusal does not stop the mark: it reads nothing of her."""
    with transaction.atomic():
        thread = _served_one(actor, thread_id)
        if thread is None:
            care_thread_unmatched_refused(actor=actor, thread_id=thread_id, action=Action.UPDATE)
            raise NotFoundOrNotAllowed()
        locked = CareThread.objects.select_for_update().get(pk=thread.pk)
        latest = locked.messages.order_by("-pk").first()
        if (
            latest is None
            or latest.direction != CareMessage.Direction.IN
            or (locked.handled_through_id is not None and locked.handled_through_id >= latest.pk)
        ):
            raise Conflict(
                "care_thread.already_handled",
                "The message has already been answered or marked handled.",
            )
        locked.handled_through = latest
        locked.handled_at = timezone.now()
        locked.handled_by = actor.membership
        locked.full_clean()
        locked.save(update_fields=["handled_through", "handled_at", "handled_by"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            purpose=Purpose.TREATMENT,
            citizen_id=locked.citizen_id,
            outcome=Outcome.PERMITTED,
            resource_type="Communication",
            resource_id=f"care-thread-{locked.pk}",
            reason_code=HANDLED,
            detail={"partner": thread.partner.code, "segment": latest.pk},
        )
    locked.partner = thread.partner
    locked.citizen = thread.citizen
    return locked
