"""The coordinator's board (*tavlen*): referrals not yet reached, and the
deadline warnings not yet acknowledged."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet

from acute.models import DeadlineWarning, Episode, Referral, Visit
from acute.selectors.records import gated
from consent.audit.services import Action, Purpose, audit_record
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import InvalidInput
from core.models import Organisation, User

BOARD_LIMIT = 100
# The statuses the board shows, and so the ones its status filter takes.
BOARD_STATUSES = (Referral.Status.RECEIVED, Referral.Status.ACCEPTED)
# The deadline watch's own warnings (R10), as against the hand-off warnings
# that stay on the board after the referral is closed (R3, R8, R11, R12).
DEADLINE_KINDS = (DeadlineWarning.Kind.AT_RISK, DeadlineWarning.Kind.OVERDUE)


def referral_board(*, actor: Actor, status: str = "") -> list[Referral]:
    """The coordinator's board: referrals not yet reached (awaiting triage or a
    nurse), most urgent deadline first, with their active visit and open warnings."""
    qs = (
        Referral.objects.filter(reached_at__isnull=True)
        .select_related("citizen", "citizen__municipality")
        .prefetch_related(
            Prefetch(
                "visits",
                queryset=Visit.objects.filter(status__in=Visit.ACTIVE_STATUSES).select_related(
                    "nurse"
                ),
                to_attr="active_visits",
            ),
            Prefetch(
                "warnings",
                queryset=DeadlineWarning.objects.filter(acknowledged_at__isnull=True),
                to_attr="open_warnings",
            ),
        )
        .order_by("deadline_at", "pk")
    )
    if status:
        if status not in BOARD_STATUSES:
            raise InvalidInput(
                "board.status_invalid", "Filter on received or accepted.", field="status"
            )
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=BOARD_STATUSES)
    rows = list(qs[:BOARD_LIMIT])
    for referral in rows:
        referral.open_warnings = [w for w in referral.open_warnings if _about_deadline(w, referral)]
    _nurses_going_elsewhere(rows)
    return gated(actor, rows, "ServiceRequest")


def _nurses_going_elsewhere(rows: Sequence[Referral]) -> None:
    """Each row's ``nurse_going`` is the visit of a nurse already sent to its
    citizen on another referral of her episode (the same citizen referred
    twice), or ``None``: the board says so, and a second nurse is only sent
    when the coordinator confirms it. One query for the whole board."""
    going: dict[int, list[Visit]] = {}
    for visit in (
        Visit.objects.filter(
            episode_id__in={r.episode_id for r in rows}, status__in=Visit.ACTIVE_STATUSES
        )
        .select_related("nurse")
        .order_by("assigned_at", "pk")
    ):
        going.setdefault(visit.episode_id, []).append(visit)
    for referral in rows:
        referral.nurse_going = next(  # type: ignore[attr-defined]
            (v for v in going.get(referral.episode_id, ()) if v.referral_id != referral.pk),
            None,
        )


def warnings_open(*, actor: Actor, limit: int) -> list[DeadlineWarning]:
    """Warnings not yet acknowledged (no citizen data: referral id, deadline)
    for the referrals of the citizens the coordinator's acute function serves
    (another function's board is not hers), newest first.

    A deadline warning is about a referral still waiting for a nurse, and
    about the deadline it names: once a nurse is at the door, the referral is
    closed or declined, or it is on hold while the citizen is in hospital, it
    has nothing left to warn of, and neither has one whose deadline has moved
    since (the return from hospital, a resend asking for more haste; the
    deadline watch judges the new deadline and raises the row again for it)."""
    rows = (
        _served(actor)
        .filter(acknowledged_at__isnull=True)
        .exclude(warning_settled())
        .select_related("referral")
        .order_by("-raised_at", "pk")
    )
    kept: list[DeadlineWarning] = []
    # Rows of a moved deadline are few and short-lived (the next watch raises
    # them again or not): left out here rather than by comparing JSON in SQL.
    for warning in rows.iterator(chunk_size=limit):
        if not _about_deadline(warning, warning.referral):
            continue
        kept.append(warning)
        if len(kept) >= limit:
            break
    _referrers_to_tell(actor, kept)
    nurses_withdrawn_from(kept)
    return kept


# The hospital's reports that take a visit back from the nurse on it (R12).
WITHDRAWING_KINDS = (DeadlineWarning.Kind.ADMITTED, DeadlineWarning.Kind.DECEASED)


def nurses_withdrawn_from(warnings: Sequence[DeadlineWarning]) -> None:
    """R12: an ``admitted`` or ``deceased`` warning whose report withdrew a
    visit from the referral names it and the nurse who was on it, with her
    phone number (``warning.visit_withdrawn``), so the coordinator can phone
    her: she may be on her way. Staff, not the citizen's data. One query
    when any warning names a visit; every other warning carries ``None``."""
    named: list[tuple[DeadlineWarning, dict]] = []
    for warning in warnings:
        warning.visit_withdrawn = None  # type: ignore[attr-defined]
        detail = warning.detail or {}
        if warning.kind in WITHDRAWING_KINDS and detail.get("visit_withdrawn"):
            named.append((warning, detail))
    if not named:
        return
    nurses = User.objects.filter(pk__in={detail.get("nurse") for _warning, detail in named}).only(
        "pk", "username", "first_name", "last_name", "phone"
    )
    by_pk = {nurse.pk: nurse for nurse in nurses}
    for warning, detail in named:
        nurse = by_pk.get(int(detail.get("nurse") or 0))
        warning.visit_withdrawn = {  # type: ignore[attr-defined]
            "visit": detail["visit_withdrawn"],
            "nurse_name": nurse.display_name if nurse is not None else "",
            "nurse_phone": nurse.phone if nurse is not None else "",
        }


def _referrers_to_tell(actor: Actor, warnings: list[DeadlineWarning]) -> None:
    """R11: a ``referrer_untold`` warning carries whom the coordinator phones
    and what she tells them (``warning.referrer_to_tell``): the referrer's
    name, organisation and call-back number, and the episode's outcome. The
    referral's page is closed to her once the episode has ended, so the
    warning shows these few fields, and nothing else of the record, while it
    is open on her own acute function's board
    (docs/decisions/0027-the-coordinator-sees-whom-to-phone.md). Each one
    shown is a read of the citizen's data, audited with its purpose (R9).
    Every other warning carries ``None``."""
    untold = [w for w in warnings if w.kind == DeadlineWarning.Kind.REFERRER_UNTOLD]
    for warning in warnings:
        warning.referrer_to_tell = None  # type: ignore[attr-defined]
    if not untold:
        return
    referrals = {
        r.pk: r
        for r in Referral.objects.filter(pk__in=[w.referral_id for w in untold]).select_related(
            "source_organisation", "episode"
        )
    }
    for warning in untold:
        referral = referrals[warning.referral_id]
        organisation = referral.source_organisation
        warning.referrer_to_tell = {  # type: ignore[attr-defined]
            "referrer_name": referral.referrer_name,
            "referrer_organisation": organisation.name if organisation is not None else "",
            "referrer_phone": referral.referrer_phone,
            "outcome": referral.episode.outcome,
            "outcome_note": referral.episode.outcome_note,
        }
        audit_record(
            actor=actor,
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=referral.citizen_id,
            resource_type="Flag",
            resource_id=str(warning.pk),
            reason_code="referrer_untold",
            detail={"referral": referral.pk, "episode": referral.episode_id},
        )


def warning_settled() -> Q:
    """A deadline warning with nothing left to warn of: its referral has a
    nurse at the door, is closed or declined, or is on hold while the
    citizen is in hospital (the board and ``/metrics`` leave it out)."""
    settled = (
        Q(referral__reached_at__isnull=False)
        | ~Q(referral__status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED])
        | Q(referral__on_hold_since__isnull=False)
    )
    return Q(kind__in=DEADLINE_KINDS) & settled


def _about_deadline(warning: DeadlineWarning, referral: Referral) -> bool:
    """False for a deadline watch's warning about a deadline the referral no
    longer has (the deadline moved since: the watch judges the new one)."""
    named = (warning.detail or {}).get("deadline_at")
    return (
        warning.kind not in DEADLINE_KINDS
        or named is None
        or named == referral.deadline_at.isoformat()
    )


def warning_of(*, actor: Actor, pk: int) -> DeadlineWarning | None:
    """The warning to acknowledge, if it is on this coordinator's board:
    another acute function's warning is not hers to clear. Asking for one is
    an attempt on its citizen, recorded as denied (R9) on every door."""
    warning = _served(actor).filter(pk=pk).first()
    if warning is None:
        citizen_id = (
            DeadlineWarning.objects.filter(pk=pk)
            .values_list("referral__citizen_id", flat=True)
            .first()
        )
        audit_denied(
            actor=actor,
            action=Action.UPDATE,
            purpose=Purpose.TREATMENT,
            reason_code="municipality_not_served" if citizen_id else "unknown_resource",
            citizen_id=citizen_id,
            resource_type="Flag",
            resource_id=str(pk),
        )
    return warning


def _served(actor: Actor) -> QuerySet[DeadlineWarning]:
    """Warnings about the citizens of the municipalities the actor's acute function serves."""
    if actor.organisation is None:
        return DeadlineWarning.objects.none()
    return DeadlineWarning.objects.filter(
        referral__citizen__municipality__in=actor.organisation.serves.all()
    )


def open_episodes_in(municipalities: Sequence[Organisation]) -> int:
    """How many citizens of ``municipalities`` have an open episode: work the
    board still shows only while the function serves their municipality."""
    return Episode.objects.filter(
        status=Episode.Status.OPEN, citizen__municipality__in=municipalities
    ).count()
