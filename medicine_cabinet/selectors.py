"""Reads of the medicine stock: balances, lot histories, the §4 register, reports.

Stock is not citizen data; these reads are limited to the caller's acute
function. Use per municipality is counted from administrations by the
municipality recorded with the dose, so no citizen is read to make it. The
one exception is :func:`recall_administrations`, which names the citizens who
received a recalled lot and records each of them in the audit log (R9).

One module, just over 500 lines: all but the formulary's one read are of
the one stock ledger, bound the same way to the caller's acute function,
which is easiest to check when they sit together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from consent.audit.services import Action, audit_record
from core.actors import Actor
from core.errors import Forbidden, NotFoundOrNotAllowed, PreconditionFailed
from core.models import Organisation, Role, User
from core.purposes import role_purpose
from core.times import local_days_later
from medicine_cabinet.models import (
    Administration,
    Balance,
    Location,
    Lot,
    Medicine,
    Movement,
    Notification,
    StockCount,
    WasteReason,
)

ZERO = Decimal("0")
LOCAL = ZoneInfo("Europe/Copenhagen")


def location_get(*, organisation: Organisation, location_id: int) -> Location:
    location = (
        Location.objects.select_related("nurse")
        .filter(pk=location_id, organisation=organisation, is_active=True)
        .first()
    )
    if location is None:
        raise NotFoundOrNotAllowed("location.not_found", "No such stock location.")
    return location


def lot_known(*, organisation: Organisation, lot_id: int) -> bool:
    """The lot has passed through this acute function's ledger: a lot only
    another organisation received is none of its business."""
    return Movement.objects.filter(lot_id=lot_id, location__organisation=organisation).exists()


def lots_known(*, organisation: Organisation, lot_ids: list[int]) -> dict[int, Lot]:
    """Of these lots, those this acute function has booked, by id."""
    known = Movement.objects.filter(lot_id__in=lot_ids, location__organisation=organisation).values(
        "lot_id"
    )
    return {lot.pk: lot for lot in Lot.objects.select_related("medicine").filter(pk__in=known)}


def lot_get(*, organisation: Organisation, lot_id: int) -> Lot:
    """A lot this acute function has booked ("not found" otherwise, like one
    that does not exist)."""
    lot = Lot.objects.select_related("medicine").filter(pk=lot_id).first()
    if lot is None or not lot_known(organisation=organisation, lot_id=lot.pk):
        raise NotFoundOrNotAllowed("lot.not_found", "No such lot.")
    return lot


def medicine_get(*, medicine_id: int) -> Medicine:
    medicine = Medicine.objects.filter(pk=medicine_id).first()
    if medicine is None:
        raise NotFoundOrNotAllowed("medicine.not_found", "No such medicine in the formulary.")
    return medicine


def locations_list(*, organisation: Organisation) -> QuerySet[Location]:
    return Location.objects.filter(organisation=organisation, is_active=True).select_related(
        "nurse"
    )


def location_balance(*, location: Location) -> list[dict[str, Any]]:
    """What one location holds, per medicine (summed over lots). One indexed query."""
    rows = (
        Balance.objects.filter(location=location, quantity__gt=0)
        .values(
            "lot__medicine_id",
            "lot__medicine__name",
            "lot__medicine__strength",
            "lot__medicine__unit",
        )
        .annotate(quantity=Sum("quantity"))
        .order_by("lot__medicine__name")
    )
    return [
        {
            "medicine": r["lot__medicine_id"],
            "name": r["lot__medicine__name"],
            "strength": r["lot__medicine__strength"],
            "unit": r["lot__medicine__unit"],
            "quantity": r["quantity"],
        }
        for r in rows
    ]


def stock_by_location(
    *, organisation: Organisation, location: Location | None = None
) -> QuerySet[Balance]:
    """Every positive balance by location and lot, with its medicine."""
    rows = Balance.objects.filter(location__organisation=organisation, quantity__gt=0)
    if location is not None:
        rows = rows.filter(location=location)
    return rows.select_related("location", "location__nurse", "lot", "lot__medicine").order_by(
        "location__kind", "location__name", "lot__medicine__name", "lot__expires_on"
    )


def cabinet_lots_to_take(*, organisation: Organisation, today: dt.date) -> list[Balance]:
    """What a nurse may take into her bag (*udtag*): every usable lot in the
    acute function's cabinets, the earliest expiry first, so the oldest
    stock leaves first."""
    return list(
        Balance.objects.filter(
            location__organisation=organisation,
            location__kind=Location.Kind.CABINET,
            location__is_active=True,
            quantity__gt=0,
            lot__recalled_at__isnull=True,
            lot__expires_on__gte=today,
        )
        .select_related("location", "lot", "lot__medicine")
        .order_by("lot__expires_on", "lot__medicine__name", "location__name", "lot_id")
    )


@dataclass(frozen=True)
class ExpiringLot:
    """A lot that expires soon, with how much of it is where."""

    lot: Lot
    total: Decimal
    places: list[Balance]


def expiring_lots(balances: list[Balance], *, until: dt.date) -> list[ExpiringLot]:
    """The lots among ``balances`` that expire on or before ``until``, soonest
    first, each once with its total and the locations holding it."""
    by_lot: dict[int, list[Balance]] = {}
    for balance in balances:
        if balance.lot.expires_on <= until:
            by_lot.setdefault(balance.lot_id, []).append(balance)
    found = [
        ExpiringLot(lot=held[0].lot, total=sum((b.quantity for b in held), ZERO), places=held)
        for held in by_lot.values()
    ]
    return sorted(
        found,
        key=lambda e: (e.lot.expires_on, e.lot.medicine.name, e.lot.batch_number, e.lot.pk),
    )


@dataclass(frozen=True)
class BelowMinimum:
    """A medicine whose usable stock is below its minimum."""

    medicine: Medicine
    usable: Decimal
    minimum: Decimal

    @property
    def missing(self) -> Decimal:
        return self.minimum - self.usable


def below_minimum(*, organisation: Organisation, today: dt.date) -> list[BelowMinimum]:
    """Active medicines with less usable stock (not expired, not recalled) in
    the cabinets and bags than their minimum, the furthest below first."""
    totals = usable_totals(organisation=organisation, today=today)
    found = [
        BelowMinimum(medicine=m, usable=totals.get(m.pk, ZERO), minimum=m.minimum_stock)
        for m in Medicine.objects.filter(is_active=True, minimum_stock__gt=0)
        if totals.get(m.pk, ZERO) < m.minimum_stock
    ]
    return sorted(found, key=lambda b: (-(b.missing / b.minimum), b.medicine.name))


def lot_history(*, organisation: Organisation, lot: Lot) -> QuerySet[Movement]:
    """A lot's full ledger in this acute function, oldest first."""
    return (
        Movement.objects.filter(lot=lot, location__organisation=organisation)
        .select_related("location", "by", "witness")
        .order_by("at", "pk")
    )


def lot_whereabouts(*, organisation: Organisation, lot: Lot) -> QuerySet[Balance]:
    return stock_by_location(organisation=organisation).filter(lot=lot)


def lot_holdings(*, organisation: Organisation, lot: Lot) -> list[Balance]:
    """Where a lot is held now in this acute function, cabinets before bags."""
    return list(
        Balance.objects.filter(lot=lot, quantity__gt=0, location__organisation=organisation)
        .select_related("location", "location__nurse")
        .order_by("location__kind", "location__name")
    )


def recall_administrations(
    *, actor: Actor, organisation: Organisation, lot: Lot
) -> list[Administration]:
    """The doses this acute function gave from a recalled lot, oldest first:
    the citizens to follow up (their GP told, the citizen observed).

    Only the medicine officer asks, for the purpose her role exists for
    (operations, R3), and only of a recalled lot. Each dose comes with what
    following it up takes — the citizen's name and masked CPR number, when,
    the nurse, the visit and the physician's order — and nothing of the
    record. Every citizen listed is one audit entry, written before the list
    is returned (R9)."""
    if actor.role != Role.MEDICINE_OFFICER:
        raise Forbidden("recall.role", "Only the medicine officer recalls a lot.")
    if not lot.is_recalled:
        raise PreconditionFailed("lot.not_recalled", "This lot is not recalled.")
    doses = list(
        Administration.objects.filter(lot=lot, bag__organisation=organisation)
        .select_related("citizen", "by", "visit", "order")
        .order_by("administered_at", "pk")
    )
    given_to: dict[int, list[int]] = {}
    for dose in doses:
        given_to.setdefault(dose.citizen_id, []).append(dose.pk)
    for citizen_id, administrations in given_to.items():
        audit_record(
            actor=actor,
            action=Action.SEARCH,
            purpose=role_purpose(actor.role),
            citizen_id=citizen_id,
            resource_type="MedicationAdministration",
            resource_id=str(lot.pk),
            reason_code="recall",
            detail={"lot": lot.pk, "administrations": administrations},
        )
    return doses


def balance_quantity(*, location_id: int, lot_id: int) -> Decimal:
    """The live balance of a lot in a location; none booked yet is zero."""
    row = (
        Balance.objects.filter(location_id=location_id, lot_id=lot_id)
        .values_list("quantity", flat=True)
        .first()
    )
    return row if row is not None else ZERO


def bag_of(*, organisation: Organisation, nurse: User) -> Location | None:
    """The nurse's own bag in this acute function, if she carries one."""
    return Location.objects.filter(
        organisation=organisation, kind=Location.Kind.BAG, nurse=nurse, is_active=True
    ).first()


def lot_suggest(
    *,
    bag: Location,
    medicine: Medicine,
    today: dt.date | None = None,
    given_at: dt.datetime | None = None,
) -> Lot | None:
    """The first-expiring usable lot of the medicine in the bag; for a dose
    given at ``given_at``, the one that was usable then (not yet recalled)."""
    today = today or timezone.localdate()
    not_recalled = Q(lot__recalled_at__isnull=True)
    if given_at is not None:
        not_recalled |= Q(lot__recalled_at__gt=given_at)
    balance = (
        Balance.objects.filter(
            not_recalled,
            location=bag,
            lot__medicine=medicine,
            quantity__gt=0,
            lot__expires_on__gte=today,
        )
        .select_related("lot", "lot__medicine")
        .order_by("lot__expires_on", "lot_id")
        .first()
    )
    return balance.lot if balance else None


def usable_totals(*, organisation: Organisation, today: dt.date) -> dict[int, Decimal]:
    rows = (
        Balance.objects.filter(
            location__organisation=organisation,
            location__is_active=True,
            lot__recalled_at__isnull=True,
            lot__expires_on__gte=today,
        )
        .values("lot__medicine_id")
        .annotate(total=Sum("quantity"))
    )
    return {r["lot__medicine_id"]: r["total"] or ZERO for r in rows}


def counts_overdue(
    *, organisation: Organisation, now: dt.datetime
) -> list[tuple[Location, dt.datetime | None]]:
    """Locations whose last approved count is older than their interval (or
    never made). A count is due at the same time of day on the clock in
    Copenhagen, ``count_interval_days`` later, across a change to or from
    summer time too."""
    locations = Location.objects.filter(organisation=organisation, is_active=True).annotate(
        last_count=Max("counts__approved_at", filter=Q(counts__status=StockCount.Status.APPROVED))
    )
    overdue: list[tuple[Location, dt.datetime | None]] = []
    for location in locations:
        last = location.last_count
        reference = last or location.created_at
        if local_days_later(reference, location.count_interval_days) <= now:
            overdue.append((location, last))
    return overdue


def counts_list(*, organisation: Organisation, status: str | None = None) -> QuerySet[StockCount]:
    rows = StockCount.objects.filter(location__organisation=organisation)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("location", "started_by", "approved_by").prefetch_related(
        "lines__lot__medicine"
    )


def count_get(*, organisation: Organisation, count_id: int) -> StockCount:
    count = (
        StockCount.objects.select_related("location")
        .filter(pk=count_id, location__organisation=organisation)
        .first()
    )
    if count is None:
        raise NotFoundOrNotAllowed("count.not_found", "No such count.")
    return count


def notifications_open(*, organisation: Organisation) -> QuerySet[Notification]:
    return Notification.objects.filter(
        organisation=organisation, acknowledged_at__isnull=True
    ).select_related("medicine", "lot", "location")


@dataclass(frozen=True)
class RegisterTotals:
    """The §4 register's sums for one medicine.

    ``drawn`` (cabinet to bag) always equals ``administered + wasted +
    returned + removed + adjusted_out - adjusted_in + in_bags``; with the bags
    empty it is the rule's drawn = administered + wasted + returned.
    """

    drawn: Decimal
    administered: Decimal
    wasted: Decimal
    returned: Decimal
    removed_from_bags: Decimal
    adjusted_in_bags: Decimal
    in_bags: Decimal

    @property
    def balanced(self) -> bool:
        accounted = (
            self.administered
            + self.wasted
            + self.returned
            + self.removed_from_bags
            - self.adjusted_in_bags
            + self.in_bags
        )
        return self.drawn == accounted


def controlled_register(
    *, organisation: Organisation, medicine: Medicine
) -> tuple[QuerySet[Movement], RegisterTotals]:
    """The per-medicine register of a §4 medicine: every movement, and its totals
    computed from the ledger in one query."""
    entries = (
        Movement.objects.filter(lot__medicine=medicine, location__organisation=organisation)
        .select_related("location", "lot", "by", "witness")
        .order_by("at", "pk")
    )
    bag = Q(location__kind=Location.Kind.BAG)
    sums = Movement.objects.filter(
        lot__medicine=medicine, location__organisation=organisation
    ).aggregate(
        drawn=Sum("quantity", filter=bag & Q(kind=Movement.Kind.TO_BAG, direction="in")),
        administered=Sum("quantity", filter=bag & Q(kind=Movement.Kind.ADMINISTERED)),
        wasted=Sum("quantity", filter=bag & Q(kind=Movement.Kind.WASTED)),
        returned=Sum("quantity", filter=bag & Q(kind=Movement.Kind.TO_CABINET, direction="out")),
        removed=Sum(
            "quantity",
            filter=bag & Q(kind__in=[Movement.Kind.EXPIRED, Movement.Kind.RECALLED]),
        ),
        adjusted_in=Sum(
            "quantity", filter=bag & Q(kind=Movement.Kind.COUNT_ADJUSTMENT, direction="in")
        ),
        adjusted_out=Sum(
            "quantity", filter=bag & Q(kind=Movement.Kind.COUNT_ADJUSTMENT, direction="out")
        ),
    )
    in_bags = Balance.objects.filter(
        lot__medicine=medicine, location__organisation=organisation, location__kind="bag"
    ).aggregate(total=Sum("quantity"))["total"]
    totals = RegisterTotals(
        drawn=sums["drawn"] or ZERO,
        administered=sums["administered"] or ZERO,
        wasted=sums["wasted"] or ZERO,
        returned=sums["returned"] or ZERO,
        removed_from_bags=(sums["removed"] or ZERO) + (sums["adjusted_out"] or ZERO),
        adjusted_in_bags=sums["adjusted_in"] or ZERO,
        in_bags=in_bags or ZERO,
    )
    return entries, totals


def notification_get(*, organisation: Organisation, notification_id: int) -> Notification:
    notification = Notification.objects.filter(
        pk=notification_id, organisation=organisation
    ).first()
    if notification is None:
        raise NotFoundOrNotAllowed("notification.not_found", "No such notification.")
    return notification


def monthly_use(*, organisation: Organisation, year: int) -> list[dict[str, Any]]:
    """Use per medicine per month (Copenhagen time) per municipality, from the
    administrations of the year: the key the municipalities share cost by."""
    start = dt.datetime(year, 1, 1, tzinfo=LOCAL)
    end = dt.datetime(year + 1, 1, 1, tzinfo=LOCAL)
    rows = (
        Administration.objects.filter(
            bag__organisation=organisation, administered_at__gte=start, administered_at__lt=end
        )
        .annotate(month=TruncMonth("administered_at", tzinfo=LOCAL))
        .values(
            "month",
            "medicine_id",
            "medicine__atc_code",
            "medicine__name",
            "medicine__strength",
            "medicine__unit",
            "municipality__municipality_code",
            "municipality__name",
        )
        .annotate(quantity=Sum("quantity"), doses=Count("id"))
        .order_by("month", "medicine__name", "municipality__municipality_code")
    )
    return [
        {
            "month": r["month"].astimezone(LOCAL).strftime("%Y-%m"),
            "medicine": {
                "id": r["medicine_id"],
                "atc_code": r["medicine__atc_code"],
                "name": f"{r['medicine__name']} {r['medicine__strength']}",
                "unit": r["medicine__unit"],
            },
            "municipality": {
                "code": r["municipality__municipality_code"],
                "name": r["municipality__name"],
            },
            "quantity": str(Decimal(r["quantity"]).quantize(Decimal("0.001"))),
            "doses": r["doses"],
        }
        for r in rows
    ]


def dose_rest(*, dose: Movement) -> Movement | None:
    """The rest of the unit opened for a dose, discarded in the dose's
    transaction (:func:`medicine_cabinet.services.movements.dose_rest_waste`):
    booked with the dose's moment, place, lot and nurse."""
    return Movement.objects.filter(
        kind=Movement.Kind.WASTED,
        reason_code=WasteReason.PARTIAL_DOSE,
        location_id=dose.location_id,
        lot_id=dose.lot_id,
        by_id=dose.by_id,
        at=dose.at,
    ).first()


def last_dose_rest(*, nurse: User) -> Movement | None:
    """The rest discarded with the nurse's last dose, if it left one: what the
    dose form's confirmation tells her."""
    dose = (
        Movement.objects.filter(kind=Movement.Kind.ADMINISTERED, by=nurse).order_by("-pk").first()
    )
    return dose_rest(dose=dose) if dose else None
