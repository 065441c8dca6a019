"""Reads of CareCommunication threads, each behind the access gate and audited.

``care_thread_access`` is the one way to a thread (the reply form, the
coordinator's page of a message without an open referral, the API); the
threads shown with a referral (the coordinator's referral page, the nurse's
visit page) come from ``care_threads_of_referral``. Both ask the consent
gate for the citizen (R1, R4) and record the read (R9); "not found" and "not
allowed" look the same.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q

from acute.models import Referral
from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.gate import access_citizen
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from integrations.care_threads.unmatched import (
    care_thread_unmatched,
    care_thread_unmatched_audit,
)
from integrations.models import CareMessage, CareThread

# The gate's category for the acute function's own data about a citizen.
CATEGORY = "patient"


def care_thread_access(*, actor: Actor, thread_id: int, action: str = Action.READ) -> CareThread:
    """The thread, if the actor may reach its citizen through the gate, or,
    for a coordinator, if it is a message without an open referral that her
    acute function serves (:mod:`.unmatched`, decision 0031)."""
    unmatched = care_thread_unmatched(actor=actor, thread_id=thread_id)
    if unmatched is not None:
        care_thread_unmatched_audit(actor=actor, thread=unmatched, action=action)
        return unmatched
    thread = (
        CareThread.objects.select_related("partner__organisation", "citizen")
        .filter(pk=thread_id)
        .first()
    )
    resource_id = f"care-thread-{thread_id}"
    if thread is None:
        audit_record(
            actor=actor,
            action=action,
            purpose=Purpose.TREATMENT,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type="Communication",
            resource_id=resource_id,
            reason_code="unknown_care_thread",
        )
        raise NotFoundOrNotAllowed()
    access_citizen(
        actor=actor,
        citizen_id=thread.citizen_id,
        action=action,
        category=CATEGORY,
        purpose=Purpose.TREATMENT,
        resource_type="Communication",
        resource_id=resource_id,
    )
    return thread


def care_threads_of_referral(*, actor: Actor, referral: Referral) -> list[CareThread]:
    """The threads about the referral's citizen that belong to it (or to no
    referral), newest first, with their segments; empty when the gate refuses."""
    try:
        access_citizen(
            actor=actor,
            citizen_id=referral.citizen_id,
            action=Action.READ,
            category=CATEGORY,
            purpose=Purpose.TREATMENT,
            resource_type="Communication",
            resource_id=f"referral-{referral.pk}-care-threads",
        )
    except NotFoundOrNotAllowed:
        return []
    return list(
        CareThread.objects.filter(citizen_id=referral.citizen_id)
        .filter(Q(referral=referral) | Q(referral__isnull=True))
        .select_related("partner__organisation")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=CareMessage.objects.select_related("outbound").order_by(
                    "written_at", "pk"
                ),
            )
        )
    )
