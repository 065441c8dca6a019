"""Break-the-glass (*værdispring*): a clinician without a care relationship,
or refused by the citizen, opens an override for one citizen and a few
minutes, stating why. The gate then lets that clinician in, and records every
access the override alone made possible as an emergency access (see
:mod:`consent.gate`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from consent.audit.services import Action, Purpose, audit_record
from consent.models import BreakGlass
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.logging import scrub
from core.messages import either, lowercase
from core.models import Citizen, Role
from core.validation import full_clean_or_raise, text_blank, text_trimmed

BREAK_GLASS_ROLES = frozenset({Role.ACUTE_NURSE, Role.PHYSICIAN, Role.HOME_NURSE, Role.COORDINATOR})


# The reason is read by the auditors and the citizen: ten letters or digits at
# least, so that dots, dashes or spaces typed to get past the field say nothing.
REASON_MIN_LETTERS = 10


REASON_MAX_LENGTH = 500  # BreakGlass.reason

# The bases as the form words them, in the reader's language: a refusal names
# the choices a person sees, never the codes the API takes.
_BASES = either(lowercase(gettext_lazy(label)) for label in BreakGlass.Basis.labels)


def _checked_reason(reason: object) -> str:
    reason = text_trimmed(reason)
    if len(reason) > REASON_MAX_LENGTH:
        # Cut short, the reason the auditors and the citizen read is not the one stated.
        raise InvalidInput(
            "break_glass.reason_too_long",
            gettext("Write the reason in at most %(max)s characters.") % {"max": REASON_MAX_LENGTH},
            field="reason",
            params={"max": REASON_MAX_LENGTH},
        )
    if text_blank(reason) or sum(ch.isalnum() for ch in reason) < REASON_MIN_LETTERS:
        raise InvalidInput(
            "break_glass.reason_required",
            "State why in words (at least 10 letters or digits): break-the-glass needs a reason.",
            field="reason",
        )
    if scrub(reason) != reason:
        # The reason travels with every access made under the override (audit
        # entries, the auditors' exports, the insight report): never a CPR number.
        raise InvalidInput(
            "break_glass.reason_has_cpr",
            gettext("Write the reason without a CPR number; the citizen is already chosen."),
            field="reason",
        )
    return reason


def break_glass_open(*, actor: Actor, citizen_id: int, reason: object, basis: object) -> BreakGlass:
    """Open an override for this clinician and this citizen only, for the
    configured few minutes. Recorded as a ``break_glass`` audit entry that the
    auditors review and the citizen sees in the insight report. A refused
    attempt — a role that may not, no reason, no basis, an unknown citizen — is
    recorded too, on the citizen's trail when the citizen exists (R9); never
    with the reason typed, which may be what was refused. ``reason`` and
    ``basis`` are taken as sent (any JSON value): judged here, every refusal
    of them is recorded, whichever door it came through."""
    citizen = Citizen.objects.filter(pk=citizen_id).first()
    try:
        if actor.role not in BREAK_GLASS_ROLES or actor.user is None or actor.organisation is None:
            raise Forbidden("break_glass.role", "Only clinicians may break the glass.")
        reason = _checked_reason(reason)
        if not isinstance(basis, str) or basis not in BreakGlass.Basis.values:
            raise InvalidInput(
                "break_glass.basis_invalid",
                f"basis is one of {', '.join(BreakGlass.Basis.values)}.",
                field="basis",
                params={"values": _BASES},
            )
        if citizen is None:
            raise NotFoundOrNotAllowed()
    except PlatformError as exc:
        audit_denied(
            actor=actor,
            action=Action.BREAK_GLASS,
            purpose=Purpose.EMERGENCY,
            reason_code="unknown_citizen" if isinstance(exc, NotFoundOrNotAllowed) else exc.code,
            citizen_id=citizen.pk if citizen is not None else None,
            resource_type="Patient" if citizen is not None else "",
            resource_id=str(citizen.pk) if citizen is not None else "",
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        glass = BreakGlass(
            citizen=citizen,
            user=actor.user,
            organisation=actor.organisation,
            role=actor.role,
            basis=basis,
            reason=reason,
            started_at=now,
            expires_at=now + dt.timedelta(minutes=settings.CONSENT_BREAK_GLASS_MINUTES),
        )
        full_clean_or_raise(
            glass, code="break_glass.invalid", exclude=["citizen", "user", "organisation"]
        )
        glass.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.BREAK_GLASS,
            purpose=Purpose.EMERGENCY,
            citizen_id=citizen.pk,
            resource_type="Patient",
            resource_id=str(citizen.pk),
            reason_code="break_glass",
            detail={
                "break_glass_id": glass.pk,
                "basis": basis,
                "reason": glass.reason,
                "expires_at": glass.expires_at.isoformat(),
            },
        )
    return glass
