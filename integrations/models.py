"""Partners, the outbox of hand-off messages, every delivery attempt, and the
inbound messages remembered for de-duplication.

Messages are FHIR message Bundles (MessageHeader first). A message's identity is
its MessageHeader.id (``message_id``) and its Bundle.id (``bundle_id``): both are
unique, on both sides, so a duplicate is answered with the original
acknowledgement and never processed twice.

The tables stay in one module, a little longer than most: a message's whole
life (its partner, the outbox row, each attempt to deliver it, the inbound
row that answers a duplicate, the CareCommunication thread it belongs to) is
one schema, and the labels the pages show for its events and refusals sit
beside the fields they name.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.labels import reason_label, reason_labels_register
from core.models import Citizen, Membership, Organisation


class PartnerQuerySet(models.QuerySet["Partner"]):
    def in_service(self) -> PartnerQuerySet:
        """Partners the platform talks to: the partner is active and so is the
        organisation it speaks for (a practice closed, a unit deactivated in
        the administration sends and is sent nothing)."""
        return self.filter(is_active=True, organisation__is_active=True)


class Partner(models.Model):
    """A system the platform exchanges messages with: 1813, a hospital, a GP
    practice's inbox, a municipality's home nursing or care record system.

    Partners are data: endpoint, shared HMAC secret and retry policy are
    configured per partner, never in code. ``code`` is what the partner sends in
    the ``X-Tvaerakut-Sender`` header.
    """

    class Kind(models.TextChoices):
        HELPLINE_1813 = "helpline_1813", "Medical helpline 1813"
        HOSPITAL = "hospital", "Hospital"
        GP = "gp", "GP practice"
        HOME_NURSING = "home_nursing", "Home nursing"
        MUNICIPAL_RECORDS = "municipal_records", "Municipal care record system"

    code = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="integration_partners"
    )
    endpoint_url = models.URLField(max_length=500, blank=True)
    # Shared secret for HMAC-SHA256 in both directions. Never logged or shown.
    secret = models.CharField(max_length=200)
    max_attempts = models.PositiveSmallIntegerField(default=12)
    backoff_base_seconds = models.PositiveIntegerField(default=30)
    backoff_max_seconds = models.PositiveIntegerField(default=3600)
    request_timeout_seconds = models.PositiveSmallIntegerField(default=10)
    # How long a delivered message may wait for its acknowledgement before it
    # is sent again, and how many times: MedCom's reliable messaging says 30
    # minutes and never more than 2 resends.
    ack_timeout_seconds = models.PositiveIntegerField(default=1800)
    max_resends = models.PositiveSmallIntegerField(default=2)
    is_active = models.BooleanField(default=True)

    objects = PartnerQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="partner_attempts_positive", condition=Q(max_attempts__gte=1)
            ),
            models.CheckConstraint(
                name="partner_backoff_ordered",
                condition=Q(backoff_base_seconds__gte=1)
                & Q(backoff_max_seconds__gte=models.F("backoff_base_seconds")),
            ),
            models.CheckConstraint(
                name="partner_timeout_positive", condition=Q(request_timeout_seconds__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return f"{gettext(self.get_kind_display())} {self.code}"

    @property
    def in_service(self) -> bool:
        """Active, and speaking for an active organisation (as
        :meth:`PartnerQuerySet.in_service`)."""
        return self.is_active and self.organisation.is_active


class OutboundMessage(models.Model):
    """One hand-off message in the outbox, written in the transaction of the
    event that causes it and delivered after commit by a Celery task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        AWAITING_ACK = "awaiting_ack", "Sent, waiting for acknowledgement"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        FAILED = "failed", "Failed: needs a person"
        # R4: the citizen refused disclosure to this recipient; kept, never sent
        # while the refusal stands.
        WITHHELD = "withheld", "Withheld: the citizen refused disclosure"

    message_id = models.UUIDField(unique=True, default=uuid.uuid4)
    bundle_id = models.UUIDField(unique=True, default=uuid.uuid4)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="outbox")
    event = models.CharField(max_length=64)
    citizen = models.ForeignKey(
        Citizen, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The organisation the message is for when the partner carries it for it
    # as its parent (a referring department, a practice): R4 asks the
    # citizen's refusals for it as well as for the partner's organisation.
    recipient = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What caused it, e.g. ("acute.referral", "42").
    source_type = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    on_behalf_of = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    bundle = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current round; a person's re-send starts a new round.
    attempts = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    disclosed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    resent_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resent_at = models.DateTimeField(null=True, blank=True)
    # A person has dealt with a failed or withheld message another way (she
    # phoned the recipient, or it is no longer owed): it leaves the board and
    # stays for the record. A re-send clears it.
    handled_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending", "awaiting_ack"]),
                name="outbox_due_idx",
            ),
            models.Index(fields=["status", "created_at"], name="outbox_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="outbox_status_valid",
                condition=Q(
                    status__in=[
                        "pending",
                        "sending",
                        "awaiting_ack",
                        "acknowledged",
                        "failed",
                        "withheld",
                    ]
                ),
            ),
            models.CheckConstraint(
                name="outbox_sending_has_lease",
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
            ),
            models.CheckConstraint(
                name="outbox_acknowledged_has_time",
                condition=~Q(status="acknowledged") | Q(acknowledged_at__isnull=False),
            ),
            # Only a message that needs a person is marked handled.
            models.CheckConstraint(
                name="outbox_handled_needs_a_person",
                condition=Q(handled_at__isnull=True) | Q(status__in=["failed", "withheld"]),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(event)s to %(partner)s (%(status)s)") % {
            "event": self.event_display(),
            "partner": self.partner.organisation.name,
            "status": gettext(self.get_status_display()),
        }

    def event_display(self) -> str:
        """What the message is, as the coordinator reads it (her language)."""
        label = SOURCE_LABELS.get((self.event, self.source_type)) or EVENT_LABELS.get(self.event)
        return gettext(label) if label else self.event

    def reason_display(self) -> str:
        """Why the message needs a person, as the coordinator reads it (her
        language): the reason of its code, and what the receiver or MedCom's
        rules said (their own words) where they said it."""
        code = self.last_error_code
        if not code:
            return ""
        if code.startswith("http."):
            reason = gettext("The receiver answered with an error (HTTP %(status)s)") % {
                "status": code.removeprefix("http.")
            }
        elif code.startswith("network."):
            reason = gettext("The receiver could not be reached")
        else:
            label = REASON_LABELS.get(code)
            reason = gettext(label) if label else code
        if code in REASONS_IN_THEIR_WORDS and self.last_error:
            # What the coordinator can do about it, before the rule's own words.
            hints = [gettext(hint) for rule, hint in RULE_HINTS.items() if rule in self.last_error]
            reason = f"{reason}: {' '.join([*hints, self.last_error])}"
        if self.status == self.Status.FAILED and code not in FAILED_AT_ONCE:
            reason = gettext("Given up after %(attempts)d attempts. %(reason)s") % {
                "attempts": self.attempts,
                "reason": reason,
            }
        return reason


# The code of a message its receiver refused with a fatal-error acknowledgement.
PARTNER_FATAL = "partner.fatal_error"


def never_reached(through: str = "") -> Q:
    """Our messages the partner never received: withheld (R4), parked before
    they left (MedCom's rules, a deactivated partner, no address: failed,
    never sent), or refused by it (a fatal-error: it kept nothing). A reply
    never answers such a message and a correction never amends it, for the
    partner knows no such message. ``through``: the path from the model
    asked about to its OutboundMessage (``"outbound__"``)."""
    status, sent_at, code = (
        f"{through}status",
        f"{through}sent_at__isnull",
        f"{through}last_error_code",
    )
    failed = OutboundMessage.Status.FAILED
    return (
        Q(**{status: OutboundMessage.Status.WITHHELD})
        | Q(**{status: failed, sent_at: True})
        | Q(**{status: failed, code: PARTNER_FATAL})
    )


# The code of a message to a partner that has been deactivated: parked for a
# person (who sends it elsewhere or reactivates the partner), never posted.
PARTNER_INACTIVE = "partner.inactive"
# The code of a message to a partner its transport cannot reach (no endpoint
# configured): parked for a person, never tried.
PARTNER_NO_ADDRESS = "partner.no_address"

# The board's words for the events the platform sends and the reasons a
# message needs a person (translated when shown).
EVENT_LABELS = {
    "acute-referral-status": gettext_noop("Referral status to the referrer"),
    "admission-handoff": gettext_noop("Hand-off on admission to hospital"),
    "homecareobservation": gettext_noop("Results from the visit"),
    "care-communication": gettext_noop("Care communication"),
    "care-communication-reply": gettext_noop("Reply in a care communication"),
    "order-confirmation-request": gettext_noop("Request to confirm a phone order"),
}
# Where one event carries different things, what caused it says which: the
# coordinator must tell a hand-back to home nursing (R11) from the outcome
# told to a referrer or GP when either is withheld or fails.
SOURCE_LABELS = {
    ("care-communication", "acute.episode.handback"): gettext_noop(
        "Hand-back after an acute episode"
    ),
    ("care-communication", "acute.episode"): gettext_noop("Outcome of the acute episode"),
}
REASON_LABELS = {
    PARTNER_FATAL: gettext_noop("The receiver refused the message (negative acknowledgement)"),
    "partner.transient_error": gettext_noop("The receiver could not take the message just now"),
    "ack.missing": gettext_noop("The receiver has not acknowledged the message"),
    "consent.refused": gettext_noop("The citizen has refused disclosure to the receiver"),
    "medcom.rule_broken": gettext_noop("Breaks MedCom's rules"),
    "worker.lost": gettext_noop("The sending was interrupted"),
    PARTNER_INACTIVE: gettext_noop("The receiver is no longer an active partner"),
    PARTNER_NO_ADDRESS: gettext_noop("The receiver has no address to send to"),
}
# Codes whose text is the receiver's or MedCom's rules' own words.
REASONS_IN_THEIR_WORDS = {PARTNER_FATAL, "partner.transient_error", "medcom.rule_broken"}
# Codes that fail a message at once, not after the attempts ran out.
FAILED_AT_ONCE = {
    PARTNER_FATAL,
    PARTNER_INACTIVE,
    PARTNER_NO_ADDRESS,
    "medcom.rule_broken",
    "ack.missing",
    "consent.refused",
}


# The board's words for what partners send, and for why the platform refused
# a message (translated when shown; any other refusal reads as its reason's
# label, ``core.labels.reason_label``).
INBOUND_EVENT_LABELS = {
    "acute-referral": gettext_noop("Referral"),
    "hospital-notification": gettext_noop("Hospital notification"),
    "hospital-notification-message": gettext_noop("Hospital notification"),
    "care-communication": gettext_noop("Care communication"),
    "care-communication-message": gettext_noop("Care communication"),
    "shared-record-update": gettext_noop("Update of the shared record"),
}
INBOUND_REASON_LABELS = {
    "medcom.rule_broken": gettext_noop("Breaks MedCom's rules"),
    "message.not_addressed_by_partner": gettext_noop(
        "Not addressed to the acute function by the partner that sent it"
    ),
    "message.event_unsupported": gettext_noop("A kind of message this partner may not send"),
    "message.not_json": gettext_noop("Not a readable message"),
    "message.invalid_fhir": gettext_noop("Not valid FHIR"),
    "message.value_out_of_range": gettext_noop("A value in the message cannot be stored"),
    "message.id_invalid": gettext_noop("The message's id is not a FHIR id"),
    "message.id_missing": gettext_noop("The message has no id"),
    "message.empty": gettext_noop("The message holds nothing"),
    "message.not_bundle": gettext_noop("Not a message: no FHIR Bundle"),
    "message.not_message_bundle": gettext_noop("A FHIR Bundle that is not a message"),
    "message.header_not_first": gettext_noop("The message does not begin with its header"),
    "message.resource_count": gettext_noop(
        "A resource the message must hold once is missing or repeated"
    ),
    "message.patient_cpr_missing": gettext_noop("The citizen's CPR number is missing"),
    "message.patient_municipality_unknown": gettext_noop(
        "The citizen lives in a municipality the acute function does not serve"
    ),
    "message.patient_municipality_ambiguous": gettext_noop(
        "The citizen is given more than one municipality of residence"
    ),
    "message.patient_cpr_ambiguous": gettext_noop("The citizen is given more than one CPR number"),
    "message.replacement_cpr_ambiguous": gettext_noop(
        "The citizen is given more than one replacement CPR number"
    ),
    "record.patient_unknown": gettext_noop("The citizen is not known to the platform"),
    "record.psychiatric_diagnosis": gettext_noop(
        "Holds a psychiatric diagnosis, which is not shared (R2)"
    ),
    "record.psychiatric_code_in_text": gettext_noop(
        "Its text names a psychiatric diagnosis code, which is not shared (R2)"
    ),
    "referral.citizen_deceased": gettext_noop("The citizen is registered deceased"),
    "hospital.citizen_deceased": gettext_noop("The citizen is registered deceased"),
    "referral.reason_missing": gettext_noop("The referral gives no reason"),
    "referral.priority_unknown": gettext_noop("The referral's urgency is unknown"),
    "referral.urgency_required": gettext_noop("The referral states no urgency"),
    "referral.resent_changed": gettext_noop(
        "A referral already received, sent again with other content; phone the referrer"
    ),
    "referral.status_not_active": gettext_noop(
        "Not an active referral (withdrawn, entered in error, on hold or a draft); "
        "phone the referrer and check the citizen's referral"
    ),
    "referral.subject_not_message_patient": gettext_noop(
        "The referral is about someone other than the citizen in the message"
    ),
    # Refusals of a MedCom message the rules accept but the platform cannot
    # place: the coordinator reads why, not only that the rules refused it.
    "carecommunication.citizen_unknown": gettext_noop("The citizen is not known to the platform"),
    "carecommunication.previous_unknown": gettext_noop(
        "A reply or forward into a conversation the acute function has not had with this partner"
    ),
    "carecommunication.thread_of_another_citizen": gettext_noop(
        "The conversation is about another citizen"
    ),
    "carecommunication.identifier_too_long": gettext_noop(
        "An identifier in the message is longer than the platform keeps"
    ),
    "carecommunication.text_empty": gettext_noop("A message text in the message is empty"),
    "carecommunication.time_in_future": gettext_noop(
        "The message reports a time that has not come yet"
    ),
    "carecommunication.attachment_type_unknown": gettext_noop(
        "An attachment in the message is of a type MedCom does not allow"
    ),
    "carecommunication.citizen_not_served": gettext_noop(
        "The citizen's municipality does not take part in the acute function,"
        " and she has no open referral"
    ),
    "hospital.stay_of_another_citizen": gettext_noop("The hospital stay is another citizen's"),
    "hospital.previous_unknown": gettext_noop(
        "The hospital cancelled a notification the acute function has not received"
        " from that hospital about this citizen"
    ),
    "hospital.activity_missing": gettext_noop(
        "The hospital notification does not say what happened"
    ),
    "hospital.activity_unsupported": gettext_noop(
        "The hospital notification reports an event the platform does not know"
    ),
    "hospital.episode_of_care_missing": gettext_noop(
        "The hospital stay's episode-of-care identifier is missing"
    ),
    "hospital.occurred_in_future": gettext_noop(
        "The hospital notification reports an event that has not happened yet"
    ),
    "replacement_cpr.invalid": gettext_noop("The citizen's replacement CPR number is not valid"),
    "death.in_future": gettext_noop("The time of death cannot be true"),
    "death.before_birth": gettext_noop("The time of death cannot be true"),
    "message.datetime_invalid": gettext_noop("A date or time in the message is not valid"),
    "message.time_in_future": gettext_noop("The message reports a time that has not come yet"),
}
# The auditor's pages name these codes too (an inbound refusal's audit entry).
reason_labels_register(INBOUND_REASON_LABELS)


class DeliveryAttempt(models.Model):
    """Every attempt to deliver an outbound message: appended, never changed
    after it is finished."""

    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        ACKNOWLEDGED = "acknowledged", "Acknowledged (ok)"
        ACCEPTED = "accepted", "Accepted, acknowledgement to follow"
        TRANSIENT = "transient", "Transient error"
        FATAL = "fatal", "Fatal error"
        NETWORK = "network", "Network error"

    message = models.ForeignKey(
        OutboundMessage, on_delete=models.CASCADE, related_name="deliveries"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    retry_in_seconds = models.FloatField(null=True, blank=True)
    task = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["message_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="delivery_number_unique"),
        ]

    def __str__(self) -> str:
        return gettext("Attempt %(number)s of message %(message)s: %(outcome)s") % {
            "number": self.number,
            "message": self.message_id,
            "outcome": gettext(self.get_outcome_display()),
        }


class InboundMessage(models.Model):
    """A message received from a partner and the acknowledgement it was given.

    Kept so a duplicate (same Bundle.id or MessageHeader.id from the same
    partner) gets the original acknowledgement again, never a second processing.
    Transient failures are not kept: the sender may retry them.
    """

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FATAL = "fatal-error", "Fatal error"

    # Found by partner through the two unique constraints, which lead with it.
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="inbox", db_index=False
    )
    bundle_id = models.CharField(max_length=64)
    header_id = models.CharField(max_length=64)
    event = models.CharField(max_length=64)
    # Found by citizen through ``inbound_citizen_stay_idx``, which leads with it.
    citizen = models.ForeignKey(
        Citizen,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField()
    acknowledgement = models.JSONField()
    # What processing created, e.g. {"referral": 17}.
    result = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    # A refused message: why (the refusal's code), and the coordinator who
    # has seen it on the board, so it leaves the board (the partner was told
    # by its fatal-error; she may need to phone them, e.g. about a referral).
    reason_code = models.CharField(max_length=64, blank=True, default="")
    noted_at = models.DateTimeField(null=True, blank=True)
    noted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "bundle_id"], name="inbound_bundle_once"),
            models.UniqueConstraint(fields=["partner", "header_id"], name="inbound_header_once"),
            models.CheckConstraint(
                name="inbound_noted_complete",
                condition=Q(noted_at__isnull=True, noted_by__isnull=True)
                | Q(noted_at__isnull=False, noted_by__isnull=False),
            ),
        ]
        indexes = [
            # The board's refused messages not yet seen.
            models.Index(
                fields=["received_at"],
                name="inbound_refused_unnoted_idx",
                condition=Q(outcome="fatal-error", noted_at__isnull=True),
            ),
            # A hospital's message about a stay: the stay's messages received
            # before it (a later event it must not undo, a death it cancels),
            # found among the citizen's messages of every stay she has had.
            models.Index(
                F("citizen"), KT("result__episode_of_care"), name="inbound_citizen_stay_idx"
            ),
            # The coordinator who saw a refused message; only those rows.
            models.Index(
                fields=["noted_by"],
                name="inbound_noted_by_idx",
                condition=Q(noted_by__isnull=False),
            ),
            # A message naming an earlier one by its MessageHeader.id (a
            # hospital's removal): whose message that is, whichever partner.
            models.Index(fields=["header_id"], name="inbound_header_idx"),
        ]

    def __str__(self) -> str:
        return gettext("%(event)s from %(partner)s: %(outcome)s") % {
            "event": self.event_display(),
            "partner": self.partner.organisation.name,
            "outcome": gettext(self.get_outcome_display()),
        }

    def event_display(self) -> str:
        """What the partner sent, as the coordinator reads it (her language)."""
        label = INBOUND_EVENT_LABELS.get(self.event)
        return gettext(label) if label else gettext("A message the platform could not read")

    def reason_display(self) -> str:
        """Why the message was refused, in the coordinator's language; never
        the code, never the citizen data in the message."""
        label = INBOUND_REASON_LABELS.get(self.reason_code)
        if label is not None:
            return gettext(label)
        return reason_label(self.reason_code) or gettext("Refused by the platform's rules")


class ReceivedAcknowledgement(models.Model):
    """A partner's acknowledgement of one of our messages, received as its
    own message or in its answer to our delivery, and what a copy of it is
    answered. MedCom: a message received twice
    (an acknowledgement too: the same MessageHeader.id, whatever its
    Bundle.id) is processed once; a repeat is answered as the first was and
    settles nothing again, whatever has happened to the message since (a
    transient-error received again after the resend it asked for was
    delivered asks for no second resend)."""

    # Found by partner through the two unique constraints, which lead with it.
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+", db_index=False)
    bundle_id = models.CharField(max_length=64)
    header_id = models.CharField(max_length=64)
    # The MessageHeader.id of ours it answers, and its code, as received.
    answering = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=32, blank=True)
    http_status = models.PositiveSmallIntegerField()
    answer = models.JSONField()
    # Why it settled nothing (the audit entry's reason), blank when it did.
    reason_code = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "bundle_id"], name="received_ack_bundle_once"
            ),
            models.UniqueConstraint(
                fields=["partner", "header_id"], name="received_ack_header_once"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Acknowledgement %(code)s from %(partner)s") % {
            "code": self.code,
            "partner": self.partner.organisation.name,
        }


class CareThread(models.Model):
    """A MedCom CareCommunication conversation (*korrespondancemeddelelse*)
    about one citizen: the episode identifier MedCom keeps on every message of
    it (``Communication.identifier``), the partner it is with, and, where it
    can be matched, the citizen's referral."""

    identifier = models.CharField(max_length=100, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="care_threads")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "acute.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.CharField(max_length=40)
    # The partner's topic (*emne*) as it wrote it: MedCom sets no length on
    # Communication.topic.text, so none is set here (never cut).
    topic = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    # A coordinator dealt with a thread shown on no open referral without
    # replying in it (she phoned the partner): handled up to this segment, so
    # the partner's next message puts it before a coordinator again
    # (docs/decisions/0031-a-message-without-an-open-referral-is-the-boards.md).
    handled_through = models.ForeignKey(
        "integrations.CareMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return gettext("Correspondence %(number)s with %(partner)s") % {
            "number": self.pk,
            "partner": self.partner.organisation.name,
        }


class CareMessage(models.Model):
    """One message segment of a thread (a CareCommunication payload), received
    or written here. A reply repeats the earlier segments; each is kept once,
    by its MedCom identifier."""

    class Direction(models.TextChoices):
        IN = "in", "Received"
        OUT = "out", "Sent"

    thread = models.ForeignKey(CareThread, on_delete=models.PROTECT, related_name="messages")
    identifier = models.CharField(max_length=100)
    # The MessageHeader.id of the message that brought it (or took it out).
    header_id = models.CharField(max_length=64)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    # MedCom's activity of that message (new-message, reply-message, ...).
    activity = models.CharField(max_length=32, blank=True)
    text = models.TextField()
    # 'Name, title' and the author's contact as the partner gave them: MedCom
    # limits neither, so they are kept whole.
    author = models.TextField(blank=True)
    author_contact = models.TextField(blank=True)
    written_at = models.DateTimeField()
    written_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outbound = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["written_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "identifier"], name="care_message_segment_once"
            ),
            models.CheckConstraint(
                name="care_message_direction_valid", condition=Q(direction__in=["in", "out"])
            ),
        ]
        indexes = [models.Index(fields=["header_id"], name="care_message_header_idx")]

    def __str__(self) -> str:
        return gettext("%(direction)s in correspondence %(thread)s") % {
            "direction": gettext(self.get_direction_display()),
            "thread": self.thread_id,
        }


# The MedCom rules our own messages break for want of the platform's data,
# with what the coordinator can do about it (translated when shown).
RULE_HINTS = {
    "invariant:medcom-homecareReport-3": gettext_noop(
        "The GP cannot reach the nurse who measured: neither she nor the acute function has a"
        " phone number. Give the acute function a phone number, and give the GP the results"
        " another way."
    ),
}
