"""The shared record's access basis. (The record itself, consent and
break-the-glass are added alongside.)"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import Citizen, Organisation, User


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

    citizen = models.ForeignKey(
        Citizen, on_delete=models.PROTECT, related_name="care_relationships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="care_relationships"
    )
    # Set when the relationship is one person's (a nurse's visit); empty for the whole organisation.
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="care_relationships"
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
            )
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
        return f"{self.get_basis_display()} of citizen {self.citizen_id} with {self.organisation}"
