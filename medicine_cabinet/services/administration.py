"""A dose given from the nurse's bag to the visit's citizen (R8), reached
through the access gate and audited, refusals too (R9)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from acute.clinical.models import MedicationOrder
from acute.clinical.selectors import order_allowance
from acute.clinical.services import late_dose_alert_raise
from acute.clinical.services.common import not_before_visit
from acute.models import Visit
from acute.selectors import own_visit_under_way
from acute.services import tablet_time_judged
from consent.audit.services import Action, Purpose, audit_record
from consent.gate import access_citizen
from core import errors
from core.actors import Actor
from core.locks import citizen_lock
from core.models import Citizen, Organisation, Role, User
from core.times import naive_refused, shown
from medicine_cabinet import selectors
from medicine_cabinet.models import (
    Administration,
    Lot,
    Medicine,
    Movement,
    Notification,
)
from medicine_cabinet.services.checks import (
    ADMINISTRATION_RESOURCE,
    GATE_CATEGORY,
    WitnessCredentials,
    acute_organisation,
    administration_denied,
    check_divisible_dose,
    check_unit,
    check_usable,
    check_witness,
    denial_recorded,
    recheck_usable_locked,
)
from medicine_cabinet.services.dose_checks import (
    _check_order,
    _check_within_order,
    _dose_against_order,
    _mismatch_warning,
)
from medicine_cabinet.services.formulary import medicine_label
from medicine_cabinet.services.ledger import (
    book,
    fields_clean_or_raise,
    lock_balances,
    movements_audit,
    quantity_text,
)
from medicine_cabinet.services.movements import dose_rest_waste
from medicine_cabinet.services.notifications import notify

DOSE_AFTER_DEATH = "administration.citizen_deceased"


def _given_before_death(
    *, deceased_at: dt.datetime | None, given: dt.datetime, stated: bool
) -> None:
    """No dose is given to a citizen after her registered death. A dose given
    before it, while the tablet had no connection, is still booked: it left
    the bag then, and the ledger must show it (``stated``: the time is the
    nurse's, not the server's)."""
    if deceased_at is not None and given > deceased_at:
        raise errors.PreconditionFailed(
            DOSE_AFTER_DEATH,
            "The citizen is registered deceased; no dose is given after her death.",
            field="given_at" if stated else None,
        )


def administration_give(
    *,
    actor: Actor,
    visit_id: int,
    order_id: int | None,
    medicine: Medicine,
    quantity: Decimal,
    unit: str,
    lot: Lot | None = None,
    witness: User | None = None,
    witness_credentials: WitnessCredentials | None = None,
    note: str = "",
    confirm_mismatch: bool = False,
    confirmed_dose: Decimal | None = None,
    given_at: dt.datetime | None = None,
) -> Administration:
    """Give a dose from the nurse's own bag on her visit, to that visit's citizen,
    against a physician's order for this medicine (R8).

    The citizen is reached only through the access gate (audited, denials too).
    Without a lot the first-expiring usable lot in the bag is used; an expired
    or recalled lot is refused. The order is a limit: the doses given against
    it may not exceed what it allows (:func:`acute.clinical.selectors.order_allowance`),
    counted under the order's row lock; a dose that is not the ordered one is
    given only as confirmed (``confirm_mismatch`` with ``confirmed_dose``, the
    amount in the order's unit). Every refusal once the citizen is
    reached is audited as denied (R9).

    The §4 witness is either already checked (``witness``) or given as the
    username and password she typed (``witness_credentials``), checked by
    :func:`~medicine_cabinet.services.checks.check_witness`, throttled like a
    login, once the citizen is reached: a wrong one (400
    ``witness.invalid_credentials``) is a denied attempt on the citizen like
    any other refused dose.

    A dose of part of a capsule, suppository or sachet is refused (400
    ``dose.indivisible_form``, audited as denied), and so is part of a tablet
    other than a half (400 ``dose.tablet_halves``); half a tablet, or part of
    an ampoule or vial, is given and the opened unit's rest discarded with it.

    ``given_at`` is when she gave the dose, if not now: one her tablet queued
    without a connection, or one the API is told of. It is the
    administration's time; the ledger books the stock now. It is judged as
    every time her tablet gives, whatever the door
    (:func:`acute.services.tablet_time_judged`: 400
    ``offline.time_in_future`` more than five minutes ahead of the server,
    400 ``offline.time_too_old`` more than a day back), and may not lie
    before the visit was assigned (400 ``time.before_visit``). A dose given after the
    citizen's registered death is refused (412
    ``administration.citizen_deceased``, audited as denied); one given before
    it is booked, like any dose sent late. The order is judged at that time
    too: a dose given before the order was made is refused (412
    ``order.given_before_order``); one given before the order's days ran out,
    or before it was cancelled, is booked; its 24-hour limit counts the doses
    in the 24 hours around it, those booked before it but given after it too.
    """

    if actor.role != Role.ACUTE_NURSE or actor.user is None:
        raise errors.Forbidden(
            "administration.role", "Only an acute nurse gives medicine from her bag."
        )
    if witness is not None and witness_credentials is not None:
        raise ValueError("Give the witness or her credentials, not both.")
    organisation = acute_organisation(actor)
    visit = Visit.objects.select_related("shift").filter(pk=visit_id).first()
    if visit is None:
        raise errors.NotFoundOrNotAllowed("visit.not_found", "No such visit.")
    try:
        citizen = access_citizen(
            actor=actor,
            citizen_id=visit.citizen_id,
            action=Action.CREATE,
            category=GATE_CATEGORY,
            purpose=Purpose.TREATMENT,
            resource_type=ADMINISTRATION_RESOURCE,
            resource_id="",
            # A dose on her own visit under way is her own record of care:
            # the citizen's refusal does not stop it (docs/decisions/0029).
            own_care=own_visit_under_way(actor, visit),
        )
    except errors.NotFoundOrNotAllowed:
        # Refused by the gate (and audited there): answered as a visit that
        # does not exist, so the answer does not tell that it does.
        raise errors.NotFoundOrNotAllowed("visit.not_found", "No such visit.") from None
    if visit.nurse_id != actor.user.pk:
        administration_denied(actor, citizen.pk, "visit_not_yours", {"visit": visit.pk})
        raise errors.NotFoundOrNotAllowed("visit.not_found", "No such visit.")
    try:
        check_unit(medicine, unit)
        if visit.status != Visit.Status.ON_SITE:
            raise _not_on_site()
        if given_at is not None:
            # A time she states can be true: her tablet's time judged as on
            # every door (not ahead of us, not more than a day back), and not
            # before she was sent.
            if timezone.is_naive(given_at):
                raise naive_refused("given_at")
            not_before_visit(given_at, visit, field="given_at")
            tablet_time_judged(given_at, field="given_at")
        check_divisible_dose(medicine, quantity)
        _given_before_death(
            deceased_at=citizen.deceased_at,
            given=given_at or timezone.now(),
            stated=given_at is not None,
        )
        return _administration_book(
            actor=actor,
            organisation=organisation,
            visit=visit,
            citizen=citizen,
            order_id=order_id,
            medicine=medicine,
            quantity=quantity,
            unit=unit,
            lot=lot,
            witness=witness_credentials or witness,
            note=note,
            confirm_mismatch=confirm_mismatch,
            confirmed_dose=confirmed_dose,
            given_at=given_at,
        )
    except errors.PlatformError as exc:
        # Once the citizen is reached, every refusal is a denied attempt on
        # her (R9): the order's rules, and a §4 dose without a proper
        # witness, a recalled lot or a time that cannot be true alike. A
        # refused witness is recorded where every witness is judged.
        if not denial_recorded(exc):
            administration_denied(actor, citizen.pk, exc.code, {"visit": visit.pk, **exc.extra})
        raise


def _not_on_site() -> errors.PreconditionFailed:
    return errors.PreconditionFailed(
        "visit.not_on_site", "Medicine is given on the visit, with the nurse on site."
    )


def _administration_book(
    *,
    actor: Actor,
    organisation: Organisation,
    visit: Visit,
    citizen: Citizen,
    order_id: int | None,
    medicine: Medicine,
    quantity: Decimal,
    unit: str,
    lot: Lot | None,
    witness: User | WitnessCredentials | None,
    note: str,
    confirm_mismatch: bool,
    confirmed_dose: Decimal | None,
    given_at: dt.datetime | None,
) -> Administration:

    assert actor.user is not None
    if order_id is None:
        raise errors.PreconditionFailed(
            "order.missing",
            gettext("A dose leaves stock only against a physician's order."),
            field="order",
            rule="R8",
        )
    order = MedicationOrder.objects.filter(pk=order_id, citizen_id=citizen.pk).first()
    if order is None:
        raise errors.InvalidInput(
            "order.not_for_citizen",
            gettext("No such order for this visit's citizen."),
            field="order",
            rule="R8",
        )
    # The order is judged when the dose was given, not when it is booked (R8).
    _check_order(order=order, visit=visit, medicine=medicine, at=given_at or timezone.now())
    amount, mismatch = _dose_against_order(
        order=order,
        medicine=medicine,
        quantity=quantity,
        confirm_mismatch=confirm_mismatch,
        confirmed_dose=confirmed_dose,
    )
    bag = selectors.bag_of(organisation=organisation, nurse=actor.user)
    if bag is None:
        raise errors.PreconditionFailed("bag.none", "You carry no bag with stock.")
    now = timezone.now()
    given = given_at or now
    # A lot is usable through its expiry date (Copenhagen), judged on the day
    # the dose was given: one given before midnight and sent after it left
    # the bag while the lot was good, and the ledger must show it.
    given_on = timezone.localdate(given)
    if lot is None:
        lot = selectors.lot_suggest(bag=bag, medicine=medicine, today=given_on, given_at=given_at)
        if lot is None:
            raise errors.Conflict(
                "stock.none_usable", "Your bag holds no usable lot of this medicine."
            )
    elif lot.medicine_id != medicine.pk:
        raise errors.InvalidInput(
            "lot.wrong_medicine", "That lot is of another medicine.", field="lot"
        )
    # A recall is judged by the moment she states she gave the dose (not
    # when it is booked): given before the recall, the unit left the bag
    # while the lot was good, and its citizen must be on the recall's list.
    check_usable(lot, today=given_on, given_at=given_at)
    # The witness stood beside her when she gave the dose: on duty then.
    witness = check_witness(
        actor=actor,
        medicine=medicine,
        witness=witness,
        at=given,
        citizen_id=citizen.pk,
        attempt={
            "visit": visit.pk,
            "order": order.pk,
            "lot": lot.pk,
            "quantity": quantity_text(quantity),
        },
    )
    with transaction.atomic():
        # Her row before anything of her record (the lock order, ``core.locks``):
        # a coordinator ending the episode, a death or a hospital's message
        # about her at the same moment takes its turn, never a deadlock.
        citizen_lock(citizen.pk)
        # Then the order's row lock: two doses against one order are counted
        # one after the other, so both cannot pass on the same remainder. The
        # order may also have been cancelled since it was read. A correction
        # counts the doses of the phone order it corrects: that order's lock
        # too, taken first (the lower number), as a dose against it takes it.
        order = _order_locked(order)
        # Then the visit's: completing it takes the same lock, so no dose is
        # booked on a visit completed at the same moment.
        if (
            Visit.objects.select_for_update().values_list("status", flat=True).get(pk=visit.pk)
            != Visit.Status.ON_SITE
        ):
            raise _not_on_site()
        _check_order(order=order, visit=visit, medicine=medicine, at=given)
        # Asked of the database again: a death registered since the gate read her.
        _given_before_death(
            deceased_at=Citizen.objects.values_list("deceased_at", flat=True).get(pk=citizen.pk),
            given=given,
            stated=given_at is not None,
        )
        left = order_allowance(order, at=given)
        _check_within_order(order=order, left=left, amount=amount)
        if amount is None or (mismatch and not confirm_mismatch):
            raise _mismatch_warning(
                order=order, medicine=medicine, quantity=quantity, amount=amount, left=left
            )
        balance = lock_balances([(bag, lot)])[(bag.pk, lot.pk)]
        recheck_usable_locked(lot, today=given_on, given_at=given_at)
        movement = book(
            balance=balance,
            kind=Movement.Kind.ADMINISTERED,
            direction=Movement.Direction.OUT,
            quantity=quantity,
            by=actor.user,
            witness=witness,
            at=now,
        )
        # Part of a tablet or an ampoule: the opened unit's rest is discarded with it.
        dose_rest_waste(actor=actor, balance=balance, dose=movement, medicine=medicine)
        administration = Administration(
            visit=visit,
            order=order,
            citizen=citizen,
            municipality=citizen.municipality,
            medicine=medicine,
            lot=lot,
            bag=bag,
            movement=movement,
            quantity=quantity,
            unit=unit,
            order_amount=amount,
            order_unit=order.dose_unit,
            dose_mismatch=mismatch,
            mismatch_confirmed=bool(mismatch),
            administered_at=given,
            by=actor.user,
            witness=witness,
            note=note.strip()[:300],
        )
        fields_clean_or_raise(
            administration,
            code="administration.invalid",
            exclude=[f.name for f in Administration._meta.fields if f.is_relation],
        )
        administration.save(force_insert=True)
        movements_audit(actor, [movement], citizen_id=citizen.pk)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=citizen.pk,
            resource_type=ADMINISTRATION_RESOURCE,
            resource_id=str(administration.pk),
            detail={
                "order": order.pk,
                "visit": visit.pk,
                "movement": movement.pk,
                "order_amount": quantity_text(amount),
                "order_unit": order.dose_unit,
                "remaining": quantity_text(left.remaining - amount),
                **({"dose_mismatch": mismatch, "mismatch_confirmed": True} if mismatch else {}),
                **({"given_before_recall": True} if lot.is_recalled else {}),
            },
        )
        if lot.is_recalled:
            _recalled_dose_notify(organisation=organisation, administration=administration)
        # Given before the order was cancelled or corrected, booked after it:
        # the physician is told, in this transaction (R8).
        late_dose_alert_raise(actor=actor, order=order, given_at=given, amount=amount)
    return administration


def _order_locked(order: MedicationOrder) -> MedicationOrder:
    """The order under its row lock, with the phone order it corrects locked before it."""
    pks = {order.pk} if order.corrects_id is None else {order.pk, order.corrects_id}
    locked = {
        o.pk: o
        for o in MedicationOrder.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    }
    return locked[order.pk]


def _recalled_dose_notify(*, organisation: Organisation, administration: Administration) -> None:
    """A dose given before its lot's recall and booked after it: the officer
    follows its citizen up like the others the recall lists (never named here)."""
    lot = administration.lot
    notify(
        organisation=organisation,
        kind=Notification.Kind.RECALL,
        key=f"recall_dose:{administration.pk}",
        message=gettext_noop(
            "A dose from recalled lot %(lot)s of %(medicine)s, given at %(when)s before"
            " the recall, was booked after it; see who received it on the recall."
        ),
        params={
            "lot": lot.batch_number,
            "medicine": medicine_label(lot.medicine),
            "when": shown(administration.administered_at, "d-m-Y H:i"),
        },
        medicine=lot.medicine,
        lot=lot,
    )
