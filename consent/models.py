"""The shared record's access basis. (The record itself, consent and
break-the-glass are added alongside.)

The tables stay in one module, just over 500 lines: they are the consent
app's schema, from the care relationship that lets an organisation see a
citizen, through the record, her refusals and consents and the overrides, to
what analysts have been told (R6), and read best side by side.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from consent.audit.models import Purpose
from consent.classifications import psychiatric_code_q
from core.models import Citizen, Organisation, User

# The source of a hospital stay's care relationship: opened on the hospital's
# admission notification (``integrations.hospital``), ended on the discharge.
# Kept here, beside the table, because acute reads it too: a referral that
# arrives while such a stay is open is held (R12).
HOSPITAL_STAY_SOURCE = "integrations.hospital_encounter"


class CareRelationship(models.Model):
    """Why an organisation, or one member of its staff, may see a citizen's data
    now (R1). Opened and closed by the part of the platform that owns the
    reason: ``acute`` for referrals and visits, ``integrations`` for hospital
    contacts, staff for a recorded relationship. The access gate reads only this
    table (and the citizen's own GP and municipality)."""

    class Basis(models.TextChoices):
        REFERRAL = "referral", "Active referral"
        VISIT = "visit", "Assigned visit"
        HOSPITAL_CONTACT = "hospital_contact", "Open hospital contact"
        RECORDED = "recorded", "Recorded care relationship"

    # Looked up by citizen through ``care_rel_probe_idx``, which leads with it:
    # an index of its own alone would be as cheap to the planner as the
    # probe's and make the gate scan the citizen's every relationship.
    citizen = models.ForeignKey(
        Citizen, on_delete=models.PROTECT, related_name="care_relationships", db_index=False
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="care_relationships"
    )
    # Set when the relationship is one person's (a nurse's visit); empty for
    # the whole organisation. Found by person through ``care_rel_user_idx``.
    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_relationships",
        db_index=False,
    )
    basis = models.CharField(max_length=32, choices=Basis.choices)
    # What opened it, e.g. ("acute.referral", "42"); closing uses the same key.
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["citizen", "organisation"],
                condition=Q(ended_at__isnull=True),
                name="care_rel_open_idx",
            ),
            # The gate's probe on every read: this citizen's relationships with
            # this organisation (and person), found in one index lookup
            # however many citizens the nurse has seen before. Not partial:
            # the gate counts a relationship ending later as open, too.
            models.Index(fields=["citizen", "organisation", "user"], name="care_rel_probe_idx"),
            # One person's relationships; an organisation's (a hospital stay's,
            # most of them) have no person and no entry to keep.
            models.Index(
                fields=["user"], name="care_rel_user_idx", condition=Q(user__isnull=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "organisation", "user"],
                condition=Q(ended_at__isnull=True),
                name="care_rel_one_open_per_source",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                name="care_rel_ends_after_start",
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(basis)s of citizen %(citizen)s with %(organisation)s") % {
            "basis": gettext(self.get_basis_display()),
            "citizen": self.citizen_id,
            "organisation": self.organisation,
        }


class DataCategory(models.TextChoices):
    """The categories the shared record may hold (R2) — nothing else is stored."""

    SOMATIC_DIAGNOSIS = "somatic-diagnosis", "Somatic diagnosis (ICD-10, not chapter F)"
    NURSING_PROBLEM = "nursing-problem", "Current nursing problem"
    MUNICIPAL_HELP = "municipal-help", "Municipal help received (home help, home nursing)"
    CARE_PLAN = "care-plan", "Care and treatment plan"
    HOSPITAL_CONTACT = "hospital-contact", "Contact with a hospital department"


class RecordResource(models.Model):
    """One resource of the shared record (*det fælles datagrundlag*), current version.

    ``body`` is the validated FHIR JSON without ``id`` and ``meta``; those are
    rebuilt from the columns. Earlier versions live in :class:`RecordVersion`.
    """

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="record_resources")
    resource_type = models.CharField(max_length=32)
    category = models.CharField(max_length=32, choices=DataCategory.choices)
    source_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="record_resources"
    )
    # The main code (ICD-10, nursing problem, service, plan category, department SOR).
    # A classification's code is stored normalised (upper case, no spaces) under
    # its normalised system (consent.classifications.system_key).
    code_system = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=64, blank=True)
    # The clinically relevant date, for ``date`` searches and analyses.
    effective_at = models.DateTimeField(null=True, blank=True)
    version_id = models.PositiveIntegerField(default=1)
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["citizen", "category"], name="record_citizen_category_idx"),
            models.Index(fields=["category", "code"], name="record_category_code_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="record_category_permitted",
                condition=Q(category__in=DataCategory.values),
            ),
            # R2 in the database as well, whatever path wrote the row: the main
            # code is not psychiatric, judged by its system exactly as the FHIR
            # door judges every coding (ICD-10 chapter F, SKS "DF…", ICPC-2
            # chapter P, ICD-11 chapter 06; ICPC-2's F is the eye). The door
            # refuses first, so a user never meets this constraint's own text.
            models.CheckConstraint(
                name="record_no_psychiatric_diagnosis", condition=~psychiatric_code_q()
            ),
            models.CheckConstraint(name="record_version_positive", condition=Q(version_id__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.pk} v{self.version_id} ({self.category})"

    @property
    def data_date(self) -> dt.datetime:
        """The data's own date, which a refusal by data period is matched against:
        the clinical date, or when it entered the record if it has none."""
        return self.effective_at or self.created_at


def record_data_date() -> Coalesce:
    """:attr:`RecordResource.data_date` as a database expression (for searches)."""
    return Coalesce("effective_at", "created_at")


class RecordVersion(models.Model):
    """Every version of a record resource, appended on create and on each update."""

    resource = models.ForeignKey(RecordResource, on_delete=models.PROTECT, related_name="versions")
    version_id = models.PositiveIntegerField()
    body = models.JSONField()
    source_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "version_id"], name="record_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} v{self.version_id}"


def _last_day(end: dt.datetime | None) -> dt.date | None:
    """The Copenhagen day of the last moment before an exclusive ``end``."""
    return timezone.localdate(end - dt.timedelta(microseconds=1)) if end else None


class ConsentDirective(models.Model):
    """A citizen's refusal (*spærring*) or consent, as FHIR Consent.

    The scope is the intersection of what is given: recipient organisations
    (optionally with their sub-units), named professionals, purposes, and the
    period in force. Nothing given = wholly. A ``permit`` directive is the
    citizen's consent that lifts a refusal for the recipients it names.
    Directives are never changed; a withdrawal is its own row.

    The period in force (``period_*``, FHIR ``provision.period``) says *when*
    the rule applies. The data period (``data_period_*``, FHIR
    ``provision.dataPeriod``) says *which data* it covers, by the data's own
    date: a refusal with a data period does not hide the citizen, only the
    record resources dated inside it.
    """

    class Provision(models.TextChoices):
        DENY = "deny", "Refusal"
        PERMIT = "permit", "Consent"

    class GivenHow(models.TextChoices):
        ORAL = "oral", "Oral"
        WRITTEN = "written", "Written"

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="consents")
    provision = models.CharField(max_length=8, choices=Provision.choices)
    recipient_organisations = models.ManyToManyField(
        Organisation, blank=True, related_name="+", through="ConsentRecipientOrganisation"
    )
    include_sub_units = models.BooleanField(default=True)
    recipient_users = models.ManyToManyField(
        User, blank=True, related_name="+", through="ConsentRecipientUser"
    )
    purposes = models.JSONField(default=list, blank=True)
    period_start = models.DateTimeField(default=timezone.now)
    period_end = models.DateTimeField(null=True, blank=True)
    # Which data (by its clinical date); both empty = all data. Open at either end.
    data_period_start = models.DateTimeField(null=True, blank=True)
    data_period_end = models.DateTimeField(null=True, blank=True)
    given_how = models.CharField(max_length=8, choices=GivenHow.choices)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["citizen", "period_start"], name="consent_citizen_idx")]
        constraints = [
            models.CheckConstraint(
                name="consent_period_ordered",
                condition=Q(period_end__isnull=True) | Q(period_end__gt=models.F("period_start")),
            ),
            models.CheckConstraint(
                name="consent_data_period_ordered",
                condition=Q(data_period_start__isnull=True)
                | Q(data_period_end__isnull=True)
                | Q(data_period_end__gt=models.F("data_period_start")),
            ),
            # The citizen's consent lifts refusals for a recipient; it is not
            # limited to a data period (see consent.fhir.parse_consent).
            models.CheckConstraint(
                name="consent_data_period_only_on_refusal",
                condition=Q(provision="deny")
                | Q(data_period_start__isnull=True, data_period_end__isnull=True),
            ),
            models.CheckConstraint(
                name="consent_provision_known", condition=Q(provision__in=["deny", "permit"])
            ),
            models.CheckConstraint(
                name="consent_given_how_known", condition=Q(given_how__in=["oral", "written"])
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(provision)s %(number)s of citizen %(citizen)s") % {
            "provision": pgettext("record label", self.get_provision_display()),
            "number": self.pk,
            "citizen": self.citizen_id,
        }

    @property
    def period_through(self) -> dt.date | None:
        """The last Copenhagen day the directive is in force, as the citizen
        reads it ("to 31 March"): the stored end is the first moment after."""
        return _last_day(self.period_end)

    @property
    def data_period_from(self) -> dt.date | None:
        """The first Copenhagen day of the data a refusal covers."""
        return timezone.localdate(self.data_period_start) if self.data_period_start else None

    @property
    def data_period_through(self) -> dt.date | None:
        """The last Copenhagen day of the data a refusal covers (the end is exclusive)."""
        return _last_day(self.data_period_end)

    @property
    def purpose_labels(self) -> list[str]:
        """The purposes named as the audit log names them (the page translates
        them), never as their codes."""
        labels = dict(Purpose.choices)
        return [str(labels.get(purpose, purpose)) for purpose in self.purposes]


# A directive's recipients are part of what the citizen said. Deleting the
# user or organisation it names, by any door (a queryset, a cascade, the
# shell), would silently drop the link: a refusal of one nurse would then
# refuse no one named, i.e. everyone, and a consent to one department would
# lift a refusal for all. So the link protects what it names; staff and
# organisations are deactivated instead. The tables are the ones the plain
# many-to-many links had (migration 0007 adopts them as they are).


class ConsentRecipientOrganisation(models.Model):
    """An organisation a directive names (FHIR ``provision.actor``)."""

    directive = models.ForeignKey(
        ConsentDirective,
        on_delete=models.CASCADE,
        related_name="+",
        db_column="consentdirective_id",
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "consent_consentdirective_recipient_organisations"
        unique_together = [("directive", "organisation")]

    def __str__(self) -> str:
        return gettext("recipient %(organisation)s of %(directive)s") % {
            "organisation": self.organisation_id,
            "directive": self.directive_id,
        }


class ConsentRecipientUser(models.Model):
    """A professional a directive names (FHIR ``provision.actor``)."""

    directive = models.ForeignKey(
        ConsentDirective,
        on_delete=models.CASCADE,
        related_name="+",
        db_column="consentdirective_id",
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "consent_consentdirective_recipient_users"
        unique_together = [("directive", "user")]

    def __str__(self) -> str:
        return gettext("recipient %(user)s of %(directive)s") % {
            "user": self.user_id,
            "directive": self.directive_id,
        }


class ConsentWithdrawal(models.Model):
    """The citizen withdrew a directive: when, how, and who recorded it."""

    directive = models.OneToOneField(
        ConsentDirective, on_delete=models.PROTECT, related_name="withdrawal"
    )
    given_how = models.CharField(max_length=8, choices=ConsentDirective.GivenHow.choices)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return gettext("withdrawal of %(directive)s") % {"directive": self.directive_id}


class BreakGlass(models.Model):
    """An override (*værdispring*): one clinician, one citizen, a stated reason,
    a short time. Flagged for the auditors and shown in the insight report."""

    class Basis(models.TextChoices):
        CITIZEN_CONSENTED = "citizen_consented", "The citizen consented"
        CANNOT_BE_ASKED = "cannot_be_asked", "The citizen cannot be asked and it is necessary"

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="break_glasses")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="break_glasses")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32)
    basis = models.CharField(max_length=24, choices=Basis.choices)
    reason = models.CharField(max_length=500)
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "citizen", "expires_at"], name="break_glass_idx")]
        constraints = [
            models.CheckConstraint(
                name="break_glass_expires_after_start",
                condition=Q(expires_at__gt=models.F("started_at")),
            ),
            models.CheckConstraint(name="break_glass_has_reason", condition=~Q(reason="")),
        ]

    def __str__(self) -> str:
        return gettext("break-the-glass %(number)s on citizen %(citizen)s") % {
            "number": self.pk,
            "citizen": self.citizen_id,
        }


class PatientVersion(models.Model):
    """Every version of a citizen's Patient written over FHIR, so an update names
    the version it read (``ETag``/``If-Match``) and nothing is silently overwritten.

    The body is the Patient without its CPR identifier: the CPR number is stored
    once, on the citizen. A citizen registered elsewhere (the acute function's
    intake, a partner's load) is at version 1 until the first update here, which
    first keeps that state as version 1.
    """

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="patient_versions")
    version_id = models.PositiveIntegerField()
    body = models.JSONField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["citizen", "version_id"], name="patient_version_unique"
            ),
            models.CheckConstraint(name="patient_version_positive", condition=Q(version_id__gte=1)),
        ]

    def __str__(self) -> str:
        return f"Patient {self.citizen_id} v{self.version_id}"


class AnalysisRelease(models.Model):
    """One answer of a restricted analysis (R6): the noisy counts after
    suppression, never the exact ones. Kept, never changed: it is what was
    disclosed.

    What it protects is the noise: one exact table gets one noisy answer
    within the budget window, so that answers to it cannot be averaged. The
    exact table is fixed by the question (analysis and canonical parameters)
    and by the data it is counted over — the record without the citizens and
    periods whose refusal covers the asker (R4), which depends on her
    organisation (and those above it) and on her by name, not on who she
    is otherwise. So the answer is keyed by the question and that view
    (``view_key``), not by the analyst: two analysts of one organisation, or
    one analyst acting for two, asking the same question over the same data
    get the same answer, and pooling what they were given averages nothing.
    A view that differs (a refusal covering one of them and not the other)
    is a different table, answered apart, so that no refused citizen is
    counted for anyone her refusal covers. Each analyst pays for an answer
    once, the first time she is given it — new or first given to another
    (:class:`PrivacyBudgetEntry`) — so every analyst's own answers stay within
    her budget; asking again costs nothing. ``analyst`` is whom it was first
    given to."""

    analyst = models.ForeignKey(User, on_delete=models.PROTECT, related_name="analysis_releases")
    analysis = models.CharField(max_length=64)
    parameters = models.JSONField()
    # The parameters as canonical JSON: two questions are the same when this is.
    parameters_key = models.CharField(max_length=300)
    # A digest of the refusals that left citizens or periods out of the count
    # (``consent.analyses.runs.view_key``): two askers with the same one are
    # counted over the same data. Empty on answers kept before it existed,
    # which are then given to no-one again.
    view_key = models.CharField(max_length=64, default="", blank=True)
    # Row names, cells, totals and the threshold as released (None = suppressed).
    table = models.JSONField()
    epsilon = models.DecimalField(max_digits=6, decimal_places=3)
    # The most one citizen changes the exact table, summed over its cells.
    sensitivity = models.PositiveSmallIntegerField()
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["analysis", "parameters_key", "view_key", "released_at"],
                name="analysis_release_view_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                name="analysis_release_epsilon_positive", condition=Q(epsilon__gt=0)
            ),
            models.CheckConstraint(
                name="analysis_release_sensitivity_positive", condition=Q(sensitivity__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return f"analysis {self.analysis} release {self.pk}"


class PrivacyBudgetEntry(models.Model):
    """The analysts' privacy-budget ledger (R6): the epsilon an answer cost
    an analyst the first time she was given it — a new answer, or one first
    given to another analyst over the same data (:class:`AnalysisRelease`).
    Appended in the same transaction as the answer, never changed (a trigger
    refuses it on PostgreSQL); one per analyst and answer. What an analyst
    may still spend is the budget less the entries inside the rolling
    window. It is also her receipt: the answer's page is hers to read again."""

    analyst = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="privacy_budget_entries"
    )
    release = models.ForeignKey(
        AnalysisRelease, on_delete=models.PROTECT, related_name="budget_entries"
    )
    epsilon = models.DecimalField(max_digits=6, decimal_places=3)
    spent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["analyst", "spent_at"], name="privacy_budget_spent_idx")]
        constraints = [
            models.CheckConstraint(
                name="privacy_budget_epsilon_positive", condition=Q(epsilon__gt=0)
            ),
            models.UniqueConstraint(
                fields=["analyst", "release"], name="privacy_budget_once_per_answer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.epsilon} spent by user {self.analyst_id}"
