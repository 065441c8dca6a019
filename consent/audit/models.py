"""Audit log entries. Appended, never updated or deleted."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    READ = "read", "Read"
    SEARCH = "search", "Search"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"
    DISCLOSE = "disclose", "Disclose"
    BREAK_GLASS = "break_glass", "Break the glass"


class Purpose(models.TextChoices):
    """Purpose of use, in the spirit of HL7 v3 PurposeOfUse (TREAT, ETREAT, HOPERAT, ...)."""

    TREATMENT = "treatment", "Treatment"
    EMERGENCY = "emergency", "Emergency treatment (break-the-glass)"
    OPERATIONS = "operations", "Operations"
    ANALYSIS = "analysis", "Analysis"
    AUDIT = "audit", "Audit"


class Outcome(models.TextChoices):
    PERMITTED = "permitted", "Permitted"
    DENIED = "denied", "Denied"


class AuditEntry(models.Model):
    """One access to citizen data (or one denied attempt).

    Actors are copied by value (id, name, role, organisation) so the entry
    stays true when staff or organisations change later. The citizen is the
    internal id, never the CPR number.
    """

    recorded_at = models.DateTimeField(db_index=True)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    actor_organisation_id = models.BigIntegerField(null=True, blank=True)
    actor_organisation_name = models.CharField(max_length=200, blank=True)
    # Background work: the task or command, and the partner it acts for.
    task = models.CharField(max_length=200, blank=True)
    partner_organisation_id = models.BigIntegerField(null=True, blank=True)
    citizen_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["actor_user_id", "recorded_at"]),
            models.Index(fields=["citizen_id", "recorded_at"]),
        ]

    def __str__(self) -> str:
        who = self.actor_username or self.task
        return f"{self.recorded_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome} by {who}"
