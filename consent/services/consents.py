"""Refusals and consents (R4) as the citizen gave them, orally or in writing,
recorded by a member of staff; and their withdrawal, which keeps the directive
itself. The gate lets staff with a care relationship record the citizen's
wishes even where a refusal stops them reading the record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consent.audit.services import Action
from consent.fhir import ParsedConsent, parse_consent
from consent.fhir.datatypes import referenced_id
from consent.gate import CATEGORY_CONSENT, Decision, access_citizen, audit_decision
from consent.models import ConsentDirective, ConsentWithdrawal
from consent.selectors.consents import access_directive
from consent.services.denied import audit_denied
from core.actors import Actor
from core.cpr import cpr_in_text
from core.errors import Conflict, Forbidden, InvalidInput, shown
from core.fhir.references import refuse_unheld
from core.locks import citizen_lock
from core.models import Citizen, Organisation, User
from core.validation import full_clean_or_raise


def _recorder(actor: Actor) -> tuple[User, Organisation]:
    """Who records the citizen's wishes: a member of staff, for an organisation."""
    if actor.user is None or actor.organisation is None:
        raise InvalidInput("consent.recorder_unknown", "Consent is recorded by a member of staff.")
    return actor.user, actor.organisation


def _check_custodian(data: dict[str, Any], organisation: Organisation) -> None:
    """``Consent.organization`` (the custodian) is the organisation that
    records it, as the answer says: another one named was answered and kept
    as the recorder's, unsaid."""
    own = f"Organization/{organisation.pk}"
    for index, named in enumerate(data.get("organization") or []):
        reference = named.get("reference") if isinstance(named, dict) else None
        if reference != own:
            element = f"organization[{index}]"
            raise InvalidInput(
                "consent.custodian_not_recorder",
                f"{element} is the organisation recording the directive, {own};"
                " leave it out or name that.",
                field=element,
                params={"element": element, "own": own},
            )


Named = TypeVar("Named", Organisation, User)


def _named(model: type[Named], ids: Iterable[int], unknown: InvalidInput) -> list[Named]:
    """Those ``provision.actor`` names; one that names nobody is refused with ``unknown``."""
    wanted = set(ids)
    found = list(model.objects.filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise unknown
    return found


def _audit_directive(
    *,
    actor: Actor,
    decision: Decision,
    action: str,
    purpose: str,
    directive: ConsentDirective,
    detail: dict[str, Any],
) -> None:
    """The write's own entry on the citizen's log, inside its transaction."""
    audit_decision(
        actor=actor,
        decision=decision,
        action=action,
        purpose=purpose,
        citizen_id=directive.citizen_id,
        category=CATEGORY_CONSENT,
        resource_type="Consent",
        resource_id=str(directive.pk),
        detail=detail,
    )


def _audit_refused(
    *, actor: Actor, purpose: str, data: dict[str, Any], refused: InvalidInput
) -> None:
    """A Consent refused for what it says, or as no valid Consent at all
    (``fhir.invalid``): an attempt all the same (R9), on the log of the
    citizen it names (when it names one as ``Patient/<id>``, read as the
    Consent itself is read; an unknown id is recorded naming no citizen)."""
    citizen_id = referenced_id(data.get("patient") if isinstance(data, dict) else None, "Patient")
    if citizen_id is not None and not Citizen.objects.filter(pk=citizen_id).exists():
        citizen_id = None
    audit_denied(
        actor=actor,
        action=Action.CREATE,
        purpose=purpose,
        reason_code=refused.code,
        citizen_id=citizen_id,
        resource_type="Consent",
    )


class OwnRefusal(Forbidden):
    """The member of staff a citizen's refusal names personally does not
    record its end: neither its withdrawal nor a consent that would reach her.
    Lifting it herself would give her the citizen's data with none of
    break-the-glass's reason, time limit and flag (R4); a colleague records
    the citizen's change, and the refused attempt is on the citizen's log."""

    def __init__(self) -> None:
        super().__init__(
            "consent.own_refusal",
            "The citizen's refusal names you: another member of staff records its "
            "withdrawal or a consent that lifts it.",
        )


class OwnOrganisationRefusal(Forbidden):
    """A citizen's refusal of a whole organisation (with its sub-units, if it
    says so) is not lifted from inside it either: a member would otherwise
    withdraw it, or record a consent reaching her, and read on at once. Someone
    outside the organisation records the citizen's change, or she breaks the
    glass (R4)."""

    def __init__(self) -> None:
        super().__init__(
            "consent.own_organisation_refusal",
            "The citizen's refusal names your organisation: someone outside it records "
            "its withdrawal or a consent that lifts it.",
        )


class LiftedUnderBreakGlass(Forbidden):
    """Break-the-glass lets a clinician without a care relationship read for a
    few minutes (R4); it does not let her lift a refusal for good. A consent,
    or the withdrawal of a refusal, recorded under the override alone would
    outlast its time limit and open the record to others with none of its
    reason and flag: staff with a care relationship record the citizen's
    change. A further refusal, or the withdrawal of a consent, she records."""

    def __init__(self) -> None:
        super().__init__(
            "consent.lifted_under_break_glass",
            "Break-the-glass opens the record for a short time; it does not lift the "
            "citizen's refusal. Staff with a care relationship record the citizen's change.",
        )


def _check_not_lifted_under_break_glass(
    *,
    decision: Decision,
    parsed: ParsedConsent | None = None,
    directive: ConsentDirective | None = None,
) -> None:
    """Refuse a write that would lift a refusal when only an open override
    let the recorder at the citizen (:class:`LiftedUnderBreakGlass`)."""
    if not decision.break_glass_id:
        return
    if parsed is not None and parsed.provision == ConsentDirective.Provision.PERMIT:
        raise LiftedUnderBreakGlass()
    if directive is not None and directive.provision == ConsentDirective.Provision.DENY:
        raise LiftedUnderBreakGlass()


def _purposes_meet(one: list[str], other: list[str]) -> bool:
    """Whether two directives' purposes overlap (none named: every purpose)."""
    return not one or not other or bool(set(one) & set(other))


def _refusals_naming(user: User, citizen_id: int) -> list[ConsentDirective]:
    """The citizen's refusals not withdrawn nor ended that name ``user``
    personally (``provision.actor`` a Practitioner), whatever else they name."""
    return list(
        ConsentDirective.objects.filter(
            citizen_id=citizen_id,
            provision=ConsentDirective.Provision.DENY,
            withdrawal__isnull=True,
            recipient_users=user,
        ).filter(Q(period_end__isnull=True) | Q(period_end__gt=timezone.now()))
    )


def _organisation_reach(organisation: Organisation) -> set[int]:
    """The organisation and every one above it: a refusal of any of them with
    its sub-units reaches a member of ``organisation``."""
    reach, parent = {organisation.pk}, organisation.parent_id
    while parent is not None and parent not in reach:
        reach.add(parent)
        parent = Organisation.objects.filter(pk=parent).values_list("parent_id", flat=True).first()
    return reach


def _names_organisation_of(directive: ConsentDirective, organisation: Organisation | None) -> bool:
    """Whether a refusal names the recorder's organisation (or, with its
    sub-units, one above it), whatever else it names."""
    if organisation is None:
        return False
    named = set(directive.recipient_organisations.values_list("pk", flat=True))
    if not named:
        return False
    if directive.include_sub_units:
        return bool(named & _organisation_reach(organisation))
    return organisation.pk in named


def _refusals_of_organisation(
    organisation: Organisation | None, citizen_id: int
) -> list[ConsentDirective]:
    """The citizen's refusals not withdrawn nor ended that name the
    recorder's organisation (:func:`_names_organisation_of`)."""
    if organisation is None:
        return []
    candidates = ConsentDirective.objects.filter(
        citizen_id=citizen_id,
        provision=ConsentDirective.Provision.DENY,
        withdrawal__isnull=True,
        recipient_organisations__in=_organisation_reach(organisation),
    ).filter(Q(period_end__isnull=True) | Q(period_end__gt=timezone.now()))
    return [d for d in candidates.distinct() if _names_organisation_of(d, organisation)]


def _permit_reaches(parsed: ParsedConsent, actor: Actor) -> bool:
    """Whether a consent as sent would cover the recorder (as
    :func:`consent.gate.directive_covers` reads a stored one)."""
    organisation, user = actor.organisation, actor.user
    if parsed.user_ids and (user is None or user.pk not in parsed.user_ids):
        return False
    if not parsed.organisation_ids:
        return True
    if organisation is None:
        return False
    if not parsed.include_sub_units:
        return organisation.pk in parsed.organisation_ids
    return bool(_organisation_reach(organisation) & set(parsed.organisation_ids))


def _check_not_own_refusal(
    *,
    actor: Actor,
    citizen_id: int,
    parsed: ParsedConsent | None = None,
    directive: ConsentDirective | None = None,
) -> None:
    """Refuse the recorder whose own refusal the write would lift: the
    withdrawal of a refusal naming her (:class:`OwnRefusal`) or her
    organisation (:class:`OwnOrganisationRefusal`), or a consent reaching her
    while such a refusal stands, for a purpose it covers. A refusal of
    everyone is still withdrawn by whoever records the citizen's word."""
    user = actor.user
    if user is None:
        return
    if directive is not None:
        if directive.provision != ConsentDirective.Provision.DENY:
            return
        if directive.recipient_users.filter(pk=user.pk).exists():
            raise OwnRefusal()
        if _names_organisation_of(directive, actor.organisation):
            raise OwnOrganisationRefusal()
        return
    if parsed is None or parsed.provision != ConsentDirective.Provision.PERMIT:
        return
    if not _permit_reaches(parsed, actor):
        return
    if any(
        _purposes_meet(parsed.purposes, refusal.purposes)
        for refusal in _refusals_naming(user, citizen_id)
    ):
        raise OwnRefusal()
    if any(
        _purposes_meet(parsed.purposes, refusal.purposes)
        for refusal in _refusals_of_organisation(actor.organisation, citizen_id)
    ):
        raise OwnOrganisationRefusal()


def consent_create(*, actor: Actor, data: dict[str, Any], purpose: str) -> ConsentDirective:
    """Record a refusal or consent as the citizen gave it (oral/written), by
    whom. A directive refused as sent (``consent.*``) is recorded as a refused
    attempt on the citizen's log, as R2's refusals of record writes are."""
    try:
        parsed = parse_consent(data)
    except InvalidInput as exc:
        _audit_refused(actor=actor, purpose=purpose, data=data, refused=exc)
        raise
    citizen = access_citizen(
        actor=actor,
        citizen_id=int(parsed.citizen_id),
        action=Action.CREATE,
        category=CATEGORY_CONSENT,
        purpose=purpose,
        resource_type="Consent",
        audit_permit=False,
    )
    try:
        organisations = _named(
            Organisation,
            parsed.organisation_ids,
            InvalidInput(
                "consent.organisation_unknown",
                "provision.actor names an unknown organisation.",
                field="provision.actor",
            ),
        )
        users = _named(
            User,
            parsed.user_ids,
            InvalidInput(
                "consent.professional_unknown",
                "provision.actor names an unknown professional.",
                field="provision.actor",
            ),
        )
        # Every other reference, too, names what the platform holds on her record.
        refuse_unheld(parsed.references, citizen_id=citizen.pk, actor=actor, purpose=purpose)
    except InvalidInput as exc:
        _audit_refused(actor=actor, purpose=purpose, data=data, refused=exc)
        raise
    user, organisation = _recorder(actor)
    try:
        _check_custodian(data, organisation)
    except InvalidInput as exc:
        _audit_refused(actor=actor, purpose=purpose, data=data, refused=exc)
        raise
    decision = citizen.gate_decision  # type: ignore[attr-defined]
    try:
        _check_not_own_refusal(actor=actor, citizen_id=citizen.pk, parsed=parsed)
        _check_not_lifted_under_break_glass(decision=decision, parsed=parsed)
    except (OwnRefusal, OwnOrganisationRefusal, LiftedUnderBreakGlass) as exc:
        audit_denied(
            actor=actor,
            action=Action.CREATE,
            purpose=decision.audit_purpose(purpose),
            reason_code=exc.code,
            citizen_id=citizen.pk,
            resource_type="Consent",
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        # Her row first: a write on her record the gate let through before
        # this directive is stored before it is answered as recorded, and
        # one asked after it is refused by it (see consent.services.record).
        citizen_lock(citizen.pk)
        directive = ConsentDirective(
            citizen=citizen,
            provision=parsed.provision,
            include_sub_units=parsed.include_sub_units,
            purposes=parsed.purposes,
            # In force from when it is recorded: a start already past (a bare
            # date of today, last year) cannot reach back over what was
            # disclosed before, and the insight report must not show the
            # citizen a refusal "from" a day it stopped nothing.
            period_start=max(parsed.period_start or now, now),
            recorded_at=now,
            period_end=parsed.period_end,
            data_period_start=parsed.data_period_start,
            data_period_end=parsed.data_period_end,
            given_how=parsed.given_how,
            recorded_by=user,
            recorded_by_organisation=organisation,
        )
        full_clean_or_raise(
            directive,
            code="consent.invalid",
            exclude=["citizen", "recorded_by", "recorded_by_organisation"],
        )
        directive.save(force_insert=True)
        directive.recipient_organisations.set(organisations)
        directive.recipient_users.set(users)
        _audit_directive(
            actor=actor,
            decision=decision,
            action=Action.CREATE,
            purpose=purpose,
            directive=directive,
            detail={"provision": parsed.provision},
        )
    return directive


# The parameters ``$withdraw`` takes. ``how`` given twice says nothing of
# how the citizen withdrew it: refused as not said (consent.given_how_required).
WITHDRAW_PARAMETERS = ("how",)


def _withdraw_parameters_check(names: Sequence[str]) -> None:
    """Refuse a parameter ``$withdraw`` does not take: left unread, the
    caller would take it as said (a reason, a date of the withdrawal) while
    nothing of it was kept."""
    for name in names:
        if name not in WITHDRAW_PARAMETERS:
            # A name shaped like a CPR number is not echoed (nor kept in a log).
            named = "…" if cpr_in_text(name) else shown(name)
            raise InvalidInput(
                "operation.parameter_unknown",
                f"$withdraw takes no parameter {named}; it takes only how.",
                field=named,
                params={"operation": "$withdraw", "name": named, "known": "how"},
            )


def consent_withdraw(
    *,
    actor: Actor,
    directive_id: int,
    given_how: str,
    purpose: str,
    parameters: Sequence[str] = WITHDRAW_PARAMETERS,
) -> ConsentDirective:
    """The citizen withdraws a refusal or consent. The directive itself is
    kept. ``parameters`` are the names of the parameters the request gave, in
    their order (``how`` alone when the caller names nothing else)."""
    citizen = access_directive(
        actor=actor,
        directive_id=str(directive_id),
        action=Action.UPDATE,
        purpose=purpose,
        audit_permit=False,
    )
    decision = citizen.gate_decision  # type: ignore[attr-defined]
    try:
        _withdraw_parameters_check(parameters)
        if given_how not in ConsentDirective.GivenHow.values:
            raise InvalidInput(
                "consent.given_how_required", "Say how it was given: oral or written.", field="how"
            )
        user, organisation = _recorder(actor)
        with transaction.atomic():
            # Her row first, as a refusal recorded takes it: see consent_create.
            citizen_lock(citizen.pk)
            directive = ConsentDirective.objects.select_for_update().get(pk=directive_id)
            if ConsentWithdrawal.objects.filter(directive=directive).exists():
                raise Conflict("consent.already_withdrawn", "This directive is already withdrawn.")
            _check_not_own_refusal(actor=actor, citizen_id=citizen.pk, directive=directive)
            _check_not_lifted_under_break_glass(decision=decision, directive=directive)
            ConsentWithdrawal.objects.create(
                directive=directive,
                given_how=given_how,
                recorded_by=user,
                recorded_by_organisation=organisation,
            )
            _audit_directive(
                actor=actor,
                decision=decision,
                action=Action.UPDATE,
                purpose=purpose,
                directive=directive,
                detail={"withdrawn": True},
            )
    except (
        InvalidInput,
        Conflict,
        OwnRefusal,
        OwnOrganisationRefusal,
        LiftedUnderBreakGlass,
    ) as exc:
        # Refused after the gate let the actor at the directive: still an
        # attempt on the citizen's refusals, on her log (R9), as a refused
        # Consent is; recorded once the withdrawal's transaction is undone.
        audit_denied(
            actor=actor,
            action=Action.UPDATE,
            purpose=decision.audit_purpose(purpose),
            reason_code=exc.code,
            citizen_id=citizen.pk,
            resource_type="Consent",
            resource_id=str(directive_id),
        )
        raise
    return ConsentDirective.objects.select_related("withdrawal", "recorded_by").get(pk=directive_id)
