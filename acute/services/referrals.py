"""Referrals (*henvisninger*) coming in: ``referral_intake`` for a member of
staff at any door (the JSON API, ``POST /fhir/ServiceRequest``, the phone and
short forms), ``referral_create`` for a referral whose citizen and source are
already known (the intake, the partners' messages, demo data).

One module, longer than most: every door's referral ends in
:func:`referral_create`, and the rest are the steps on the way to it (the
intake, the phone referral, the check of a ServiceRequest's status) or its
answer to the same referral sent again; they share its refusals and read
best beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from acute.deadlines import deadline_for
from acute.models import Episode, Referral, Skill, Urgency
from acute.occurrence import Occurrence, Requested, occurrence_kept, requested
from acute.services._common import (
    EVERY_REFUSAL,
    REFERRAL_TEXT_LIMIT,
    acute_function_serving,
    creation_refused_audit,
    episode_new,
    episode_relationship_open,
    referral_audit,
    referral_lock,
    refusal_audited,
)
from acute.services.admissions import (
    HOLD_HOSPITAL_ADMISSION,
    deadline_while_held,
    hospital_stay_open,
    referral_held_on_arrival,
)
from acute.services.triage import (
    REFERRAL_CITIZEN_DECEASED,
    REFERRAL_DECEASED_MESSAGE,
    referral_accept,
)
from consent.audit.services import Action, Purpose
from consent.fhir import CodedValue, judge_codings
from consent.gate import municipality_withdrawn_refuse
from consent.services import patient_register
from core import errors
from core.actors import Actor
from core.cpr import validate_cpr
from core.deaths import is_registered_dead
from core.fhir.references import LocalReference, refuse_unheld
from core.fhir.validation import ModifierNotUnderstood
from core.messages import labels
from core.models import Citizen, Organisation, Role
from core.validation import full_clean_or_raise, is_phone_number, required_text, text_trimmed

# The referral's source, from the organisation of a referrer using the short form.
SOURCE_BY_KIND = {
    Organisation.Kind.GP_PRACTICE: Referral.Source.GP,
    Organisation.Kind.HELPLINE_1813: Referral.Source.HELPLINE_1813,
    Organisation.Kind.HOSPITAL: Referral.Source.HOSPITAL,
    Organisation.Kind.HOSPITAL_DEPARTMENT: Referral.Source.HOSPITAL,
    Organisation.Kind.HOME_NURSING: Referral.Source.HOME_NURSING,
    Organisation.Kind.MUNICIPALITY: Referral.Source.HOME_NURSING,
}

REFERRAL_CPR_INVALID = "referral.cpr_invalid"
REFERRAL_NOT_A_REFERRER = "referral.not_a_referrer"
REFERRAL_STATUS_NOT_ACTIVE = "referral.status_not_active"
# What a partner may say of the ServiceRequest it sends (FHIR R4
# ``ServiceRequest.status``, a modifier): only an active request is a referral.
REFERRAL_STATUS_TAKEN = "active"
REFERRAL_INTENT_NOT_ORDER = "referral.intent_not_order"
# ``ServiceRequest.intent`` (a modifier too): a referral is an order; a
# proposal, plan or option asks nobody to go.
REFERRAL_INTENTS_TAKEN = frozenset({"order", "original-order"})
REFERRAL_MUNICIPALITY_NOT_SERVED = "referral.municipality_not_served"
REFERRAL_URGENCY_REQUIRED = "referral.urgency_required"
MUNICIPALITY_NOT_SERVED_MESSAGE = (
    "The citizen's municipality does not take part in the joint acute function."
)
# A refusal audited under a shorter reason than its code, as before.
REFUSAL_REASONS = {
    REFERRAL_CITIZEN_DECEASED: "citizen_deceased",
    REFERRAL_MUNICIPALITY_NOT_SERVED: "municipality_not_served",
}


def acute_function_for(citizen: Citizen) -> Organisation:
    """The joint acute function serving the citizen's municipality; refused if none."""
    organisation = acute_function_serving(citizen)
    if organisation is None:
        raise errors.PreconditionFailed(
            REFERRAL_MUNICIPALITY_NOT_SERVED, MUNICIPALITY_NOT_SERVED_MESSAGE
        )
    return organisation


def referral_intake(
    *,
    actor: Actor,
    urgency: str,
    citizen_id: int | None = None,
    cpr: str = "",
    source: str | None = None,
    referrer_name: str = "",
    referrer_phone: str = "",
    reason: str = "",
    clinical_picture: str = "",
    requested_actions: str = "",
    responsible_physician_name: str = "",
    responsible_physician_phone: str = "",
    required_skills: Sequence[str] = (),
    external_id: str = "",
    electronic: bool = False,
    codings: Sequence[CodedValue] = (),
    requested_status: str = REFERRAL_STATUS_TAKEN,
    requested_intent: str = "order",
    occurrence: Occurrence | None = None,
    references: Sequence[LocalReference] = (),
) -> Referral:
    """A referral from a member of staff. The coordinator types in a phone
    referral and says who referred (``source``); a GP, a 1813 or hospital
    physician or a home nurse refers with the short form, or ``electronic``
    through FHIR, and the source is their organisation's kind. The citizen is
    named by platform id or CPR number; an unknown one is refused and the
    attempt audited (R9), without echoing the CPR number."""
    if not citizen_id and not cpr:
        raise errors.InvalidInput(
            "referral.citizen_required", "Give the citizen (citizen_id or cpr).", field="citizen"
        )

    def on_her_log(reason_code: str) -> None:
        """A refused attempt, on the log of the citizen the request names,
        if registered (R9)."""
        creation_refused_audit(
            actor=actor,
            citizen_id=referral_citizen_named(citizen_id=citizen_id, cpr=cpr),
            resource_type="ServiceRequest",
            reason_code=reason_code,
        )

    organisation = actor.organisation
    if actor.role == Role.COORDINATOR and not electronic:
        if not source:
            raise errors.InvalidInput(
                "referral.source_required", "Say who referred (gp, 1813, ...).", field="source"
            )
        if external_id.strip():
            # A referring organisation's own number for its referral; one
            # typed in from a phone call has none, and was dropped unsaid.
            on_her_log("referral.external_id_not_taken")
            raise errors.InvalidInput(
                "referral.external_id_not_taken",
                "external_id is the referring organisation's own number for its referral;"
                " a referral typed in from a phone call has none: leave it out.",
                field="external_id",
            )
        channel, source_organisation = Referral.Channel.PHONE, None
    else:
        stated_source = source
        source = (
            SOURCE_BY_KIND.get(Organisation.Kind(organisation.kind))
            if organisation is not None
            else None
        )
        if source is None or actor.role == Role.COORDINATOR:
            # Refused for who she is, not for whom she named: the attempt is
            # on the log of the citizen the request names, if registered (R9),
            # and the answer is the same either way.
            on_her_log(REFERRAL_NOT_A_REFERRER)
            raise errors.Forbidden(
                REFERRAL_NOT_A_REFERRER,
                "Your organisation does not refer to the acute function this way.",
            )
        # Staff of a municipality that has left the acute function no longer
        # refer to it; refused before the citizen is looked up, so the answer
        # says nothing of whether the number typed is registered (R9: audited).
        municipality_withdrawn_refuse(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            resource_type="ServiceRequest",
        )
        if stated_source and stated_source != source:
            # Who referred is her organisation's kind; another stated was
            # answered as if taken and stored as hers (R9: the attempt is
            # on the log of the citizen named).
            on_her_log("referral.source_not_yours")
            raise errors.InvalidInput(
                "referral.source_not_yours",
                f"source is your organisation's ({source}); leave it out or send that.",
                field="source",
                params={"source": source},
            )
        channel = Referral.Channel.ELECTRONIC if electronic else Referral.Channel.FORM
        source_organisation = organisation
        referrer_name = referrer_name or (actor.user.display_name if actor.user else "")
    citizen = _referred_citizen(actor=actor, citizen_id=citizen_id, cpr=cpr)
    try:
        # What a ServiceRequest's references name is held, on her record or shared.
        refuse_unheld(references, citizen_id=citizen.pk, actor=actor, purpose=Purpose.TREATMENT)
    except errors.InvalidInput as exc:
        creation_refused_audit(
            actor=actor, citizen_id=citizen.pk, resource_type="ServiceRequest", reason_code=exc.code
        )
        raise
    return referral_create(
        citizen=citizen,
        source=source,
        channel=channel,
        referrer_name=referrer_name,
        referrer_phone=referrer_phone,
        reason=reason,
        clinical_picture=clinical_picture,
        requested_actions=requested_actions,
        urgency=urgency,
        responsible_physician_name=responsible_physician_name,
        responsible_physician_phone=responsible_physician_phone,
        responsible_physician_organisation=source_organisation
        if actor.role == Role.PHYSICIAN
        else None,
        source_organisation=source_organisation,
        external_id=external_id if source_organisation else "",
        required_skills=required_skills,
        codings=codings,
        requested_status=requested_status,
        requested_intent=requested_intent,
        occurrence=occurrence,
        actor=actor,
    )


def referral_phone_take(
    *,
    actor: Actor,
    registration: Mapping[str, str] | None,
    accept: bool,
    **intake: Any,
) -> Referral:
    """The coordinator's phone referral (*telefonisk henvisning*): the
    citizen registered from the same form when ``registration`` holds her
    name, address, municipality and position (``patient_register``'s
    fields), then the referral taken in (``referral_intake``'s ``intake``)
    and, with ``accept``, accepted at once.

    Registration and referral are one unit: a referral refused after the
    citizen was registered leaves neither, so the corrected form registers
    her once. The attempt stays on the log (R9) as one denied entry naming
    no citizen, its detail saying a new citizen was refused (never her CPR
    number), as for a 1813 message refused after registering her: it is
    written after the unit rolled back and commits with the caller's
    transaction, which must therefore not be rolled back for the same
    refusal. A refusal of the registration itself, or of a referral for a
    citizen already registered, is audited by the service that refused."""
    refused: errors.PlatformError | None = None
    with transaction.atomic():
        unit = transaction.savepoint()
        registered = False
        try:
            if registration is not None:
                patient_register(
                    actor=actor,
                    cpr=intake.get("cpr", ""),
                    purpose=Purpose.TREATMENT,
                    **registration,
                )
                registered = True
            referral = referral_intake(actor=actor, **intake)
            if accept and referral.status == Referral.Status.RECEIVED:
                referral = referral_accept(referral=referral, actor=actor)
        except errors.PlatformError as exc:
            if registered:
                transaction.savepoint_rollback(unit)
                creation_refused_audit(
                    actor=actor,
                    citizen_id=None,
                    resource_type="ServiceRequest",
                    reason_code=REFUSAL_REASONS.get(exc.code, exc.code),
                    detail={"new_citizen": True},
                )
            # Raised once the entries are kept: what a refusal of the
            # registration, or of a known citizen's referral, wrote was its
            # denied entries only.
            refused = exc
        else:
            transaction.savepoint_commit(unit)
    if refused is not None:
        raise refused
    return referral


def referral_citizen_named(*, citizen_id: int | None, cpr: str) -> int | None:
    """The registered citizen a refused referral names, by platform id or
    CPR number, for the log of its refusal only (R9): nothing of her is
    answered, and a number that names nobody names no one on the log."""
    if citizen_id:
        if isinstance(citizen_id, bool) or not 0 < citizen_id < 2**63:
            return None
        return Citizen.objects.filter(pk=citizen_id).values_list("pk", flat=True).first()
    try:
        number = validate_cpr(cpr)
    except errors.InvalidInput:
        return None
    return Citizen.objects.filter(cpr=number).values_list("pk", flat=True).first()


def _referred_citizen(*, actor: Actor, citizen_id: int | None, cpr: str) -> Citizen:
    if cpr:
        try:
            cpr = validate_cpr(cpr)
        except errors.InvalidInput:
            # Ten digits whose first six are a birth date, on every door; a
            # number that names nobody is a denied attempt too (R9).
            creation_refused_audit(
                actor=actor,
                citizen_id=None,
                resource_type="ServiceRequest",
                reason_code=REFERRAL_CPR_INVALID,
            )
            raise errors.InvalidInput(
                REFERRAL_CPR_INVALID,
                "The CPR number is not valid: 10 digits, the first six a date of birth "
                "(DDMMYY-SSSS).",
                field="cpr",
            ) from None
    qs = Citizen.objects.select_related("municipality")
    citizen = qs.filter(pk=citizen_id).first() if citizen_id else qs.filter(cpr=cpr).first()
    if citizen is None:
        creation_refused_audit(
            actor=actor,
            citizen_id=None,
            resource_type="ServiceRequest",
            reason_code="unknown_citizen",
        )
        raise errors.NotFoundOrNotAllowed(
            "referral.citizen_unknown",
            "No citizen with that identity is registered; check the CPR number.",
            field="citizen",
        )
    if citizen_id and cpr and citizen.cpr != cpr:
        # Both given (a FHIR subject may carry a reference and the CPR
        # identifier) and they name two people: either could be the wrong one.
        creation_refused_audit(
            actor=actor,
            citizen_id=None,
            resource_type="ServiceRequest",
            reason_code="citizen_mismatch",
        )
        raise errors.InvalidInput(
            "referral.citizen_ambiguous",
            "The citizen_id and the CPR number name different citizens.",
            field="citizen",
        )
    return citizen


def referral_create(
    *,
    citizen: Citizen,
    source: str,
    channel: str,
    referrer_name: str,
    referrer_phone: str,
    reason: str,
    clinical_picture: str,
    requested_actions: str,
    urgency: str,
    responsible_physician_name: str,
    responsible_physician_phone: str,
    responsible_physician_organisation: Organisation | None = None,
    source_organisation: Organisation | None = None,
    external_id: str = "",
    required_skills: Sequence[str] = (),
    codings: Sequence[CodedValue] = (),
    requested_status: str = REFERRAL_STATUS_TAKEN,
    requested_intent: str = "order",
    occurrence: Occurrence | None = None,
    actor: Actor,
) -> Referral:
    """Take in a referral (*henvisning*). It joins the citizen's open episode,
    or opens one. A referral without the physician holding treatment
    responsibility (*behandlingsansvar*) is refused. A resend with the same
    ``external_id`` from the same organisation returns the first referral.
    The coded values of an electronic referral (``codings``) are judged as the
    shared record judges them: a psychiatric diagnosis is refused (R2).
    Every refusal is a denied attempt on the citizen's record (R9), on every
    door alike.

    ``requested_status`` is the status the referrer gave its request (FHIR
    ``ServiceRequest.status``): anything but ``active`` — a referral revoked,
    entered in error, on hold, a draft — is refused, also under the id of a
    referral already taken in, which it would otherwise silently answer with
    that referral unchanged. So is a ``requested_intent`` that is not an
    order (``ServiceRequest.intent``: a proposal, a plan, an option). A
    referral is withdrawn by phoning the coordinator, who withdraws it
    (:func:`acute.services.withdrawals.referral_withdraw`).

    ``occurrence`` is when the referrer asks the citizen to be seen (FHIR
    ``ServiceRequest.occurrence[x]``, ``acute.occurrence``): a time before the
    urgency's deadline becomes the deadline; the urgency's deadline stays the
    latest. A period starting later than now is held as planned for its
    start, due by its end; a single time later than the urgency's deadline
    as planned for that time. The JSON API and the referral forms give a
    period (``acute.occurrence.occurrence_period``) judged by the same rule.
    What cannot be honoured is refused, never ignored; what is taken is kept
    as sent."""
    with refusal_audited(
        actor=actor,
        citizen_id=citizen.pk,
        action=Action.CREATE,
        resource_type="ServiceRequest",
        codes=EVERY_REFUSAL,
        reasons=REFUSAL_REASONS,
    ):
        referral_status_check(requested_status, requested_intent)
        # A referral travels on to the nurse, the board and the hand-back:
        # R2 holds for what it codes as for the shared record.
        judge_codings(list(codings))
        # Every field refused at once (one message under each), not one per send.
        refused: list[errors.InvalidInput] = []

        def text(value: str, *, code: str, field: str, message: str) -> str:
            try:
                return required_text(value, code=code, field=field, message=message)
            except errors.InvalidInput as exc:
                refused.append(exc)
                return ""

        physician_name = text(
            responsible_physician_name,
            code="referral.responsible_physician_required",
            field="responsible_physician_name",
            message="Name the physician holding treatment responsibility (behandlingsansvar).",
        )
        physician_phone = text(
            responsible_physician_phone,
            code="referral.responsible_physician_required",
            field="responsible_physician_phone",
            message="Give the phone number of the physician holding treatment responsibility.",
        )
        referrer_name = text(
            referrer_name,
            code="referral.referrer_required",
            field="referrer_name",
            message="Name the referrer.",
        )
        referrer_phone = text(
            referrer_phone,
            code="referral.callback_required",
            field="referrer_phone",
            message="Give a call-back number for the referrer.",
        )
        for field, number in (
            ("responsible_physician_phone", physician_phone),
            ("referrer_phone", referrer_phone),
        ):
            if number and not is_phone_number(number):
                refused.append(
                    errors.InvalidInput(
                        "referral.phone_invalid",
                        "A phone number is 4 to 15 digits, optionally with a leading +, "
                        "spaces or dashes and an extension (lok. 12).",
                        field=field,
                    )
                )
        if not urgency:
            # Never guessed: a silent "urgent" or "routine" would set a nurse's
            # deadline the referrer did not give (R10), on every door alike.
            refused.append(
                errors.InvalidInput(
                    REFERRAL_URGENCY_REQUIRED,
                    "State the urgency: within 2 hours, within the shift or next day.",
                    field="urgency",
                )
            )
        elif urgency not in Urgency.values:
            refused.append(
                errors.InvalidInput(
                    "referral.urgency_unknown",
                    f"Urgency must be one of {', '.join(Urgency.values)}.",
                    field="urgency",
                    params={"values": labels(Urgency.labels)},
                )
            )
        for field, written in (
            ("reason", reason),
            ("clinical_picture", clinical_picture),
            ("requested_actions", requested_actions),
        ):
            if len(written or "") > REFERRAL_TEXT_LIMIT:
                refused.append(
                    errors.InvalidInput(
                        "referral.text_too_long",
                        f"Write {field} in at most {REFERRAL_TEXT_LIMIT} characters.",
                        field=field,
                        params={"max": REFERRAL_TEXT_LIMIT},
                    )
                )
        unknown = sorted(set(required_skills) - set(Skill.values))
        if unknown:
            refused.append(
                errors.InvalidInput(
                    "referral.skill_unknown",
                    f"Unknown skills: {', '.join(unknown)}.",
                    field="required_skills",
                    params={"skills": ", ".join(unknown)},
                )
            )
        asked = Requested()
        judged_at = timezone.now()
        try:
            asked = requested(occurrence, now=judged_at)
        except errors.InvalidInput as exc:
            refused.append(exc)
        if refused:
            raise errors.InvalidInput.all_of(refused)
        # A single time later than the urgency's deadline plans the visit for it.
        asked = asked.beyond(deadline_for(urgency, judged_at))
        if is_registered_dead(citizen):
            # Refused on every door (the API, FHIR, the pages, a partner's
            # message), and the attempt is on her record (R9).
            raise errors.PreconditionFailed(REFERRAL_CITIZEN_DECEASED, REFERRAL_DECEASED_MESSAGE)
        if not citizen.municipality.participates:
            # A municipality that has left the joint function (or not yet
            # joined) sends no new work; what is open is still finished.
            raise errors.PreconditionFailed(
                REFERRAL_MUNICIPALITY_NOT_SERVED, MUNICIPALITY_NOT_SERVED_MESSAGE
            )
        acute_function = acute_function_for(citizen)
        external_id = (external_id or "").strip()
        # What a resend must repeat unchanged: the referral's clinical content
        # and the physician responsible for it (stored trimmed, as below).
        content = {
            "reason": text_trimmed(reason),
            "clinical_picture": text_trimmed(clinical_picture),
            "requested_actions": text_trimmed(requested_actions),
            "responsible_physician_name": physician_name,
            "responsible_physician_phone": physician_phone,
            "required_skills": sorted(set(required_skills)),
        }
        resent = _resent(source_organisation, external_id, citizen=citizen)
        if resent is not None:
            return _resend_answered(resent, content, urgency, asked, actor=actor)
        now = timezone.now()
        try:
            with transaction.atomic():
                # Serialise referrals for one citizen, so two at once join one
                # episode, and a resend racing its first copy finds it here.
                Citizen.objects.select_for_update().filter(pk=citizen.pk).first()
                resent = _resent(source_organisation, external_id, citizen=citizen)
                if resent is not None:
                    # Nothing written in this block yet.
                    return _resend_answered(resent, content, urgency, asked, actor=actor)
                # R12: admitted to hospital, she is not at home. Read with her
                # row locked, as the hospital's message reads and holds her
                # referrals: taken in before the admission, the admission
                # holds it; after, it is held here.
                admission = hospital_stay_open(citizen.pk)
                episode = (
                    Episode.objects.select_for_update()
                    .filter(citizen=citizen, status=Episode.Status.OPEN)
                    .first()
                )
                if episode is None:
                    episode = episode_new(citizen)
                referral = Referral(
                    episode=episode,
                    citizen=citizen,
                    source=source,
                    channel=channel,
                    source_organisation=source_organisation,
                    external_id=external_id,
                    referrer_name=referrer_name,
                    referrer_phone=referrer_phone,
                    reason=text_trimmed(reason),
                    clinical_picture=text_trimmed(clinical_picture),
                    requested_actions=text_trimmed(requested_actions),
                    required_skills=sorted(set(required_skills)),
                    urgency=urgency,
                    deadline_at=_deadline(urgency, asked, now),
                    planned_for=asked.planned_for,
                    requested_occurrence=occurrence_kept(occurrence),
                    responsible_physician_name=physician_name,
                    responsible_physician_phone=physician_phone,
                    responsible_physician_organisation=responsible_physician_organisation,
                    received_at=now,
                    created_by=actor.user,
                )
                if admission is not None:
                    referral.on_hold_since = now
                    referral.on_hold_reason = HOLD_HOSPITAL_ADMISSION
                try:
                    full_clean_or_raise(referral, code="referral.invalid", exclude=["episode"])
                except errors.InvalidInput:
                    # Another citizen's referral under this id committed meanwhile.
                    _resent(source_organisation, external_id, citizen=citizen)
                    raise
                referral.save(force_insert=True)
                episode_relationship_open(citizen, episode, acute_function)
                referral_audit(
                    referral,
                    actor,
                    {
                        "source": source,
                        "channel": channel,
                        "episode": episode.pk,
                        **_asked_detail(asked),
                    },
                    action=Action.CREATE,
                )
                if admission is not None:
                    referral_held_on_arrival(referral, admission=admission, actor=actor)
        except IntegrityError:
            # A concurrent referral with the same external id won the insert.
            resent = _resent(source_organisation, external_id, citizen=citizen)
            if resent is not None:
                return _resend_answered(resent, content, urgency, asked, actor=actor)
            raise
        return referral


def referral_status_check(requested_status: str, requested_intent: str = "order") -> None:
    """Refuse a ServiceRequest that is not an active order: status and intent
    are modifiers, and taking a revoked request, or a mere proposal or plan,
    as a referral (or as the resend of one) would send a nurse to, or leave
    one on her way to, a citizen the referrer does not ask her to see."""
    if requested_intent not in REFERRAL_INTENTS_TAKEN:
        raise ModifierNotUnderstood(
            REFERRAL_INTENT_NOT_ORDER,
            "Only a ServiceRequest with intent order or original-order is taken in as a"
            " referral; a proposal, plan or option asks nobody to visit.",
            field="intent",
        )
    if requested_status != REFERRAL_STATUS_TAKEN:
        raise ModifierNotUnderstood(
            REFERRAL_STATUS_NOT_ACTIVE,
            "Only an active ServiceRequest is taken in as a referral; a referral is withdrawn"
            " or changed by phoning the acute function's coordinator.",
            field="status",
        )


def _deadline(urgency: str, asked: Requested, now: datetime) -> datetime:
    """The urgency's deadline, or the referrer's own time when it is sooner:
    a requested time never relaxes the urgency's deadline. A planned visit is
    due by the end of the referrer's period, or by the urgency's deadline
    counted from its start."""
    if asked.planned_for is not None:
        return asked.by or deadline_for(urgency, asked.planned_for)
    deadline = deadline_for(urgency, now)
    return min(deadline, asked.by) if asked.by is not None else deadline


def _asked_detail(asked: Requested) -> dict[str, str]:
    """The referrer's own time for the audit entry."""
    detail = {}
    if asked.by is not None:
        detail["requested_by"] = asked.by.isoformat()
    if asked.planned_for is not None:
        detail["planned_for"] = asked.planned_for.isoformat()
    return detail


def _planned_after(planned_for: datetime | None, asked: Requested) -> datetime | None:
    """A resend asking for more haste plans the visit no later than it asks:
    unplanned (now) when it asks for no later start."""
    if planned_for is None or asked.planned_for is None:
        return None
    return min(planned_for, asked.planned_for)


def _urgency_raised(
    referral: Referral, urgency: str, asked: Requested, *, actor: Actor
) -> Referral:
    """The referral sent again under its id, asking for more haste than the
    first time (1813 calls back: the citizen is worse, or gives a sooner
    time): its deadline — and its urgency, when that is the more urgent — is
    raised, and the audit log says from what. A resend asking for less haste
    or a later time, or for a referral already reached, declined or closed,
    changes nothing: a deadline is never relaxed by a message."""
    now = timezone.now()

    def held(deadline: datetime, on_hold_since: datetime | None) -> datetime:
        # Held for a hospital stay, the clock is paused: the time asked for
        # counts from the discharge (R10, R12).
        return deadline_while_held(deadline, on_hold_since, now)

    if held(_deadline(urgency, asked, now), referral.on_hold_since) >= referral.deadline_at:
        return referral
    with transaction.atomic():
        locked = referral_lock(referral)
        sooner = held(_deadline(urgency, asked, now), locked.on_hold_since)
        if (
            locked.status not in (Referral.Status.RECEIVED, Referral.Status.ACCEPTED)
            or locked.reached_at is not None
            or sooner >= locked.deadline_at
        ):
            return locked
        before_urgency, before_deadline = locked.urgency, locked.deadline_at
        more_urgent = (
            held(deadline_for(urgency, now), locked.on_hold_since) < before_deadline
            and urgency != before_urgency
        )
        if more_urgent:
            locked.urgency = urgency
        locked.deadline_at = sooner
        locked.planned_for = _planned_after(locked.planned_for, asked)
        locked.save(update_fields=["urgency", "deadline_at", "planned_for"])
        referral_audit(
            locked,
            actor,
            {
                "step": "urgency_raised" if more_urgent else "deadline_raised",
                "urgency_before": str(before_urgency),
                "deadline_before": before_deadline.isoformat(),
                "urgency": str(locked.urgency),
                "deadline_at": sooner.isoformat(),
                **_asked_detail(asked),
            },
        )
    return locked


REFERRAL_RESENT_CHANGED = "referral.resent_changed"
REFERRAL_RESENT_CHANGED_MESSAGE = (
    "A referral was already received under this id with other content; a resend does not"
    " change it. Phone the acute function's coordinator to change a referral."
)


def _resend_answered(
    referral: Referral,
    content: Mapping[str, object],
    urgency: str,
    asked: Requested,
    *,
    actor: Actor,
) -> Referral:
    """A referral sent again under its id: the same content is answered with
    the first referral (its deadline raised if it asks for more haste); other
    content (another reason, picture, requested actions, responsible
    physician or skills) is refused, never silently dropped in favour of the
    first nor taken in as a second referral: the referrer learns its change
    was not taken, and the coordinator sees the refusal."""
    changed = sorted(field for field, value in content.items() if getattr(referral, field) != value)
    if changed:
        raise errors.Conflict(
            REFERRAL_RESENT_CHANGED,
            REFERRAL_RESENT_CHANGED_MESSAGE,
            field="external_id",
            extra={"changed": changed},
        )
    return _urgency_raised(referral, urgency, asked, actor=actor)


def _resent(
    source_organisation: Organisation | None, external_id: str, *, citizen: Citizen
) -> Referral | None:
    """The referral this organisation already sent under ``external_id``, if
    any: a resend is answered with the first referral, as a duplicate message
    is answered with the first acknowledgement. The same id for another
    citizen is refused."""
    if not external_id or source_organisation is None:
        return None
    resent = Referral.objects.filter(
        source_organisation=source_organisation, external_id=external_id
    ).first()
    if resent is not None and resent.citizen_id != citizen.pk:
        # The id is another referral's: a duplicate of that record (decision 0043).
        raise errors.Duplicate(
            "referral.external_id_reused",
            "This referral id was already used by your organisation for another citizen.",
            field="external_id",
        )
    return resent
