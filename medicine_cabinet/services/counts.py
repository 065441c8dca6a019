"""Stock counts (*optælling*): count, recount, submit, and the officer's approval.

One module, just over 500 lines: it is one count's life from start to
approval, and the count sheet that saves a whole count at once goes through
the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from consent.audit.services import Action
from core import errors
from core.actors import Actor
from core.models import Role, User
from core.validation import insert_or_conflict, text_trimmed
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Balance,
    CountLine,
    CountReason,
    Location,
    Lot,
    Movement,
    Notification,
    StockCount,
)
from medicine_cabinet.services.checks import (
    COUNTED,
    WitnessCredentials,
    check_location,
    check_whole_units,
    check_witness,
    may_witness,
    needs_witness,
    quantity_parse,
)
from medicine_cabinet.services.ledger import book, lock_balances, movements_audit, operation_audit
from medicine_cabinet.services.notifications import notify

# What a recount writes on a count line (and a reopened count clears).
RECOUNT_FIELDS = [
    "recounted_quantity",
    "balance_at_recount",
    "recounted_by",
    "recounted_at",
    "reason_code",
    "note",
]


def _check_may_count(actor: Actor, location: Location) -> None:
    check_location(actor, location)
    if actor.role == Role.MEDICINE_OFFICER:
        return
    if actor.role == Role.ACUTE_NURSE and location.kind == Location.Kind.BAG:
        if location.nurse_id != getattr(actor.user, "pk", None):
            # She was counting, not moving stock: the refusal says so.
            raise errors.Forbidden("bag.not_yours", "You may count only your own bag.")
        return
    if actor.role == Role.ACUTE_NURSE:
        return  # nurses may count a cabinet with the officer; approval stays with the officer
    raise errors.Forbidden("count.role", "Your role may not count stock.")


@transaction.atomic
def count_start(*, actor: Actor, location: Location) -> StockCount:
    _check_may_count(actor, location)
    count = StockCount(location=location, started_by=actor.user)
    insert_or_conflict(
        count,
        code="count.already_open",
        message="A count of this location is already under way.",
    )
    _count_audit(actor=actor, count=count, action=Action.CREATE)
    return count


def _count_audit(
    *,
    actor: Actor,
    count: StockCount,
    action: str = Action.UPDATE,
    detail: dict[str, Any] | None = None,
) -> None:
    operation_audit(
        actor=actor,
        action=action,
        resource_type="StockCount",
        resource_id=str(count.pk),
        detail=detail,
    )


def _count_locked(count: StockCount) -> StockCount:
    """The count's row locked, its location read with it but not locked: a
    lock on the location's row would hold back every dose, transfer and
    waste that books a movement there (their foreign key to it waits for
    it) while the count waits for that movement's balance, and PostgreSQL
    would break the deadlock by failing the approval."""
    return (
        StockCount.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=count.pk)
    )


def _open_count(count: StockCount) -> StockCount:
    """The count, locked: its row alone (see :func:`_count_locked`)."""
    locked = _count_locked(count)
    if locked.status != StockCount.Status.OPEN:
        raise errors.Conflict("count.not_open", "This count is no longer open.")
    return locked


@transaction.atomic
def count_record(*, actor: Actor, count: StockCount, lot: Lot, quantity: Decimal) -> CountLine:
    """The first count of a lot, against the live balance at this moment."""
    locked = _open_count(count)
    _check_may_count(actor, locked.location)
    if not selectors.lot_known(organisation=locked.location.organisation, lot_id=lot.pk):
        # Only a lot this acute function booked is counted here; another's
        # answers as one that does not exist (the sheet names it under its field).
        raise errors.NotFoundOrNotAllowed("lot.not_found", "No such lot.")
    if quantity < 0:
        raise errors.InvalidInput(
            "quantity.negative", "A counted quantity cannot be negative.", field="quantity"
        )
    # What is on the shelf is whole tablets and ampoules; a balance left
    # fractional from before is set right by the adjustment at approval.
    check_whole_units(lot.medicine, quantity)
    line = CountLine(
        count=locked,
        lot=lot,
        counted_quantity=quantity,
        balance_at_count=selectors.balance_quantity(location_id=locked.location_id, lot_id=lot.pk),
        counted_by=actor.user,
    )
    insert_or_conflict(
        line,
        code="count.line_exists",
        message="This lot is already counted; recount it instead.",
    )
    _count_audit(
        actor=actor,
        count=locked,
        detail={"lot": lot.pk, "counted": str(quantity), "balance": str(line.balance_at_count)},
    )
    return line


@transaction.atomic
def count_recount(
    *, actor: Actor, line: CountLine, quantity: Decimal, reason_code: str = "", note: str = ""
) -> CountLine:
    """A second count where the first differed. If it still differs, a reason code is needed."""
    locked_count = _open_count(line.count)
    _check_may_count(actor, locked_count.location)
    line = CountLine.objects.select_for_update().get(pk=line.pk)
    if line.first_variance == 0:
        raise errors.Conflict(
            "count.recount_not_needed", "The first count matched; no recount needed."
        )
    if line.recounted_quantity is not None:
        raise errors.Conflict("count.already_recounted", "This lot has been recounted.")
    if quantity < 0:
        raise errors.InvalidInput(
            "quantity.negative", "A counted quantity cannot be negative.", field="quantity"
        )
    check_whole_units(line.lot.medicine, quantity)
    balance = selectors.balance_quantity(location_id=locked_count.location_id, lot_id=line.lot_id)
    if quantity != balance and reason_code not in CountReason.values:
        raise errors.InvalidInput(
            "count.reason_required",
            "The recount still differs: give a reason code.",
            field="reason_code",
        )
    line.recounted_quantity = quantity
    line.balance_at_recount = balance
    line.recounted_by = actor.user
    line.recounted_at = timezone.now()
    line.reason_code = reason_code if quantity != balance else ""
    line.note = text_trimmed(note)[:300]
    line.save(update_fields=RECOUNT_FIELDS)
    _count_audit(
        actor=actor,
        count=locked_count,
        detail={"lot": line.lot_id, "recounted": str(quantity), "balance": str(balance)},
    )
    return line


@transaction.atomic
def count_submit(*, actor: Actor, count: StockCount) -> StockCount:
    """Close counting: every held lot counted, every differing line recounted.
    A standing variance flags a discrepancy for the officer."""
    locked = _open_count(count)
    _check_may_count(actor, locked.location)
    lines = list(locked.lines.all())
    counted = {line.lot_id for line in lines}
    held = set(
        Balance.objects.filter(location_id=locked.location_id, quantity__gt=0).values_list(
            "lot_id", flat=True
        )
    )
    if held - counted:
        raise errors.PreconditionFailed(
            "count.incomplete",
            f"{len(held - counted)} lot(s) held here are not counted yet.",
            params={"n": len(held - counted)},
        )
    if any(line.needs_recount for line in lines):
        raise errors.PreconditionFailed(
            "count.recount_needed", "Recount the lines that differed first."
        )
    locked.status = StockCount.Status.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.has_discrepancy = any(line.variance != 0 for line in lines)
    locked.save(update_fields=["status", "submitted_at", "has_discrepancy"])
    if locked.has_discrepancy:
        notify(
            organisation=locked.location.organisation,
            kind=Notification.Kind.DISCREPANCY,
            key=f"discrepancy:{locked.pk}",
            message=gettext_noop(
                "The count of %(location)s differs from the ledger; approve or investigate."
            ),
            params={"location": locked.location.name},
            location=locked.location,
            stock_count=locked,
        )
    _count_audit(
        actor=actor,
        count=locked,
        detail={"status": locked.status, "discrepancy": locked.has_discrepancy},
    )
    return locked


COUNT_OVERTAKEN = (
    "Stock has left a lot since it was counted, so the shortfall counted is more than is"
    " left; nothing was booked. The count is open again: recount the lots marked."
)


COUNT_CHANGED = (
    "The count was opened and submitted again while it was being approved; nothing was"
    " booked. Approve it again."
)


class _CountOvertaken(Exception):
    """A standing shortfall larger than the live balance (see :func:`count_approve`)."""

    def __init__(self, lines: list[CountLine]) -> None:
        super().__init__()
        self.lines = lines


def count_approve(
    *, actor: Actor, count: StockCount, witness: User | WitnessCredentials | None = None
) -> StockCount:
    """The medicine officer approves; each standing variance is booked as a
    count adjustment on top of the live balance, so movements made while the
    count was open stand. For a §4 lot the counter is the witness, or another
    witness when the officer counted it herself.

    A shortfall larger than what the lot now holds (stock taken out after it
    was counted) cannot be booked: the number on the shelf no longer stands.
    Nothing is booked, the count is opened again with those lots to be
    recounted against the live balance, and the approval is refused (409
    ``count.stock_moved``) — never left submitted for good, which would
    block every later count of the location.

    The witnesses are judged before the approval's transaction, so a refused
    one stays recorded as a denied attempt (R9) when the approval rolls back."""
    signers = _count_witnesses(actor=actor, count=count, witness=witness)
    try:
        return _count_approve(actor=actor, count=count, signers=signers)
    except _CountOvertaken as overtaken:
        _count_reopen(actor=actor, count=count, lines=overtaken.lines)
        raise errors.Conflict(
            "count.stock_moved",
            COUNT_OVERTAKEN,
            extra={"lots": [line.lot_id for line in overtaken.lines]},
        ) from None


@transaction.atomic
def _count_reopen(*, actor: Actor, count: StockCount, lines: list[CountLine]) -> None:
    """Open the count again, its overtaken lines to be recounted; what their
    recount said stays in the audit entry."""
    locked = StockCount.objects.select_for_update().get(pk=count.pk)
    if locked.status != StockCount.Status.SUBMITTED:
        return  # someone else got there first
    recounts = []
    for line in CountLine.objects.select_for_update().filter(pk__in=[x.pk for x in lines]):
        recounts.append(
            {
                "lot": line.lot_id,
                "recounted": str(line.recounted_quantity),
                "balance": str(line.balance_at_recount),
                "reason_code": line.reason_code,
            }
        )
        line.recounted_quantity = line.balance_at_recount = line.recounted_by = None
        line.recounted_at = None
        line.reason_code = line.note = ""
        line.save(update_fields=RECOUNT_FIELDS)
    locked.status = StockCount.Status.OPEN
    locked.submitted_at = None
    locked.save(update_fields=["status", "submitted_at"])
    _count_audit(
        actor=actor,
        count=locked,
        detail={"status": locked.status, "stock_moved": recounts},
    )


# A line's witness as judged before the approval: by the line and its counter.
_Signers = dict[tuple[int, int], User | None]


def _count_witnesses(
    *, actor: Actor, count: StockCount, witness: User | WitnessCredentials | None
) -> _Signers:
    """Each differing line's witness, judged (and a refusal recorded) outside
    the approval's transaction; what the approval will refuse anyway (the
    role, a count not submitted) is left to it."""
    if actor.role != Role.MEDICINE_OFFICER:
        return {}
    current = StockCount.objects.select_related("location").get(pk=count.pk)
    if current.status != StockCount.Status.SUBMITTED:
        return {}
    check_location(actor, current.location)
    lines = [
        line
        for line in current.lines.select_related("lot__medicine", "counted_by", "recounted_by")
        if line.variance != 0
    ]
    named = witness
    if isinstance(witness, WitnessCredentials) and lines:
        # Her password is checked once for the whole sheet.
        named = check_witness(
            actor=actor,
            medicine=lines[0].lot.medicine,
            witness=witness,
            attempt=_count_attempt(current, lines[0]),
            signed_before=True,
        )
    return {
        _signer_key(line): _line_witness(actor=actor, count=current, line=line, witness=named)
        for line in lines
    }


def _signer_key(line: CountLine) -> tuple[int, int]:
    return line.pk, (line.recounted_by_id or line.counted_by_id)


def _count_attempt(count: StockCount, line: CountLine) -> dict[str, object]:
    return {
        "kind": Movement.Kind.COUNT_ADJUSTMENT,
        "count": count.pk,
        "location": count.location_id,
        "lot": line.lot_id,
        "variance": str(line.variance),
    }


def _line_witness(
    *, actor: Actor, count: StockCount, line: CountLine, witness: User | WitnessCredentials | None
) -> User | None:
    counter = line.recounted_by or line.counted_by
    line_witness = witness
    if (
        line_witness is None
        and counter.pk != actor.user.pk  # type: ignore[union-attr]
        # The counter signs a §4 adjustment, and must still be one who may;
        # another line's counter whose role has since ended signs nothing.
        and (needs_witness(line.lot.medicine) or may_witness(actor=actor, user=counter))
    ):
        line_witness = counter
    return check_witness(
        actor=actor,
        medicine=line.lot.medicine,
        witness=line_witness,
        attempt=_count_attempt(count, line),
        # The counter signed when she counted; a witness named now is here now.
        signed_before=witness is None,
    )


@transaction.atomic
def _count_approve(*, actor: Actor, count: StockCount, signers: _Signers) -> StockCount:
    if actor.role != Role.MEDICINE_OFFICER:
        raise errors.Forbidden("count.approve_role", "Only the medicine officer approves counts.")
    locked = _count_locked(count)
    check_location(actor, locked.location)
    if locked.status != StockCount.Status.SUBMITTED:
        raise errors.Conflict("count.not_submitted", "Only a submitted count can be approved.")
    now = timezone.now()
    lines = list(locked.lines.select_related("lot__medicine", "counted_by", "recounted_by"))
    differing = [line for line in lines if line.variance != 0]
    rows = lock_balances([(locked.location, line.lot) for line in differing])
    overtaken = [
        line
        for line in differing
        if rows[(locked.location_id, line.lot_id)].quantity + line.variance < 0
    ]
    if overtaken:
        raise _CountOvertaken(overtaken)
    movements = []
    for line in differing:
        key = _signer_key(line)
        if key not in signers:
            # The count was opened, recounted and submitted again since its
            # witnesses were judged: a refusal is answered, nothing booked.
            raise errors.Conflict("count.changed", COUNT_CHANGED)
        line_witness = signers[key]
        variance = line.variance
        movements.append(
            book(
                balance=rows[(locked.location_id, line.lot_id)],
                kind=Movement.Kind.COUNT_ADJUSTMENT,
                direction=Movement.Direction.IN if variance > 0 else Movement.Direction.OUT,
                quantity=abs(variance),
                by=actor.user,  # type: ignore[arg-type]
                witness=line_witness,
                at=now,
                reason_code=line.reason_code or CountReason.UNKNOWN,
                stock_count=locked,
            )
        )
    locked.status = StockCount.Status.APPROVED
    locked.approved_by = actor.user
    locked.approved_at = now
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    Notification.objects.filter(
        key=f"count_overdue:{locked.location_id}", acknowledged_at__isnull=True
    ).update(acknowledged_at=now, acknowledged_by=actor.user)
    for movement in movements:
        movements_audit(actor, [movement])
    _count_audit(
        actor=actor,
        count=locked,
        detail={"status": locked.status, "adjustments": [m.pk for m in movements]},
    )
    return locked


@dataclass(frozen=True)
class Recount:
    """A second count of a line that differed, as typed on the count sheet."""

    line: CountLine
    quantity: str
    reason_code: str = ""


def _counted(raw: str, field: str) -> Decimal:
    """A counted quantity as typed on the sheet (:func:`quantity_parse`, typed): zero or more."""
    value = quantity_parse(raw, field=field, typed=True, bounds=COUNTED)
    if value < 0:
        raise errors.InvalidInput(
            "quantity.negative", "A counted quantity cannot be negative.", field=field
        )
    return value


def _on_field(exc: errors.PlatformError, field: str) -> errors.PlatformError:
    """The refusal of one line, named by the sheet's field for it."""
    return type(exc)(
        exc.code, exc.message, field=field, rule=exc.rule, extra=exc.extra, params=exc.params
    )


@transaction.atomic
def count_sheet_save(
    *,
    actor: Actor,
    count: StockCount,
    first_counts: Mapping[Lot, str],
    recounts: Sequence[Recount] = (),
    submit: bool = False,
) -> StockCount:
    """The whole count sheet in one go (*optællingsliste*): the first count of
    every lot typed, the recount of every line that differed, and — asked to —
    the submission. Every line is checked; if any is refused, nothing is
    saved and every refusal is named by its field (``lot_<lot>``,
    ``recount_<line>``, ``reason_<line>``), so the officer corrects them all
    at once and nothing she typed is lost."""
    refused: list[errors.PlatformError] = []
    for lot, raw in first_counts.items():
        field = f"lot_{lot.pk}"
        try:
            count_record(actor=actor, count=count, lot=lot, quantity=_counted(raw, field))
        except (errors.InvalidInput, errors.Conflict) as exc:
            refused.append(_on_field(exc, field))
    for recount in recounts:
        field = f"recount_{recount.line.pk}"
        try:
            count_recount(
                actor=actor,
                line=recount.line,
                quantity=_counted(recount.quantity, field),
                reason_code=recount.reason_code,
            )
        except (errors.InvalidInput, errors.Conflict) as exc:
            named = f"reason_{recount.line.pk}" if exc.field == "reason_code" else field
            refused.append(_on_field(exc, named))
    if refused:
        raise errors.PlatformError.all_of(refused)
    if submit:
        return count_submit(actor=actor, count=count)
    count.refresh_from_db()
    return count
