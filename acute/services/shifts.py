"""Nurse shifts (*vagter*): the rota, the nurse's availability and where her
tablet says she is."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from acute.deadlines import shift_hours_by_kind, shift_kind_hours
from acute.models import NurseShift, Skill, Visit
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFoundOrNotAllowed
from core.models import Membership, Organisation, Role, User
from core.validation import full_clean_or_raise

# A rota is planned ahead and corrected afterwards, within these bounds: no
# shift is longer than a day, put on the rota more than a week after it began,
# or planned more than a year ahead.
SHIFT_LONGEST = dt.timedelta(hours=24)
SHIFT_LATE_ENTRY = dt.timedelta(days=7)
SHIFT_PLANNED_AHEAD = dt.timedelta(days=366)


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
    actor: Actor,
) -> NurseShift:
    """Put a nurse on the rota. She starts at the base; overlapping shifts are
    refused, and so is a kind her hours do not match (a night shift from
    08:00 to 16:00)."""
    _shift_period_check(starts_at, ends_at)
    _shift_kind_check(kind, starts_at, ends_at)
    skills = sorted(set(skills))
    unknown = set(skills) - set(Skill.values)
    if unknown:
        raise InvalidInput("shift.skill_unknown", "Unknown skills.", field="skills")
    # Her role must be in force (switched on, not past its end, she and the
    # function active), as every door that lets her act asks: a shift for a
    # nurse who cannot sign in would count as cover the rota does not have.
    role = (
        Membership.objects.in_force()
        .filter(user=nurse, organisation=acute_function, role=Role.ACUTE_NURSE)
        .first()
    )
    if role is None:
        raise InvalidInput(
            "shift.not_an_acute_nurse",
            "Only acute nurses of this acute function can be put on its rota.",
            field="nurse",
        )
    if role.valid_until is not None and role.valid_until < ends_at:
        raise InvalidInput(
            "shift.role_ends_first",
            "Her role as an acute nurse ends before the shift does.",
            field="ends_at",
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


def _shift_period_check(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput(
            "shift.ends_before_start", "A shift must end after it starts.", field="ends_at"
        )
    if ends_at - starts_at > SHIFT_LONGEST:
        raise InvalidInput("shift.too_long", "A shift lasts at most 24 hours.", field="ends_at")
    now = timezone.now()
    if starts_at < now - SHIFT_LATE_ENTRY:
        raise InvalidInput(
            "shift.too_far_back",
            "A shift can be put on the rota at most a week after it began.",
            field="starts_at",
        )
    if starts_at > now + SHIFT_PLANNED_AHEAD:
        raise InvalidInput(
            "shift.too_far_ahead",
            "A shift can be planned at most a year ahead.",
            field="starts_at",
        )


def _shift_kind_check(kind: str, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """A shift's kind names the hours it mostly lies in (Copenhagen, the
    rota's day 07-15, evening 15-23, night 23-07 of the settings): the board,
    dispatch and the figures read the kind, so a "night" shift in the day's
    hours would be counted as cover the night does not have. A shift between
    two kinds in equal parts may be either."""
    if kind not in NurseShift.Kind.values:
        return  # an unknown kind is the model's own refusal (shift.invalid)
    hours = shift_hours_by_kind(starts_at, ends_at)
    if hours[kind] < max(hours.values()):
        start, end = shift_kind_hours(kind)
        raise InvalidInput(
            "shift.kind_mismatch",
            f"Most of a shift of this kind lies between {start:02d}:00 and {end:02d}:00"
            " (Danish time); choose the kind that matches its hours.",
            field="kind",
            params={"start": f"{start:02d}:00", "end": f"{end:02d}:00"},
        )


def _own_shift(shift: NurseShift, actor: Actor) -> None:
    if actor.user is None or shift.nurse_id != actor.user.pk:
        raise NotFoundOrNotAllowed()


# What a nurse (or the coordinator) sets by hand. En route and on a visit
# follow her visits' own steps: set by hand, the board would show her busy
# with no visit, or dispatch could pass over her.
STATUSES_SET_BY_HAND = (
    NurseShift.Status.AVAILABLE,
    NurseShift.Status.ON_BREAK,
    NurseShift.Status.OFF,
)


def shift_status_set(*, shift: NurseShift, status: str, actor: Actor) -> NurseShift:
    """The nurse (or the coordinator) sets her availability."""
    if status not in NurseShift.Status.values:
        raise InvalidInput("shift.status_unknown", "Unknown status.", field="status")
    if status not in STATUSES_SET_BY_HAND:
        raise InvalidInput(
            "shift.status_from_visits",
            "En route and on a visit follow her visits; set by hand: available, on a break, off.",
            field="status",
        )
    if actor.role == Role.ACUTE_NURSE:
        _own_shift(shift, actor)
    elif actor.organisation is None or shift.acute_function_id != actor.organisation.pk:
        # The coordinator sets the status of her own acute function's nurses;
        # another function's shift is not hers to see.
        raise NotFoundOrNotAllowed()
    with transaction.atomic():
        shift = NurseShift.objects.select_for_update().get(pk=shift.pk)
        # Checked under the shift's row lock, which every visit step that moves
        # her status takes too: the board never shows her free (or on a break,
        # or gone home) while she drives to or sits with a citizen, and she
        # does not leave her shift with visits nobody else knows are waiting.
        active = set(
            Visit.objects.filter(shift=shift, status__in=Visit.ACTIVE_STATUSES).values_list(
                "status", flat=True
            )
        )
        if active & {Visit.Status.EN_ROUTE, Visit.Status.ON_SITE}:
            raise Conflict(
                "shift.visit_under_way",
                "She is on her way to or with a citizen: her status follows that visit"
                " until it is completed.",
                field="status",
            )
        if status == NurseShift.Status.OFF and active:
            # Said to whoever set it: the coordinator is the one who moves them.
            raise Conflict(
                "shift.visits_assigned",
                "She still has visits assigned: reassign or withdraw them before she goes off."
                if actor.role == Role.COORDINATOR
                else "She still has visits assigned: the coordinator reassigns or withdraws"
                " them before she goes off.",
                field="status",
            )
        shift.status = status
        shift.status_changed_at = timezone.now()
        shift.save(update_fields=["status", "status_changed_at"])
    return shift


def shift_position_report(
    *,
    shift: NurseShift,
    latitude: float,
    longitude: float,
    actor: Actor,
    min_interval: dt.timedelta | None = None,
) -> NurseShift:
    """The tablet reports where she is. With ``min_interval`` a report that
    comes sooner than that after the last one is not stored (the tablet's
    automatic reports are throttled here too, whatever the tablet does)."""
    _own_shift(shift, actor)
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
