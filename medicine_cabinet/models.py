"""The acute function's medicine stock (*medicinskab*), not tied to any citizen's CPR number (R8).

Stock belongs to the acute function. It sits in locked cabinets and in each
nurse's bag (*akuttaske*), by lot. Every movement is an append-only
:class:`Movement` with the balance before and after; the :class:`Balance` row of
a location and lot is changed only in the same transaction as the movement that
explains it, under a row lock.

The tables stay in one module, a little longer than most: the ledger, the
balances, lots, counts and administrations are one schema whose constraints
refer to each other and read best side by side.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from core.models import Organisation, User


def _amount(value: Decimal) -> str:
    """A stock quantity as a Danish reader writes it (``2``, ``2,5``), not ``2.000``."""
    return formats.number_format(format(value.normalize(), "f"), use_l10n=True)


class Medicine(models.Model):
    """One formulary line: a medicine in a strength and form the cabinet keeps.

    Quantities of this medicine are counted in ``unit`` (tablet, ampoule, mL …).
    """

    class Dispensing(models.TextChoices):
        PRESCRIPTION = "rx", _("Prescription only")
        OVER_THE_COUNTER = "otc", _("Over the counter")

    atc_code = models.CharField(_("ATC code"), max_length=7, help_text=_("ATC code, e.g. N02AA01."))
    name = models.CharField(_("name"), max_length=120)
    strength = models.CharField(_("strength"), max_length=60, help_text=_("e.g. 10 mg/mL"))
    form = models.CharField(
        _("dosage form"), max_length=60, help_text=_("e.g. solution for injection")
    )
    unit = models.CharField(
        _("stock unit"),
        max_length=20,
        help_text=_("The unit stock is counted in: tablet, ampoule …"),
    )
    package_size = models.DecimalField(
        _("package size"), max_digits=12, decimal_places=3, help_text=_("Units in one package.")
    )
    # What one stock unit holds (one tablet: 500 mg; an ampoule of 4 mL at
    # 10 mg/mL: 40 mg), so a dose is compared with an order in mg (R8).
    # Empty when the strength does not say it plainly.
    amount_per_unit = models.DecimalField(
        _("active substance per unit"),
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Active substance in one stock unit, e.g. 500 for a 500 mg tablet."),
    )
    amount_unit = models.CharField(
        _("unit of the active substance"),
        max_length=20,
        blank=True,
        help_text=_("The unit of the active substance per unit, e.g. mg."),
    )
    dispensing = models.CharField(_("dispensing"), max_length=3, choices=Dispensing.choices)
    dependence_forming = models.BooleanField(
        _("dependence-forming (§4)"),
        default=False,
        help_text=_("§4 (afhængighedsskabende): every movement needs a witness; no phone orders."),
    )
    minimum_stock = models.DecimalField(
        _("minimum stock"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("0"),
        help_text=_("Across the cabinets, in units."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("medicine")
        verbose_name_plural = _("formulary")
        ordering = ["name", "strength"]
        constraints = [
            models.UniqueConstraint(
                fields=["atc_code", "strength", "form"], name="medicine_unique_line"
            ),
            models.CheckConstraint(
                # A medicine's code in one of ATC's anatomical main groups.
                name="medicine_atc_shape",
                condition=Q(atc_code__regex=r"^[ABCDGHJLMNPRSV][0-9]{2}[A-Z]{2}[0-9]{2}$"),
            ),
            models.CheckConstraint(
                name="medicine_package_positive", condition=Q(package_size__gt=0)
            ),
            models.CheckConstraint(
                name="medicine_minimum_not_negative", condition=Q(minimum_stock__gte=0)
            ),
            models.CheckConstraint(
                name="medicine_amount_per_unit_complete",
                condition=(Q(amount_per_unit__isnull=True) & Q(amount_unit=""))
                | (Q(amount_per_unit__gt=0) & ~Q(amount_unit="")),
            ),
        ]

    def __str__(self) -> str:
        # The dosage form is kept in English as data; read in the reader's language.
        return f"{self.name} {self.strength} {pgettext('dosage form', self.form)}"


class Location(models.Model):
    """Where stock is: a locked cabinet of the acute function, or one nurse's bag."""

    class Kind(models.TextChoices):
        CABINET = "cabinet", _("Locked cabinet")
        BAG = "bag", _("Nurse's bag")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="stock_locations",
        verbose_name=_("organisation"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    nurse = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medicine_bags",
        verbose_name=_("nurse"),
    )
    count_interval_days = models.PositiveIntegerField(
        _("days between counts"),
        default=7,
        help_text=_("A count is due this many days after the last approved one."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("stock location")
        verbose_name_plural = _("stock locations")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                name="location_bag_has_nurse_cabinet_has_none",
                condition=(Q(kind="bag") & Q(nurse__isnull=False))
                | (Q(kind="cabinet") & Q(nurse__isnull=True)),
            ),
            models.UniqueConstraint(
                fields=["organisation", "nurse"],
                condition=Q(kind="bag"),
                name="location_one_bag_per_nurse",
            ),
            models.UniqueConstraint(fields=["organisation", "name"], name="location_unique_name"),
            models.CheckConstraint(
                name="location_count_interval", condition=Q(count_interval_days__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Lot(models.Model):
    """A batch (*batchnummer*) of one medicine with its expiry date."""

    medicine = models.ForeignKey(Medicine, on_delete=models.PROTECT, related_name="lots")
    batch_number = models.CharField(max_length=40)
    expires_on = models.DateField()
    recalled_at = models.DateTimeField(null=True, blank=True)
    recall_reason = models.CharField(max_length=300, blank=True)
    recalled_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["expires_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["medicine", "batch_number"], name="lot_unique_batch"),
            models.CheckConstraint(
                name="lot_recall_has_reason",
                condition=Q(recalled_at__isnull=True) | ~Q(recall_reason=""),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(medicine)s, batch %(batch)s") % {
            "medicine": self.medicine,
            "batch": self.batch_number,
        }

    @property
    def is_recalled(self) -> bool:
        return self.recalled_at is not None

    def is_expired(self, today: object | None = None) -> bool:
        day = today or timezone.localdate()
        return self.expires_on < day  # type: ignore[operator]


class Balance(models.Model):
    """What one location holds of one lot now. Changed only together with a
    :class:`Movement` in the same transaction, under ``select_for_update``."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="balances")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "lot"], name="balance_one_per_location_lot"
            ),
            models.CheckConstraint(name="balance_not_negative", condition=Q(quantity__gte=0)),
        ]
        indexes = [models.Index(fields=["lot", "location"], name="balance_lot_idx")]

    def __str__(self) -> str:
        return gettext("%(quantity)s of %(lot)s in %(location)s") % {
            "quantity": _amount(self.quantity),
            "lot": self.lot,
            "location": self.location,
        }


class Movement(models.Model):
    """One ledger entry: one quantity of one lot into or out of one location.

    Appended, never changed. A transfer is two entries (out of one location,
    into the other) sharing ``transfer_id``.
    """

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received from the pharmacy")
        TO_BAG = "to_bag", _("Cabinet to bag")
        TO_CABINET = "to_cabinet", _("Bag back to cabinet")
        ADMINISTERED = "administered", _("Administered")
        WASTED = "wasted", _("Wasted or discarded")
        EXPIRED = "expired", _("Removed as expired")
        RECALLED = "recalled", _("Removed as recalled")
        COUNT_ADJUSTMENT = "count_adjustment", _("Count adjustment")

    class Direction(models.TextChoices):
        IN = "in", _("In")
        OUT = "out", _("Out")

    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    balance_before = models.DecimalField(max_digits=12, decimal_places=3)
    balance_after = models.DecimalField(max_digits=12, decimal_places=3)
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="stock_movements")
    witness = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="witnessed_movements"
    )
    transfer_id = models.UUIDField(null=True, blank=True)
    supplier = models.CharField(max_length=120, blank=True)
    delivery_reference = models.CharField(max_length=80, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=300, blank=True)
    stock_count = models.ForeignKey(
        "StockCount", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments"
    )

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["location", "lot", "at"], name="movement_location_lot_idx"),
            models.Index(fields=["lot", "at"], name="movement_lot_idx"),
            models.Index(fields=["kind", "at"], name="movement_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(name="movement_quantity_positive", condition=Q(quantity__gt=0)),
            models.CheckConstraint(
                name="movement_balances_not_negative",
                condition=Q(balance_before__gte=0) & Q(balance_after__gte=0),
            ),
            models.CheckConstraint(
                name="movement_balance_arithmetic",
                condition=(Q(direction="in") & Q(balance_after=F("balance_before") + F("quantity")))
                | (Q(direction="out") & Q(balance_after=F("balance_before") - F("quantity"))),
            ),
            models.CheckConstraint(
                name="movement_witness_is_someone_else",
                condition=Q(witness__isnull=True) | ~Q(witness=F("by")),
            ),
            models.CheckConstraint(
                name="movement_received_has_supplier",
                condition=~Q(kind="received") | (~Q(supplier="") & ~Q(delivery_reference="")),
            ),
            models.CheckConstraint(
                name="movement_waste_has_reason",
                condition=~Q(kind="wasted") | ~Q(reason_code=""),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s, %(direction)s %(quantity)s of %(lot)s") % {
            "kind": self.get_kind_display(),
            "direction": self.get_direction_display().lower(),
            "quantity": _amount(self.quantity),
            "lot": self.lot,
        }

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise RuntimeError("Ledger entries are appended, never changed.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Ledger entries are appended, never deleted.")


class WasteReason(models.TextChoices):
    DROPPED = "dropped", _("Dropped or broken")
    PARTIAL_DOSE = "partial_dose", _("Rest of an opened unit (ampoule, split tablet)")
    CONTAMINATED = "contaminated", _("Contaminated")
    REFUSED = "refused", _("Drawn up but not given")
    DAMAGED_PACKAGE = "damaged_package", _("Damaged package")
    OTHER = "other", _("Other (see note)")


class CountReason(models.TextChoices):
    """Why a counted quantity differs from the ledger."""

    COUNTING_ERROR = "counting_error", _("Earlier count or registration error")
    UNRECORDED_WASTE = "unrecorded_waste", _("Waste not recorded")
    UNRECORDED_ADMINISTRATION = "unrecorded_administration", _("Administration not recorded")
    BREAKAGE = "breakage", _("Breakage found at count")
    MISPLACED = "misplaced", _("Misplaced between locations")
    SUSPECTED_LOSS = "suspected_loss", _("Suspected loss or theft (report it)")
    UNKNOWN = "unknown", _("Unknown")


class StockCount(models.Model):
    """A count of one location (*optælling*): counted, recounted where it
    differed, then approved by the medicine officer."""

    class Status(models.TextChoices):
        OPEN = "open", _("Counting")
        SUBMITTED = "submitted", _("Awaiting approval")
        APPROVED = "approved", _("Approved")

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="counts")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    has_discrepancy = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["location"],
                condition=~Q(status="approved"),
                name="count_one_unfinished_per_location",
            ),
            models.CheckConstraint(
                name="count_approved_has_approver",
                condition=~Q(status="approved")
                | (Q(approved_by__isnull=False) & Q(approved_at__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Count %(number)s of %(location)s") % {
            "number": self.pk,
            "location": self.location,
        }


class CountLine(models.Model):
    """One lot in a count. The variance is against the live balance when the
    number was taken (stock may move while a count is open); only that
    variance is booked on approval, so movements during the count stand."""

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    counted_quantity = models.DecimalField(max_digits=12, decimal_places=3)
    balance_at_count = models.DecimalField(max_digits=12, decimal_places=3)
    counted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField(default=timezone.now)
    recounted_quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    balance_at_recount = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    recounted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recounted_at = models.DateTimeField(null=True, blank=True)
    reason_code = models.CharField(max_length=32, choices=CountReason.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["count", "lot"], name="count_line_one_per_lot"),
            models.CheckConstraint(
                name="count_line_quantities_not_negative",
                condition=Q(counted_quantity__gte=0)
                & (Q(recounted_quantity__isnull=True) | Q(recounted_quantity__gte=0)),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(lot)s counted to %(quantity)s") % {
            "lot": self.lot,
            "quantity": _amount(self.counted_quantity),
        }

    @property
    def first_variance(self) -> Decimal:
        return self.counted_quantity - self.balance_at_count

    @property
    def needs_recount(self) -> bool:
        return self.first_variance != 0 and self.recounted_quantity is None

    @property
    def variance(self) -> Decimal:
        """The variance that stands: the recount's, if one was taken."""
        if self.recounted_quantity is not None and self.balance_at_recount is not None:
            return self.recounted_quantity - self.balance_at_recount
        return self.first_variance


class Notification(models.Model):
    """Something the medicine officer should see: low stock, expiry, an
    overdue count, a discrepancy, a recall. ``key`` makes the watch jobs
    idempotent: the same condition is raised once until acknowledged."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", _("Low stock")
        EXPIRES_30 = "expires_30", _("Expires within 30 days")
        EXPIRES_60 = "expires_60", _("Expires within 60 days")
        EXPIRES_90 = "expires_90", _("Expires within 90 days")
        COUNT_OVERDUE = "count_overdue", _("Count overdue")
        DISCREPANCY = "discrepancy", _("Count discrepancy")
        RECALL = "recall", _("Lot recalled")
        OFFLINE_DOSE_REFUSED = "offline_dose", _("Dose given offline, refused when sent")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="cabinet_notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=120)
    message = models.CharField(max_length=300)
    medicine = models.ForeignKey(
        Medicine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stock_count = models.ForeignKey(
        StockCount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key"],
                condition=Q(acknowledged_at__isnull=True),
                name="notification_one_open_per_key",
            )
        ]

    def __str__(self) -> str:
        return self.message


class DoseMismatch(models.TextChoices):
    """How a dose differs from the order it is given against (R8)."""

    NONE = "", _("As ordered")
    AMOUNT = "amount", _("Another amount than ordered")
    UNIT = "unit", _("Not comparable with the ordered unit")


class Administration(models.Model):
    """A dose given from a nurse's bag on her visit, against a physician's order (R8).

    The only record where stock meets a CPR-identified citizen. The citizen's
    municipality is kept by value at the time of the dose: the municipalities
    share the joint function's cost by it.
    """

    visit = models.ForeignKey(
        "acute.Visit", on_delete=models.PROTECT, related_name="administrations"
    )
    order = models.ForeignKey(
        "clinical.MedicationOrder", on_delete=models.PROTECT, related_name="administrations"
    )
    citizen = models.ForeignKey(
        "core.Citizen", on_delete=models.PROTECT, related_name="medicine_administrations"
    )
    municipality = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="medicine_administrations"
    )
    medicine = models.ForeignKey(Medicine, on_delete=models.PROTECT, related_name="administrations")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="administrations")
    bag = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="administrations")
    movement = models.OneToOneField(
        Movement, on_delete=models.PROTECT, related_name="administration"
    )
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit = models.CharField(max_length=20)
    # The dose in the order's unit: what is counted against the order's limit (R8).
    order_amount = models.DecimalField(max_digits=18, decimal_places=6)
    order_unit = models.CharField(max_length=32)
    # A dose that is not the ordered one (another amount, or a unit that does
    # not convert) is given only when the nurse confirms it; kept with the dose.
    dose_mismatch = models.CharField(
        max_length=8, choices=DoseMismatch.choices, blank=True, default=DoseMismatch.NONE
    )
    mismatch_confirmed = models.BooleanField(default=False)
    administered_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="administrations_given")
    witness = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="administrations_witnessed",
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-administered_at"]
        indexes = [
            models.Index(
                fields=["administered_at", "municipality"], name="administration_month_idx"
            ),
            models.Index(fields=["citizen", "administered_at"], name="administration_citizen_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="administration_quantity_positive", condition=Q(quantity__gt=0)
            ),
            models.CheckConstraint(
                name="administration_witness_is_someone_else",
                condition=Q(witness__isnull=True) | ~Q(witness=F("by")),
            ),
            models.CheckConstraint(
                name="administration_order_amount_positive", condition=Q(order_amount__gt=0)
            ),
            # R8: a dose that differs from the order exists only as confirmed.
            models.CheckConstraint(
                name="administration_mismatch_confirmed",
                condition=(Q(dose_mismatch="") & Q(mismatch_confirmed=False))
                | (~Q(dose_mismatch="") & Q(mismatch_confirmed=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"Administration {self.pk} of {self.medicine_id} on visit {self.visit_id}"
