"""After an order: the physician's confirmation, the prescription sent, a
cancellation, and an acknowledged alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acute.clinical import signals
from acute.clinical.audit import clinical_audit, update_refusals_recorded
from acute.clinical.models import (
    MedicationOrder,
    PhysicianAlert,
)
from acute.clinical.services.common import (
    CLOCK_SKEW,
    not_in_future,
    refuse,
    require_user,
)
from acute.clinical.services.orders import (
    OrderDetails,
    alerts_close,
    order_audit,
    written_correction_record,
    written_order_for_the_living,
)
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    PlatformError,
)
from core.locks import citizen_lock
from core.messages import lowercase
from core.models import Role, User
from core.validation import required_text, text_at_most


def medication_order_confirm(*, actor: Actor, order: MedicationOrder) -> MedicationOrder:
    """The ordering physician confirms her phone order electronically. A
    refusal (confirmed already, rejected, stopped) is a denied attempt on the
    citizen's record (R9)."""
    user = require_user(actor)
    with update_refusals_recorded(actor, order, Conflict):
        return _medication_order_confirm(actor=actor, user=user, order=order)


def _medication_order_confirm(
    *, actor: Actor, user: User, order: MedicationOrder
) -> MedicationOrder:
    with transaction.atomic():
        citizen_lock(order.citizen_id)
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status != MedicationOrder.Status.AWAITING_CONFIRMATION:
            raise Conflict(
                "order.not_awaiting_confirmation",
                # The status's code, not its label: the label is in the active
                # language, and this sentence is English (core.messages has
                # the Danish one).
                f"The order is {locked.status.replace('_', ' ')}, not awaiting confirmation.",
                params={"status": lowercase(MedicationOrder.Status(locked.status).label)},
            )
        now = timezone.now()
        locked.status = MedicationOrder.Status.CONFIRMED
        locked.confirmed_at = now
        locked.confirmed_by = user
        locked.save(update_fields=["status", "confirmed_at", "confirmed_by"])
        alerts_close(
            locked,
            [
                PhysicianAlert.Kind.CONFIRMATION_REMINDER,
                PhysicianAlert.Kind.CONFIRMATION_ESCALATION,
            ],
            user,
        )
        order_audit(actor, locked, Action.UPDATE, {"confirmed": True})
        signals.medication_order_confirmed.send(sender=MedicationOrder, order=locked, by=actor)
    return locked


def prescription_mark_sent(*, actor: Actor, order: MedicationOrder) -> MedicationOrder:
    """The physician has sent the prescription in the citizen's CPR number to
    the pharmacy — for a phone order only once she has confirmed it. A refusal
    is a denied attempt on the citizen's record (R9)."""
    user = require_user(actor)
    with update_refusals_recorded(actor, order, Conflict):
        return _prescription_mark_sent(actor=actor, user=user, order=order)


def _prescription_mark_sent(*, actor: Actor, user: User, order: MedicationOrder) -> MedicationOrder:
    with transaction.atomic():
        citizen_lock(order.citizen_id)
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if (
            locked.status == MedicationOrder.Status.CANCELLED
            and not locked.administrations.exists()
        ):
            # Cancelled before any dose was given: nothing to prescribe. Doses
            # given before it was cancelled are still prescribed (R8).
            raise Conflict("order.cancelled", "The order was cancelled.")
        if locked.prescription_status == MedicationOrder.PrescriptionStatus.SENT:
            raise Conflict("prescription.already_sent", "The prescription is already marked sent.")
        if locked.status == MedicationOrder.Status.AWAITING_CONFIRMATION:
            # The prescription is written from the order as she confirmed it:
            # a phone order taken down wrong is corrected or rejected first,
            # never prescribed as the nurse heard it (R8).
            raise Conflict(
                "prescription.order_unconfirmed",
                "Confirm the phone order before you mark its prescription sent.",
                rule="R8",
            )
        locked.prescription_status = MedicationOrder.PrescriptionStatus.SENT
        locked.prescription_sent_at = timezone.now()
        locked.prescription_sent_by = user
        locked.save(
            update_fields=["prescription_status", "prescription_sent_at", "prescription_sent_by"]
        )
        alerts_close(locked, [PhysicianAlert.Kind.PRESCRIPTION_OVERDUE], user)
        order_audit(actor, locked, Action.UPDATE, {"prescription": "sent"})
        signals.prescription_sent.send(sender=MedicationOrder, order=locked, by=actor)
    return locked


def medication_order_received_record(
    *,
    actor: Actor,
    order: MedicationOrder,
    confirmation: bool,
    prescription: bool,
    seen_by: str,
    note: str = "",
) -> MedicationOrder:
    """The coordinator records that the physician's confirmation of a phone
    order, or the prescription in the citizen's CPR number, reached the acute
    function by another route (R8): the ordering physician is no user of the
    platform (a GP or the 1813 doctor without a login) and so can never do it
    on her own page. How it was seen (``seen_by``: FMK, her phone call, in
    writing) and a note are kept beside who recorded it and when; her
    reminders and the coordinators' escalations stop as they do when she
    confirms herself.

    Refused: an order whose physician is a user (she confirms herself), one
    confirmed or prescribed already, a withdrawn one, and a coordinator who
    herself took the order down — confirming it is checking her own note.
    Each refusal is a denied attempt on the citizen's record (R9)."""
    user = require_user(actor)
    with update_refusals_recorded(actor, order, PlatformError):
        if actor.role != Role.COORDINATOR:
            raise Forbidden(
                "order.received_coordinator_only",
                "Only the coordinator records a confirmation or prescription"
                " received by another route.",
                rule="R8",
            )
        if seen_by not in MedicationOrder.SeenBy.values:
            raise InvalidInput(
                "order.received_seen_by_invalid",
                "Choose how the confirmation or prescription was seen.",
                field="seen_by",
            )
        note = text_at_most(
            note.strip(),
            RECEIVED_NOTE_LIMIT,
            code="order.received_note_too_long",
            field="note",
            message=f"Write the note in at most {RECEIVED_NOTE_LIMIT} characters.",
        )
        if not confirmation and not prescription:
            raise InvalidInput(
                "order.received_nothing",
                "Say whether the confirmation, the prescription or both were received.",
            )
        return _medication_order_received_record(
            actor=actor,
            user=user,
            order=order,
            confirmation=confirmation,
            prescription=prescription,
            seen_by=seen_by,
            note=note,
        )


RECEIVED_NOTE_LIMIT = MedicationOrder._meta.get_field("confirmation_note").max_length or 500


def _medication_order_received_record(
    *,
    actor: Actor,
    user: User,
    order: MedicationOrder,
    confirmation: bool,
    prescription: bool,
    seen_by: str,
    note: str,
) -> MedicationOrder:
    with transaction.atomic():
        citizen_lock(order.citizen_id)
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if locked.ordering_physician_id is not None:
            # She has her page: the confirmation is hers to give there, so
            # that what is confirmed is what she reads, not what was heard.
            raise Conflict(
                "order.physician_confirms_herself",
                "The ordering physician is a user of the platform: she confirms"
                " the order and marks the prescription sent herself.",
                rule="R8",
            )
        if locked.recorded_by_id == user.pk:
            raise Conflict(
                "order.received_by_receiver",
                "You took this order down: another member of staff records its confirmation.",
                rule="R8",
            )
        if locked.status == MedicationOrder.Status.CANCELLED:
            raise Conflict("order.cancelled", "The order was cancelled.")
        if confirmation and locked.status != MedicationOrder.Status.AWAITING_CONFIRMATION:
            raise Conflict(
                "order.not_awaiting_confirmation",
                f"The order is {locked.status.replace('_', ' ')}, not awaiting confirmation.",
                params={"status": lowercase(MedicationOrder.Status(locked.status).label)},
            )
        if prescription:
            if locked.prescription_status == MedicationOrder.PrescriptionStatus.SENT:
                raise Conflict(
                    "prescription.already_sent", "The prescription is already marked sent."
                )
            if not confirmation and locked.status == MedicationOrder.Status.AWAITING_CONFIRMATION:
                raise Conflict(
                    "prescription.order_unconfirmed",
                    "Confirm the phone order before you mark its prescription sent.",
                    rule="R8",
                )
        now = timezone.now()
        fields: list[str] = []
        closes: list[str] = []
        if confirmation:
            locked.status = MedicationOrder.Status.CONFIRMED
            locked.confirmed_at = now
            locked.confirmed_by = user
            locked.confirmation_seen_by = seen_by
            locked.confirmation_note = note
            fields += [
                "status",
                "confirmed_at",
                "confirmed_by",
                "confirmation_seen_by",
                "confirmation_note",
            ]
            closes += [
                PhysicianAlert.Kind.CONFIRMATION_REMINDER,
                PhysicianAlert.Kind.CONFIRMATION_ESCALATION,
            ]
        if prescription:
            locked.prescription_status = MedicationOrder.PrescriptionStatus.SENT
            locked.prescription_sent_at = now
            locked.prescription_sent_by = user
            locked.prescription_seen_by = seen_by
            locked.prescription_note = note
            fields += [
                "prescription_status",
                "prescription_sent_at",
                "prescription_sent_by",
                "prescription_seen_by",
                "prescription_note",
            ]
            closes.append(PhysicianAlert.Kind.PRESCRIPTION_OVERDUE)
        locked.save(update_fields=fields)
        alerts_close(locked, closes, user)
        order_audit(
            actor,
            locked,
            Action.UPDATE,
            {
                "received_by_another_route": seen_by,
                "confirmed": confirmation,
                "prescription": "sent" if prescription else None,
            },
        )
        if confirmation:
            signals.medication_order_confirmed.send(sender=MedicationOrder, order=locked, by=actor)
        if prescription:
            signals.prescription_sent.send(sender=MedicationOrder, order=locked, by=actor)
    return locked


def medication_order_reject(
    *, actor: Actor, order: MedicationOrder, reason: str
) -> MedicationOrder:
    """The ordering physician rejects her phone order as it was taken down,
    before she confirmed it: it is cancelled with her reason. An order she has
    confirmed is not rejected — it was hers as it stands, and doses may have
    been given against it: she stops it (*seponér*, :func:`medication_order_cancel`),
    and the doses given stay in the ledger and are prescribed (R8). A refusal
    is a denied attempt (R9)."""
    with update_refusals_recorded(actor, order, Conflict):
        return _medication_order_cancel(
            actor=actor,
            order=order,
            reason=reason,
            status=MedicationOrder.Status.AWAITING_CONFIRMATION,
        )


@dataclass(frozen=True)
class WithdrawalPhoned:
    """A withdrawal the physician phoned in to the acute function: who
    phoned (her name, as she gave it) and when."""

    by: str
    at: dt.datetime | None = None  # None: as it is recorded


def medication_order_cancel(
    *,
    actor: Actor,
    order: MedicationOrder,
    reason: str,
    phoned: WithdrawalPhoned | None = None,
) -> MedicationOrder:
    """The ordering physician withdraws (stops) her order: no dose may be given
    against it from now on, and its confirmation is no longer chased.

    She can always stop further doses (R8), whatever the prescription's
    status: after an adverse reaction the order must stop at once. The
    prescription for the doses already given is left as it is — still owed
    if pending (:meth:`MedicationOrder.prescription_owed`), done if sent.
    Stopping an order already stopped is a denied attempt (R9).

    ``phoned``: a physician who is no user of the platform (a GP or the 1813
    doctor without a login) phones the acute function to cancel her order,
    and its coordinator records it on her behalf — who phoned, when, and the
    note as ``reason``. Refused, each a denied attempt (R9): any role but the
    coordinator, an order whose physician is a user (she withdraws it
    herself, so that what is withdrawn is what she reads), and one withdrawn
    already. A stop after a dose was given is taken as hers would be (an
    adverse reaction is the common cause): no further dose, and the
    prescription for what was given is still owed.
    """
    if phoned is None:
        with update_refusals_recorded(actor, order, Conflict):
            return _medication_order_cancel(actor=actor, order=order, reason=reason)
    with update_refusals_recorded(actor, order, PlatformError):
        return _medication_order_cancel(
            actor=actor, order=order, reason=reason, phoned=_phoned_valid(actor, order, phoned)
        )


PHONED_BY_LIMIT = MedicationOrder._meta.get_field("cancel_phoned_by").max_length or 200


def _phoned_valid(
    actor: Actor, order: MedicationOrder, phoned: WithdrawalPhoned
) -> WithdrawalPhoned:
    """The phoned withdrawal as it is kept: by the coordinator only, naming
    who phoned, at a time between the order and now."""
    if actor.role != Role.COORDINATOR:
        raise Forbidden(
            "order.withdrawal_phoned_coordinator_only",
            "Only the coordinator records a withdrawal the physician phoned in.",
            rule="R8",
        )
    by = text_at_most(
        required_text(
            phoned.by,
            code="order.withdrawal_phoned_by_required",
            field="phoned_by",
            message="Write the name of the physician who phoned.",
        ),
        PHONED_BY_LIMIT,
        code="order.withdrawal_phoned_by_too_long",
        field="phoned_by",
        message=f"Write the name in at most {PHONED_BY_LIMIT} characters.",
    )
    at = phoned.at or timezone.now()
    not_in_future(at, field="phoned_at")
    # A time typed to the minute, or by a clock a little behind ours.
    if at < order.ordered_at - CLOCK_SKEW:
        raise InvalidInput(
            "order.withdrawal_phoned_before_order",
            "The call to withdraw the order cannot be earlier than the order itself.",
            field="phoned_at",
        )
    return WithdrawalPhoned(by=by, at=at)


def _medication_order_cancel(
    *,
    actor: Actor,
    order: MedicationOrder,
    reason: str,
    status: str | None = None,
    phoned: WithdrawalPhoned | None = None,
) -> MedicationOrder:
    """As :func:`medication_order_cancel`, its refusals left to the caller to
    record. ``status``: only an order in this status is cancelled (a rejection)."""
    user = require_user(actor)
    reason = cancel_reason_valid(reason)
    with transaction.atomic():
        citizen_lock(order.citizen_id)  # her row first (the lock order, ``core.locks``)
        # The order's row lock, which a dose from the cabinet takes too.
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if phoned is not None and locked.ordering_physician_id is not None:
            raise Conflict(
                "order.physician_withdraws_herself",
                "The ordering physician is a user of the platform: she withdraws"
                " the order herself.",
                rule="R8",
            )
        if locked.status == MedicationOrder.Status.CANCELLED:
            raise Conflict("order.cancelled", "The order is already cancelled.")
        if status is not None and locked.status != status:
            raise Conflict(
                "order.not_awaiting_confirmation",
                f"The order is {locked.status.replace('_', ' ')}, not awaiting confirmation.",
                params={"status": lowercase(MedicationOrder.Status(locked.status).label)},
                rule="R8",
            )
        locked.status = MedicationOrder.Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = user
        locked.cancel_reason = reason
        fields = ["status", "cancelled_at", "cancelled_by", "cancel_reason"]
        if phoned is not None:
            locked.cancel_phoned_by = phoned.by
            locked.cancel_phoned_at = phoned.at
            fields += ["cancel_phoned_by", "cancel_phoned_at"]
        locked.save(update_fields=fields)
        # Nothing more to confirm; but the doses already given against it are
        # still prescribed in the citizen's CPR number (R8), so an overdue
        # prescription stays open until it is marked sent.
        dosed = locked.administrations.exists()
        alerts_close(
            locked,
            [
                kind
                for kind in PhysicianAlert.Kind.values
                if not (dosed and kind == PhysicianAlert.Kind.PRESCRIPTION_OVERDUE)
            ],
            user,
        )
        order_audit(
            actor,
            locked,
            Action.UPDATE,
            {"cancelled": True, **({"withdrawal_phoned": True} if phoned else {})},
        )
    return locked


CANCEL_REASON_LIMIT = MedicationOrder._meta.get_field("cancel_reason").max_length or 300


def cancel_reason_valid(reason: str) -> str:
    """The physician's reason for withdrawing an order, stripped: blank is
    refused, and so is one longer than is stored — never cut short."""
    cleaned = required_text(
        reason,
        code="order.cancel_reason_required",
        field="reason",
        message="Say why the order is cancelled.",
    )
    return text_at_most(
        cleaned,
        CANCEL_REASON_LIMIT,
        code="order.cancel_reason_too_long",
        field="reason",
        message=f"Write the reason in at most {CANCEL_REASON_LIMIT} characters.",
    )


def physician_alert_acknowledge(*, actor: Actor, alert: PhysicianAlert) -> PhysicianAlert:
    user = require_user(actor)
    with transaction.atomic():
        citizen_lock(alert.citizen_id)
        locked = PhysicianAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is None:
            locked.acknowledged_at = timezone.now()
            locked.acknowledged_by = user
            locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
            clinical_audit(
                actor, Action.UPDATE, locked, {"kind": locked.kind, "acknowledged": True}
            )
    locked.citizen_refused = alert.citizen_refused  # as the reader was told of it (R4)
    return locked


# --- The beat job: reminders, escalations, overdue prescriptions -------------


def medication_order_correct(
    *, actor: Actor, order: MedicationOrder, visit: Visit, details: OrderDetails, reason: str
) -> MedicationOrder:
    """The ordering physician corrects her phone order as it was taken down:
    the phone order is cancelled with her reason and the order as she meant
    it is entered in writing on the same visit — both or neither. The
    corrected order is confirmed as it is entered; a §4 medicine may be
    ordered this way (R8).

    The correction is her legally required written follow-up of an order
    already given, so it stands also once the visit has ended (completed or
    cancelled): only the correction may be written on such a visit, never a
    new order (``written_correction_record``).

    A dose given against the phone order is in the cabinet's ledger as given
    against that order, as it was taken down. A correction would put a new
    order beside it whose whole amount could be given again, and the ledger
    would no longer say what was given against what the physician meant: so
    once a dose is given the correction is refused (``order.doses_given``,
    R8), recorded as a denied attempt. She confirms the order as given (the
    dose stands) or withdraws it (*seponér*) and enters a new written order
    knowing what was given; the prescription for the doses given is owed
    either way."""
    if order.kind != MedicationOrder.Kind.PHONE:
        raise Conflict(
            "order.not_a_phone_order",
            _("Only a phone order is corrected here; cancel a written one and enter it anew."),
        )
    if visit.pk != order.visit_id:
        raise Conflict(
            "order.visit_mismatch", _("The correction belongs on the order's own visit.")
        )
    reason = cancel_reason_valid(reason)
    written_order_for_the_living(actor=actor, visit=visit, now=timezone.now())
    if order.administrations.exists():
        # Asked first outside the transaction, so the denied attempt stays (R9).
        raise refuse(
            _doses_given(),
            actor=actor,
            citizen_id=order.citizen_id,
            resource_type="MedicationRequest",
        )
    with transaction.atomic():
        citizen_lock(order.citizen_id)  # her row first (the lock order, ``core.locks``)
        # Again under the order's row lock, which a dose from the cabinet takes too.
        locked = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if locked.administrations.exists():
            raise _doses_given()
        _medication_order_cancel(actor=actor, order=locked, reason=reason)
        return written_correction_record(actor=actor, visit=visit, details=details, corrects=locked)


def _doses_given() -> Conflict:
    """The corrected order would allow its whole amount again beside the doses
    already given against the phone order (R8): she withdraws it, and orders
    anew knowing what was given."""
    return Conflict(
        "order.doses_given",
        _(
            "Doses have been given against this phone order, so it is not corrected:"
            " withdraw it and enter a new written order."
        ),
        rule="R8",
    )
