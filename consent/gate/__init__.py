"""The access gate: the one function every read and write of citizen data passes.

``access_decide`` answers permit/deny with a reason and touches nothing.
``access_citizen`` decides, records the decision in the audit log, and either
returns the citizen or raises :class:`core.errors.NotFoundOrNotAllowed` — the
same error whether the citizen does not exist or may not be seen.
``visible_citizens`` is the same decision for many citizens at once, for
searches: it never lets a hidden citizen through, not even into a total.

A permit needs (R1, R3, R4):

1. a role that may receive shared data, for a purpose defined for it (R3);
2. a care relationship (R1): the acute nurse's own visit or referral, the
   coordinator's organisation-level referral, the citizen's own GP practice,
   the home nursing serving the citizen's municipality, a hospital department
   with an open contact, or a recorded relationship of the organisation;
3. no refusal by the citizen that covers this recipient, professional,
   purpose and moment (R4) — unless the citizen's own consent, recorded after
   it, lifts it.

A refusal with a data period (FHIR ``provision.dataPeriod``) does not refuse
the citizen: the decision permits and carries the periods in
``Decision.hidden_periods``; readers leave out every record resource dated
inside them (:func:`in_hidden_period`), and a read of one such resource is
refused outright (pass ``data_dates``).

What a clinician records and does of the care she is giving now (``own_care``:
the acute nurse's own visit under way, the acute function ending its own
episode) is her own record of care, not a disclosure to her: 3 does not stop
it, and the entry names the basis and the refusal it passed
(:func:`consent.gate.rules.own_care_decision`, docs/decisions/0029). Every
read of the shared record still obeys 3.

Break-the-glass (*værdispring*) replaces 2 and 3 for one clinician, one
citizen, a short time. Every access that the override alone made possible —
a read, a write, a search hit, a citizen counted in a total, a list — is
recorded with purpose ``emergency``, the reason ``break_glass``, and the
override's id and stated reason in the entry's detail, which is what flags it
for the auditors and shows it in the citizen's insight report. The decision
says so (``Decision.break_glass_id``); for searches ``VisibleRecord.overrides``
names the citizens only the override shows, and :func:`audit_listed` records
them.

Ask the gate *before* opening a write's transaction: a denial is recorded at
once and must not be rolled back with the refused write.

``consent.gate`` is the one place to import the gate from. This module holds
its doors — the functions that decide *and* record: :func:`access_citizen`,
:func:`access_record`, :func:`audit_decision` (a write's own entry),
:func:`audit_listed`, :func:`audit_searched`, :func:`may_search_citizens` and
:func:`audit_search_refused` — so that every entry the gate writes goes
through its one ``audit_record``. Behind them:

- :mod:`consent.gate.rules` — the rules, with no side effects: the categories
  and the purposes per role (R3), :class:`Decision`, care relationships (R1),
  refusals and consents (R4), break-the-glass, ``access_decide`` and
  ``patient_create_decide``;
- :mod:`consent.gate.queries` — what the gate reads with a citizen, in one
  query compiled once per shape of actor;
- :mod:`consent.gate.visible` — the same decision for many citizens at once.

One module, longer than most: its doors decide and record in one motion, and
they stay together so that every entry the gate writes goes through its one
``audit_record`` and a reviewer can see that no door records otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from consent.audit.services import (
    Action,
    Outcome,
    Purpose,
    audit_record,
    audit_record_many,
    audit_write,
)
from consent.gate.queries import (
    Shape,
    citizen_with_facts,
    record_fetch,
    record_with_citizen,
    row_id,
)
from consent.gate.rules import (
    CATEGORY_CONSENT,
    CATEGORY_INSIGHT,
    CATEGORY_PATIENT,
    CATEGORY_SUMMARY,
    CLINICAL_ROLES,
    DATED_CATEGORIES,
    MUNICIPALITY_NOT_PARTICIPATING,
    PATIENT_CREATORS,
    PERMITTED_PURPOSES,
    RECORD_CATEGORIES,
    SYSTEM_PURPOSES,
    Decision,
    HiddenPeriod,
    access_decide,
    active_directives,
    acts_for_withdrawn_municipality,
    audit_detail,
    consent_in_force,
    directive_covers,
    in_hidden_period,
    open_break_glasses,
    override_decision,
    own_care_decision,
    patient_create_decide,
    patient_intake_lookup_decide,
    refusal_for,
)
from consent.gate.visible import VisibleRecord, visible_citizens, visible_record
from consent.models import RecordResource
from core.actors import Actor
from core.catchment import MunicipalityNotParticipating
from core.errors import NotFoundOrNotAllowed
from core.fhir.gate import OneRead
from core.models import Citizen

__all__ = [
    "CATEGORY_CONSENT",
    "CATEGORY_INSIGHT",
    "CATEGORY_PATIENT",
    "CATEGORY_SUMMARY",
    "CLINICAL_ROLES",
    "DATED_CATEGORIES",
    "PATIENT_CREATORS",
    "PERMITTED_PURPOSES",
    "RECORD_CATEGORIES",
    "SYSTEM_PURPOSES",
    "Action",
    "Decision",
    "HiddenPeriod",
    "MunicipalityNotParticipating",
    "Purpose",
    "Shape",
    "VisibleRecord",
    "access_citizen",
    "access_citizen_as_author",
    "access_decide",
    "access_record",
    "audit_decision",
    "audit_detail",
    "audit_listed",
    "audit_search_refused",
    "audit_searched",
    "author_list_decide",
    "consent_in_force",
    "directive_covers",
    "in_hidden_period",
    "may_search_citizens",
    "municipality_withdrawn_refuse",
    "own_care_decision",
    "patient_create_decide",
    "patient_intake_lookup_decide",
    "reads_permitted",
    "record_fetch",
    "refusal_for",
    "row_id",
    "search_citizen",
    "visible_citizens",
    "visible_record",
]


def municipality_withdrawn_refuse(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_id: int | None = None,
    resource_type: str = "",
    resource_id: str = "",
) -> None:
    """Refuse staff of a municipality that has left the acute function, before
    anything else is decided: recorded as a denied attempt (R9) on the citizen
    asked about, if known, then :class:`MunicipalityNotParticipating`. Does
    nothing for anyone else."""
    if not acts_for_withdrawn_municipality(actor):
        return
    audit_record(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=MUNICIPALITY_NOT_PARTICIPATING,
    )
    raise MunicipalityNotParticipating()


@dataclass(frozen=True)
class _Asked:
    """What a caller asks the gate about one citizen (see :func:`access_citizen`)."""

    action: str
    category: str
    purpose: str
    resource_type: str = ""
    resource_id: str = ""
    audit_permit: bool = True
    detail: dict[str, Any] | None = None
    data_dates: tuple[dt.datetime, ...] = ()
    own_care: str = ""


def access_citizen(
    *,
    actor: Actor,
    citizen_id: int,
    action: str,
    category: str,
    purpose: str,
    resource_type: str = "",
    resource_id: str = "",
    audit_permit: bool = True,
    detail: dict[str, Any] | None = None,
    data_dates: tuple[dt.datetime, ...] = (),
    own_care: str = "",
) -> Citizen:
    """Decide, audit, and return the citizen — or raise "not found" for both unknown and refused.

    ``audit_permit=False`` is for writes: the caller records the permitted
    write inside its own transaction (a denial is still recorded here).
    The decision is left on the returned citizen as ``gate_decision``.
    ``own_care`` (a basis): what is asked is the actor's own record of the
    care she gives now, which a refusal does not stop
    (:func:`consent.gate.rules.own_care_decision`); only its caller knows.
    """
    asked = _Asked(
        action,
        category,
        purpose,
        resource_type,
        resource_id,
        audit_permit,
        detail,
        data_dates,
        own_care,
    )
    return _decide_and_audit(actor, citizen_with_facts(actor, citizen_id), asked)


def access_record(
    *, actor: Actor, resource_type: str, resource_id: str, purpose: str
) -> RecordResource:
    """One record resource, if the gate permits reading its citizen's data of
    its category; decided and audited as :func:`access_citizen` does. The
    resource, its citizen and what the gate reads with the citizen come in
    one query."""
    resource, citizen = record_with_citizen(actor, resource_type, resource_id)
    asked = _Asked(
        Action.READ,
        resource.category if resource else "",
        purpose,
        resource_type,
        resource_id,
        data_dates=(resource.data_date,) if resource else (),
    )
    _decide_and_audit(actor, citizen, asked)
    assert resource is not None  # the gate refuses an unknown citizen
    return resource


def author_list_decide(
    *, actor: Actor, citizen_ids: Iterable[int], purpose: str
) -> tuple[set[int], dict[int, Decision]]:
    """For a list of the actor's own work (her orders, her alerts): the
    citizens whose refusal covers her (R4) and whom no open break-the-glass
    of hers opens — left out — and, by citizen, the override that alone
    shows the others a refusal covers, to be recorded as the emergency
    access it is (:func:`audit_listed`). No side effects."""
    ids = set(citizen_ids)
    by_citizen: dict[int, list[Any]] = {}
    for directive in active_directives(ids):
        by_citizen.setdefault(directive.citizen_id, []).append(directive)
    refused = {
        citizen_id
        for citizen_id, directives in by_citizen.items()
        if refusal_for(directives, actor, purpose)[0]
    }
    if not refused:
        return refused, {}
    glasses = open_break_glasses(actor)
    overrides = {cid: override_decision(glasses[cid]) for cid in refused if cid in glasses}
    return refused - set(overrides), overrides


def access_citizen_as_author(
    *,
    actor: Actor,
    citizen_id: int,
    action: str,
    category: str,
    purpose: str,
    basis: str,
    resource_type: str,
    resource_id: str,
    own_care: str = "",
) -> Decision:
    """The clinician reaches what she herself gave for the citizen (the
    ordering physician's own order): having given it stands for the care
    relationship (``basis``), but the citizen's refusal covering her decides
    as it does everywhere (R4) — only her open break-the-glass overrides it,
    recorded as such. Decided and audited; refused, "not found".

    ``own_care`` (a basis): it belongs to the care she gives now (her result
    on her own visit under way), which the refusal does not stop
    (:func:`consent.gate.rules.own_care_decision`)."""
    municipality_withdrawn_refuse(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    decision = Decision(True, basis, basis)
    if refusal_for(active_directives([citizen_id]), actor, purpose)[0]:
        if own_care:
            decision = own_care_decision(own_care)
        elif glass := open_break_glasses(actor).get(citizen_id):
            decision = override_decision(glass)
        else:
            decision = Decision(False, "refused", basis)
    audit_decision(
        actor=actor,
        decision=decision,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id,
        category=category,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    if not decision.permitted:
        raise NotFoundOrNotAllowed()
    return decision


def reads_permitted(
    *, actor: Actor, citizen_id: int, purpose: str, reads: Sequence[OneRead]
) -> list[bool]:
    """Whether a read of each of these resources of the citizen's would be
    permitted: the decision :func:`access_citizen` takes for each, recording
    nothing. For the References a write names (``core.fhir.references``):
    the write says nothing of the resources' content, and records its own
    refusal, the same whether a resource is refused to the writer or not
    held. The citizen and what the gate reads with her are read once, for
    all of them, by this actor and now."""
    if not reads:
        return []
    citizen = citizen_with_facts(actor, citizen_id)
    if citizen is None:
        return [False for _ in reads]
    return [
        _decided(
            actor,
            citizen,
            _Asked(
                Action.READ,
                read["category"],
                purpose,
                read["resource_type"],
                read["resource_id"],
                data_dates=read.get("data_dates", ()),
            ),
        ).permitted
        for read in reads
    ]


def _decided(actor: Actor, citizen: Citizen, asked: _Asked) -> Decision:
    """What the gate decides of ``asked``; no side effects."""
    decision = access_decide(
        actor=actor,
        citizen=citizen,
        action=asked.action,
        category=asked.category,
        purpose=asked.purpose,
        data_dates=asked.data_dates,
        own_care=asked.own_care,
    )
    if (
        decision.directives_shown is not None
        and asked.resource_id
        and row_id(asked.resource_id) not in decision.directives_shown
    ):
        # One of the citizen's directives that does not apply to a reader she
        # refused: refused as the record is (R4).
        decision = Decision(False, "refused", decision.basis)
    return decision


def _decide_and_audit(actor: Actor, citizen: Citizen | None, asked: _Asked) -> Citizen:
    municipality_withdrawn_refuse(
        actor=actor,
        action=asked.action,
        purpose=asked.purpose,
        citizen_id=citizen.pk if citizen is not None else None,
        resource_type=asked.resource_type,
        resource_id=asked.resource_id,
    )
    if citizen is None:
        audit_record(
            actor=actor,
            action=asked.action,
            purpose=asked.purpose,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type=asked.resource_type,
            resource_id=asked.resource_id,
            reason_code="unknown_citizen",
        )
        raise NotFoundOrNotAllowed()
    decision = _decided(actor, citizen, asked)
    if decision.permitted and not asked.audit_permit:
        citizen.gate_decision = decision  # type: ignore[attr-defined]
        return citizen
    audit_decision(
        actor=actor,
        decision=decision,
        action=asked.action,
        purpose=asked.purpose,
        citizen_id=citizen.pk,
        category=asked.category,
        resource_type=asked.resource_type,
        resource_id=asked.resource_id,
        detail=asked.detail,
    )
    if not decision.permitted:
        raise NotFoundOrNotAllowed()
    citizen.gate_decision = decision  # type: ignore[attr-defined]
    return citizen


def search_citizen(
    *,
    actor: Actor,
    citizen_id: int,
    category: str,
    purpose: str,
    resource_type: str,
    detail: dict[str, Any] | None = None,
) -> Citizen | None:
    """One citizen a search names (``patient=``, ``_id=``, a CPR number): decided
    and audited as :func:`access_citizen` does, but a refusal is an empty
    result (``None``), exactly as for a citizen who does not exist."""
    try:
        return access_citizen(
            actor=actor,
            citizen_id=citizen_id,
            action=Action.SEARCH,
            category=category,
            purpose=purpose,
            resource_type=resource_type,
            detail=detail,
        )
    except NotFoundOrNotAllowed:
        return None


def audit_decision(
    *,
    actor: Actor,
    decision: Decision,
    action: str,
    purpose: str,
    citizen_id: int,
    category: str,
    resource_type: str = "",
    resource_id: str = "",
    detail: dict[str, Any] | None = None,
    reason_code: str | None = None,
) -> None:
    """Record what the gate decided for one citizen: the purpose as the
    decision states it (``emergency`` when the override alone permitted), the
    reason, the basis. A write the gate let through with ``audit_permit=False``
    records itself with this, inside its own transaction. A write that is
    found by what it did (``reason_code``, e.g. a death withdrawn) keeps the
    gate's reason in the detail as ``gate_reason``."""
    extra = dict(detail or {})
    if reason_code is not None:
        extra["gate_reason"] = decision.reason_code
    audit_write(
        actor=actor,
        action=action,
        purpose=decision.audit_purpose(purpose),
        citizen_id=citizen_id,
        outcome=Outcome.PERMITTED if decision.permitted else Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=reason_code or decision.reason_code,
        detail=audit_detail(decision, category, extra),
    )


def may_search_citizens(*, actor: Actor, purpose: str, resource_type: str) -> bool:
    """Whether the actor's role may search across citizens at all, for this
    purpose (R3). If not, nothing can match, and the refused attempt is still
    recorded (R9). Staff of a municipality that has left the acute function
    are refused outright (:class:`MunicipalityNotParticipating`)."""
    municipality_withdrawn_refuse(
        actor=actor, action=Action.SEARCH, purpose=purpose, resource_type=resource_type
    )
    if actor.role in CLINICAL_ROLES and purpose in PERMITTED_PURPOSES[actor.role]:
        return True
    audit_search_refused(
        actor=actor,
        purpose=purpose,
        resource_type=resource_type,
        reason_code="role_not_permitted"
        if actor.role not in CLINICAL_ROLES
        else "purpose_not_permitted",
    )
    return False


def audit_search_refused(
    *, actor: Actor, purpose: str, resource_type: str, reason_code: str
) -> None:
    """Record a search refused before any citizen was looked at: it names no
    citizen, and it is still an attempt (R9)."""
    audit_record(
        actor=actor,
        action=Action.SEARCH,
        purpose=purpose,
        citizen_id=None,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        reason_code=reason_code,
    )


def audit_listed(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_ids: Iterable[int],
    overrides: Mapping[int, Decision],
    category: str,
    resource_type: str = "",
    reason_code: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record what a search or list disclosed, one entry per citizen (IHE
    BALP). A citizen only the override showed (``overrides``, from
    :func:`visible_record`) is an emergency access, with the override's id and
    reason, as a read under it would be; the others are recorded as asked."""
    ids = list(dict.fromkeys(citizen_ids))
    ordinary = [cid for cid in ids if cid not in overrides]
    if ordinary:
        audit_record_many(
            actor=actor,
            action=action,
            purpose=purpose,
            citizen_ids=ordinary,
            resource_type=resource_type,
            reason_code=reason_code,
            detail=detail,
        )
    for cid in ids:
        decision = overrides.get(cid)
        if decision is not None:
            audit_decision(
                actor=actor,
                decision=decision,
                action=action,
                purpose=purpose,
                citizen_id=cid,
                category=category,
                resource_type=resource_type,
                detail=detail,
            )


# The reason of the entry a search across citizens leaves when it shows none.
SEARCH_NO_CITIZEN = "search_no_citizen"


def audit_searched(
    *,
    actor: Actor,
    purpose: str,
    page: Iterable[int],
    matches: QuerySet[Any],
    citizen_field: str,
    overrides: Mapping[int, Decision],
    category: str,
    resource_type: str,
    detail: dict[str, Any] | None = None,
    searched: Iterable[str] = (),
) -> None:
    """Record a search across citizens (:func:`audit_listed`): each citizen on
    the ``page``, and each citizen only the override let into the total of
    ``matches`` — counted, they disclose as much as shown (that such data
    exists). ``citizen_field`` names the citizen's id in ``matches``.

    A search that shows no citizen is an access to the register all the
    same (R9): an auditor must see that someone searched it. It is one entry
    naming no citizen (``search_no_citizen``) with the names of the
    parameters ``searched``, never their values (a name or a CPR number
    may be in them)."""
    counted = (
        matches.filter(**{f"{citizen_field}__in": list(overrides)})
        .order_by()
        .values_list(citizen_field, flat=True)
        .distinct()
        if overrides
        else []
    )
    named = [*page, *sorted(counted)]
    if not named:
        audit_record(
            actor=actor,
            action=Action.SEARCH,
            purpose=purpose,
            citizen_id=None,
            outcome=Outcome.PERMITTED,
            resource_type=resource_type,
            reason_code=SEARCH_NO_CITIZEN,
            detail={"params": sorted(dict.fromkeys(searched))},
        )
        return
    audit_listed(
        actor=actor,
        action=Action.SEARCH,
        purpose=purpose,
        citizen_ids=named,
        overrides=overrides,
        category=category,
        resource_type=resource_type,
        detail=detail,
    )
