"""On the visit: the test catalogue (R7), results, procedures, delegations and
physician medication orders (R8).

Times are stored in UTC. Citizens are referred to by id; the CPR number lives
only on :class:`core.models.Citizen`.

The tables stay in one module, a little longer than most: they are one
schema, each refers to the others (a result to its test, an alert to its
result, an order to its visit), and their constraints read best side by side.
"""

from __future__ import annotations

from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Citizen, Organisation, User
from core.units import decimals_label

NPU_SYSTEM = "urn:oid:1.2.208.176.2.1"
ATC_SYSTEM = "http://www.whocc.no/atc"
# Procedures and tasks without a national code in this catalogue.
LOCAL_TASK_SYSTEM = "urn:tvaerakut:clinical-task"


class TestDefinition(models.Model):
    """One entry of the test and procedure catalogue (*prøvekatalog*).

    ``predefined`` entries are R7's list: an acute nurse takes them without a
    physician's delegation. Anything else (haemoglobin, INR, urine dipstick, or
    a test added later) needs a delegation recorded on the visit. The catalogue
    is data: seeded by migration, extended by the admin or a fixture (see
    ``docs/clinical.md``), never by code.
    """

    __test__ = False  # not a pytest class, despite the name

    class Kind(models.TextChoices):
        OBSERVATION = "observation", _("Laboratory test")
        PROCEDURE = "procedure", _("Procedure")

    class Derivation(models.TextChoices):
        NONE = "", _("Measured")
        EGFR_CKD_EPI_2021 = "egfr_ckd_epi_2021", _("eGFR from creatinine (CKD-EPI 2021)")

    code = models.CharField(max_length=32, unique=True, help_text="NPU code or local task code.")
    system = models.CharField(max_length=100, default=NPU_SYSTEM)
    display = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    predefined = models.BooleanField(
        default=False, help_text="R7: may be done without a physician's delegation."
    )
    unit = models.CharField(max_length=32, blank=True, help_text="UCUM unit (observations).")
    unit_display = models.CharField(max_length=32, blank=True)
    decimals = models.PositiveSmallIntegerField(default=1)
    reference_low = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    # Sex-specific reference intervals (creatinine, haemoglobin) override the general one.
    reference_low_female = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True
    )
    reference_high_female = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True
    )
    reference_low_male = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    reference_high_male = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True
    )
    critical_low = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    critical_high = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    # Values outside these bounds cannot be real and are refused.
    plausible_low = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    plausible_high = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    derivation = models.CharField(
        max_length=32, choices=Derivation.choices, blank=True, default=Derivation.NONE
    )
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "display"]
        constraints = [
            models.CheckConstraint(
                name="testdef_observation_has_unit",
                condition=~Q(kind="observation") | ~Q(unit=""),
            ),
            models.CheckConstraint(
                name="testdef_reference_ordered",
                condition=Q(reference_low__isnull=True)
                | Q(reference_high__isnull=True)
                | Q(reference_low__lte=F("reference_high")),
            ),
            models.CheckConstraint(
                name="testdef_critical_ordered",
                condition=Q(critical_low__isnull=True)
                | Q(critical_high__isnull=True)
                | Q(critical_low__lt=F("critical_high")),
            ),
            models.CheckConstraint(
                name="testdef_plausible_ordered",
                condition=Q(plausible_low__isnull=True)
                | Q(plausible_high__isnull=True)
                | Q(plausible_low__lt=F("plausible_high")),
            ),
        ]

    def __str__(self) -> str:
        return gettext(self.display)


class MedicationOrder(models.Model):
    """A physician's order for a medicine for one citizen (*ordination*).

    Either a phone order (*telefonordination*) received and read back by a
    nurse, or a written electronic order entered by the physician herself
    (required for dependence-forming, §4, medicines). The medicine cabinet
    administers a dose only against a confirmed phone order or a written order
    that matches the medicine. After the order the physician sends a
    prescription in the citizen's CPR number to the pharmacy; the platform
    tracks it as pending until she marks it sent.
    """

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone order (telefonordination)")
        WRITTEN = "written", _("Written electronic order")

    class Status(models.TextChoices):
        # A phone order recorded by the nurse, awaiting the physician's electronic confirmation.
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting physician confirmation")
        CONFIRMED = "confirmed", _("Confirmed by the physician")
        CANCELLED = "cancelled", _("Cancelled")

    class PrescriptionStatus(models.TextChoices):
        PENDING = "pending", _("Prescription pending")
        SENT = "sent", _("Prescription sent to the pharmacy")

    class SeenBy(models.TextChoices):
        """How the acute function saw a physician's confirmation or
        prescription that reached it by another route than her own page —
        the physician is no user of the platform (R8)."""

        FMK = "fmk", _("Seen in FMK (Fælles Medicinkort)")
        PHONE = "phone", _("Confirmed by the physician on the phone")
        WRITTEN = "written", _("Received in writing from the physician")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=32, choices=Status.choices)
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="medication_orders")
    # The visit the order was given on (always, for phone orders).
    visit = models.ForeignKey(
        "acute.Visit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medication_orders",
    )

    # The medicine and how it is to be given.
    medicine_atc = models.CharField(max_length=7, help_text="ATC code, e.g. J01CA08.")
    medicine_name = models.CharField(max_length=200)
    dose = models.DecimalField(max_digits=10, decimal_places=3)
    dose_unit = models.CharField(max_length=32, help_text="UCUM unit, e.g. mg.")
    route = models.CharField(max_length=64, help_text="e.g. oral, intravenous, subcutaneous.")
    frequency = models.CharField(max_length=100, help_text="e.g. 3 times daily, once.")
    duration = models.CharField(max_length=100, help_text="e.g. 5 days, single dose.")
    # R8: what the order allows, in a form the platform computes with. The
    # words above are kept as the physician said them; these agree with them.
    doses_per_day = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="At most this many doses in any 24 hours; empty for a single dose.",
    )
    duration_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days from the order during which doses may be given."
    )
    total_quantity = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        help_text="In the dose unit: the most that may be given against this order in all.",
    )
    indication = models.CharField(max_length=300)
    dependence_forming = models.BooleanField(
        default=False, help_text="§4 medicine at the time of ordering."
    )

    # Who ordered (as stated on the phone for phone orders).
    ordered_at = models.DateTimeField()
    ordered_by_name = models.CharField(max_length=200)
    ordered_by_role = models.CharField(max_length=100)
    ordered_by_organisation_name = models.CharField(max_length=200)
    ordered_by_authorisation_id = models.CharField(max_length=20)
    ordering_physician = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medication_orders_given",
        help_text="The physician's user, when known; she confirms on her own page.",
    )
    ordering_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medication_orders_given",
    )

    # Who received it (phone orders) or entered it (written orders).
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="medication_orders_recorded"
    )
    recorded_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="medication_orders_recorded"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    # R8: the nurse read the order back and the physician confirmed the read-back.
    read_back = models.BooleanField(default=False)
    read_back_confirmed = models.BooleanField(default=False)

    # Electronic confirmation by the physician.
    confirm_by = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medication_orders_confirmed",
    )
    # Set when the coordinator recorded a confirmation that reached the acute
    # function by another route (``medication_order_received_record``): how
    # it was seen and her note; ``confirmed_by`` is then the coordinator.
    confirmation_seen_by = models.CharField(max_length=16, choices=SeenBy.choices, blank=True)
    confirmation_note = models.CharField(max_length=500, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The physician may withdraw an order (wrong medicine heard, plan changed).
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medication_orders_cancelled",
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    # A physician who is no user of the platform withdraws her order by
    # phoning the acute function; its coordinator records it on her behalf
    # (``medication_order_cancel`` with ``phoned``): who phoned and when.
    # ``cancelled_by`` is then the coordinator, ``cancel_reason`` her note.
    cancel_phoned_by = models.CharField(max_length=200, blank=True)
    cancel_phoned_at = models.DateTimeField(null=True, blank=True)
    # The phone order this written order corrects (``medication_order_correct``):
    # it takes that order's place, so a dose given against the phone order —
    # one the tablet queued offline and sent after the correction — counts
    # against this one too (R8).
    corrects = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="correction",
    )

    # The prescription in the citizen's CPR number (*recept*).
    prescription_status = models.CharField(
        max_length=16, choices=PrescriptionStatus.choices, default=PrescriptionStatus.PENDING
    )
    prescription_due_by = models.DateTimeField(null=True, blank=True)
    prescription_sent_at = models.DateTimeField(null=True, blank=True)
    prescription_sent_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prescriptions_sent",
    )
    # As ``confirmation_seen_by``: the prescription seen by another route.
    prescription_seen_by = models.CharField(max_length=16, choices=SeenBy.choices, blank=True)
    prescription_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-ordered_at"]
        indexes = [
            # A physician's own orders, newest first (her page).
            models.Index(
                fields=["ordering_physician", "-ordered_at"], name="medorder_physician_idx"
            ),
            models.Index(
                fields=["confirm_by"],
                condition=Q(status="awaiting_confirmation"),
                name="medorder_awaiting_idx",
            ),
            models.Index(
                fields=["prescription_due_by"],
                condition=Q(prescription_status="pending"),
                name="medorder_rx_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(name="medorder_dose_positive", condition=Q(dose__gt=0)),
            # R8: an order allows at least the dose it names, and no more than
            # its schedule (dose x doses a day x days) where it has one.
            models.CheckConstraint(
                name="medorder_total_covers_one_dose", condition=Q(total_quantity__gte=F("dose"))
            ),
            models.CheckConstraint(
                name="medorder_total_within_schedule",
                condition=Q(doses_per_day__isnull=True)
                | Q(duration_days__isnull=True)
                | Q(
                    total_quantity__lte=ExpressionWrapper(
                        F("dose") * F("doses_per_day") * F("duration_days"),
                        output_field=models.DecimalField(),
                    )
                ),
            ),
            models.CheckConstraint(
                name="medorder_schedule_positive",
                condition=(Q(doses_per_day__isnull=True) | Q(doses_per_day__gte=1))
                & (Q(duration_days__isnull=True) | Q(duration_days__gte=1)),
            ),
            models.CheckConstraint(
                # A medicine's code in one of ATC's anatomical main groups (R8).
                name="medorder_atc_shape",
                condition=Q(medicine_atc__regex=r"^[ABCDGHJLMNPRSV][0-9]{2}[A-Z]{2}[0-9]{2}$"),
            ),
            # R8: a phone order exists only with read-back confirmed by the physician.
            models.CheckConstraint(
                name="medorder_phone_read_back",
                condition=~Q(kind="phone") | Q(read_back=True, read_back_confirmed=True),
            ),
            # §4 medicines are never ordered by phone.
            models.CheckConstraint(
                name="medorder_no_dependence_forming_by_phone",
                condition=~Q(kind="phone") | Q(dependence_forming=False),
            ),
            models.CheckConstraint(
                name="medorder_phone_on_visit",
                condition=~Q(kind="phone") | Q(visit__isnull=False),
            ),
            models.CheckConstraint(
                name="medorder_confirmed_has_time",
                condition=~Q(status="confirmed") | Q(confirmed_at__isnull=False),
            ),
            models.CheckConstraint(
                name="medorder_cancelled_has_reason",
                condition=~Q(status="cancelled")
                | (Q(cancelled_at__isnull=False) & ~Q(cancel_reason="")),
            ),
            # R8: only an order whose physician has no user here is confirmed
            # or prescribed by another route; a user does it herself.
            models.CheckConstraint(
                name="medorder_seen_by_only_without_user",
                condition=Q(ordering_physician__isnull=True)
                | (Q(confirmation_seen_by="") & Q(prescription_seen_by="")),
            ),
            # R8: a withdrawal phoned in is recorded for a physician who is no
            # user (a user withdraws herself), whole: who phoned and when.
            models.CheckConstraint(
                name="medorder_withdrawal_phoned_only_without_user",
                condition=Q(ordering_physician__isnull=True)
                | (Q(cancel_phoned_by="") & Q(cancel_phoned_at__isnull=True)),
            ),
            models.CheckConstraint(
                name="medorder_withdrawal_phoned_whole",
                condition=(Q(cancel_phoned_by="") & Q(cancel_phoned_at__isnull=True))
                | (
                    ~Q(cancel_phoned_by="")
                    & Q(cancel_phoned_at__isnull=False)
                    & Q(status="cancelled")
                ),
            ),
            models.CheckConstraint(
                name="medorder_sent_has_time",
                condition=~Q(prescription_status="sent") | Q(prescription_sent_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s %(medicine)s for citizen %(citizen)s") % {
            "kind": self.get_kind_display(),
            "medicine": self.medicine_name or self.medicine_atc,
            "citizen": self.citizen_id,
        }

    @property
    def is_administrable(self) -> bool:
        """A dose may leave stock against this order: a written order, or a phone
        order read back and confirmed on the phone (every stored phone order is),
        unless it was cancelled. Electronic confirmation follows later."""
        return self.status != self.Status.CANCELLED

    @property
    def awaits_another_route(self) -> bool:
        """Its physician is no user of the platform and it still awaits her
        confirmation or prescription: only a confirmation or prescription
        received by another route, recorded by the coordinator, ends it (R8)."""
        return (
            self.ordering_physician_id is None
            and self.status != self.Status.CANCELLED
            and (
                self.status == self.Status.AWAITING_CONFIRMATION
                or self.prescription_status == self.PrescriptionStatus.PENDING
            )
        )

    @classmethod
    def prescription_owed(cls) -> Q:
        """Orders whose prescription is still to be sent (R8): pending, and
        either in force or cancelled after doses were given against it — the
        medicine the citizen got from the cabinet is prescribed in her CPR
        number all the same, so a withdrawal stops further doses, not the
        prescription for those given."""
        dosed = cls.objects.filter(administrations__isnull=False).values("pk")
        return Q(prescription_status=cls.PrescriptionStatus.PENDING) & (
            ~Q(status=cls.Status.CANCELLED) | Q(pk__in=dosed)
        )


class Delegation(models.Model):
    """A physician's delegation (*delegation*) of one task outside R7 for this
    citizen, recorded on the visit: who delegated, when, and what."""

    visit = models.ForeignKey("acute.Visit", on_delete=models.PROTECT, related_name="delegations")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="delegations")
    test = models.ForeignKey(TestDefinition, on_delete=models.PROTECT, related_name="delegations")
    physician_name = models.CharField(max_length=200)
    physician_authorisation_id = models.CharField(max_length=20)
    physician_organisation_name = models.CharField(max_length=200)
    physician = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="delegations_given"
    )
    delegated_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="delegations_recorded"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "test"], name="delegation_one_per_task"),
        ]

    def __str__(self) -> str:
        return gettext("Delegation of %(task)s on visit %(visit)s") % {
            "task": gettext(self.test.display),
            "visit": self.visit_id,
        }


class LabResult(models.Model):
    """One result of a test taken on a visit, exchanged as a FHIR Observation."""

    class Interpretation(models.TextChoices):
        # HL7 v3 ObservationInterpretation codes.
        NORMAL = "N", "Normal"
        LOW = "L", "Low"
        HIGH = "H", "High"
        CRITICAL_LOW = "LL", "Critically low"
        CRITICAL_HIGH = "HH", "Critically high"

    class Status(models.TextChoices):
        FINAL = "final", _("Final")
        ENTERED_IN_ERROR = "entered-in-error", _("Entered in error")

    visit = models.ForeignKey("acute.Visit", on_delete=models.PROTECT, related_name="lab_results")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="lab_results")
    test = models.ForeignKey(TestDefinition, on_delete=models.PROTECT, related_name="results")
    value = models.DecimalField(max_digits=10, decimal_places=3)
    unit = models.CharField(max_length=32)
    interpretation = models.CharField(max_length=2, choices=Interpretation.choices)
    reference_low = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FINAL)
    effective_at = models.DateTimeField()
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derived_results"
    )
    delegation = models.ForeignKey(
        Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="results"
    )
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="lab_results")
    recorded_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="lab_results"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    # A result is never edited or deleted: a wrong one is marked entered in
    # error (who, when, why) and, when corrected, the right value is a new
    # result that replaces it.
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["effective_at", "id"]
        indexes = [models.Index(fields=["citizen", "effective_at"])]
        constraints = [
            models.CheckConstraint(
                name="labresult_critical_is_flagged",
                condition=Q(interpretation__in=["N", "L", "H", "LL", "HH"]),
            ),
            models.CheckConstraint(
                name="labresult_withdrawn_has_reason",
                condition=~Q(status="entered-in-error")
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawn_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(test)s on visit %(visit)s") % {
            "test": gettext(self.test.display),
            "visit": self.visit_id,
        }

    @property
    def is_critical(self) -> bool:
        return self.interpretation in (
            self.Interpretation.CRITICAL_LOW,
            self.Interpretation.CRITICAL_HIGH,
        )


class ProcedureRecord(models.Model):
    """A procedure done on a visit (urinary catheter, feeding tube, ...), as FHIR Procedure."""

    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        NOT_DONE = "not-done", _("Not done")

    visit = models.ForeignKey("acute.Visit", on_delete=models.PROTECT, related_name="procedures")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="procedures")
    test = models.ForeignKey(TestDefinition, on_delete=models.PROTECT, related_name="procedures")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    performed_at = models.DateTimeField()
    note = models.CharField(max_length=1000, blank=True)
    delegation = models.ForeignKey(
        Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="procedures"
    )
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="procedures")
    recorded_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="procedures"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return gettext("%(test)s on visit %(visit)s") % {
            "test": gettext(self.test.display),
            "visit": self.visit_id,
        }


class PhysicianAlert(models.Model):
    """Something a physician (or, escalated, the coordinators) must act on: a
    critical result, a phone order awaiting confirmation, an overdue prescription.
    Stored, so the physician's page and the coordinator's board show it even if a
    notification is lost."""

    class Kind(models.TextChoices):
        CRITICAL_RESULT = "critical_result", _("Critical result")
        CONFIRMATION_REMINDER = "confirmation_reminder", _("Phone order awaiting confirmation")
        CONFIRMATION_ESCALATION = "confirmation_escalation", _("Phone order not confirmed in time")
        PRESCRIPTION_OVERDUE = "prescription_overdue", _("Prescription not sent in time")
        # R8: a dose given before the order was corrected or cancelled, sent from
        # the tablet's queue after it: booked, and the physician is told.
        DOSE_AFTER_CORRECTION = (
            "dose_after_correction",
            _("Dose given against a corrected phone order"),
        )
        DOSE_AFTER_CANCELLATION = (
            "dose_after_cancellation",
            _("Dose given against a cancelled order"),
        )

    kind = models.CharField(max_length=32, choices=Kind.choices)
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="physician_alerts")
    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="physician_alerts"
    )
    # Where the alert shows when no named physician is known, and for escalations.
    recipient_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="physician_alerts",
    )
    lab_result = models.ForeignKey(
        LabResult, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    medication_order = models.ForeignKey(
        MedicationOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    visit = models.ForeignKey(
        "acute.Visit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="physician_alerts",
    )
    message = models.CharField(max_length=300)
    # The values of a message kept as its msgid (``shown_message``): it is
    # read in the reader's language, not the one it was raised in.
    params = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Not stored: set on the coordinators' list (``selectors.board_alerts_open``)
    # where the citizen's refusal covers the reader (R4): she is told that an
    # alert waits and when, never whom it is about nor what it says.
    citizen_refused: bool = False

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            models.Index(
                fields=["recipient_organisation", "raised_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="physalert_open_org_idx",
            ),
            models.Index(
                fields=["recipient", "raised_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="physalert_open_user_idx",
            ),
        ]
        constraints = [
            # The beat job may run twice: one alert per order per kind, one per
            # critical result. A dose booked late is told once per dose, in
            # the booking's own transaction.
            models.UniqueConstraint(
                fields=["kind", "medication_order"],
                condition=Q(medication_order__isnull=False)
                & ~Q(kind__in=["dose_after_correction", "dose_after_cancellation"]),
                name="physalert_one_per_order_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "lab_result"],
                condition=Q(lab_result__isnull=False),
                name="physalert_one_per_result_kind",
            ),
            models.CheckConstraint(
                name="physalert_has_recipient",
                condition=Q(recipient__isnull=False) | Q(recipient_organisation__isnull=False),
            ),
            models.CheckConstraint(
                name="physalert_has_subject",
                condition=Q(lab_result__isnull=False) | Q(medication_order__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s for citizen %(citizen)s") % {
            "kind": self.get_kind_display(),
            "citizen": self.citizen_id,
        }

    @property
    def shown_message(self) -> str:
        """The message in the active language: one raised with ``params`` is
        a msgid filled in as it is read. A row from before every kind kept
        its values, whose text nobody could recognise, is shown as stored."""
        if not self.params:
            return self.message
        return gettext(self.message) % {k: _alert_value(k, v) for k, v in self.params.items()}


# The values of an alert's message that are themselves read in the reader's
# language: a label the model keeps in English (a test's display, a result's
# interpretation: msgids, as the pages show them), and a text or number
# kept with the machine's decimal point ("Naloxon 0.4 mg/mL", "2.1"), shown
# with the reader's decimal mark.
_ALERT_LABELS = frozenset({"test"})
_ALERT_LOWERCASE_LABELS = frozenset({"interpretation"})
_ALERT_DECIMALS = frozenset({"medicine", "amount", "value"})


def _alert_value(key: str, value: object) -> object:
    if not isinstance(value, str):
        return value
    if key in _ALERT_LABELS:
        return gettext(value)
    if key in _ALERT_LOWERCASE_LABELS:
        return gettext(value).lower()
    if key in _ALERT_DECIMALS:
        return decimals_label(value)
    return value
