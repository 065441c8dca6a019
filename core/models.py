"""Organisations, staff with their roles, and citizens.

One module, a little over 500 lines: these are the platform's shared schema
(who acts, on whose behalf, about whom), which every app's foreign keys point
at; the sign-in records (tokens, identities, system clients, attempts) are
part of it because each is keyed to a user or a membership and read with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.cpr import (
    CPR_SYSTEM,
    REPLACEMENT_CPR_SHAPE,
    ReplacementCpr,
    cpr_facts,
    looks_like_replacement_cpr,
    mask_cpr,
    mask_replacement_cpr,
    normalise_cpr,
    normalise_replacement_cpr,
    replacement_cpr_facts,
)
from core.errors import InvalidInput
from core.times import shown

SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
PROVIDER_NUMBER_SYSTEM = "urn:oid:1.2.208.176.1.4"
MUNICIPALITY_CODE_SYSTEM = "urn:oid:1.2.208.176.1.3"


class Organisation(models.Model):
    """Any party that acts on the platform: a municipality, the joint acute
    function, a hospital and its departments, the 1813 helpline, a GP practice,
    a municipality's home nursing (*hjemmesygepleje*), municipal assessment
    (*visitation*), home care (*hjemmepleje*), and a rehabilitation unit
    (*genoptræning og rehabilitering*), municipal or part of a hospital."""

    class Kind(models.TextChoices):
        MUNICIPALITY = "municipality", _("Municipality")
        ACUTE_FUNCTION = "acute_function", _("Joint acute function")
        HOSPITAL = "hospital", _("Hospital")
        HOSPITAL_DEPARTMENT = "hospital_department", _("Hospital department")
        HELPLINE_1813 = "helpline_1813", _("Medical helpline 1813")
        GP_PRACTICE = "gp_practice", _("GP practice")
        HOME_NURSING = "home_nursing", _("Home nursing")
        MUNICIPAL_ASSESSMENT = "municipal_assessment", _("Municipal assessment")
        HOME_CARE = "home_care", _("Home care")
        REHABILITATION_UNIT = "rehabilitation_unit", _("Rehabilitation unit")

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("part of"),
    )
    municipality_code = models.CharField(
        _("municipality code"),
        max_length=3,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Official code, e.g. 157 Gentofte."),
    )
    sor_code = models.CharField(_("SOR code"), max_length=20, null=True, blank=True, unique=True)
    provider_number = models.CharField(
        _("provider number"),
        max_length=12,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Ydernummer (GP practices)."),
    )
    # MedCom messages name sender and receiver by SOR code and by this number.
    ean = models.CharField(
        _("EAN location number"),
        max_length=13,
        null=True,
        blank=True,
        unique=True,
        help_text=_("EAN/GLN location number (lokationsnummer), 13 digits."),
    )
    # Municipalities taking part in the joint acute function; more join by data.
    participates = models.BooleanField(_("takes part in the acute function"), default=False)
    # The municipalities whose citizens this organisation serves by agreement.
    serves = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="served_by",
        limit_choices_to={"kind": "municipality"},
        verbose_name=_("serves the municipalities"),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="organisation_municipality_has_code",
                condition=~Q(kind="municipality") | Q(municipality_code__isnull=False),
            ),
            models.CheckConstraint(
                name="organisation_department_has_parent",
                condition=~Q(kind="hospital_department") | Q(parent__isnull=False),
            ),
            models.CheckConstraint(
                name="organisation_ean_thirteen_digits",
                condition=Q(ean__isnull=True) | Q(ean__regex=r"^[0-9]{13}$"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


# A hospital and its departments: a unit whose parent is one of these (a
# hospital's rehabilitation unit) acts as the hospital does (R3).
HOSPITAL_KINDS = frozenset({Organisation.Kind.HOSPITAL, Organisation.Kind.HOSPITAL_DEPARTMENT})


class Role(models.TextChoices):
    ACUTE_NURSE = "acute_nurse", _("Acute nurse")
    COORDINATOR = "coordinator", _("Coordinator")
    PHYSICIAN = "physician", _("Physician")
    HOME_NURSE = "home_nurse", _("Home nurse")
    MEDICINE_OFFICER = "medicine_officer", _("Medicine officer")
    AUDITOR = "auditor", _("Auditor")
    ANALYST = "analyst", _("Analyst")
    ADMINISTRATOR = "administrator", _("Administrator")


class User(AbstractUser):
    """A member of staff. Acts for one organisation in one role at a time
    (a :class:`Membership`)."""

    authorisation_id = models.CharField(
        _("authorisation ID"),
        max_length=20,
        blank=True,
        help_text=_("Autorisations-ID from the Danish Patient Safety Authority."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class MembershipQuerySet(models.QuerySet["Membership"]):
    def in_force(self, now: dt.datetime | None = None) -> MembershipQuerySet:
        """Memberships a person may act in now: switched on, begun and not
        past their end, of an active user at an active organisation."""
        at = now or timezone.now()
        return self.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=at),
            Q(valid_until__isnull=True) | Q(valid_until__gt=at),
            is_active=True,
            user__is_active=True,
            organisation__is_active=True,
        )


class Membership(models.Model):
    """A user's right to act for an organisation in a role."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_default = models.BooleanField(_("chosen at sign-in"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateTimeField(
        _("active from"),
        null=True,
        blank=True,
        help_text=_("The role begins by itself at this time; empty: at once."),
    )
    valid_until = models.DateTimeField(
        _("active until"),
        null=True,
        blank=True,
        help_text=_("The role ends by itself at this time; empty: until switched off."),
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("role at an organisation")
        verbose_name_plural = _("roles at organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="membership_one_default"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=models.F("valid_from")),
                name="membership_ends_after_it_begins",
                violation_error_message=_("The role must end after it begins."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(user)s: %(role)s at %(organisation)s") % {
            "user": self.user.username,
            "role": self.get_role_display(),
            "organisation": self.organisation,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A role or organisation changed in place (in the admin) ends the API
        tokens issued for the old one: a token acts in the role it was issued
        in, never in one its holder signed in to nobody for."""
        if self.pk is not None:
            before = (
                Membership.objects.filter(pk=self.pk).values_list("role", "organisation_id").first()
            )
            if before is not None and before != (self.role, self.organisation_id):
                ApiToken.objects.filter(membership_id=self.pk, revoked_at__isnull=True).update(
                    revoked_at=timezone.now()
                )
        super().save(*args, **kwargs)

    def in_force(self, now: dt.datetime | None = None) -> bool:
        """Whether its holder may act in it now (as :meth:`MembershipQuerySet.in_force`;
        the user and organisation must be loaded)."""
        at = now or timezone.now()
        return (
            self.is_active
            and (self.valid_from is None or self.valid_from <= at)
            and (self.valid_until is None or self.valid_until > at)
            and self.user.is_active
            and self.organisation.is_active
        )


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def grant_stamp(membership: Membership, client: SystemClient | None = None) -> str:
    """What a token was granted, as one digest: the membership, its role and
    organisation, its user's password (its hash) and, for a system, the
    client and its secret (its hash). A token carries the stamp of its issue
    and is refused once the stamp read on a request differs, whichever door
    changed them (a form, the admin, a bulk update, a password reset)."""
    parts = [
        str(membership.pk),
        membership.role,
        str(membership.organisation_id),
        str(membership.user_id),
        membership.user.password,
    ]
    if client is not None:
        parts += [str(client.pk), client.secret_hash]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the API, bound to one membership. Only its hash is stored."""

    key_hash = models.CharField(max_length=64, unique=True)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A system's token (OAuth 2.0 client credentials) carries the SMART scopes
    # granted to it, a ceiling over its role (core/scopes.py); a person's none.
    system_client = models.ForeignKey(
        "SystemClient", null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    scopes = models.CharField(max_length=1000, blank=True)
    # The grant_stamp() of its issue; a token whose grant has changed since is refused.
    grant = models.CharField(max_length=64, blank=True)
    # Its holder's last use, kept to the minute (TOKEN_USE_PRECISION_SECONDS):
    # a person's token unused for API_TOKEN_IDLE_SECONDS ends.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]
        constraints = [
            models.CheckConstraint(
                name="api_token_system_has_scopes",
                condition=Q(system_client__isnull=True, scopes="")
                | (Q(system_client__isnull=False) & ~Q(scopes="")),
            ),
        ]

    def __str__(self) -> str:
        return gettext("token for %(membership)s until %(until)s") % {
            "membership": self.membership,
            "until": shown(self.expires_at, "d.m.Y H:i"),
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.grant:
            self.grant = grant_stamp(self.membership, self.system_client)
        super().save(*args, **kwargs)

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    def idle_seconds(self, now: dt.datetime) -> float | None:
        """How long a person's token has gone unused, when that is past
        ``API_TOKEN_IDLE_SECONDS``; ``None`` otherwise, and for a system's
        token (short-lived, no idle limit)."""
        if self.system_client_id is not None:
            return None
        idle = (now - (self.last_used_at or self.created_at)).total_seconds()
        return idle if idle > settings.API_TOKEN_IDLE_SECONDS else None

    def grant_holds(self) -> bool:
        """Whether its membership, role, organisation, password and (a
        system's) secret are still those it was issued for; the membership
        with its user, and the client, loaded."""
        return hmac.compare_digest(self.grant, grant_stamp(self.membership, self.system_client))


class ExternalIdentity(models.Model):
    """A person as an organisation's identity provider knows them: the ID
    token's issuer and subject, linked to one user of the platform."""

    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user.username} at {self.issuer}"


class SystemClient(models.Model):
    """A system registered to call the API with OAuth 2.0 client credentials
    (SMART on FHIR backend services). It acts in one membership, as a person
    would, and its scopes are the most it may ever reach. Only the secret's
    hash is kept."""

    client_id = models.CharField(max_length=100, unique=True)
    secret_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="system_clients"
    )
    scopes = models.CharField(max_length=1000)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(name="system_client_has_scopes", condition=~Q(scopes=""))
        ]

    def __str__(self) -> str:
        return f"system {self.client_id}"


class LoginAttempt(models.Model):
    """Every login attempt, to throttle guessing. The username is stored as typed
    (it is not citizen data); the password never is."""

    username = models.CharField(max_length=150)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["client_address", "at"]),
        ]

    def __str__(self) -> str:
        message = (
            gettext("login by %(username)s at %(at)s")
            if self.succeeded
            else gettext("failed login by %(username)s at %(at)s")
        )
        return message % {
            "username": self.username,
            "at": shown(self.at, "d.m.Y H:i"),
        }


class Citizen(models.Model):
    """A citizen (*borger*) identified by CPR number, or, without one, by a
    replacement CPR (*erstatningspersonnummer*, X-eCPR or D-eCPR: its system
    and value).

    Both are stored once, here; everywhere else a citizen is referred to by
    the internal id. Screens show them masked unless a clinician needs them.
    A citizen may hold both (a replacement CPR kept after the CPR number came,
    so that messages naming either are matched).
    """

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"

    cpr = models.CharField(max_length=10, unique=True, null=True, blank=True)
    replacement_cpr = models.CharField(max_length=10, null=True, blank=True)
    replacement_cpr_system = models.CharField(max_length=64, blank=True, default="")
    given_name = models.CharField(max_length=120)
    family_name = models.CharField(max_length=120)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices)
    address_line = models.CharField(max_length=200)
    postal_code = models.CharField(max_length=4)
    city = models.CharField(max_length=100)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    municipality = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="residents",
        limit_choices_to={"kind": "municipality"},
    )
    gp_practice = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="listed_patients",
        limit_choices_to={"kind": "gp_practice"},
    )
    phone = models.CharField(max_length=32, blank=True)
    # The registered death: ``deceased_at`` is the instant every rule compares
    # with; ``deceased_on`` is the day, when the death was given as a day
    # alone (``deceasedDateTime`` "2026-11-30"), and ``deceased_at`` is then
    # that day's first moment in Copenhagen. Kept so the death is written
    # back and shown as it was given, never as a time of day nobody stated.
    deceased_at = models.DateTimeField(null=True, blank=True)
    deceased_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="citizen_cpr_ten_digits", condition=Q(cpr__regex=r"^[0-9]{10}$")
            ),
            models.CheckConstraint(
                name="citizen_identified",
                condition=Q(cpr__isnull=False) | Q(replacement_cpr__isnull=False),
            ),
            models.CheckConstraint(
                name="citizen_replacement_cpr_shape",
                condition=Q(replacement_cpr__regex=REPLACEMENT_CPR_SHAPE),
            ),
            # A replacement CPR is unique only within its issuer: it goes with its system.
            models.CheckConstraint(
                name="citizen_replacement_cpr_with_system",
                condition=(Q(replacement_cpr__isnull=True) & Q(replacement_cpr_system=""))
                | (Q(replacement_cpr__isnull=False) & ~Q(replacement_cpr_system="")),
            ),
            models.UniqueConstraint(
                fields=["replacement_cpr_system", "replacement_cpr"],
                name="citizen_replacement_cpr_unique",
            ),
            # A day of death is the day of the registered death: never without it.
            models.CheckConstraint(
                name="citizen_death_day_with_death",
                condition=Q(deceased_on__isnull=True) | Q(deceased_at__isnull=False),
            ),
            models.CheckConstraint(
                name="citizen_latitude_range", condition=Q(latitude__gte=-90, latitude__lte=90)
            ),
            models.CheckConstraint(
                name="citizen_longitude_range", condition=Q(longitude__gte=-180, longitude__lte=180)
            ),
        ]

    def __str__(self) -> str:
        # Never the CPR number: this string ends up in logs and admin pages.
        return gettext("Citizen %(number)s") % {"number": self.pk}

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def masked_cpr(self) -> str:
        """The masked CPR number; without one, the masked replacement CPR."""
        if self.cpr:
            return mask_cpr(self.cpr)
        return mask_replacement_cpr(self.replacement_cpr or "")

    @staticmethod
    def typed(raw: str) -> Q:
        """Who a person means by what she types in a CPR field: a CPR number
        (ten digits, ``DDMMYY-SSSS`` accepted) or a replacement CPR (its ten
        characters; its issuer is not typed, so the caller asks for exactly
        one match). Anything else: ``cpr.invalid``, the value never echoed."""
        if looks_like_replacement_cpr(raw):
            return Q(replacement_cpr=raw.strip().replace("-", "").upper())
        return Q(cpr=normalise_cpr(raw))

    @staticmethod
    def holding(number: ReplacementCpr) -> Q:
        """The condition for the citizen holding this replacement CPR
        (its system and value)."""
        return Q(replacement_cpr_system=number.system, replacement_cpr=number.value)

    @property
    def replacement(self) -> ReplacementCpr | None:
        if not self.replacement_cpr:
            return None
        return ReplacementCpr(system=self.replacement_cpr_system, value=self.replacement_cpr)

    def clean(self) -> None:
        if self.replacement_cpr:
            number = normalise_replacement_cpr(self.replacement_cpr, self.replacement_cpr_system)
            self.replacement_cpr = number.value
        if self.cpr:
            facts = cpr_facts(self.cpr)
        elif self.replacement_cpr:
            facts = replacement_cpr_facts(
                normalise_replacement_cpr(self.replacement_cpr, self.replacement_cpr_system)
            )
        else:
            raise InvalidInput(
                "citizen.identifier_missing",
                "A citizen needs a CPR number or a replacement CPR.",
                field="cpr",
            )
        self.birth_date = facts.birth_date
        self.sex = facts.sex


__all__ = [
    "CPR_SYSTEM",
    "MUNICIPALITY_CODE_SYSTEM",
    "PROVIDER_NUMBER_SYSTEM",
    "SOR_SYSTEM",
    "ApiToken",
    "Citizen",
    "ExternalIdentity",
    "LoginAttempt",
    "Membership",
    "Organisation",
    "Role",
    "SystemClient",
    "User",
]


# How long a write's Idempotency-Key is kept (core/idempotency.py).
IDEMPOTENCY_KEY_KEPT = dt.timedelta(days=1)


class IdempotencyKey(models.Model):
    """A write sent with an ``Idempotency-Key`` (core/idempotency.py): the
    key, whose it is, a fingerprint of the request it came with, and how it
    was answered. No body is kept: a replay is told the request was received,
    not served its data again."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    claim = models.CharField(max_length=32)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_age")]

    def __str__(self) -> str:
        return f"idempotency key of user {self.user_id} ({self.status})"
