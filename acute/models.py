"""Referrals, episodes, nurse shifts, visits and deadline warnings of the joint acute function.

Vocabulary: a *referral* (*henvisning*) asks the acute function to see a
citizen; referrals for a citizen with an open *episode* (*forløb*) join it. A
*visit* (*besøg*) is one nurse's assignment to go to the citizen: it is created
when a coordinator (or the platform) assigns a nurse and moves through
``assigned → accepted → en_route → on_site → completed``. A nurse declining, or
not answering in time, cancels that visit and dispatch moves on to the next
nurse with a new visit. A *shift* (*vagt*) is one nurse's day, evening or night
on duty, with her status, position and skills.

The tables stay in one module, longer than most: each refers to the one
before it along that flow (episode, referral, shift, visit, its notes, vital
signs and warnings), and they are read together as the schema of the app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Citizen, Organisation, User


def staff_stamp(help_text: str = "") -> models.ForeignKey[User | None, User | None]:
    """Who did it: a member of staff, who cannot be deleted while a record names
    her (``PROTECT``); empty until it is done, or when the platform did it."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=help_text,
    )


class Skill(models.TextChoices):
    """What a nurse can do; a referral may require some of them."""

    IV_TREATMENT = "iv_treatment", _("IV treatment")
    CATHETER = "catheter", _("Urinary catheter")
    FEEDING_TUBE = "feeding_tube", _("Feeding tube")
    BLOOD_SAMPLES = "blood_samples", _("Blood samples")
    WOUND_CARE = "wound_care", _("Wound care")
    PALLIATIVE = "palliative", _("Palliative care")
    OXYGEN = "oxygen", _("Oxygen therapy")


class Urgency(models.TextChoices):
    """Urgency classes (R10). The deadline each gives is configured in settings."""

    WITHIN_2_HOURS = "within_2_hours", "Within 2 hours"
    WITHIN_SHIFT = "within_shift", "Within the shift"
    NEXT_DAY = "next_day", "Next day"


class Outcome(models.TextChoices):
    """How an episode (and a visit) ended."""

    TREATED_AT_HOME = "treated_at_home", "Treated at home"
    ADMITTED = "admitted", "Admitted to hospital"
    HANDED_BACK = "handed_back", "Handed back to home nursing"
    DECLINED_BY_CITIZEN = "declined_by_citizen", "Declined by the citizen"
    DIED = "died", "Died"
    # The nurse came but did not meet the citizen (*borgeren blev ikke
    # truffet*): nobody has seen her, so she may still need help.
    CITIZEN_NOT_FOUND = "citizen_not_found", "Citizen not found"
    # The need went away before a nurse saw the citizen (*henvisningen
    # bortfaldt*): the referrer withdrew it, she was admitted by other means.
    REFERRAL_LAPSED = "referral_lapsed", "Referral lapsed"


class Episode(models.Model):
    """An acute episode (*akut forløb*) of one citizen; at most one open at a time."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="acute_episodes")
    # The citizen's municipality when the episode opened: who shares the cost.
    municipality = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="acute_episodes"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = staff_stamp()

    class Meta:
        indexes = [models.Index(fields=["status", "opened_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["citizen"],
                condition=Q(status="open"),
                name="acute_episode_one_open_per_citizen",
            ),
            models.CheckConstraint(
                name="acute_episode_completed_has_outcome",
                condition=~Q(status="completed") | ~Q(outcome=""),
            ),
            models.CheckConstraint(
                name="acute_episode_closed_has_time",
                condition=Q(status="open") | Q(closed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Episode %(number)s (%(status)s)") % {
            "number": self.pk,
            "status": self.get_status_display(),
        }


class Referral(models.Model):
    """A referral (*henvisning*) to the acute function."""

    class Source(models.TextChoices):
        GP = "gp", _("General practitioner")
        HELPLINE_1813 = "helpline_1813", _("Medical helpline 1813")
        HOSPITAL = "hospital", _("Hospital")
        HOME_NURSING = "home_nursing", _("Municipal home nursing")

    class Channel(models.TextChoices):
        PHONE = "phone", _("By phone, typed in by the coordinator")
        FORM = "form", _("The referrer's short form")
        ELECTRONIC = "electronic", _("Electronic (FHIR ServiceRequest or message)")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, awaiting triage")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CLOSED = "closed", _("Closed with the episode")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class WithdrawReason(models.TextChoices):
        """Why the coordinator withdrew a referral (*trak henvisningen tilbage*),
        most often on a call from the referrer."""

        CALLED_OFF = "called_off", _("Called off by the referrer")
        ADMITTED_ELSEWHERE = "admitted_elsewhere", _("Admitted or cared for elsewhere")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")
        OTHER = "other", _("Other reason (see the note)")

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="referrals")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="acute_referrals")
    source = models.CharField(max_length=16, choices=Source.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    source_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="acute_referrals_sent",
    )
    # The sender's own id (ServiceRequest.identifier, 1813 case number):
    # a resend is not a new referral.
    external_id = models.CharField(max_length=100, blank=True)
    referrer_name = models.CharField(max_length=200)
    referrer_phone = models.CharField(max_length=32, help_text="Call-back number.")
    reason = models.TextField()
    clinical_picture = models.TextField()
    requested_actions = models.TextField()
    required_skills = models.JSONField(default=list, blank=True)
    urgency = models.CharField(max_length=16, choices=Urgency.choices)
    deadline_at = models.DateTimeField()
    # Treatment responsibility (*behandlingsansvar*) during the episode.
    responsible_physician_name = models.CharField(max_length=200)
    responsible_physician_phone = models.CharField(max_length=32)
    responsible_physician_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="acute_referrals_responsible",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    received_at = models.DateTimeField(default=timezone.now)
    created_by = staff_stamp()
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = staff_stamp()
    decline_reason = models.TextField(blank=True)
    # Set when the first nurse arrives at the door (R10 figures).
    reached_at = models.DateTimeField(null=True, blank=True)
    # On hold (*sat i bero*) while the citizen is admitted to hospital: no
    # deadline warnings, no automatic dispatch; a discharge resumes it.
    on_hold_since = models.DateTimeField(null=True, blank=True)
    on_hold_reason = models.CharField(max_length=32, blank=True)
    # The referrer's own time (FHIR ``ServiceRequest.occurrence[x]``) as sent,
    # element name and value untouched, for the FHIR read to return.
    requested_occurrence = models.JSONField(default=dict, blank=True)
    # Planned (*planlagt*): the start of the referrer's period when it lies
    # later than receipt; no nurse is sent before the dispatch lead time
    # ahead of it (``acute.occurrence``).
    planned_for = models.DateTimeField(null=True, blank=True)
    # Withdrawn by the coordinator before a nurse reached the citizen.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = staff_stamp()
    withdraw_reason = models.CharField(max_length=32, choices=WithdrawReason.choices, blank=True)
    withdraw_note = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "deadline_at"]),
            models.Index(fields=["received_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_organisation", "external_id"],
                condition=~Q(external_id=""),
                name="acute_referral_external_id_unique",
            ),
            models.CheckConstraint(
                name="acute_referral_has_responsible_physician",
                condition=~Q(responsible_physician_name="") & ~Q(responsible_physician_phone=""),
            ),
            models.CheckConstraint(
                name="acute_referral_has_callback",
                condition=~Q(referrer_phone="") & ~Q(referrer_name=""),
            ),
            models.CheckConstraint(
                name="acute_referral_declined_has_reason",
                condition=~Q(status="declined") | ~Q(decline_reason=""),
            ),
            models.CheckConstraint(
                name="acute_referral_withdrawn_has_reason",
                condition=~Q(status="withdrawn")
                | (Q(withdrawn_at__isnull=False) & ~Q(withdraw_reason="")),
            ),
            models.CheckConstraint(
                name="acute_referral_hold_complete",
                condition=Q(on_hold_since__isnull=True, on_hold_reason="")
                | (Q(on_hold_since__isnull=False) & ~Q(on_hold_reason="")),
            ),
            models.CheckConstraint(
                name="acute_referral_deadline_after_receipt",
                condition=Q(deadline_at__gt=F("received_at")),
            ),
            models.CheckConstraint(
                name="acute_referral_planned_within_deadline",
                condition=Q(planned_for__isnull=True)
                | (Q(planned_for__gt=F("received_at")) & Q(deadline_at__gte=F("planned_for"))),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Referral %(number)s (%(urgency)s, %(status)s)") % {
            "number": self.pk,
            "urgency": gettext(self.get_urgency_display()),
            "status": self.get_status_display(),
        }

    @property
    def withdrawal_known_to_referrer(self) -> bool:
        """Withdrawn on the referrer's own call, or as entered in error: the
        withdrawal is the referrer's answer, and the episode's outcome is not
        sent to them (R11, ``docs/dispatch.md``)."""
        return self.status == self.Status.WITHDRAWN and self.withdraw_reason in (
            self.WithdrawReason.CALLED_OFF,
            self.WithdrawReason.ENTERED_IN_ERROR,
        )


class NurseShift(models.Model):
    """One acute nurse's shift (*vagt*): when, where from, what she can do, and
    her live status and last known position from the tablet."""

    class Kind(models.TextChoices):
        DAY = "day", _("Day")
        EVENING = "evening", _("Evening")
        NIGHT = "night", _("Night")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        EN_ROUTE = "en_route", _("En route")
        ON_VISIT = "on_visit", _("On a visit")
        ON_BREAK = "on_break", _("On a break")
        OFF = "off", _("Off")

    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acute_shifts"
    )
    acute_function = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="acute_shifts"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    skills = models.JSONField(default=list, blank=True)
    max_load = models.PositiveSmallIntegerField(default=3)
    base_name = models.CharField(max_length=100)
    base_latitude = models.FloatField()
    base_longitude = models.FloatField()
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                name="acute_shift_ends_after_start", condition=Q(ends_at__gt=F("starts_at"))
            ),
            models.CheckConstraint(
                name="acute_shift_position_complete",
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                    position_at__isnull=False,
                ),
            ),
            models.UniqueConstraint(
                fields=["nurse", "starts_at"], name="acute_shift_one_start_per_nurse"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s shift %(number)s (%(status)s)") % {
            "kind": self.get_kind_display(),
            "number": self.pk,
            "status": self.get_status_display(),
        }


class Visit(models.Model):
    """One nurse's assignment to see the citizen, as a state machine.

    ``assigned → accepted → en_route → on_site → completed``; ``cancelled``
    from any state before ``completed`` (a decline or a missed answer is a
    cancellation with that reason).
    """

    class Status(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        ACCEPTED = "accepted", _("Accepted")
        EN_ROUTE = "en_route", _("En route")
        ON_SITE = "on_site", _("On site")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        FIRST = "first", _("First visit on a referral")
        FOLLOW_UP = "follow_up", _("Follow-up visit")

    class CancelReason(models.TextChoices):
        DECLINED = "declined", "Declined by the nurse"
        NO_ANSWER = "no_answer", "No answer in time"
        REASSIGNED = "reassigned", "Reassigned by the coordinator"
        WITHDRAWN = "withdrawn", "Withdrawn by the coordinator"
        EPISODE_CLOSED = "episode_closed", "The episode was closed"
        REFERRAL_WITHDRAWN = "called_off", "The referral was withdrawn"
        # Withdrawn by the platform on the hospital's report (R12), not by a
        # person: the nurse and the coordinator read which it was.
        ADMITTED = "admitted", "Withdrawn: the citizen was admitted to hospital"
        DECEASED = "deceased", "Withdrawn: the citizen has died"

    ACTIVE_STATUSES = (Status.ASSIGNED, Status.ACCEPTED, Status.EN_ROUTE, Status.ON_SITE)

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="visits")
    # The referral a first visit answers; empty for a follow-up planned in the episode.
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="acute_visits")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FIRST)
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acute_visits"
    )
    shift = models.ForeignKey(NurseShift, on_delete=models.PROTECT, related_name="visits")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ASSIGNED)
    planned_for = models.DateTimeField(null=True, blank=True, help_text="Follow-ups: when.")
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = staff_stamp(help_text="Empty when the platform assigned automatically.")
    respond_by = models.DateTimeField(help_text="The nurse must accept before this.")
    estimated_arrival_at = models.DateTimeField(null=True, blank=True)
    estimated_travel_km = models.FloatField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    on_site_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=16, choices=CancelReason.choices, blank=True)
    cancel_note = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    # Why the coordinator sent a nurse although the referral was on hold for a
    # hospital admission (R12); empty for every ordinary assignment.
    hold_override_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["nurse", "status"]),
            models.Index(fields=["status", "respond_by"]),
        ]
        constraints = [
            # Exactly one nurse at a time goes on a referral: two coordinators
            # assigning at once cannot both win.
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(status__in=["assigned", "accepted", "en_route", "on_site"]),
                name="acute_visit_one_active_per_referral",
            ),
            models.CheckConstraint(
                name="acute_visit_first_has_referral",
                condition=~Q(kind="first") | Q(referral__isnull=False),
            ),
            models.CheckConstraint(
                name="acute_visit_cancelled_has_reason",
                condition=~Q(status="cancelled")
                | (Q(cancelled_at__isnull=False) & ~Q(cancel_reason="")),
            ),
            models.CheckConstraint(
                name="acute_visit_on_site_has_time",
                condition=~Q(status__in=["on_site", "completed"]) | Q(on_site_at__isnull=False),
            ),
            # An override is a stated reason, never blanks.
            models.CheckConstraint(
                name="acute_visit_hold_override_reason_not_blank",
                condition=~Q(hold_override_reason__regex=r"^\s+$"),
            ),
            models.CheckConstraint(
                name="acute_visit_completed_has_outcome",
                condition=~Q(status="completed") | (Q(completed_at__isnull=False) & ~Q(outcome="")),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Visit %(number)s (%(status)s)") % {
            "number": self.pk,
            "status": self.get_status_display(),
        }

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def cancel_reason_label(self) -> str:
        """Why the visit was cancelled, in the reader's language (the choice's
        own label stays English: it is FHIR's and the log's)."""
        label = CANCEL_REASON_LABELS.get(self.cancel_reason)
        return str(label) if label is not None else ""


CANCEL_REASON_LABELS: dict[str, Promise] = {
    Visit.CancelReason.DECLINED: _("Declined by the nurse"),
    Visit.CancelReason.NO_ANSWER: _("No answer in time"),
    Visit.CancelReason.REASSIGNED: _("Reassigned by the coordinator"),
    Visit.CancelReason.WITHDRAWN: _("Withdrawn by the coordinator"),
    Visit.CancelReason.EPISODE_CLOSED: _("The episode was closed"),
    Visit.CancelReason.REFERRAL_WITHDRAWN: _("The referral was withdrawn"),
    Visit.CancelReason.ADMITTED: _("Withdrawn: the citizen was admitted to hospital"),
    Visit.CancelReason.DECEASED: _("Withdrawn: the citizen has died"),
}


class VisitNote(models.Model):
    """The nurse's documentation on a visit; appended, never edited."""

    class Kind(models.TextChoices):
        ASSESSMENT = "assessment", _("Assessment")
        NOTE = "note", _("Note")

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="notes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["written_at", "pk"]
        constraints = [
            models.CheckConstraint(name="acute_visit_note_not_empty", condition=~Q(text=""))
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s on visit %(visit)s") % {
            "kind": self.get_kind_display(),
            "visit": self.visit_id,
        }


class VitalSign(models.Model):
    """One vital sign measured on a visit, served as a FHIR Observation (LOINC-coded)."""

    class Code(models.TextChoices):
        HEART_RATE = "8867-4", "Heart rate"
        RESPIRATORY_RATE = "9279-1", "Respiratory rate"
        OXYGEN_SATURATION = "59408-5", "Oxygen saturation"
        SYSTOLIC_BP = "8480-6", "Systolic blood pressure"
        DIASTOLIC_BP = "8462-4", "Diastolic blood pressure"
        BODY_TEMPERATURE = "8310-5", "Body temperature"

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="vital_signs")
    code = models.CharField(max_length=16, choices=Code.choices)
    value = models.DecimalField(max_digits=6, decimal_places=1)
    unit = models.CharField(max_length=16)
    measured_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["measured_at", "pk"]
        constraints = [
            models.CheckConstraint(name="acute_vital_sign_positive", condition=Q(value__gte=0))
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s on visit %(visit)s") % {
            "kind": gettext(self.get_code_display()),
            "visit": self.visit_id,
        }


class DeadlineWarning(models.Model):
    """A warning for the coordinator board (R10): a referral at risk of missing
    its deadline, one whose deadline has passed (escalation), one put on
    hold because the hospital reported the citizen admitted (R12), one
    closed because the citizen is registered deceased, an ended episode
    whose hand-back or outcome no partner is configured to receive (R11), or
    an admission hand-off no hospital serving the citizen receives (R3), or
    results, a phone order's confirmation request or a step of an 1813
    referral that no partner receives (R3, R8, R12), or an episode that ended
    with the citizen not found (she may still need help)."""

    class Kind(models.TextChoices):
        AT_RISK = "at_risk", _("No available nurse can arrive before the deadline")
        OVERDUE = "overdue", _("Deadline passed without a nurse on site")
        ADMITTED = "admitted", _("The citizen was admitted to hospital: referral on hold")
        DECEASED = "deceased", _("The citizen is registered deceased: referral closed")
        # R11: the episode has ended but nobody is configured to receive its
        # hand-back, or the referrer cannot be sent the outcome: a person
        # passes it on by phone rather than it being lost without a word.
        HANDBACK_UNSENT = (
            "handback_unsent",
            _("No home nursing receives the hand-back: tell the citizen's home nursing"),
        )
        REFERRER_UNTOLD = (
            "referrer_untold",
            _("The referrer cannot be sent the outcome: tell the referrer"),
        )
        # R3: no hospital serves the citizen's municipality, so the admission
        # hand-off went to nobody rather than to an unrelated hospital.
        ADMISSION_UNSENT = (
            "admission_unsent",
            _("No hospital receives the admission hand-off: tell the hospital"),
        )
        # R3, R8, R12: the results the GP asked for, the request to confirm a
        # phone order, or a step of 1813's referral has no partner to receive
        # it, so a person passes it on by phone.
        RESULTS_UNSENT = (
            "results_unsent",
            _("No GP receives the results of the visit: tell the GP"),
        )
        ORDER_UNSENT = (
            "order_unsent",
            _("Nobody can be asked to confirm the phone order: ask the ordering physician"),
        )
        STATUS_UNSENT = (
            "status_unsent",
            _("1813 cannot be told where the referral stands: tell 1813"),
        )
        # The episode ended with the citizen not found: nobody has seen her,
        # so the coordinator decides whether she still needs help.
        CITIZEN_NOT_FOUND = (
            "not_found",
            _("The citizen was not found: she may still need help"),
        )
        # R11: the episode ended as died on a death since withdrawn as
        # reported in error; the referrer and her home nursing were told
        # "died", so a person corrects it with them.
        DEATH_WITHDRAWN = (
            "death_withdrawn",
            _(
                "The citizen's death was withdrawn as reported in error: tell the referrer"
                " and the citizen's home nursing that the outcome died was wrong"
            ),
        )

    # Found by referral through ``acute_warning_one_per_kind``, which leads with it.
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="warnings", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    raised_at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = staff_stamp()

    class Meta:
        ordering = ["-raised_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "kind"], name="acute_warning_one_per_kind"),
            models.CheckConstraint(
                name="acute_warning_ack_complete",
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s for referral %(referral)s") % {
            "kind": self.get_kind_display(),
            "referral": self.referral_id,
        }

    @property
    def text(self) -> str:
        """What the board and the nurse's visit page say, in the active
        language: the kind, told more precisely by what the hospital reported
        since (R12) — a hold lifted by the discharge or by the hospital
        cancelling the admission, an admission while a nurse is already on
        the referral, a death during a visit under way."""
        detail = self.detail or {}
        if self.kind == self.Kind.ADMITTED:
            resumed = detail.get("resumed")
            if resumed == "admission_cancelled":
                return gettext("The hospital cancelled the admission: referral resumed")
            if resumed or detail.get("discharged_at"):
                return gettext("The citizen was discharged from hospital: referral resumed")
            if detail.get("on_hold") is False:
                return gettext(
                    "The citizen was admitted to hospital while a nurse is on the referral"
                )
        if self.kind == self.Kind.DECEASED and detail.get("visit_under_way"):
            return gettext(
                "The citizen is registered deceased during the visit under way:"
                " finish and document the visit"
            )
        return str(self.get_kind_display())


class VisitSubmission(models.Model):
    """A form the nurse's tablet sent for a visit, remembered by the ``client_ref``
    the tablet gave it. When the connection drops after the server wrote but
    before the tablet heard the answer, the tablet sends again with the same
    reference: the unique constraint makes sure nothing is written twice, and
    the re-send gets the first result back. The same reference with other
    content is refused (``submission.client_ref_reused``), never dropped as a
    re-send."""

    class Form(models.TextChoices):
        NOTE = "note", _("Note")
        VITALS = "vitals", _("Vital signs")
        LAB = "lab", _("Test result")
        PHONE_ORDER = "phone_order", _("Phone order")
        PROCEDURE = "procedure", _("Procedure")
        DELEGATION = "delegation", _("Delegation")
        STEP = "step", _("Status step")
        DOSE = "dose", _("Dose")
        COMPLETION = "completion", _("Completion")

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="submissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client_ref = models.CharField(max_length=64)
    form = models.CharField(max_length=16, choices=Form.choices)
    # A digest of what the first send said (the form's kind and its fields):
    # the same reference with other content is another entry, refused rather
    # than answered "already received". Blank on rows from before it was kept.
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    # What the first send created, e.g. ("VisitNote", "17").
    result_type = models.CharField(max_length=64, blank=True)
    result_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "visit", "client_ref"], name="acute_submission_once_per_ref"
            ),
            models.CheckConstraint(
                name="acute_submission_ref_shape",
                condition=Q(client_ref__regex=r"^[A-Za-z0-9_-]{8,64}$"),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(form)s %(reference)s on visit %(visit)s") % {
            "form": self.get_form_display(),
            "reference": self.client_ref,
            "visit": self.visit_id,
        }

    def same_entry(self, fingerprint: str) -> bool:
        """Whether a send with ``fingerprint`` is the entry received here (a
        row kept before fingerprints were, or a send without one, cannot
        tell: it is)."""
        return not (self.fingerprint and fingerprint) or self.fingerprint == fingerprint


class FiguresMonthRelease(models.Model):
    """One month of the follow-up figures as analysts are given them (R6):
    the suppressed rows of the first release, after the month has ended.
    Every later request of that month, by any analyst, gets these rows
    again. Worked out anew, a month's counts move as referrals are decided
    late (a citizen home from hospital), visits written offline arrive or a
    record is corrected, and two answers a day apart would then tell one
    citizen's referral apart (docs/decisions/0035). Kept, never changed: it
    is what was disclosed."""

    # The first day of the month (Copenhagen).
    month = models.DateField(unique=True)
    rows = models.JSONField()
    # The minimum cell size the rows were suppressed with.
    min_cell = models.PositiveSmallIntegerField()
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="acute_figures_release_first_of_month", condition=Q(month__day=1)
            ),
        ]

    def __str__(self) -> str:
        return gettext("follow-up figures of %(month)s as released to analysts") % {
            "month": f"{self.month:%Y-%m}"
        }
