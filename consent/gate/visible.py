"""The gate's decision for many citizens at once, for searches and lists: which
citizens the actor may see, which of those a refusal hides after all, the data
periods refused per citizen, and the citizens only an open break-the-glass
shows. The rules are those of :func:`consent.gate.access_decide`; the result is
used as subqueries, so that a hidden citizen never gets into a page or a total."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from consent.audit.services import Purpose
from consent.gate.rules import (
    CLINICAL_ROLES,
    DATED_CATEGORIES,
    PERMITTED_PURPOSES,
    RECORD_CATEGORIES,
    Decision,
    HiddenPeriod,
    active_directives,
    acts_for_withdrawn_municipality,
    open_break_glasses,
    open_relationships,
    override_decision,
    refusal_for,
)
from consent.models import ConsentDirective
from core.actors import Actor
from core.models import Citizen, Organisation


@dataclass
class VisibleRecord:
    """The result of :func:`visible_record`."""

    citizens: QuerySet[Citizen]  # may be seen (a subquery)
    refused: set[int]  # ... except these, whom a refusal covers
    hidden: dict[int, tuple[HiddenPeriod, ...]]  # data periods refused, per citizen
    # The citizens only an open break-the-glass shows (or whose refused data
    # only it shows), with the gate's decision for each: what a search shows
    # of them is an emergency access (:func:`consent.gate.audit_listed`).
    overrides: dict[int, Decision] = field(default_factory=dict)


def visible_citizens(
    *, actor: Actor, category: str, purpose: str
) -> tuple[QuerySet[Citizen], set[int]]:
    """For searches across citizens: (citizens the actor may see, citizens to
    leave out after all because a refusal covers them). Same rules as
    :func:`consent.gate.access_decide`; used as subqueries so totals count only these."""
    found = visible_record(actor=actor, category=category, purpose=purpose)
    return found.citizens, found.refused


def visible_record(*, actor: Actor, category: str, purpose: str) -> VisibleRecord:
    """:func:`visible_citizens` with, in addition, the data periods each visible
    citizen has refused to this reader and the citizens only the override
    shows — for searches across the record."""
    none = VisibleRecord(Citizen.objects.none(), set(), {})
    if actor.membership is None or actor.role not in CLINICAL_ROLES:
        return none
    if acts_for_withdrawn_municipality(actor):
        return none
    if category not in RECORD_CATEGORIES or actor.organisation is None:
        return none
    if purpose not in PERMITTED_PURPOSES[actor.role]:
        return none
    glasses = open_break_glasses(actor)
    if purpose == Purpose.EMERGENCY:
        # As for one citizen: the emergency purpose reaches only the citizens
        # of an open override, and every one of them through it.
        return VisibleRecord(
            Citizen.objects.filter(pk__in=list(glasses)),
            set(),
            {},
            {cid: override_decision(glass) for cid, glass in glasses.items()},
        )
    organisation = actor.organisation
    related = Q(pk__in=open_relationships(actor).values("citizen_id"))
    if organisation.kind == Organisation.Kind.GP_PRACTICE:
        related |= Q(gp_practice=organisation)
    if organisation.kind == Organisation.Kind.HOME_NURSING:
        related |= Q(municipality__in=organisation.serves.all())
    candidates = Citizen.objects.filter(related)
    overrides: dict[int, Decision] = {}
    if glasses:
        # Without a care relationship only the override shows the citizen.
        with_relationship = set(
            candidates.filter(pk__in=list(glasses)).values_list("pk", flat=True)
        )
        for cid in glasses.keys() - with_relationship:
            overrides[cid] = override_decision(glasses[cid])
    denying = {
        d.citizen_id
        for d in active_directives(candidates.values("pk"))
        if d.provision == ConsentDirective.Provision.DENY
    }
    refused: set[int] = set()
    hidden: dict[int, tuple[HiddenPeriod, ...]] = {}
    if denying:
        directives = active_directives(denying)
        for cid in denying:
            whole, periods = refusal_for(
                [d for d in directives if d.citizen_id == cid], actor, purpose
            )
            withheld = periods if category in DATED_CATEGORIES else ()
            if cid in glasses:
                # The override shows what the refusal withholds from everyone else.
                if whole or withheld:
                    overrides[cid] = override_decision(glasses[cid])
            elif whole:
                refused.add(cid)
            elif withheld:
                hidden[cid] = withheld
    return VisibleRecord(
        Citizen.objects.filter(related | Q(pk__in=list(glasses))), refused, hidden, overrides
    )
