"""Opening and closing the care relationships the gate reads (R1): a visit,
a referral, a hospital contact. Opened and closed by the apps that own those
sources; idempotent, so a repeated hand-off changes nothing.

Both join the caller's transaction without a savepoint of their own: they
run inside the write that opens or closes the source (a visit, a referral, a
hospital's message), which rolls back whole on any error."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from consent.models import CareRelationship
from core.models import Citizen, Organisation, User


@transaction.atomic(savepoint=False)
def care_relationship_open(
    *,
    citizen: Citizen,
    organisation: Organisation,
    basis: str,
    source_type: str,
    source_id: str,
    user: User | None = None,
) -> CareRelationship:
    """Open (or keep open) the relationship for this source. Idempotent."""
    existing = (
        CareRelationship.objects.select_for_update()
        .filter(
            source_type=source_type,
            source_id=str(source_id),
            organisation=organisation,
            user=user,
            ended_at__isnull=True,
        )
        .first()
    )
    if existing is not None:
        return existing
    relationship = CareRelationship(
        citizen=citizen,
        organisation=organisation,
        user=user,
        basis=basis,
        source_type=source_type,
        source_id=str(source_id),
    )
    # The values the caller chose: the citizen, organisation and user it holds
    # are rows already (their foreign keys hold them), the time is now, and
    # the locked lookup above, with the unique index behind it, keeps one
    # relationship open per source: checking those again would be a round
    # trip to the database each.
    relationship.full_clean(exclude=["citizen", "organisation", "user", "started_at", "ended_at"])
    relationship.save(force_insert=True)
    return relationship


@transaction.atomic(savepoint=False)
def care_relationship_close(
    *, source_type: str, source_id: str, user: User | None = None, citizen_id: int | None = None
) -> int:
    """End every open relationship from this source (only ``user``'s, or only
    the citizen's, if given)."""
    open_ones = CareRelationship.objects.filter(
        source_type=source_type, source_id=str(source_id), ended_at__isnull=True
    )
    if user is not None:
        open_ones = open_ones.filter(user=user)
    if citizen_id is not None:
        open_ones = open_ones.filter(citizen_id=citizen_id)
    return open_ones.update(ended_at=timezone.now())
