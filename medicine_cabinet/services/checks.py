"""Checks every stock movement makes first: the quantity, the unit, the acute
function, the location, the nurse's own bag, the §4 witness and a usable lot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from acute.clinical.services import is_dependence_forming
from acute.models import NurseShift
from consent.audit.services import Action, Purpose
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import (
    Forbidden,
    InvalidInput,
    NotFoundOrNotAllowed,
    PlatformError,
    PreconditionFailed,
    Unauthenticated,
)
from core.models import Membership, Organisation, Role, User
from core.services.login import login_verify
from core.validation import DecimalBounds, decimal_parse, typed_number
from medicine_cabinet.models import (
    CountLine,
    Location,
    Lot,
    Medicine,
    Movement,
)
from medicine_cabinet.services.formulary import STOCK_UNIT_LABELS, amount_text, unit_label
from medicine_cabinet.services.ledger import movement_denied

GATE_CATEGORY = "patient"
# A dose to a citizen: its refusals are denied attempts on her record (R9).
ADMINISTRATION_RESOURCE = "MedicationAdministration"
WITNESS_ROLES = (Role.ACUTE_NURSE, Role.MEDICINE_OFFICER)
# A nurse packs her bag at the base as her shift (*vagt*) begins, at most this
# long before it starts; outside her shift stock does not leave the cabinet.
SHIFT_PACKING_LEAD = dt.timedelta(minutes=30)
# A nurse witnesses a §4 movement at the base while on duty: during her shift
# or the handover at either end of it (the day nurse signs for the evening
# nurse filling her bag). The medicine officer witnesses whenever her role is
# in force.
WITNESS_HANDOVER = dt.timedelta(hours=1)


# --- checks shared by every movement ---------------------------------------


# Every stock quantity is booked as a ledger movement: what its column holds.
QUANTITY = DecimalBounds.of(Movement, "quantity", positive=True)
# A count may find nothing; below zero is the count's own refusal.
COUNTED = DecimalBounds.of(CountLine, "counted_quantity")


def quantity_parse(
    value: object,
    *,
    field: str = "quantity",
    typed: bool = False,
    bounds: DecimalBounds = QUANTITY,
) -> Decimal:
    """An exact quantity that the ledger can hold (positive unless ``bounds``
    says otherwise: a count may find nothing), written out: floats are
    refused (they are not exact), and so are an exponent ("1e3" is never
    booked as 1000), NaN and Infinity (400 ``quantity.invalid``). ``typed``:
    as a person types it on a page (:func:`core.validation.typed_number`): a
    decimal comma (``1,5``) or point, and "1.000" refused as ambiguous, never
    booked as one. Every door of the cabinet reads a quantity here."""
    return decimal_parse(
        typed_number(value) if typed else value,
        bounds,
        field=field,
        code="quantity.invalid",
        allow_float=False,
    )


def check_unit(medicine: Medicine, unit: str) -> None:
    if unit != medicine.unit:
        raise InvalidInput(
            "unit.mismatch",
            f"{medicine.name} is counted in '{medicine.unit}', not in the unit given.",
            field="unit",
            # The sentence names the unit as a person reads it ("tabl.", "amp.");
            # a client reads the unit to send from the error's ``unit``.
            params={"medicine": medicine.name, "unit": unit_label(medicine.unit)},
            extra={"unit": medicine.unit},
        )


# The units stock is counted in one by one (*hele enheder*): a tablet, an
# ampoule. Stock of them moves, is received and is counted in whole numbers;
# only a dose may be part of one, and the rest of the opened unit is then
# discarded with it. Measured units (mL, g) keep their decimals.
WHOLE_UNITS = frozenset(STOCK_UNIT_LABELS)


def counted_in_whole_units(medicine: Medicine) -> bool:
    return medicine.unit.strip().lower() in WHOLE_UNITS


def is_whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


def check_whole_units(medicine: Medicine, quantity: Decimal, *, field: str = "quantity") -> None:
    """Stock of a medicine counted in whole units (tablets, ampoules …) is
    received, moved, wasted and counted in whole units (400 ``quantity.whole_units``)."""
    if counted_in_whole_units(medicine) and not is_whole(quantity):
        raise InvalidInput(
            "quantity.whole_units",
            f"{medicine.name} is counted in whole units ({medicine.unit});"
            f" {quantity.normalize():f} is not a whole number.",
            field=field,
            params={
                "medicine": medicine.name,
                "unit": unit_label(medicine.unit),
                "quantity": amount_text(quantity),
            },
        )


# The forms a dose is never part of (*kan ikke deles*): a capsule is not
# opened and a suppository not cut, and a sachet's powder cannot be measured
# out by halves in a citizen's home. A scored tablet may be halved and an
# ampoule or vial drawn in part; the opened unit's rest is then discarded.
INDIVISIBLE_UNITS = frozenset({"capsule", "suppository", "sachet"})
# A tablet is divided on its score, into halves: a third or a tenth of one
# cannot be broken off in a citizen's home, so the ledger would show a dose
# nobody could give.
TABLET_UNITS = frozenset({"tablet"})
HALF = Decimal("0.5")


def check_divisible_dose(medicine: Medicine, quantity: Decimal) -> None:
    """A dose of part of a capsule, suppository or sachet, and a dose of a
    tablet other than whole or half tablets (0.3, 1.25), are refused before
    anything is booked (400 ``dose.indivisible_form`` /
    ``dose.tablet_halves``, R8)."""
    unit = medicine.unit.strip().lower()
    if unit in TABLET_UNITS and quantity % HALF != 0:
        raise _part_refused(
            medicine,
            quantity,
            refused_as="dose.tablet_halves",
            because="is divided only on its score: give whole or half tablets",
        )
    if unit in INDIVISIBLE_UNITS and not is_whole(quantity):
        raise _part_refused(
            medicine,
            quantity,
            refused_as="dose.indivisible_form",
            because="cannot be divided: give a whole number",
        )


def _part_refused(
    medicine: Medicine, quantity: Decimal, *, refused_as: str, because: str
) -> InvalidInput:
    """The refusal of a dose that is part of a unit its form is not divided into."""
    return InvalidInput(
        refused_as,
        f"{medicine.name} ({medicine.unit}) {because}, not {quantity.normalize():f}."
        " Nothing was given.",
        field="quantity",
        rule="R8",
        params={
            "medicine": medicine.name,
            "unit": unit_label(medicine.unit),
            "quantity": amount_text(quantity),
        },
    )


def acute_organisation(actor: Actor) -> Organisation:
    organisation = actor.organisation
    if actor.user is None or organisation is None:
        raise Forbidden("cabinet.no_actor", "Stock moves only for a named member of staff.")
    if organisation.kind != Organisation.Kind.ACUTE_FUNCTION:
        raise Forbidden("cabinet.not_acute_function", "Only the acute function keeps this stock.")
    return organisation


def check_location(actor: Actor, location: Location) -> None:
    organisation = acute_organisation(actor)
    if location.organisation_id != organisation.pk or not location.is_active:
        raise NotFoundOrNotAllowed("location.not_found", "No such stock location.")


def check_own_bag(actor: Actor, location: Location, *, attempt: Mapping[str, object]) -> None:
    """A bag is handled only by its nurse; a cabinet (outside transfers) only by
    the medicine officer. A refusal is a denied movement (R9), recorded
    before anything is booked: the officer sees who tried to move stock she
    might not (``attempt``: what was tried, kept in the entry)."""
    try:
        if location.kind == Location.Kind.BAG:
            if location.nurse_id != actor.user.pk:  # type: ignore[union-attr]
                raise Forbidden("bag.not_yours", "You may move stock only in your own bag.")
        elif actor.role != Role.MEDICINE_OFFICER:
            raise Forbidden(
                "cabinet.officer_only", "Only the medicine officer handles the cabinet."
            )
    except Forbidden as exc:
        movement_refused(actor=actor, exc=exc, attempt=attempt)
        raise


def movement_refused(*, actor: Actor, exc: PlatformError, attempt: Mapping[str, object]) -> None:
    """A stock movement refused before anything is booked, recorded as a
    denied attempt (R9) and marked so, so it is not recorded twice."""
    movement_denied(actor=actor, reason_code=exc.code, detail=dict(attempt))
    setattr(exc, _RECORDED, True)


def check_may_see(actor: Actor, location: Location) -> None:
    """A nurse sees the cabinets and her own bag, never a colleague's: the
    same answer whichever way she asks (a location's balance, the stock list
    filtered to it)."""
    if (
        actor.role == Role.ACUTE_NURSE
        and location.kind == Location.Kind.BAG
        and location.nurse_id != getattr(actor.user, "pk", None)
    ):
        raise Forbidden("bag.not_yours", "You may see only your own bag.")


def needs_witness(medicine: Medicine) -> bool:
    """§4 (dependence-forming): marked so in the formulary, or of an ATC code
    the rules name dependence-forming (``CLINICAL_DEPENDENCE_FORMING_ATC``, by
    which the physician's orders are judged) — also a line saved before the
    rules named its code, which still carries no mark."""
    return medicine.dependence_forming or is_dependence_forming(medicine.atc_code)


def on_shift_at(
    *,
    user: User,
    organisation: Organisation,
    at: dt.datetime,
    before: dt.timedelta = dt.timedelta(0),
    after: dt.timedelta = dt.timedelta(0),
) -> bool:
    """Whether the nurse has a shift at this acute function that runs at ``at``,
    or starts at most ``before`` after it, or ended at most ``after`` before it
    (her rota, staff data)."""
    return NurseShift.objects.filter(
        nurse=user,
        acute_function=organisation,
        starts_at__lte=at + before,
        ends_at__gt=at - after,
    ).exists()


def check_on_shift_to_pack(actor: Actor) -> None:
    """Stock goes into a nurse's bag only on her shift, or in the half hour
    before it (403 ``bag.off_shift``): a bag filled off duty is stock out of
    the cabinet that nobody is carrying to a citizen. The medicine officer,
    who answers for the cabinet, is not held to a shift."""
    if actor.role == Role.MEDICINE_OFFICER:
        return
    if not on_shift_at(
        user=actor.user,  # type: ignore[arg-type]
        organisation=acute_organisation(actor),
        at=timezone.now(),
        before=SHIFT_PACKING_LEAD,
    ):
        raise Forbidden(
            "bag.off_shift",
            "Stock is taken into your bag only on your shift, at most 30 minutes before it starts.",
        )


def check_witness(
    *,
    actor: Actor,
    medicine: Medicine,
    witness: User | WitnessCredentials | None,
    attempt: Mapping[str, object],
    at: dt.datetime | None = None,
    signed_before: bool = False,
    citizen_id: int | None = None,
) -> User | None:
    """§4: a second person, not the actor, whose acute-nurse or medicine-officer
    role at the acute function is in force, and who is on duty at the movement
    (``at``, now unless given): the medicine officer, or a nurse on her shift
    or its handover (400 ``witness.not_on_duty``). ``signed_before``: she
    signed earlier, when she did the work (the counter of a count, whose
    approval she need not attend), so her shift is not asked again.

    ``witness`` is a colleague already checked, or the username and password
    she typed (:class:`WitnessCredentials`), checked here. Every door of every
    §4 movement comes through here, so a refused witness is recorded here, once,
    as a denied attempt (R9): on the stock ledger's resource, or, for a dose
    (``citizen_id``), on the citizen's record. ``attempt`` is what was tried
    (kind, lot, location, quantity …), kept in the entry. Call it outside the
    movement's transaction, so the refusal's rollback keeps the record."""
    try:
        if isinstance(witness, WitnessCredentials):
            witness = witness.verify()
        return _witness_judged(
            actor=actor, medicine=medicine, witness=witness, at=at, signed_before=signed_before
        )
    except PlatformError as exc:
        _witness_denied(
            actor=actor,
            exc=exc,
            attempt={**attempt, "witness": witness.pk if isinstance(witness, User) else None},
            citizen_id=citizen_id,
        )
        raise


# Set on a refusal :func:`check_witness` has recorded, so a caller that records
# its own refusals does not record the same attempt twice.
_RECORDED = "denial_recorded"


def denial_recorded(exc: BaseException) -> bool:
    """Whether this refusal is already in the audit log as a denied attempt."""
    return bool(getattr(exc, _RECORDED, False))


def administration_denied(
    actor: Actor, citizen_id: int, reason_code: str, detail: dict[str, object]
) -> None:
    """A dose refused is a denied attempt (R9), recorded outside the refused
    write's transaction so the rollback keeps it."""
    audit_denied(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        resource_type=ADMINISTRATION_RESOURCE,
        reason_code=reason_code,
        detail=detail,
    )


def _witness_denied(
    *, actor: Actor, exc: PlatformError, attempt: dict[str, object], citizen_id: int | None
) -> None:
    if citizen_id is not None:
        administration_denied(actor, citizen_id, exc.code, attempt)
    else:
        movement_denied(actor=actor, reason_code=exc.code, detail=attempt)
    setattr(exc, _RECORDED, True)


def _witness_judged(
    *,
    actor: Actor,
    medicine: Medicine,
    witness: User | None,
    at: dt.datetime | None,
    signed_before: bool,
) -> User | None:
    if witness is None:
        if needs_witness(medicine):
            raise InvalidInput(
                "witness.required",
                f"{medicine.name} is dependence-forming (§4): every movement needs a witness.",
                field="witness",
                params={"medicine": medicine.name},
            )
        return None
    if actor.user is not None and witness.pk == actor.user.pk:
        raise InvalidInput(
            "witness.same_person", "The witness must be someone else.", field="witness"
        )
    if not may_witness(actor=actor, user=witness):
        raise InvalidInput(
            "witness.not_eligible",
            "The witness must be an acute nurse or the medicine officer of the acute function.",
            field="witness",
        )
    if not signed_before and not on_duty_to_witness(
        actor=actor, user=witness, at=at or timezone.now()
    ):
        raise InvalidInput(
            "witness.not_on_duty",
            "The witness must be on duty: the medicine officer, or an acute nurse on her shift.",
            field="witness",
        )
    return witness


def on_duty_to_witness(*, actor: Actor, user: User, at: dt.datetime) -> bool:
    """The medicine officer's role is in force, or the nurse's shift at the
    actor's acute function runs at ``at`` (with the handover either side)."""
    organisation = actor.organisation
    if organisation is None:
        return False
    if (
        Membership.objects.in_force()
        .filter(user=user, organisation=organisation, role=Role.MEDICINE_OFFICER)
        .exists()
    ):
        return True
    return on_shift_at(
        user=user,
        organisation=organisation,
        at=at,
        before=WITNESS_HANDOVER,
        after=WITNESS_HANDOVER,
    )


def may_witness(*, actor: Actor, user: User) -> bool:
    """Her acute-nurse or medicine-officer role at the actor's acute function
    is in force now: switched on, not past its end, her user active."""
    return (
        Membership.objects.in_force()
        .filter(user=user, organisation=actor.organisation, role__in=WITNESS_ROLES)
        .exists()
    )


@dataclass(frozen=True)
class WitnessCredentials:
    """The witness's username and password as typed on the nurse's tablet,
    checked by the service that knows whose dose they sign (so a refusal is
    audited on that citizen, R9)."""

    username: str
    password: str = field(repr=False)
    client_address: str | None = None

    @classmethod
    def from_form(
        cls, data: Mapping[str, str], client_address: str | None
    ) -> WitnessCredentials | None:
        """The witness fields of a page's form (``witness_username``,
        ``witness_password``); None when both are left empty."""
        username = data.get("witness_username", "").strip()
        password = data.get("witness_password", "")
        if not username and not password:
            return None
        return cls(username=username, password=password, client_address=client_address)

    def verify(self) -> User:
        return witness_verify(
            username=self.username, password=self.password, client_address=self.client_address
        )


def witness_verify(*, username: str, password: str, client_address: str | None) -> User:
    """The witness's own credentials, checked and throttled like a login."""
    try:
        return login_verify(username=username, password=password, client_address=client_address)
    except Unauthenticated:
        raise InvalidInput(
            "witness.invalid_credentials",
            "The witness's username or password is wrong.",
            field="witness",
        ) from None


def check_usable(
    lot: Lot, *, today: dt.date | None = None, given_at: dt.datetime | None = None
) -> None:
    """A lot that may leave stock: not recalled, not past its expiry date.

    ``given_at``: a dose the nurse says she gave then (sent late, or queued
    offline) is judged by that moment: a lot recalled after it was still
    good when the unit left her bag, so the dose is booked and its citizen
    is on the recall's follow-up list. Without it any recall refuses."""
    if lot.recalled_at is not None and (given_at is None or lot.recalled_at <= given_at):
        raise PreconditionFailed("lot.recalled", "This lot is recalled and may not be used.")
    if lot.is_expired(today or timezone.localdate()):
        raise PreconditionFailed("lot.expired", "This lot has expired and may not be used.")


def recheck_usable_locked(
    lot: Lot, *, today: dt.date | None = None, given_at: dt.datetime | None = None
) -> None:
    """Inside the movement's transaction: take the lot's row lock, which a
    recall holds until it commits, so no dose leaves after a recall that
    committed first (unless, stated, it was given before the recall)."""
    current = Lot.objects.select_for_update().only("recalled_at", "expires_on").get(pk=lot.pk)
    lot.recalled_at, lot.expires_on = current.recalled_at, current.expires_on
    check_usable(lot, today=today, given_at=given_at)
