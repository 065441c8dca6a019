"""Opening and closing the care relationships the gate reads (R1): a visit,
a referral, a hospital contact. Opened and closed by the apps that own those
sources; idempotent, so a repeated hand-off changes nothing.

Both join the caller's transaction without a savepoint of their own: they
run inside the write that opens or closes the source (a visit, a referral, a
hospital's message), which rolls back whole on any error."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from consent.models import CareRelationship
from core.models import Citizen, Organisation, User
from core.sql import run_prepared

_TABLE = CareRelationship._meta.db_table
# Opened for every hospital contact, referral and visit: one prepared
# statement on PostgreSQL. A relationship already open for the source (the
# unique index ``care_rel_one_open_per_source`` finds it, a NULL user equal
# to a NULL user) leaves the insert nothing to do; the caller then reads it.
_OPEN_SQL = (
    f"INSERT INTO {_TABLE} (citizen_id, organisation_id, user_id, basis, source_type, "  # noqa: S608
    "source_id, started_at, ended_at) VALUES (%s, %s, %s, %s, %s, %s, %s, NULL) "
    "ON CONFLICT (source_type, source_id, organisation_id, user_id) WHERE ended_at IS NULL "
    "DO NOTHING RETURNING id"
)
# Closed by source (and citizen) at every discharge, visit and episode end.
_CLOSE_SQL = {
    (by_user, by_citizen): (
        f"WITH closed AS (UPDATE {_TABLE} SET ended_at = %s "  # noqa: S608
        "WHERE ended_at IS NULL AND source_type = %s AND source_id = %s"
        + (" AND user_id = %s" if by_user else "")
        + (" AND citizen_id = %s" if by_citizen else "")
        + " RETURNING 1) SELECT count(*) FROM closed"
    )
    for by_user in (False, True)
    for by_citizen in (False, True)
}


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
    relationship = CareRelationship(
        citizen=citizen,
        organisation=organisation,
        user=user,
        basis=basis,
        source_type=source_type,
        source_id=str(source_id),
    )
    if connection.vendor == "postgresql":
        _check(relationship)
        return _open_postgres(relationship)
    existing = _open_one(relationship)
    if existing is not None:
        return existing
    _check(relationship)
    relationship.save(force_insert=True)
    return relationship


def _open_postgres(relationship: CareRelationship) -> CareRelationship:
    """Insert ``relationship`` (checked) unless one is open for its source, in
    one statement; the open one, locked as the ORM's way locks it, where
    there was."""
    relationship.started_at = timezone.now()
    inserted = run_prepared(
        _OPEN_SQL,
        [
            relationship.citizen_id,
            relationship.organisation_id,
            relationship.user_id,
            relationship.basis,
            relationship.source_type,
            relationship.source_id,
            relationship.started_at,
        ],
    )
    if not inserted:
        existing = _open_one(relationship)
        if existing is not None:
            return existing
        # Closed again between the two statements (by another transaction
        # that had it locked): open a new one, as a first call would have.
        return _open_postgres(relationship)
    relationship.pk = inserted[0][0]
    relationship._state.adding = False
    relationship._state.db = connection.alias
    return relationship


def _open_one(relationship: CareRelationship) -> CareRelationship | None:
    """The relationship open for the same source as ``relationship`` (its
    organisation's, or its person's), locked for the transaction."""
    return (
        CareRelationship.objects.select_for_update()
        .filter(
            source_type=relationship.source_type,
            source_id=relationship.source_id,
            organisation=relationship.organisation,
            user=relationship.user,
            ended_at__isnull=True,
        )
        .first()
    )


def _check(relationship: CareRelationship) -> None:
    """The new relationship's own values, checked."""
    # The values the caller chose: the citizen, organisation and user it holds
    # are rows already (their foreign keys hold them), the time is now, and
    # the unique index keeps one relationship open per source: checking
    # those again would be a round trip to the database each. Both of the
    # model's constraints name one of those fields, so Django would skip
    # them: not asked, as building their check costs more than the rest.
    relationship.full_clean(
        exclude=["citizen", "organisation", "user", "started_at", "ended_at"],
        validate_constraints=False,
    )


@transaction.atomic(savepoint=False)
def care_relationship_close(
    *, source_type: str, source_id: str, user: User | None = None, citizen_id: int | None = None
) -> int:
    """End every open relationship from this source (only ``user``'s, or only
    the citizen's, if given)."""
    if connection.vendor == "postgresql":
        params: list[object] = [timezone.now(), source_type, str(source_id)]
        if user is not None:
            params.append(user.pk)
        if citizen_id is not None:
            params.append(citizen_id)
        sql = _CLOSE_SQL[user is not None, citizen_id is not None]
        return int(run_prepared(sql, params)[0][0])
    open_ones = CareRelationship.objects.filter(
        source_type=source_type, source_id=str(source_id), ended_at__isnull=True
    )
    if user is not None:
        open_ones = open_ones.filter(user=user)
    if citizen_id is not None:
        open_ones = open_ones.filter(citizen_id=citizen_id)
    return open_ones.update(ended_at=timezone.now())
