"""The gate's rules, with no side effects: the words a decision is made in (the
categories of data, the purposes each role may state — R3), the
:class:`Decision` and what it adds to an audit entry, and the rules themselves:
the care relationship (R1), the citizen's refusals and consents (R4), and the
break-the-glass override that stands in for both. The module docstring of
:mod:`consent.gate` states them in full.

One module, a little over 500 lines: these rules make one decision
(:func:`access_decide`), each reading what the one before it found, and they
are reviewed together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from consent.audit.scope import auditor_scope
from consent.audit.services import Action, Purpose
from consent.models import BreakGlass, CareRelationship, ConsentDirective, DataCategory
from core.actors import Actor
from core.catchment import withdrawn_municipality
from core.models import HOSPITAL_KINDS, Citizen, Organisation, Role
from core.purposes import PERMITTED_PURPOSES  # R3: the purposes each role may state

CATEGORY_PATIENT = "patient"  # identity and address (Patient)
CATEGORY_SUMMARY = "summary"  # every permitted category at once ($everything)
CATEGORY_CONSENT = "consent"  # the citizen's refusals and consents
CATEGORY_INSIGHT = "insight"  # the insight report (R5)
RECORD_CATEGORIES = frozenset({*DataCategory.values, CATEGORY_PATIENT, CATEGORY_SUMMARY})

CLINICAL_ROLES = frozenset({Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE})


# Background work on behalf of a partner organisation (no person, no role).
SYSTEM_PURPOSES = frozenset({Purpose.TREATMENT, Purpose.OPERATIONS})


# A data period refused to this reader: [start, end), either end open.
HiddenPeriod = tuple[dt.datetime | None, dt.datetime | None]

# The categories whose resources carry a date a data-period refusal can cover.
DATED_CATEGORIES = frozenset({*DataCategory.values, CATEGORY_SUMMARY})


@dataclass(frozen=True)
class Decision:
    permitted: bool
    reason_code: str  # why: "care_relationship", "refused", "purpose_not_permitted", ...
    basis: str = ""
    # Set when the override alone permitted: the open break-the-glass and its reason.
    break_glass_id: int | None = None
    break_glass_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Record data the reader may not see although the citizen is permitted.
    hidden_periods: tuple[HiddenPeriod, ...] = ()
    # Of the citizen's refusals and consents, the only ones a reader whom a
    # refusal covers is shown (those that apply to her); None: all of them.
    directives_shown: frozenset[int] | None = None

    def audit_purpose(self, asked: str) -> str:
        """The purpose the audit entry states: ``emergency`` whenever the
        override alone permitted, whatever purpose the caller asked with."""
        return Purpose.EMERGENCY if self.break_glass_id else asked


def in_hidden_period(when: dt.datetime | None, periods: Iterable[HiddenPeriod]) -> bool:
    if when is None:
        return False
    return any(
        (start is None or when >= start) and (end is None or when < end) for start, end in periods
    )


def audit_detail(
    decision: Decision, category: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"basis": decision.basis}
    if category:
        out["category"] = category
    if decision.break_glass_id:
        out["break_glass_id"] = decision.break_glass_id
        out["break_glass_reason"] = decision.break_glass_reason
    if decision.hidden_periods:
        # The reader got the record without the data the citizen refused by period.
        out["withheld"] = "data_period"
    if decision.directives_shown is not None:
        # A reader the citizen refused got only the directives that apply to her.
        out["withheld"] = "other_directives"
    if decision.extra:
        out.update(decision.extra)
    if extra:
        out.update(extra)
    return out


# --- R1: the care relationship ----------------------------------------------


# R3: the recipients a recorded care relationship discloses the record to.
# The acute function, hospitals and their departments (a citizen may be
# admitted anywhere) count for any citizen they have a relationship with.
RELATIONSHIP_KINDS = frozenset(
    {
        Organisation.Kind.ACUTE_FUNCTION,
        Organisation.Kind.HOSPITAL,
        Organisation.Kind.HOSPITAL_DEPARTMENT,
    }
)
# Municipal assessment (visitation), home care (hjemmepleje), home nursing and
# a municipal rehabilitation unit count for the citizens of the municipality
# they act for: their own, their parent's, or one they serve by agreement;
# another municipality's organisation does not read the citizen.
MUNICIPAL_KINDS = frozenset(
    {
        Organisation.Kind.MUNICIPALITY,
        Organisation.Kind.MUNICIPAL_ASSESSMENT,
        Organisation.Kind.HOME_CARE,
        Organisation.Kind.HOME_NURSING,
        Organisation.Kind.REHABILITATION_UNIT,
    }
)
# A GP practice is a recipient only as the citizen's own GP (the ``own_gp``
# basis, from ``Citizen.gp_practice``), never through a relationship; the 1813
# helpline is no recipient of the shared record at all.


def _relationship_counts(organisation: Organisation | None) -> Q | None:
    """The relationships of ``organisation`` that count for their citizen (R3),
    in SQL: the same for every actor of a kind of organisation, so the gate's
    compiled queries (``queries.py``) and searches (``visible.py``) hold it as
    single reads do. The organisation's kind is known before the query: a
    recipient for any citizen needs no condition (``Q()``), one that is no
    recipient through a relationship gets none (``None``), and only the
    municipal kinds (and a rehabilitation unit, which counts for any citizen
    as a hospital's unit) are left to the citizen's municipality in SQL.
    Every gated read asks this; deciding the kind here spares each of them
    the joins to the organisation, its parent and the citizen."""
    if organisation is None:
        return None
    if organisation.kind in RELATIONSHIP_KINDS:
        return Q()
    if organisation.kind not in MUNICIPAL_KINDS:
        return None
    serves_municipality = Exists(
        Organisation.serves.through.objects.filter(
            from_organisation=OuterRef("organisation"),
            to_organisation=OuterRef("citizen__municipality"),
        )
    )
    of_municipality = (
        Q(citizen__municipality=F("organisation"))
        | Q(citizen__municipality=F("organisation__parent"))
        | Q(serves_municipality)
    )
    if organisation.kind == Organisation.Kind.REHABILITATION_UNIT:
        # A hospital's rehabilitation unit counts for any citizen.
        return Q(organisation__parent__kind__in=HOSPITAL_KINDS) | of_municipality
    return of_municipality


def open_relationships(actor: Actor, now: dt.datetime | None = None) -> QuerySet[CareRelationship]:
    """Open care relationships that count for this actor (R1), from an
    organisation that is a recipient for the citizen (R3)."""
    now = now or timezone.now()
    organisation = actor.organisation
    counts = _relationship_counts(organisation)
    if counts is None:
        return CareRelationship.objects.none()
    qs = (
        CareRelationship.objects.filter(organisation=organisation, started_at__lte=now)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now))
        .filter(counts)
    )
    if actor.role == Role.ACUTE_NURSE:
        # Her own visit or referral only; another nurse's visit is not hers.
        return qs.filter(user=actor.user)
    if actor.role == Role.COORDINATOR:
        return qs.filter(user__isnull=True)
    return qs.filter(Q(user__isnull=True) | Q(user=actor.user))


def _relationship_basis(actor: Actor, citizen: Citizen) -> str:
    organisation = actor.organisation
    assert organisation is not None
    if organisation.kind == Organisation.Kind.GP_PRACTICE and citizen.gp_practice_id == (
        organisation.pk
    ):
        return "own_gp"
    if (
        organisation.kind == Organisation.Kind.HOME_NURSING
        and organisation.serves.filter(pk=citizen.municipality_id).exists()
    ):
        return "home_nursing_of_municipality"
    if hasattr(citizen, "open_basis"):  # fetched with the citizen by access_citizen
        return citizen.open_basis or ""
    relationship = (
        open_relationships(actor)
        .filter(citizen=citizen)
        .order_by("started_at")
        .values_list("basis", flat=True)
        .first()
    )
    return relationship or ""


# --- R4: the citizen's refusals and consents --------------------------------


def _org_ancestor_ids(organisation: Organisation) -> set[int]:
    """The organisation and every parent above it (a department's hospital)."""
    ids = {organisation.pk}
    parent_id = organisation.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.add(parent_id)
        parent_id = (
            Organisation.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
        )
    return ids


def consent_in_force(now: dt.datetime | None = None) -> QuerySet[ConsentDirective]:
    """Refusals and consents in force at ``now``: not withdrawn, within their period."""
    now = now or timezone.now()
    return ConsentDirective.objects.filter(withdrawal__isnull=True, period_start__lte=now).filter(
        Q(period_end__isnull=True) | Q(period_end__gt=now)
    )


def active_directives(citizen_ids: Iterable[int] | QuerySet[Any]) -> list[ConsentDirective]:
    return list(
        consent_in_force()
        .filter(citizen_id__in=citizen_ids)
        .prefetch_related("recipient_organisations", "recipient_users")
    )


def directive_covers(
    directive: ConsentDirective, *, actor: Actor, purpose: str, org_ids: set[int] | None = None
) -> bool:
    """Does this refusal or consent apply to this recipient, professional and purpose?"""
    organisation = actor.organisation
    orgs = {o.pk for o in directive.recipient_organisations.all()}
    if orgs:
        if organisation is None:
            return False
        reach = (
            (org_ids if org_ids is not None else _org_ancestor_ids(organisation))
            if directive.include_sub_units
            else {organisation.pk}
        )
        if not orgs & reach:
            return False
    users = {u.pk for u in directive.recipient_users.all()}
    if users and (actor.user is None or actor.user.pk not in users):
        return False
    return not directive.purposes or purpose in directive.purposes


def _has_data_period(directive: ConsentDirective) -> bool:
    return directive.data_period_start is not None or directive.data_period_end is not None


def _said_at(directive: ConsentDirective) -> tuple[dt.datetime, int]:
    """When the citizen said it, in the order it was recorded."""
    return directive.recorded_at, directive.pk


def refusal_for(
    directives: list[ConsentDirective], actor: Actor, purpose: str
) -> tuple[bool, tuple[HiddenPeriod, ...]]:
    """(the citizen is refused to this reader, the data periods refused to it),
    from the citizen's directives in force. The citizen's consent covering the
    reader lifts both, as far as they were recorded before it. For deciders
    outside the gate (hand-offs) as well."""
    if not directives:
        return False, ()
    org_ids = _org_ancestor_ids(actor.organisation) if actor.organisation else set()
    covering = [
        d for d in directives if directive_covers(d, actor=actor, purpose=purpose, org_ids=org_ids)
    ]
    # The citizen's latest word for this reader stands: a consent lifts the
    # refusals recorded before it, never one the citizen gave afterwards.
    lifted_until = max(
        (_said_at(d) for d in covering if d.provision == ConsentDirective.Provision.PERMIT),
        default=None,
    )
    denials = [
        d
        for d in covering
        if d.provision == ConsentDirective.Provision.DENY
        and (lifted_until is None or _said_at(d) > lifted_until)
    ]
    whole = any(not _has_data_period(d) for d in denials)
    periods = tuple(
        sorted(
            {(d.data_period_start, d.data_period_end) for d in denials if _has_data_period(d)},
            key=lambda p: (p[0] is not None, p[0] or dt.datetime.min.replace(tzinfo=dt.UTC)),
        )
    )
    return whole, periods


# --- Break-the-glass (værdispring) -------------------------------------------


def _break_glasses_of(actor: Actor) -> QuerySet[BreakGlass]:
    """The actor's overrides still open: opened by this user in the role and
    organisation she acts in now. An override is stated for one recipient
    (R3): opened as the acute function's nurse, it does not open the citizen
    to the same person acting for another organisation or in another role."""
    if actor.user is None or actor.organisation is None:
        return BreakGlass.objects.none()
    return BreakGlass.objects.filter(
        user=actor.user,
        organisation=actor.organisation,
        role=actor.role,
        expires_at__gt=timezone.now(),
    )


def _open_break_glass(actor: Actor, citizen_id: int) -> BreakGlass | None:
    return _break_glasses_of(actor).filter(citizen_id=citizen_id).order_by("-expires_at").first()


def open_break_glasses(actor: Actor) -> dict[int, BreakGlass]:
    """The actor's open overrides by citizen; of two for one citizen, the one
    that runs longest (as :func:`_open_break_glass` picks)."""
    found: dict[int, BreakGlass] = {}
    for glass in _break_glasses_of(actor).order_by("expires_at", "pk"):
        found[glass.citizen_id] = glass
    return found


def override_decision(glass: BreakGlass) -> Decision:
    return Decision(True, "break_glass", "break_glass", glass.pk, glass.reason)


def _break_glass_decision(actor: Actor, citizen: Citizen, otherwise: Decision) -> Decision:
    glass = _open_break_glass(actor, citizen.pk)
    if glass is None:
        return otherwise
    return override_decision(glass)


# --- The decision ------------------------------------------------------------


# The reason an auditor is refused the insight report of a citizen whose
# whole log is not hers (decision 0039).
OUTSIDE_AUDIT_SCOPE = "outside_audit_scope"

# The reason a member of staff of a municipality that has left the acute
# function is refused (README, "A municipality joins or leaves").
MUNICIPALITY_NOT_PARTICIPATING = "municipality_not_participating"


def acts_for_withdrawn_municipality(actor: Actor) -> bool:
    """Whether the actor is staff (or background work on behalf of staff) of
    an organisation of a municipality that no longer takes part in the acute
    function: deny by default, whatever the role or relationship. The joint
    function's own staff, a hospital's, 1813's and a GP's belong to no
    municipality and are not affected."""
    if actor.membership is None:
        return False
    return withdrawn_municipality(actor.membership.organisation) is not None


def access_decide(
    *,
    actor: Actor,
    citizen: Citizen,
    action: str,
    category: str,
    purpose: str,
    data_dates: tuple[dt.datetime, ...] = (),
    own_care: str = "",
) -> Decision:
    """Permit or deny; no side effects. ``data_dates`` are the dates of the
    record data asked for, if one resource is (its current version, and the
    version read): a data-period refusal covering any of them refuses.
    ``own_care`` (a basis) says what is asked is the clinician's own record
    of the care she gives now: see :func:`own_care_decision`."""
    if actor.membership is None:
        if not actor.task:
            return Decision(False, "no_actor")
        if actor.partner is None:
            return Decision(False, "role_not_permitted")
        # Loading from a partner's own system: storage, not disclosure.
        if action == Action.CREATE and category in DataCategory.values:
            return Decision(True, "import_from_source", "partner_system")
        # Background work for a partner organisation (a hand-off): the
        # organisation's own relationship and the citizen's refusals decide.
        if category not in RECORD_CATEGORIES:
            return Decision(False, "category_not_permitted")
        if purpose not in SYSTEM_PURPOSES:
            return Decision(False, "purpose_not_permitted")
        return _relationship_and_refusals(actor, citizen, category, purpose, data_dates, action)
    if acts_for_withdrawn_municipality(actor):
        return Decision(False, MUNICIPALITY_NOT_PARTICIPATING)
    role = actor.role
    if role == Role.AUDITOR:
        if category != CATEGORY_INSIGHT or purpose != Purpose.AUDIT:
            return Decision(False, "role_not_permitted")
        # The report shows every access to her: only an auditor whose scope
        # holds the citizen's whole log (consent.audit.scope, decision 0039).
        if not auditor_scope(actor).covers_citizen(citizen):
            return Decision(False, OUTSIDE_AUDIT_SCOPE)
        return Decision(True, "right_of_insight", "auditor")
    if role == Role.ADMINISTRATOR:
        if category == CATEGORY_CONSENT and purpose == Purpose.OPERATIONS:
            return Decision(True, "consent_administration", "administrator")
        return Decision(False, "role_not_permitted")
    if role not in CLINICAL_ROLES or actor.organisation is None:
        return Decision(False, "role_not_permitted")
    if category not in RECORD_CATEGORIES and category != CATEGORY_CONSENT:
        return Decision(False, "category_not_permitted")
    if purpose not in PERMITTED_PURPOSES[role]:
        return Decision(False, "purpose_not_permitted")
    if purpose == Purpose.EMERGENCY:
        return _break_glass_decision(actor, citizen, Decision(False, "no_break_glass"))
    return _relationship_and_refusals(
        actor, citizen, category, purpose, data_dates, action, own_care=own_care
    )


# What an own-care access records in its entry when a refusal covered her.
REFUSAL_IN_FORCE = "refusal_in_force"


def own_care_decision(basis: str) -> Decision:
    """What the clinician records and does of the care she is giving the
    citizen now (the acute nurse's own visit under way; the acute function
    ending its own episode) is her own record of care, not a disclosure to
    her: a refusal by the citizen that covers her (R4 governs disclosure)
    does not stop it, and needs no break-the-glass. Permitted on ``basis``,
    the refusal named in the entry (R9), so the auditors and the citizen's
    insight report see it. The care relationship, the role and the purpose
    still decide as for every access (docs/decisions/0029)."""
    return Decision(True, basis, basis, extra={REFUSAL_IN_FORCE: True})


def _relationship_and_refusals(
    actor: Actor,
    citizen: Citizen,
    category: str,
    purpose: str,
    data_dates: tuple[dt.datetime, ...] = (),
    action: str = "",
    *,
    own_care: str = "",
) -> Decision:
    basis = _relationship_basis(actor, citizen)
    if not basis:
        return _break_glass_decision(actor, citizen, Decision(False, "no_care_relationship"))
    if category == CATEGORY_CONSENT:
        # A refusal never stops staff from recording the citizen's own wishes.
        if action not in (Action.READ, Action.SEARCH) or not getattr(
            citizen, "has_directives", True
        ):
            return Decision(True, "care_relationship", basis)
        # But read, what the citizen said of other recipients and purposes is
        # not disclosed to one she refused: only the directives that apply to
        # her (to tell the citizen what stands, and to record its withdrawal).
        directives = active_directives([citizen.pk])
        if not refusal_for(directives, actor, purpose)[0]:
            return Decision(True, "care_relationship", basis)
        org_ids = _org_ancestor_ids(actor.organisation) if actor.organisation else set()
        shown = frozenset(
            d.pk
            for d in directives
            if directive_covers(d, actor=actor, purpose=purpose, org_ids=org_ids)
        )
        return _break_glass_decision(
            actor, citizen, Decision(True, "care_relationship", basis, directives_shown=shown)
        )
    has_directives = getattr(citizen, "has_directives", True)
    if not has_directives:
        return Decision(True, "care_relationship", basis)
    whole, periods = refusal_for(active_directives([citizen.pk]), actor, purpose)
    if own_care and (whole or (periods and category in DATED_CATEGORIES)):
        return own_care_decision(own_care)
    if whole:
        return _break_glass_decision(actor, citizen, Decision(False, "refused", basis))
    if periods and category in DATED_CATEGORIES:
        # Only break-the-glass shows refused data; used, it is recorded as such.
        if any(in_hidden_period(when, periods) for when in data_dates):
            return _break_glass_decision(
                actor, citizen, Decision(False, "refused_data_period", basis)
            )
        return _break_glass_decision(
            actor, citizen, Decision(True, "care_relationship", basis, hidden_periods=periods)
        )
    return Decision(True, "care_relationship", basis)


# Who registers a citizen (Patient create): the acute function's coordinator
# at intake, for residents of a participating municipality her function
# serves, and municipal home nursing, for residents of the municipalities it
# serves. Everyone else finds citizens already registered; clinicians with a
# care relationship update them.
PATIENT_CREATORS = frozenset({Role.COORDINATOR, Role.HOME_NURSE})


def patient_create_decide(*, actor: Actor, municipality: Organisation, purpose: str) -> Decision:
    """May this actor register a new citizen resident in ``municipality``? No
    citizen exists yet, so the relationship is the one the actor's organisation
    has with the municipality."""
    organisation = actor.organisation
    if actor.membership is None or actor.role not in PATIENT_CREATORS or organisation is None:
        return Decision(False, "role_not_permitted")
    if purpose not in PERMITTED_PURPOSES[actor.role] or purpose == Purpose.EMERGENCY:
        return Decision(False, "purpose_not_permitted")
    if actor.role == Role.COORDINATOR:
        # Participating, and served by her own function: the citizens she may
        # then take a referral for (as the intake look-up below asks).
        if (
            organisation.kind == Organisation.Kind.ACUTE_FUNCTION
            and municipality.participates
            and organisation.serves.filter(pk=municipality.pk).exists()
        ):
            return Decision(True, "patient_intake", "participating_municipality")
        return Decision(False, "municipality_not_served")
    if (
        organisation.kind == Organisation.Kind.HOME_NURSING
        and organisation.serves.filter(pk=municipality.pk).exists()
    ):
        return Decision(True, "patient_intake", "home_nursing_of_municipality")
    return Decision(False, "municipality_not_served")


def patient_intake_lookup_decide(*, actor: Actor, citizen: Citizen, purpose: str) -> Decision:
    """May the coordinator see who a CPR number typed at a phone referral
    belongs to (name and address, to confirm with the caller)? Only the acute
    function's coordinator, for treatment, for a resident of a municipality her
    organisation serves — the citizens she may take a referral for — and not
    when the citizen has refused disclosure to her altogether (R4)."""
    organisation = actor.organisation
    if actor.membership is None or actor.role != Role.COORDINATOR or organisation is None:
        return Decision(False, "role_not_permitted")
    if purpose != Purpose.TREATMENT:
        return Decision(False, "purpose_not_permitted")
    if (
        organisation.kind != Organisation.Kind.ACUTE_FUNCTION
        or not organisation.serves.filter(pk=citizen.municipality_id).exists()
    ):
        return Decision(False, "municipality_not_served")
    whole, _periods = refusal_for(active_directives([citizen.pk]), actor, purpose)
    if whole:
        return Decision(False, "refused", "referral_intake")
    return Decision(True, "referral_intake", "participating_municipality")
