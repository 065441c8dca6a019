"""Every write of the acute function: referrals, triage, dispatch, visits, episodes, shifts.

Services are keyword-only and atomic. Each records its audit entry inside its
own transaction and sends the domain signals of ``acute.signals`` there too,
so receivers' outbox rows commit with the event. Who may call a service is
decided by the API's role check; the service itself checks what only it can
know (the nurse is the assigned one, the transition is in order).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acute import signals
from acute.deadlines import deadline_for
from acute.dispatch import Need, NurseState, Suggestion, rank
from acute.models import (
    DeadlineWarning,
    Episode,
    NurseShift,
    Outcome,
    Referral,
    Skill,
    Urgency,
    Visit,
    VisitNote,
    VisitSubmission,
    VitalSign,
)
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.services import Outcome as AuditOutcome
from consent.models import CareRelationship
from consent.services import care_relationship_close, care_relationship_open
from core.actors import Actor
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFoundOrNotAllowed,
    PlatformError,
    PreconditionFailed,
)
from core.logging import scrub
from core.models import Citizen, Organisation, Role, User
from core.validation import full_clean_or_raise

EPISODE_SOURCE = "acute.episode"
VISIT_SOURCE = "acute.visit"

VITAL_SIGN_UNITS = {
    VitalSign.Code.HEART_RATE: ("/min", 0, 300),
    VitalSign.Code.RESPIRATORY_RATE: ("/min", 0, 80),
    VitalSign.Code.OXYGEN_SATURATION: ("%", 0, 100),
    VitalSign.Code.SYSTOLIC_BP: ("mm[Hg]", 0, 300),
    VitalSign.Code.DIASTOLIC_BP: ("mm[Hg]", 0, 250),
    VitalSign.Code.BODY_TEMPERATURE: ("Cel", 25, 45),
}


def _audit(
    *,
    by: Actor,
    action: str,
    citizen_id: int,
    resource_type: str,
    resource_id: object,
    detail: dict[str, object] | None = None,
    reason_code: str = "acute_function",
) -> None:
    audit_record(
        actor=by,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        resource_type=resource_type,
        resource_id=str(resource_id),
        reason_code=reason_code,
        detail=detail,
    )


def acute_function_for(citizen: Citizen) -> Organisation:
    """The joint acute function serving the citizen's municipality."""
    organisation = (
        Organisation.objects.filter(
            kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True, serves=citizen.municipality_id
        )
        .order_by("pk")
        .first()
    )
    if organisation is None:
        raise PreconditionFailed(
            "referral.municipality_not_served",
            "The citizen's municipality does not take part in the joint acute function.",
        )
    return organisation


# --- referrals and triage ----------------------------------------------------


def _require(value: str, *, code: str, field: str, message: str, rule: str | None = None) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(code, message, field=field, rule=rule)
    return cleaned


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
    by: Actor,
) -> Referral:
    """Take in a referral (*henvisning*). It joins the citizen's open episode,
    or opens one. A referral without the physician holding treatment
    responsibility (*behandlingsansvar*) is refused. A resend with the same
    ``external_id`` from the same organisation returns the first referral."""
    physician_name = _require(
        responsible_physician_name,
        code="referral.responsible_physician_required",
        field="responsible_physician_name",
        message="Name the physician holding treatment responsibility (behandlingsansvar).",
    )
    physician_phone = _require(
        responsible_physician_phone,
        code="referral.responsible_physician_required",
        field="responsible_physician_phone",
        message="Give the phone number of the physician holding treatment responsibility.",
    )
    referrer_name = _require(
        referrer_name,
        code="referral.referrer_required",
        field="referrer_name",
        message="Name the referrer.",
    )
    referrer_phone = _require(
        referrer_phone,
        code="referral.callback_required",
        field="referrer_phone",
        message="Give a call-back number for the referrer.",
    )
    if urgency not in Urgency.values:
        raise InvalidInput(
            "referral.urgency_unknown",
            f"Urgency must be one of {', '.join(Urgency.values)}.",
            field="urgency",
        )
    unknown = sorted(set(required_skills) - set(Skill.values))
    if unknown:
        raise InvalidInput(
            "referral.skill_unknown",
            f"Unknown skills: {', '.join(unknown)}.",
            field="required_skills",
        )
    if citizen.deceased_at is not None:
        raise PreconditionFailed("referral.citizen_deceased", "The citizen is registered deceased.")
    acute_function = acute_function_for(citizen)
    external_id = (external_id or "").strip()
    if external_id and source_organisation is not None:
        existing = Referral.objects.filter(
            source_organisation=source_organisation, external_id=external_id
        ).first()
        if existing is not None:
            if existing.citizen_id != citizen.pk:
                raise Conflict(
                    "referral.external_id_reused",
                    "This referral id was already used by your organisation for another citizen.",
                    field="external_id",
                )
            return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            # Serialise referrals for one citizen, so two at once join one episode.
            Citizen.objects.select_for_update().filter(pk=citizen.pk).first()
            episode = (
                Episode.objects.select_for_update()
                .filter(citizen=citizen, status=Episode.Status.OPEN)
                .first()
            )
            if episode is None:
                episode = Episode(citizen=citizen, municipality_id=citizen.municipality_id)
                full_clean_or_raise(episode, code="episode.invalid")
                episode.save(force_insert=True)
            referral = Referral(
                episode=episode,
                citizen=citizen,
                source=source,
                channel=channel,
                source_organisation=source_organisation,
                external_id=external_id,
                referrer_name=referrer_name,
                referrer_phone=referrer_phone,
                reason=reason.strip(),
                clinical_picture=clinical_picture.strip(),
                requested_actions=requested_actions.strip(),
                required_skills=sorted(set(required_skills)),
                urgency=urgency,
                deadline_at=deadline_for(urgency, now),
                responsible_physician_name=physician_name,
                responsible_physician_phone=physician_phone,
                responsible_physician_organisation=responsible_physician_organisation,
                received_at=now,
                created_by=by.user,
            )
            full_clean_or_raise(referral, code="referral.invalid", exclude=["episode"])
            referral.save(force_insert=True)
            care_relationship_open(
                citizen=citizen,
                organisation=acute_function,
                basis=CareRelationship.Basis.REFERRAL,
                source_type=EPISODE_SOURCE,
                source_id=str(episode.pk),
            )
            _audit(
                by=by,
                action=Action.CREATE,
                citizen_id=citizen.pk,
                resource_type="ServiceRequest",
                resource_id=referral.pk,
                detail={"source": source, "channel": channel, "episode": episode.pk},
            )
    except IntegrityError:
        # A concurrent resend with the same external id won the insert.
        if external_id and source_organisation is not None:
            existing = Referral.objects.filter(
                source_organisation=source_organisation, external_id=external_id
            ).first()
            if existing is not None:
                return existing
        raise
    return referral


def _lock_referral(referral: Referral) -> Referral:
    locked = Referral.objects.select_for_update().select_related("citizen").get(pk=referral.pk)
    return locked


def referral_accept(*, referral: Referral, by: Actor) -> Referral:
    """Triage: accept. With auto-assignment on, the best-ranked nurse is assigned at once."""
    with transaction.atomic():
        referral = _lock_referral(referral)
        if referral.status != Referral.Status.RECEIVED:
            raise Conflict(
                "referral.already_triaged", f"The referral is already {referral.status}."
            )
        referral.status = Referral.Status.ACCEPTED
        referral.triaged_at = timezone.now()
        referral.triaged_by = by.user
        referral.save(update_fields=["status", "triaged_at", "triaged_by"])
        _audit(
            by=by,
            action=Action.UPDATE,
            citizen_id=referral.citizen_id,
            resource_type="ServiceRequest",
            resource_id=referral.pk,
            detail={"triage": "accepted"},
        )
        signals.referral_accepted.send(sender=Referral, referral=referral, by=by)
        if settings.ACUTE_AUTO_ASSIGN:
            dispatch_auto_assign(
                referral=referral, by=Actor.system("acute.auto_assign", on_behalf_of=by)
            )
    return referral


def referral_decline(*, referral: Referral, reason: str, by: Actor) -> Referral:
    """Triage: decline, with a reason that goes back to the referrer (signal)."""
    reason = _require(
        reason,
        code="referral.decline_reason_required",
        field="reason",
        message="Give the reason for declining; it is sent to the referrer.",
    )
    with transaction.atomic():
        referral = _lock_referral(referral)
        if referral.status != Referral.Status.RECEIVED:
            raise Conflict(
                "referral.already_triaged", f"The referral is already {referral.status}."
            )
        referral.status = Referral.Status.DECLINED
        referral.triaged_at = timezone.now()
        referral.triaged_by = by.user
        referral.decline_reason = reason
        referral.save(update_fields=["status", "triaged_at", "triaged_by", "decline_reason"])
        _audit(
            by=by,
            action=Action.UPDATE,
            citizen_id=referral.citizen_id,
            resource_type="ServiceRequest",
            resource_id=referral.pk,
            detail={"triage": "declined"},
        )
        signals.referral_declined.send(sender=Referral, referral=referral, by=by, reason=reason)
        # An episode that had only this referral and no visit ends here.
        episode = Episode.objects.select_for_update().get(pk=referral.episode_id)
        still_open = (
            episode.referrals.exclude(status=Referral.Status.DECLINED).exists()
            or episode.visits.exists()
        )
        if not still_open:
            episode.status = Episode.Status.CANCELLED
            episode.closed_at = timezone.now()
            episode.closed_by = by.user
            episode.save(update_fields=["status", "closed_at", "closed_by"])
            care_relationship_close(source_type=EPISODE_SOURCE, source_id=str(episode.pk))
    return referral


# --- shifts ------------------------------------------------------------------


def shift_create(
    *,
    nurse: User,
    acute_function: Organisation,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    skills: Iterable[str],
    base_name: str,
    base_latitude: float,
    base_longitude: float,
    max_load: int = 3,
    by: Actor,
) -> NurseShift:
    """Put a nurse on the rota. She starts at the base; overlapping shifts are refused."""
    skills = sorted(set(skills))
    unknown = set(skills) - set(Skill.values)
    if unknown:
        raise InvalidInput("shift.skill_unknown", "Unknown skills.", field="skills")
    if not nurse.memberships.filter(
        organisation=acute_function, role=Role.ACUTE_NURSE, is_active=True
    ).exists():
        raise InvalidInput(
            "shift.not_an_acute_nurse",
            "Only acute nurses of this acute function can be put on its rota.",
            field="nurse",
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=nurse.pk).first()
        if NurseShift.objects.filter(
            nurse=nurse, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).exists():
            raise Conflict("shift.overlaps", "The nurse already has a shift in that period.")
        shift = NurseShift(
            nurse=nurse,
            acute_function=acute_function,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            skills=skills,
            max_load=max_load,
            base_name=base_name,
            base_latitude=base_latitude,
            base_longitude=base_longitude,
            latitude=base_latitude,
            longitude=base_longitude,
            position_at=starts_at,
        )
        full_clean_or_raise(shift, code="shift.invalid")
        shift.save(force_insert=True)
    return shift


def _own_shift(shift: NurseShift, by: Actor) -> None:
    if by.user is None or shift.nurse_id != by.user.pk:
        raise NotFoundOrNotAllowed()


def shift_status_set(*, shift: NurseShift, status: str, by: Actor) -> NurseShift:
    """The nurse (or the coordinator) sets her availability."""
    if status not in NurseShift.Status.values:
        raise InvalidInput("shift.status_unknown", "Unknown status.", field="status")
    if by.role == Role.ACUTE_NURSE:
        _own_shift(shift, by)
    with transaction.atomic():
        shift = NurseShift.objects.select_for_update().get(pk=shift.pk)
        shift.status = status
        shift.status_changed_at = timezone.now()
        shift.save(update_fields=["status", "status_changed_at"])
    return shift


def shift_position_report(
    *,
    shift: NurseShift,
    latitude: float,
    longitude: float,
    by: Actor,
    min_interval: dt.timedelta | None = None,
) -> NurseShift:
    """The tablet reports where she is. With ``min_interval`` a report that
    comes sooner than that after the last one is not stored (the tablet's
    automatic reports are throttled here too, whatever the tablet does)."""
    _own_shift(shift, by)
    if not (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    ):
        raise InvalidInput("shift.position_invalid", "Latitude or longitude out of range.")
    with transaction.atomic():
        shift = NurseShift.objects.select_for_update().get(pk=shift.pk)
        if (
            min_interval is not None
            and shift.position_at is not None
            and timezone.now() - shift.position_at < min_interval
        ):
            return shift
        shift.latitude = latitude
        shift.longitude = longitude
        shift.position_at = timezone.now()
        shift.save(update_fields=["latitude", "longitude", "position_at"])
    return shift


# --- dispatch ----------------------------------------------------------------


def nurse_states(
    *,
    now: dt.datetime,
    shift_ids: Iterable[int] | None = None,
    available_only: bool = False,
    skills: Iterable[str] = (),
) -> list[NurseState]:
    """Every shift on now, with load and when/where a busy nurse is free. Two
    queries of plain values (no model instances: this runs for every ranking)."""
    shifts = NurseShift.objects.filter(starts_at__lte=now, ends_at__gt=now)
    if shift_ids is not None:
        shifts = shifts.filter(pk__in=list(shift_ids))
    if available_only:
        shifts = shifts.exclude(status__in=[NurseShift.Status.OFF, NurseShift.Status.ON_BREAK])
    required = sorted(set(skills))
    if required and connection.vendor == "postgresql":
        # A prefilter only (JSON containment); the rule checks skills again.
        shifts = shifts.filter(skills__contains=required)
    rows = list(
        shifts.values_list(
            "pk",
            "nurse_id",
            "nurse__first_name",
            "nurse__last_name",
            "nurse__username",
            "status",
            "starts_at",
            "ends_at",
            "skills",
            "max_load",
            "latitude",
            "longitude",
            "base_latitude",
            "base_longitude",
        )
    )
    # Joined on the shift's window rather than an IN list of shift ids: one
    # query plan whatever the number of nurses; visits of filtered-out shifts
    # are simply not looked up below.
    active = Visit.objects.filter(
        status__in=Visit.ACTIVE_STATUSES, shift__starts_at__lte=now, shift__ends_at__gt=now
    )
    if shift_ids is not None:
        active = active.filter(shift_id__in=[row[0] for row in rows])
    by_shift: dict[int, list[tuple[Any, ...]]] = {}
    for visit in active.order_by("assigned_at", "pk").values_list(
        "shift_id",
        "on_site_at",
        "estimated_arrival_at",
        "citizen__latitude",
        "citizen__longitude",
    ):
        by_shift.setdefault(visit[0], []).append(visit)
    visit_minutes = dt.timedelta(minutes=settings.ACUTE_VISIT_MINUTES)
    states = []
    for (
        pk,
        nurse_id,
        first_name,
        last_name,
        username,
        status,
        starts_at,
        ends_at,
        skills,
        max_load,
        latitude,
        longitude,
        base_latitude,
        base_longitude,
    ) in rows:
        visits = by_shift.get(pk, [])
        lat = latitude if latitude is not None else base_latitude
        lon = longitude if longitude is not None else base_longitude
        free_at = None
        if visits:
            # She works through her visits in order; the rule plans from the last one.
            free_at = now
            for _shift, on_site_at, estimated_arrival_at, _lat, _lon in visits:
                arrive = on_site_at or estimated_arrival_at or now
                free_at = max(free_at, arrive + visit_minutes)
            lat, lon = float(visits[-1][3]), float(visits[-1][4])
        states.append(
            NurseState(
                shift_id=pk,
                nurse_id=nurse_id,
                name=f"{first_name} {last_name}".strip() or username,
                status=status,
                starts_at=starts_at,
                ends_at=ends_at,
                skills=frozenset(skills),
                max_load=max_load,
                load=len(visits),
                latitude=lat,
                longitude=lon,
                free_at=free_at,
            )
        )
    return states


def _need_for(referral: Referral, *, deadline_at: dt.datetime | None = None) -> Need:
    """What the referral needs; one query over the episode's visits gives both
    continuity (who has been there) and who declined or did not answer."""
    seen_by: set[int] = set()
    excluded: set[int] = set()
    for nurse_id, status, on_site_at, referral_id, cancel_reason in Visit.objects.filter(
        episode_id=referral.episode_id
    ).values_list("nurse_id", "status", "on_site_at", "referral_id", "cancel_reason"):
        if status == Visit.Status.COMPLETED or on_site_at is not None:
            seen_by.add(nurse_id)
        if referral_id == referral.pk and cancel_reason in (
            Visit.CancelReason.DECLINED,
            Visit.CancelReason.NO_ANSWER,
        ):
            excluded.add(nurse_id)
    citizen = referral.citizen
    return Need(
        latitude=float(citizen.latitude),
        longitude=float(citizen.longitude),
        deadline_at=deadline_at or referral.deadline_at,
        required_skills=frozenset(referral.required_skills),
        seen_by=frozenset(seen_by),
        excluded_nurses=frozenset(excluded),
    )


def dispatch_rank(*, referral: Referral, now: dt.datetime | None = None) -> list[Suggestion]:
    """Ranked nurses for a referral (no audit: the caller's gate records the read)."""
    now = now or timezone.now()
    need = _need_for(referral)
    states = nurse_states(now=now, available_only=True, skills=need.required_skills)
    return rank(states, need, now=now)


# --- the hospital admission hold at dispatch (R12) -----------------------------

HOLD_OVERRIDE_REASON_MAX_LENGTH = 500


def _hold_override(*, held: Referral | None, reason: str | None) -> str:
    """R12: while the citizen is admitted to hospital her referral is on hold,
    and a nurse is sent only when the coordinator states why she should go
    anyway. ``held`` is the locked referral on hold (``None`` when there is
    none); ``reason`` is ``None`` when no override was asked for. Returns the
    reason to keep on the visit, empty for an ordinary assignment: a reason
    given for a referral no longer on hold (the discharge came first) is not
    kept, since there is nothing left to override."""
    if held is None:
        return ""
    if reason is None:
        raise Conflict(
            "referral.on_hold",
            _(
                "The citizen is admitted to hospital and the referral is on hold."
                " Assign a nurse only with a reason for going anyway."
            ),
            rule="R12",
        )
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidInput(
            "referral.hold_override_reason_required",
            _("Give the reason for sending a nurse although the citizen is admitted to hospital."),
            field="hold_override_reason",
            rule="R12",
        )
    if len(cleaned) > HOLD_OVERRIDE_REASON_MAX_LENGTH:
        raise InvalidInput(
            "referral.hold_override_reason_too_long",
            _("Keep the reason to %(limit)d characters.")
            % {"limit": HOLD_OVERRIDE_REASON_MAX_LENGTH},
            field="hold_override_reason",
            rule="R12",
        )
    # The reason is shown on the board and kept in the audit log: no CPR numbers there.
    if scrub(cleaned) != cleaned:
        raise InvalidInput(
            "referral.hold_override_reason_cpr",
            _("Write the reason without a CPR number."),
            field="hold_override_reason",
            rule="R12",
        )
    return cleaned


def _hold_audit_detail(held: Referral | None, reason: str) -> dict[str, object]:
    if held is None or not reason:
        return {}
    return {
        "on_hold_since": held.on_hold_since,
        "on_hold_reason": held.on_hold_reason,
        "hold_override_reason": reason,
    }


@contextmanager
def _hold_refusal_audited(
    *, by: Actor, citizen_id: int, detail: dict[str, object]
) -> Iterator[None]:
    """A refused assignment to a referral on hold is a denied attempt (R9). It is
    recorded after the refused transaction has rolled back, so it stays."""
    try:
        yield
    except PlatformError as exc:
        if exc.rule == "R12":
            audit_record(
                actor=by,
                action=Action.CREATE,
                purpose=Purpose.TREATMENT,
                citizen_id=citizen_id,
                outcome=AuditOutcome.DENIED,
                resource_type="Task",
                reason_code=exc.code,
                detail={"rule": exc.rule, **detail},
            )
        raise


def visit_assign(
    *,
    referral: Referral,
    shift: NurseShift,
    by: Actor,
    replacing: Visit | None = None,
    hold_override_reason: str | None = None,
) -> Visit:
    """Assign a nurse to an accepted referral. Row locks on the referral and on the
    shift make two coordinators assigning at once, or one nurse assigned twice at
    once beyond her load, end with exactly one winner.

    Every door that sends a nurse on a referral comes here (the coordinator's
    API and board, reassignment, automatic dispatch), so this is where a
    referral on hold for a hospital admission is refused (R12) unless
    ``hold_override_reason`` says why a nurse goes anyway."""
    now = timezone.now()
    with (
        _hold_refusal_audited(
            by=by,
            citizen_id=referral.citizen_id,
            detail={"referral": referral.pk, "nurse": shift.nurse_id},
        ),
        transaction.atomic(),
    ):
        referral = _lock_referral(referral)
        shift = NurseShift.objects.select_for_update().select_related("nurse").get(pk=shift.pk)
        if referral.status != Referral.Status.ACCEPTED:
            raise Conflict(
                "referral.not_accepted",
                "Only an accepted referral that is not closed can be dispatched.",
            )
        # Checked under the referral's row lock: an admission and a discharge
        # change the hold under the same lock.
        held = referral if referral.on_hold_since is not None else None
        override_reason = _hold_override(held=held, reason=hold_override_reason)
        if replacing is not None:
            replacing = Visit.objects.select_for_update().get(pk=replacing.pk)
            if replacing.referral_id != referral.pk or not replacing.is_active:
                raise Conflict("visit.not_active", "That visit is no longer active.")
            if replacing.status in (Visit.Status.EN_ROUTE, Visit.Status.ON_SITE):
                raise Conflict(
                    "visit.too_late_to_reassign",
                    "The nurse is already on her way or on site.",
                )
            _visit_cancel(replacing, reason=Visit.CancelReason.REASSIGNED, note="", by=by)
        if Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES).exists():
            raise Conflict(
                "referral.already_assigned",
                "A nurse is already assigned to this referral.",
            )
        states = nurse_states(now=now, shift_ids=[shift.pk])
        if not states:
            raise PreconditionFailed("dispatch.not_on_shift", "The nurse is not on shift now.")
        state = states[0]
        need = _need_for(referral)
        if state.status in ("off", "on_break"):
            raise PreconditionFailed("dispatch.not_available", "The nurse is off or on a break.")
        if not need.required_skills <= state.skills:
            raise PreconditionFailed(
                "dispatch.missing_skills", "The nurse lacks a skill the referral requires."
            )
        if state.load >= state.max_load:
            raise Conflict("dispatch.load_limit", "The nurse has reached her load limit.")
        # The coordinator may choose a nurse who declined before: plan her arrival anyway.
        ranked = rank([state], replace(need, excluded_nurses=frozenset()), now=now)
        suggestion = ranked[0] if ranked else None
        visit = Visit(
            episode_id=referral.episode_id,
            referral=referral,
            citizen_id=referral.citizen_id,
            kind=Visit.Kind.FIRST,
            nurse=shift.nurse,
            shift=shift,
            assigned_at=now,
            assigned_by=by.user if by.membership is not None and not by.task else None,
            respond_by=now + dt.timedelta(minutes=settings.ACUTE_ACCEPT_WITHIN_MINUTES),
            estimated_arrival_at=suggestion.estimated_arrival_at if suggestion else None,
            estimated_travel_km=suggestion.travel_km if suggestion else None,
            hold_override_reason=override_reason,
        )
        full_clean_or_raise(visit, code="visit.invalid")
        visit.save(force_insert=True)
        _open_nurse_relationship(visit, shift)
        _audit(
            by=by,
            action=Action.CREATE,
            citizen_id=referral.citizen_id,
            resource_type="Task",
            resource_id=f"visit-{visit.pk}",
            detail={
                "nurse": shift.nurse_id,
                "referral": referral.pk,
                **_hold_audit_detail(held, override_reason),
            },
            reason_code="hold_override" if override_reason else "acute_function",
        )
    return visit


def _open_nurse_relationship(visit: Visit, shift: NurseShift) -> None:
    care_relationship_open(
        citizen=visit.citizen,
        organisation=shift.acute_function,
        user=shift.nurse,
        basis=CareRelationship.Basis.VISIT,
        source_type=VISIT_SOURCE,
        source_id=str(visit.pk),
    )


def dispatch_auto_assign(*, referral: Referral, by: Actor) -> Visit | None:
    """Assign the best-ranked nurse; ``None`` when nobody is eligible (the board shows it).

    Never a referral on hold for a hospital admission (R12): only a
    coordinator, with a reason, sends a nurse to a citizen in hospital."""
    # Asked of the database, not of the caller's copy, which may predate the admission.
    if Referral.objects.filter(pk=referral.pk, on_hold_since__isnull=False).exists():
        return None
    for suggestion in dispatch_rank(referral=referral)[:5]:
        shift = NurseShift.objects.get(pk=suggestion.shift_id)
        try:
            with transaction.atomic():
                return visit_assign(referral=referral, shift=shift, by=by)
        except Conflict as exc:
            if exc.code in ("referral.already_assigned", "referral.on_hold"):
                return None
            continue  # she filled up meanwhile: try the next one
        except PreconditionFailed:
            continue
    return None


# --- the visit state machine -------------------------------------------------

TRANSITIONS: dict[str, tuple[str, ...]] = {
    # target: allowed from
    Visit.Status.ACCEPTED: (Visit.Status.ASSIGNED,),
    Visit.Status.EN_ROUTE: (Visit.Status.ACCEPTED,),
    Visit.Status.ON_SITE: (Visit.Status.EN_ROUTE,),
    Visit.Status.COMPLETED: (Visit.Status.ON_SITE,),
}


def _lock_visit(visit: Visit) -> Visit:
    return Visit.objects.select_for_update().select_related("citizen").get(pk=visit.pk)


def _assigned_nurse_only(visit: Visit, by: Actor) -> None:
    if by.role != Role.ACUTE_NURSE:
        raise Forbidden("visit.nurse_only", "Only the assigned nurse moves a visit forward.")
    if by.user is None or visit.nurse_id != by.user.pk:
        raise NotFoundOrNotAllowed()


def _transition(visit: Visit, target: str) -> None:
    allowed = TRANSITIONS[target]
    if visit.status not in allowed:
        raise Conflict(
            "visit.transition_not_allowed",
            f"A visit that is {visit.status} cannot become {target}.",
            field="status",
        )


def _shift_status(shift_id: int, status: str) -> None:
    NurseShift.objects.filter(pk=shift_id).exclude(status=NurseShift.Status.OFF).update(
        status=status, status_changed_at=timezone.now()
    )


def visit_accept(*, visit: Visit, by: Actor) -> Visit:
    """The nurse accepts the assignment on her tablet."""
    with transaction.atomic():
        visit = _lock_visit(visit)
        _assigned_nurse_only(visit, by)
        _transition(visit, Visit.Status.ACCEPTED)
        if visit.respond_by < timezone.now():
            raise Conflict(
                "visit.answer_too_late", "The time to accept has passed; ask the coordinator."
            )
        visit.status = Visit.Status.ACCEPTED
        visit.accepted_at = timezone.now()
        visit.save(update_fields=["status", "accepted_at"])
        _audit_visit(visit, by, "accepted")
        signals.visit_accepted.send(sender=Visit, visit=visit, by=by)
    return visit


def visit_set_off(*, visit: Visit, by: Actor) -> Visit:
    """The nurse leaves for the citizen (en route)."""
    with transaction.atomic():
        visit = _lock_visit(visit)
        _assigned_nurse_only(visit, by)
        _transition(visit, Visit.Status.EN_ROUTE)
        visit.status = Visit.Status.EN_ROUTE
        visit.en_route_at = timezone.now()
        visit.save(update_fields=["status", "en_route_at"])
        _shift_status(visit.shift_id, NurseShift.Status.EN_ROUTE)
        _audit_visit(visit, by, "en_route")
        signals.nurse_en_route.send(sender=Visit, visit=visit, by=by)
    return visit


def visit_arrive(*, visit: Visit, by: Actor) -> Visit:
    """The nurse is at the door (on site). The first arrival on a referral is its
    "reached" time for the deadline figures (R10)."""
    with transaction.atomic():
        visit = _lock_visit(visit)
        _assigned_nurse_only(visit, by)
        _transition(visit, Visit.Status.ON_SITE)
        now = timezone.now()
        visit.status = Visit.Status.ON_SITE
        visit.on_site_at = now
        visit.save(update_fields=["status", "on_site_at"])
        if visit.referral_id is not None:
            Referral.objects.filter(pk=visit.referral_id, reached_at__isnull=True).update(
                reached_at=now
            )
        _shift_status(visit.shift_id, NurseShift.Status.ON_VISIT)
        _audit_visit(visit, by, "on_site")
        signals.nurse_on_site.send(sender=Visit, visit=visit, by=by)
    return visit


def visit_complete(
    *,
    visit: Visit,
    outcome: str,
    assessment: str = "",
    close_episode: bool = True,
    note: str = "",
    by: Actor,
) -> Visit:
    """The nurse finishes the visit with its outcome. Unless a follow-up is
    planned (``close_episode=False``, only for "treated at home"), the episode
    ends with the same outcome."""
    if outcome not in Outcome.values:
        raise InvalidInput(
            "visit.outcome_unknown",
            f"Outcome must be one of {', '.join(Outcome.values)}.",
            field="outcome",
        )
    if not close_episode and outcome != Outcome.TREATED_AT_HOME:
        raise InvalidInput(
            "visit.outcome_ends_episode",
            "Only a citizen treated at home can keep the episode open for a follow-up.",
            field="close_episode",
        )
    with transaction.atomic():
        visit = _lock_visit(visit)
        _assigned_nurse_only(visit, by)
        _transition(visit, Visit.Status.COMPLETED)
        visit.status = Visit.Status.COMPLETED
        visit.completed_at = timezone.now()
        visit.outcome = outcome
        if assessment.strip():
            visit.assessment = assessment.strip()
        visit.save(update_fields=["status", "completed_at", "outcome", "assessment"])
        if assessment.strip():
            VisitNote.objects.create(
                visit=visit,
                kind=VisitNote.Kind.ASSESSMENT,
                text=assessment.strip(),
                written_by=visit.nurse,
            )
        if not Visit.objects.filter(
            shift_id=visit.shift_id, status__in=Visit.ACTIVE_STATUSES
        ).exists():
            _shift_status(visit.shift_id, NurseShift.Status.AVAILABLE)
        _audit_visit(visit, by, "completed")
        if outcome == Outcome.ADMITTED:
            signals.admission_requested.send(sender=Visit, visit=visit, by=by, reason=note)
        if close_episode:
            episode = Episode.objects.get(pk=visit.episode_id)
            episode_complete(episode=episode, outcome=outcome, note=note, by=by)
        else:
            care_relationship_close(
                source_type=VISIT_SOURCE, source_id=str(visit.pk), user=visit.nurse
            )
    return visit


def _audit_visit(visit: Visit, by: Actor, step: str) -> None:
    _audit(
        by=by,
        action=Action.UPDATE,
        citizen_id=visit.citizen_id,
        resource_type="Encounter",
        resource_id=f"visit-{visit.pk}",
        detail={"step": step},
    )


def _visit_cancel(visit: Visit, *, reason: str, note: str, by: Actor) -> None:
    """Cancel a locked visit and end the nurse's access through it."""
    visit.status = Visit.Status.CANCELLED
    visit.cancelled_at = timezone.now()
    visit.cancel_reason = reason
    visit.cancel_note = note
    visit.save(update_fields=["status", "cancelled_at", "cancel_reason", "cancel_note"])
    care_relationship_close(source_type=VISIT_SOURCE, source_id=str(visit.pk), user=visit.nurse)
    if not Visit.objects.filter(shift_id=visit.shift_id, status__in=Visit.ACTIVE_STATUSES).exists():
        NurseShift.objects.filter(
            pk=visit.shift_id,
            status__in=[NurseShift.Status.EN_ROUTE, NurseShift.Status.ON_VISIT],
        ).update(status=NurseShift.Status.AVAILABLE, status_changed_at=timezone.now())
    _audit_visit(visit, by, f"cancelled:{reason}")


def visit_decline(*, visit: Visit, reason: str = "", by: Actor) -> Visit:
    """The nurse declines an assignment; dispatch moves on."""
    with transaction.atomic():
        visit = _lock_visit(visit)
        _assigned_nurse_only(visit, by)
        if visit.status != Visit.Status.ASSIGNED:
            raise Conflict(
                "visit.transition_not_allowed",
                "Only an assignment not yet accepted can be declined.",
                field="status",
            )
        _visit_cancel(visit, reason=Visit.CancelReason.DECLINED, note=reason.strip(), by=by)
        _move_on(visit, by=by)
    return visit


def visit_withdraw(*, visit: Visit, note: str = "", by: Actor) -> Visit:
    """The coordinator takes a visit back (before the nurse is on site)."""
    with transaction.atomic():
        visit = _lock_visit(visit)
        if visit.status not in (
            Visit.Status.ASSIGNED,
            Visit.Status.ACCEPTED,
            Visit.Status.EN_ROUTE,
        ):
            raise Conflict(
                "visit.transition_not_allowed",
                f"A visit that is {visit.status} cannot be withdrawn.",
                field="status",
            )
        _visit_cancel(visit, reason=Visit.CancelReason.WITHDRAWN, note=note.strip(), by=by)
    return visit


def _move_on(visit: Visit, *, by: Actor) -> None:
    """After a decline or a missed answer: the next nurse, when auto-assignment
    is on; otherwise the referral is back on the coordinator's board."""
    if visit.referral_id is None or not settings.ACUTE_AUTO_ASSIGN:
        return
    referral = Referral.objects.select_related("citizen").get(pk=visit.referral_id)
    dispatch_auto_assign(
        referral=referral, by=Actor.system("acute.dispatch_move_on", on_behalf_of=by)
    )


def visits_expire_unanswered(*, now: dt.datetime | None = None) -> int:
    """Beat job: assignments not accepted in time are cancelled and moved on."""
    now = now or timezone.now()
    actor = Actor.system("acute.visits_expire_unanswered")
    expired = 0
    for visit_id in Visit.objects.filter(
        status=Visit.Status.ASSIGNED, respond_by__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            visit = Visit.objects.select_for_update(skip_locked=True).filter(pk=visit_id).first()
            if visit is None or visit.status != Visit.Status.ASSIGNED:
                continue
            _visit_cancel(visit, reason=Visit.CancelReason.NO_ANSWER, note="", by=actor)
            _move_on(visit, by=actor)
            expired += 1
    return expired


# --- documentation -----------------------------------------------------------


def _documenting_nurse(visit: Visit, by: Actor) -> Visit:
    visit = _lock_visit(visit)
    _assigned_nurse_only(visit, by)
    if visit.status not in (Visit.Status.ON_SITE, Visit.Status.COMPLETED):
        raise Conflict("visit.not_on_site", "Document on a visit once on site.", field="status")
    return visit


def visit_note_add(*, visit: Visit, kind: str, text: str, by: Actor) -> VisitNote:
    """An assessment or a note on the visit."""
    if kind not in VisitNote.Kind.values:
        raise InvalidInput("visit_note.kind_unknown", "Unknown note kind.", field="kind")
    text = _require(text, code="visit_note.empty", field="text", message="The note is empty.")
    with transaction.atomic():
        visit = _documenting_nurse(visit, by)
        note = VisitNote(visit=visit, kind=kind, text=text, written_by=visit.nurse)
        full_clean_or_raise(note, code="visit_note.invalid")
        note.save(force_insert=True)
        if kind == VisitNote.Kind.ASSESSMENT:
            visit.assessment = text
            visit.save(update_fields=["assessment"])
        _audit(
            by=by,
            action=Action.CREATE,
            citizen_id=visit.citizen_id,
            resource_type="Encounter",
            resource_id=f"visit-{visit.pk}",
            detail={"note": kind},
        )
    return note


def vital_signs_record(
    *,
    visit: Visit,
    measurements: Sequence[tuple[str, object]],
    measured_at: dt.datetime | None = None,
    by: Actor,
) -> list[VitalSign]:
    """Vital signs measured on the visit, all or none."""
    if not measurements:
        raise InvalidInput("vital_signs.empty", "No measurements given.", field="measurements")
    measured_at = measured_at or timezone.now()
    if measured_at > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput(
            "vital_signs.in_future", "Measurements cannot be in the future.", field="measured_at"
        )
    rows = []
    for index, (code, raw) in enumerate(measurements):
        if code not in VITAL_SIGN_UNITS:
            raise InvalidInput(
                "vital_signs.code_unknown",
                f"Unknown vital sign code; use one of {', '.join(VitalSign.Code.values)}.",
                field=f"measurements[{index}].code",
            )
        unit, low, high = VITAL_SIGN_UNITS[VitalSign.Code(code)]
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise InvalidInput(
                "vital_signs.value_invalid",
                "The value must be a number.",
                field=f"measurements[{index}].value",
            ) from None
        if not value.is_finite() or not (low <= value <= high):
            raise InvalidInput(
                "vital_signs.value_out_of_range",
                f"The value must be between {low} and {high} {unit}.",
                field=f"measurements[{index}].value",
            )
        rows.append((code, value.quantize(Decimal("0.1")), unit))
    with transaction.atomic():
        visit = _documenting_nurse(visit, by)
        created = VitalSign.objects.bulk_create(
            [
                VitalSign(
                    visit=visit,
                    code=code,
                    value=value,
                    unit=unit,
                    measured_at=measured_at,
                    recorded_by=visit.nurse,
                )
                for code, value, unit in rows
            ]
        )
        _audit(
            by=by,
            action=Action.CREATE,
            citizen_id=visit.citizen_id,
            resource_type="Observation",
            resource_id=f"visit-{visit.pk}",
            detail={"codes": [code for code, _v, _u in rows]},
        )
    return created


# --- follow-ups and the end of the episode -----------------------------------


def visit_plan_follow_up(
    *,
    episode: Episode,
    shift: NurseShift,
    planned_for: dt.datetime,
    by: Actor,
    hold_override_reason: str | None = None,
) -> Visit:
    """A follow-up visit in the same episode, assigned to a nurse on a shift that
    covers ``planned_for``. While a referral of the episode is on hold for a
    hospital admission the citizen is not at home: refused as for a first
    visit (R12) unless ``hold_override_reason`` says why a nurse goes anyway."""
    with (
        _hold_refusal_audited(
            by=by,
            citizen_id=episode.citizen_id,
            detail={"episode": episode.pk, "nurse": shift.nurse_id},
        ),
        transaction.atomic(),
    ):
        episode = Episode.objects.select_for_update().select_related("citizen").get(pk=episode.pk)
        if episode.status != Episode.Status.OPEN:
            raise Conflict("episode.closed", "The episode is closed.")
        # Read, not locked: triage locks a referral before its episode, and this
        # order the other way round could deadlock with it.
        held = (
            Referral.objects.filter(episode=episode, on_hold_since__isnull=False)
            .order_by("pk")
            .first()
        )
        override_reason = _hold_override(held=held, reason=hold_override_reason)
        shift = NurseShift.objects.select_for_update().select_related("nurse").get(pk=shift.pk)
        if not (shift.starts_at <= planned_for < shift.ends_at):
            raise PreconditionFailed(
                "dispatch.not_on_shift", "The nurse's shift does not cover the planned time."
            )
        load = Visit.objects.filter(shift=shift, status__in=Visit.ACTIVE_STATUSES).count()
        if load >= shift.max_load:
            raise Conflict("dispatch.load_limit", "The nurse has reached her load limit.")
        visit = Visit(
            episode=episode,
            referral=None,
            citizen=episode.citizen,
            kind=Visit.Kind.FOLLOW_UP,
            nurse=shift.nurse,
            shift=shift,
            planned_for=planned_for,
            assigned_by=by.user,
            respond_by=max(
                timezone.now() + dt.timedelta(minutes=settings.ACUTE_ACCEPT_WITHIN_MINUTES),
                planned_for,
            ),
            estimated_arrival_at=planned_for,
            hold_override_reason=override_reason,
        )
        full_clean_or_raise(visit, code="visit.invalid")
        visit.save(force_insert=True)
        _open_nurse_relationship(visit, shift)
        _audit(
            by=by,
            action=Action.CREATE,
            citizen_id=episode.citizen_id,
            resource_type="Task",
            resource_id=f"visit-{visit.pk}",
            detail={
                "follow_up": True,
                "nurse": shift.nurse_id,
                **_hold_audit_detail(held, override_reason),
            },
            reason_code="hold_override" if override_reason else "acute_function",
        )
    return visit


def episode_complete(*, episode: Episode, outcome: str, note: str = "", by: Actor) -> Episode:
    """End the episode with its outcome: referrals close, unfinished visits are
    cancelled, care relationships end, and ``episode_completed`` carries the
    hand-back (R11) and the referrer's message to the hand-off work."""
    if outcome not in Outcome.values:
        raise InvalidInput("episode.outcome_unknown", "Unknown outcome.", field="outcome")
    with transaction.atomic():
        episode = Episode.objects.select_for_update().get(pk=episode.pk)
        if episode.status != Episode.Status.OPEN:
            raise Conflict("episode.closed", "The episode is already closed.")
        for visit in Visit.objects.select_for_update().filter(
            episode=episode, status__in=Visit.ACTIVE_STATUSES
        ):
            _visit_cancel(visit, reason=Visit.CancelReason.EPISODE_CLOSED, note="", by=by)
        now = timezone.now()
        episode.status = Episode.Status.COMPLETED
        episode.outcome = outcome
        episode.outcome_note = note.strip()
        episode.closed_at = now
        episode.closed_by = by.user
        full_clean_or_raise(episode, code="episode.invalid")
        episode.save(update_fields=["status", "outcome", "outcome_note", "closed_at", "closed_by"])
        episode.referrals.filter(status=Referral.Status.ACCEPTED).update(
            status=Referral.Status.CLOSED
        )
        care_relationship_close(source_type=EPISODE_SOURCE, source_id=str(episode.pk))
        for visit_id in episode.visits.values_list("pk", flat=True):
            care_relationship_close(source_type=VISIT_SOURCE, source_id=str(visit_id))
        _audit(
            by=by,
            action=Action.UPDATE,
            citizen_id=episode.citizen_id,
            resource_type="EpisodeOfCare",
            resource_id=episode.pk,
            detail={"outcome": outcome},
        )
        signals.episode_completed.send(sender=Episode, episode=episode, outcome=outcome, by=by)
    return episode


# --- deadline watch (R10) ----------------------------------------------------


def deadline_watch(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Beat job. For every open referral nobody has reached yet: warn when no
    available nurse can arrive before the deadline (and nobody assigned will),
    escalate once the deadline has passed. One warning row per kind; rows are
    the coordinator board's to acknowledge."""
    now = now or timezone.now()
    margin = dt.timedelta(minutes=settings.ACUTE_AT_RISK_MARGIN_MINUTES)
    counts = {"at_risk": 0, "overdue": 0}
    pending = list(
        # Untriaged referrals count too: a deadline does not wait for triage.
        Referral.objects.filter(
            status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED],
            reached_at__isnull=True,
            # In hospital: the board shows the hold instead.
            on_hold_since__isnull=True,
        )
        .select_related("citizen")
        .order_by("deadline_at")
    )
    if not pending:
        return counts
    existing = set(
        DeadlineWarning.objects.filter(referral__in=pending).values_list("referral_id", "kind")
    )
    active_visits = {
        v.referral_id: v
        for v in Visit.objects.filter(referral__in=pending, status__in=Visit.ACTIVE_STATUSES)
    }
    states = nurse_states(now=now, available_only=True)
    new_rows = []
    for referral in pending:
        if referral.deadline_at <= now:
            if (referral.pk, DeadlineWarning.Kind.OVERDUE) not in existing:
                new_rows.append(
                    DeadlineWarning(
                        referral=referral,
                        kind=DeadlineWarning.Kind.OVERDUE,
                        raised_at=now,
                        detail={"deadline_at": referral.deadline_at.isoformat()},
                    )
                )
                counts["overdue"] += 1
            continue
        if (referral.pk, DeadlineWarning.Kind.AT_RISK) in existing:
            continue
        visit = active_visits.get(referral.pk)
        if (
            visit is not None
            and visit.estimated_arrival_at is not None
            and visit.estimated_arrival_at + margin <= referral.deadline_at
        ):
            continue
        need = Need(
            latitude=float(referral.citizen.latitude),
            longitude=float(referral.citizen.longitude),
            deadline_at=referral.deadline_at - margin,
            required_skills=frozenset(referral.required_skills),
        )
        ranked = rank(states, need, now=now, limit=1)
        if ranked and ranked[0].meets_deadline:
            continue
        new_rows.append(
            DeadlineWarning(
                referral=referral,
                kind=DeadlineWarning.Kind.AT_RISK,
                raised_at=now,
                detail={
                    "deadline_at": referral.deadline_at.isoformat(),
                    "best_arrival_at": ranked[0].estimated_arrival_at.isoformat()
                    if ranked
                    else None,
                },
            )
        )
        counts["at_risk"] += 1
    DeadlineWarning.objects.bulk_create(new_rows, ignore_conflicts=True)
    return counts


# --- hospital admission and discharge (R12) ----------------------------------

HOLD_HOSPITAL_ADMISSION = "hospital_admission"


def referrals_hold_for_admission(*, citizen_id: int, admission: str, by: Actor) -> list[int]:
    """The hospital reports the citizen admitted: her referrals that no nurse
    is on yet (awaiting triage, or accepted without an active visit) are put on
    hold (*sat i bero*) — kept, not declined — with an ``admitted`` warning on
    the coordinator's board. Withdraw the visits first: a referral whose visit
    was just withdrawn is then held too. Returns the held referrals' ids."""
    now = timezone.now()
    with transaction.atomic():
        referrals = list(
            Referral.objects.select_for_update()
            .filter(
                citizen_id=citizen_id,
                status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED],
                reached_at__isnull=True,
                on_hold_since__isnull=True,
            )
            .exclude(visits__status__in=Visit.ACTIVE_STATUSES)
            .order_by("pk")
        )
        for referral in referrals:
            referral.on_hold_since = now
            referral.on_hold_reason = HOLD_HOSPITAL_ADMISSION
            referral.full_clean()
            referral.save(update_fields=["on_hold_since", "on_hold_reason"])
            # One row per referral and kind: a re-admission raises it again.
            DeadlineWarning.objects.update_or_create(
                referral=referral,
                kind=DeadlineWarning.Kind.ADMITTED,
                defaults={
                    "raised_at": now,
                    "detail": {"admission": admission},
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                },
            )
            _audit(
                by=by,
                action=Action.UPDATE,
                citizen_id=citizen_id,
                resource_type="ServiceRequest",
                resource_id=referral.pk,
                detail={"step": "on_hold", "reason": HOLD_HOSPITAL_ADMISSION},
            )
    return [r.pk for r in referrals]


def referrals_resume_after_discharge(*, citizen_id: int, by: Actor) -> list[int]:
    """The hospital reports the citizen discharged: referrals held for the
    admission resume (deadline watch and dispatch take them again); the
    board's ``admitted`` warning says when she came home."""
    now = timezone.now()
    with transaction.atomic():
        referrals = list(
            Referral.objects.select_for_update()
            .filter(citizen_id=citizen_id, on_hold_reason=HOLD_HOSPITAL_ADMISSION)
            .order_by("pk")
        )
        for referral in referrals:
            referral.on_hold_since = None
            referral.on_hold_reason = ""
            referral.save(update_fields=["on_hold_since", "on_hold_reason"])
            for warning in DeadlineWarning.objects.select_for_update().filter(
                referral=referral, kind=DeadlineWarning.Kind.ADMITTED
            ):
                warning.detail = {**warning.detail, "discharged_at": now.isoformat()}
                warning.save(update_fields=["detail"])
            _audit(
                by=by,
                action=Action.UPDATE,
                citizen_id=citizen_id,
                resource_type="ServiceRequest",
                resource_id=referral.pk,
                detail={"step": "resumed", "reason": "hospital_discharge"},
            )
    return [r.pk for r in referrals]


def warning_acknowledge(*, warning: DeadlineWarning, by: Actor) -> DeadlineWarning:
    with transaction.atomic():
        warning = DeadlineWarning.objects.select_for_update().get(pk=warning.pk)
        if warning.acknowledged_at is not None:
            raise Conflict("warning.already_acknowledged", "The warning is already acknowledged.")
        warning.acknowledged_at = timezone.now()
        warning.acknowledged_by = by.user
        warning.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return warning


# --- the audit log's "access outside shift" flag ------------------------------


def nurse_on_shift(user_id: int, at: dt.datetime) -> bool | None:
    """For the audit log: was this acute nurse on shift at ``at``? ``None`` when
    the user has never had a shift (not an acute nurse: the question does not apply)."""
    shifts = NurseShift.objects.filter(nurse_id=user_id)
    if not shifts.exists():
        return None
    return shifts.filter(starts_at__lte=at, ends_at__gt=at).exists()


# --- re-sent forms from the tablet -------------------------------------------

CLIENT_REF_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class SubmissionResult:
    """What a form sent from the tablet led to; ``replayed`` when the same
    ``client_ref`` had already been received and nothing new was written."""

    submission: VisitSubmission | None
    replayed: bool


def visit_submission_once(
    *,
    visit: Visit,
    by: Actor,
    client_ref: str,
    form: str,
    write: Callable[[], object],
) -> SubmissionResult:
    """Run ``write`` (a documentation service) once per ``client_ref`` from this
    user on this visit.

    The reference is claimed in the same transaction as the write, so a second
    send racing the first waits on the database's unique index and then gets
    the first result. A refusal from ``write`` releases the claim (she may
    correct the form and send it again) but keeps the refusal's own audit entry.
    Without a reference (an ordinary online submit) ``write`` simply runs.
    """
    if by.user is None:
        raise Forbidden("actor.required", "Only a member of staff can do this.")
    ref = client_ref.strip()
    if not ref:
        write()
        return SubmissionResult(submission=None, replayed=False)
    if not CLIENT_REF_SHAPE.match(ref):
        raise InvalidInput(
            "submission.client_ref_invalid",
            "The form's reference must be 8-64 letters, digits, '-' or '_'.",
            field="client_ref",
        )
    if form not in VisitSubmission.Form.values:
        raise InvalidInput("submission.form_unknown", "Unknown form.", field="form")
    mine = VisitSubmission.objects.filter(visit=visit, user=by.user, client_ref=ref)
    earlier = mine.first()
    if earlier is not None:
        return SubmissionResult(submission=earlier, replayed=True)
    failure: PlatformError | None = None
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission = VisitSubmission.objects.create(
                    visit=visit, user=by.user, client_ref=ref, form=form
                )
        except IntegrityError:
            # A send with the same reference committed while this one waited.
            return SubmissionResult(submission=mine.get(), replayed=True)
        try:
            result = write()
        except PlatformError as exc:
            submission.delete()
            failure = exc
        else:
            first = result[0] if isinstance(result, list) and result else result
            if isinstance(first, models.Model):
                submission.result_type = type(first).__name__
                submission.result_id = str(first.pk)
            submission.save(update_fields=["result_type", "result_id"])
    if failure is not None:
        raise failure
    return SubmissionResult(submission=submission, replayed=False)
