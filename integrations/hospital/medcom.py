"""MedCom's HospitalNotification from a hospital (R12).

What happened is read from ``Provenance.activity`` of the Provenance about
this message (its target is this MessageHeader), MedCom's event codes:
admission (inpatient or acute ambulant), start and end of leave, discharge to
home, each with its revision and cancellation, and a cancellation by an
Encounter ``entered-in-error``. A finished Encounter of a Patient reported
deceased is a death, whatever the activity. Admissions and discharges are
keyed on the episode-of-care identifier
(``Encounter.episodeOfCare.identifier``), so a discharge closes the admission
it belongs to whatever Encounter ids come and go.

For a citizen the platform knows:

- admission: visits not yet at the door are withdrawn, her referrals no nurse
  is on yet are put on hold with an ``admitted`` warning on the coordinator's
  board, the coordinator is warned too of her other open referrals and of a
  visit today, the hospital's care relationship opens;
- discharge (and a cancelled admission): the relationship closes, the held
  referrals resume;
- a cancelled discharge (its cancellation, or the discharge sent again with
  the Encounter ``entered-in-error``): admitted again, as an admission;
- death: registered deceased, her open referrals closed, visits withdrawn
  (a time of death to come, or before her birth, is refused);
- a citizen registered deceased is not admitted: the message gets a
  fatal-error (``hospital.citizen_deceased``), audited, and changes nothing;
  a Patient with ``deceasedBoolean`` false corrects a death reported in
  error, and so does the hospital's cancellation of its own death message
  (naming it as removed, or sent again ``entered-in-error``): the stay it
  ended is open again, and the rest of the message is then received; while
  another hospital's death message about her stands, she stays registered
  dead at its time (``death_stands``);
- her messages are processed one at a time: her row is locked first;
- leave and revisions: recorded in the acknowledgement's result; the hold
  stays (she is still admitted). A leave of a stay the platform does not
  hold open (its admission delayed, or never sent here) is received as its
  admission, and a revised discharge of a stay still open (delivered before
  the discharge it revises) as its discharge;
- a stay named by several episode-of-care identifiers (the national
  patient register's and the department's own) is kept under one, and a
  message naming it by any of them, in any order, names that stay;
- a message that arrives after a later event of the same stay (its
  ``Provenance.occurredDateTime`` before the latest the platform received
  for that stay: an admission delayed past its discharge) is acknowledged
  ``ok`` and changes nothing (``superseded_by``): the stay is as its latest
  event left it. A death is a death whenever it arrives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, Q, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from acute.services import (
    RESUMED_ADMISSION_CANCELLED,
    citizen_death_register,
    citizen_death_restate,
    citizen_death_withdraw,
)
from consent.audit.models import AuditEntry
from consent.models import HOSPITAL_STAY_SOURCE, CareRelationship
from consent.services import care_relationship_close
from core.actors import Actor
from core.deaths import death_day, death_day_kept, death_time_check
from core.models import Citizen
from core.sql import CompiledQuery
from integrations.adapters import Handled
from integrations.hospital.inbound import (
    MESSAGE,
    admission_for_the_living,
    citizen_admitted,
    hospital_stay_end,
    hospital_stays_of,
    hospital_stays_open,
    hospital_stays_open_and_visits,
    stay_key,
    stay_rows,
)
from integrations.medcom.inbound import REMOVED_UNKNOWN, activity_of, own_provenance
from integrations.messages import (
    InvalidMessage,
    ParsedMessage,
    message_instant,
    message_moment_past,
)
from integrations.models import InboundMessage, Partner
from integrations.patients import DEATH_FIELD, citizen_find_locked, death_time_stated

ADMIT = {"admit-inpatient", "admit-emergency"}
DISCHARGE = {"discharge-inpatient-home", "discharge-emergency-home"}
CANCEL_ADMIT = {"cancel-admit-inpatient", "cancel-admit-emergency"}
CANCEL_DISCHARGE = {"cancel-discharge-inpatient-home", "cancel-discharge-emergency-home"}
LEAVE = {
    "start-leave-inpatient",
    "end-leave-inpatient",
    "revise-start-leave-inpatient",
    "revise-end-leave-inpatient",
    "cancel-start-leave-inpatient",
    "cancel-end-leave-inpatient",
}
REVISE_DISCHARGE = {"revise-discharge-inpatient-home", "revise-discharge-emergency-home"}
REVISE = {"revise-admit-inpatient", "revise-admit-emergency"} | REVISE_DISCHARGE
# Where the message's row keeps the time of death it registered.
DIED_AT = "died_at"
# Beside ``died_at``, where the message gave the death as a day alone: the
# day, kept so a report that stands is restated as it was given.
DIED_ON = "died_on"
# Where the row of a hospital's cancelled death report names the other
# stay whose death message keeps her registered dead.
DEATH_STANDS = "death_stands"
# Where a death message's row says that the death ended a stay the platform
# held open (its cancellation opens it again).
DEATH_ENDED_STAY = "death_ended_stay"
# Where the message's row keeps every key of the stay it named, when it
# named the stay by more than one identifier.
EPISODE_IDENTIFIERS = "episode_identifiers"
# The Encounter's status while she is in the stay (on leave too).
IN_STAY = {"in-progress", "onleave"}
KNOWN = ADMIT | DISCHARGE | CANCEL_ADMIT | CANCEL_DISCHARGE | LEAVE | REVISE
# DK-core's identifier system of the national patient register (LPR3).
LPR3_SYSTEM = "https://www.esundhed.dk/Registre/Landspatientregisteret"


def _activity(message: ParsedMessage) -> str:
    """The activity of the Provenance about this message."""
    activity = activity_of(own_provenance(message))
    if activity:
        return activity
    raise InvalidMessage(
        "hospital.activity_missing",
        "The HospitalNotification needs a Provenance with the activity of this message.",
        field="Provenance.activity",
    )


def _episode_keys(partner: Partner, encounter: dict[str, Any]) -> list[str]:
    """The keys of the stay, one for each episode-of-care identifier the
    Encounter names (``TEK-ID-2``: the national patient register's and the
    department's own), each named by whoever issued it (the SOR unit in
    ``…#id=<SOR>``, or the national patient register), so that a department
    that revises or cancels another's admission names the same stay; an
    identifier of no known issuer is the sending partner's. The national
    register's comes first, whatever the order the message lists them in."""
    keys: list[str] = []
    for episode in encounter.get("episodeOfCare") or []:
        identifier = episode.get("identifier") or {}
        if identifier.get("value"):
            system = str(identifier.get("system") or "")
            issuer = partner.code
            if "#id=" in system:
                issuer = "sor:" + system.rsplit("#id=", 1)[1]
            elif system == LPR3_SYSTEM:
                issuer = "lpr3"
            key = stay_key(issuer, str(identifier["value"]))
            if key not in keys:
                keys.append(key)
    if not keys:
        raise InvalidMessage(
            "hospital.episode_of_care_missing",
            "The Encounter needs the episode-of-care identifier of the hospital stay.",
            field="Encounter.episodeOfCare.identifier",
        )
    return sorted(keys, key=lambda key: not key.startswith("lpr3:"))


def _stay_received(citizen_id: int, keys: list[str]) -> str | None:
    """The first of ``keys`` the platform has received a message about for
    the citizen (asked of a message that names its stay by several)."""
    received = set(
        InboundMessage.objects.filter(
            citizen_id=citizen_id,
            outcome=InboundMessage.Outcome.OK,
            result__episode_of_care__in=keys,
        ).values_list("result__episode_of_care", flat=True)
    )
    return next((key for key in keys if key in received), None)


def _not_to_come(raw: object, *, field: str) -> dt.datetime | None:
    """The message's moment ``raw`` (``field``), refused where it lies ahead
    of our clock by more than the clocks' skew (see
    :func:`integrations.messages.message_moment_past`)."""
    return message_moment_past(
        raw,
        field=field,
        code="hospital.occurred_in_future",
        text=f"{field} lies in the future: a hospital notification reports what has"
        " already happened.",
    )


def _occurred_at(message: ParsedMessage, encounter: dict[str, Any]) -> dt.datetime | None:
    """When the event of this message happened (its own Provenance's
    ``occurredDateTime``), ``None`` where it states no time. A time to come
    (beyond the clocks' skew) is refused: a notification reports what has
    happened, and kept, a discharge stamped next month would outrank every
    true event of the stay until then: her re-admission today would change
    nothing, and nurses would be sent to a citizen in hospital (R12). So is
    an Encounter's period starting or ending ahead: the hospital stay it
    reports begins with her arrival and ends with her discharge (MedCom's
    ``Encounter.period``), and its end is her time of death where the
    Patient gives none. (A period that ends before it starts breaks FHIR's
    per-1, refused with MedCom's rules.)"""
    provenance = own_provenance(message) or {}
    field = "Provenance.occurredDateTime"
    occurred_at = _not_to_come(provenance.get("occurredDateTime"), field=field)
    period = encounter.get("period")
    if isinstance(period, dict):
        for end in ("start", "end"):
            _not_to_come(period.get(end), field=f"Encounter.period.{end}")
    return occurred_at


def _later_in_stay(
    citizen_id: int, key: str, occurred_at: dt.datetime
) -> QuerySet[InboundMessage, str]:
    """The message headers received about the citizen's stay ``key`` whose
    event happened after ``occurred_at``: PostgreSQL reads the kept ISO 8601
    moments, offset and all, so the stay's messages are compared where they
    are, not read one by one."""
    return (
        InboundMessage.objects.alias(
            stay=KT("result__episode_of_care"),
            stated=Cast(KT("result__occurred_at"), DateTimeField()),
        )
        .filter(
            citizen_id=citizen_id,
            outcome=InboundMessage.Outcome.OK,
            stay=key,
            stated__gt=occurred_at,
        )
        .values_list("header_id", flat=True)[:1]
    )


def _stay_and_later_rows(
    key: str, citizen_id: int, occurred_at: dt.datetime, *, visits: bool
) -> QuerySet[Any, tuple[str, int, int]]:
    """The rows of ``stay_rows`` (her open stays; her visits not yet at her
    door, for an admission) and, in the same statement, a :data:`MESSAGE` row
    with the header of a later event of the stay (``_later_in_stay``)."""
    later = (
        _later_in_stay(citizen_id, key, occurred_at)
        .annotate(row_kind=Value(MESSAGE))
        .values_list("header_id", "citizen_id", "row_kind")
    )
    return stay_rows(key, citizen_id, visits=visits).union(later, all=True)


def _named_several(citizen_id: int) -> list[dict[str, Any]]:
    """The results of the received messages of her open stays that named
    their stay by more than one identifier (where the stay is kept, and all
    it was named by). Only open stays: another name matters to the stay a
    message can still end, and the messages are found by their stay (the
    index on citizen and stay), not by reading every message she ever had."""
    open_stays = CareRelationship.objects.filter(
        source_type=HOSPITAL_STAY_SOURCE, ended_at__isnull=True, citizen_id=citizen_id
    ).values("source_id")
    return list(
        InboundMessage.objects.alias(stay=KT("result__episode_of_care"))
        .filter(
            citizen_id=citizen_id,
            outcome=InboundMessage.Outcome.OK,
            stay__in=open_stays,
            result__has_key=EPISODE_IDENTIFIERS,
        )
        .values_list("result", flat=True)
    )


def _kept_as(results: list[dict[str, Any]]) -> dict[str, str]:
    """Each identifier's key of the stays in ``results`` (of messages that
    named their stay by several), and the key the stay is kept under."""
    return {
        str(named): str(result["episode_of_care"])
        for result in results
        for named in result.get(EPISODE_IDENTIFIERS) or []
    }


# Asked of every hospital message about a stay, with her open stays (and an
# admission's open visits): compiled once (core/sql.py).
_STAND_INS = (
    "stand-in stay key",
    -7_361_004_225,
    dt.datetime(1901, 2, 3, tzinfo=dt.UTC),
)
_STAYS_AND_LATER = {
    visits: CompiledQuery(
        lambda key, citizen_id, at, visits=visits: _stay_and_later_rows(
            key, citizen_id, at, visits=visits
        ),
        *_STAND_INS,
    )
    for visits in (False, True)
}


def _stays_and_superseded_by(
    citizen: Citizen, key: str, occurred_at: dt.datetime | None, *, admits: bool
) -> tuple[list[str], list[int], str | None]:
    """Her open stays and, for an admission (``admits``), her visits not yet
    at her door (``hospital_stays_open_and_visits``), and the message header
    of a later event of the stay ``key`` (``_superseded_by``; none without
    ``occurred_at``): on PostgreSQL in one statement, after her row is
    locked."""
    if occurred_at is None or connection.vendor != "postgresql":
        if admits:
            stays, visits = hospital_stays_open_and_visits(citizen, key)
        else:
            stays, visits = hospital_stays_open(citizen, key), []
        later = _superseded_by(citizen, key, occurred_at) if occurred_at is not None else None
        return stays, visits, later
    rows = _STAYS_AND_LATER[admits].rows(key, citizen.pk, occurred_at)
    stays, visits = hospital_stays_of(citizen, key, rows)
    return stays, visits, next((str(text) for text, _pk, kind in rows if kind == MESSAGE), None)


def _stay_read(
    citizen: Citizen, keys: list[str], occurred_at: dt.datetime | None, *, admits: bool
) -> tuple[str, list[str], list[int], str | None]:
    """The key the stay ``keys`` name is kept under, and
    :func:`_stays_and_superseded_by` for it. A hospital names a stay by the
    national register's identifier, its own, or both, and not always alike
    (the admission by both, the discharge by one): a stay the platform
    received under one of its identifiers is kept under that one, however
    the next message names it. Another name is looked for only where the
    first does not name a stay she has open and she has one, or the message
    names several: a stay's messages named alike cost no more."""
    key = keys[0]
    stays, visits, later = _stays_and_superseded_by(citizen, key, occurred_at, admits=admits)
    if key in stays or (len(keys) == 1 and not stays):
        return key, stays, visits, later
    kept_as = _kept_as(_named_several(citizen.pk)) if stays else {}
    known = next((kept_as[named] for named in keys if named in kept_as), None)
    if known is None and len(keys) > 1:
        known = next((named for named in keys if named in stays), None) or _stay_received(
            citizen.pk, keys
        )
    if known is None or known == key:
        return key, stays, visits, later
    stays, visits, later = _stays_and_superseded_by(citizen, known, occurred_at, admits=admits)
    return known, stays, visits, later


def _superseded_by(citizen: Citizen, key: str, occurred_at: dt.datetime) -> str | None:
    """The message header of a later event of the stay ``key`` the platform
    has already received for the citizen, if there is one: a message about
    the stay that happened before it arrived late and must not undo it
    (SQLite's way: on PostgreSQL :func:`_stays_and_superseded_by` asks it)."""
    for header_id, kept in InboundMessage.objects.filter(
        citizen=citizen,
        outcome=InboundMessage.Outcome.OK,
        result__episode_of_care=key,
        result__has_key="occurred_at",
    ).values_list("header_id", "result__occurred_at"):
        moment = message_instant(kept, field="occurred_at")
        if moment is not None and moment > occurred_at:
            return header_id
    return None


def _removed(message: ParsedMessage) -> set[str]:
    """The MessageHeader.ids the Provenance about this message names as
    removed (MedCom's ``removal``: the earlier message it cancels)."""
    removed = {
        str((entity.get("what") or {}).get("reference") or "").rstrip("/").rsplit("/", 1)[-1]
        for entity in (own_provenance(message) or {}).get("entity") or []
        if isinstance(entity, dict) and entity.get("role") == "removal"
    }
    removed.discard("")
    return removed


# What a hospital reads when its message names as removed a message that is
# not its own about this citizen (core.messages words it in Danish).
REMOVAL_NOT_ITS = (
    "The message names as removed a message this platform never received"
    " from this partner about this citizen."
)


def _removal_held(partner: Partner, message: ParsedMessage, citizen: Citizen | None) -> None:
    """A hospital names as removed only its own earlier messages about the
    citizen (R3): one naming another partner's message, or its own about
    another citizen, is refused as naming a message the platform never
    received (``MSG_NO_EXIST``), whose it is untold; the other message's
    citizen is audited with the denied attempt (R9). A message the
    platform never received (sent before she was followed) names nothing
    and is no refusal."""
    removed = _removed(message)
    if not removed:
        return
    named = InboundMessage.objects.filter(header_id__in=removed).values_list(
        "partner_id", "citizen_id"
    )
    foreign = [
        citizen_id
        for partner_id, citizen_id in named
        if partner_id != partner.pk
        or (citizen_id is not None and (citizen is None or citizen_id != citizen.pk))
    ]
    if not foreign:
        return
    others = sorted({c for c in foreign if c is not None and (citizen is None or c != citizen.pk)})
    raise InvalidMessage(
        REMOVED_UNKNOWN, REMOVAL_NOT_ITS, field="Provenance.entity.what", citizen_ids=others
    )


def _cancels_death(
    partner: Partner,
    message: ParsedMessage,
    patient: dict[str, Any],
    citizen: Citizen,
    key: str,
) -> bool:
    """Whether the message cancels the hospital's own death message of the
    stay ``key`` that the citizen is registered dead by: its Provenance
    names that message as removed (MedCom's ``removal``), or it is that
    message sent again cancelled, still carrying the death it cancels. A
    death registered by another door or another partner, or a cancelled
    discharge home, is not withdrawn."""
    if citizen.deceased_at is None:
        return False
    deaths = set(
        InboundMessage.objects.filter(
            partner=partner,
            citizen=citizen,
            outcome=InboundMessage.Outcome.OK,
            result__episode_of_care=key,
        )
        .filter(Q(result__has_key=DIED_AT) | Q(result__has_key="referrals_closed"))
        .values_list("header_id", flat=True)
    )
    if not deaths:
        return False
    return bool(_removed(message) & deaths) or bool(
        patient.get("deceasedBoolean") is True or patient.get("deceasedDateTime")
    )


def _death_standing(citizen: Citizen, key: str) -> tuple[dt.datetime, dt.date | None, str] | None:
    """The death another hospital reported for the citizen (its time, and
    its stay), when one still stands as the hospital of stay ``key``
    withdraws its own: a death message of another stay received since her
    death was last withdrawn, by any door (each withdrawal is audited as
    ``death_withdrawn``), and not cancelled by its own hospital since. The
    earliest time of death, if several stand, with its day where it was
    given as a day."""
    last_withdrawn = (
        AuditEntry.objects.filter(citizen_id=citizen.pk, reason_code="death_withdrawn")
        .order_by("-recorded_at")
        .values_list("recorded_at", flat=True)
        .first()
    )
    rows = (
        InboundMessage.objects.filter(
            citizen=citizen,
            outcome=InboundMessage.Outcome.OK,
            result__has_any_keys=[DIED_AT, DEATH_STANDS, "death_withdrawn"],
        )
        .exclude(result__episode_of_care=key)
        .order_by("received_at", "pk")
        .values_list("result", flat=True)
    )
    if last_withdrawn is not None:
        rows = rows.filter(received_at__gt=last_withdrawn)
    standing: dict[str, tuple[dt.datetime, dt.date | None]] = {}
    for result in rows:
        stay = str(result.get("episode_of_care"))
        moment = message_instant(result.get(DIED_AT), field=DIED_AT)
        if moment is not None:
            standing[stay] = (moment, death_day(result.get(DIED_ON)))
        else:
            # That hospital cancelled its own report of the death.
            standing.pop(stay, None)
    earliest = min(((at, stay) for stay, (at, _day) in standing.items()), default=None)
    if earliest is None:
        return None
    moment, stay = earliest
    return moment, standing[stay][1], stay


def _death_ended_stay(citizen: Citizen, key: str) -> bool:
    """Whether a death message of the stay ``key`` received for the citizen
    ended the stay while the platform held it open."""
    return InboundMessage.objects.filter(
        citizen=citizen,
        outcome=InboundMessage.Outcome.OK,
        result__episode_of_care=key,
        # A key's value, not ``contains``: SQLite has no JSON containment.
        **{f"result__{DEATH_ENDED_STAY}": True},
    ).exists()


def _died_at(
    patient: dict[str, Any], encounter: dict[str, Any], citizen: Citizen
) -> dt.datetime | None:
    """The time of death the message reports, if it reports one: the
    Patient's own, read as every door reads it (``death_time_stated``: a
    date alone is the start of that day), else — ``deceasedBoolean`` true,
    or a date of less than a day — the end of the stay, else now. A time
    that cannot be true (to come, or before she was born) is refused, naming
    the element: it would stop every referral and visit for a living
    citizen."""
    died_at, field = death_time_stated(patient), DEATH_FIELD
    if died_at is None and (
        patient.get("deceasedBoolean") is True or patient.get("deceasedDateTime")
    ):
        # Dead without a time the platform can read (deceasedBoolean, or a
        # date of less than a day: ``2026-03``): she is not taken for alive.
        field = "Encounter.period.end"
        end = message_instant((encounter.get("period") or {}).get("end"), field=field)
        died_at = end or timezone.now()
    if died_at is not None:
        death_time_check(died_at, birth_date=citizen.birth_date, field=field)
    return died_at


def hospital_notification_medcom_receive(
    partner: Partner, message: ParsedMessage, actor: Actor
) -> Handled:
    encounter, patient = message.one("Encounter"), message.one("Patient")
    keys = _episode_keys(partner, encounter)
    activity = _activity(message)
    # Her messages one at a time: found with her row locked, the lock held
    # to this one's commit (see ``citizen_locked``).
    citizen = citizen_find_locked(patient)
    _removal_held(partner, message, citizen)
    if citizen is None:
        # Not a citizen the platform follows: nothing to hold or resume.
        return Handled(citizen=None, result={"activity": activity, "followed": False})
    cancelled = encounter.get("status") == "entered-in-error"
    admits = (
        activity in ADMIT
        or activity in CANCEL_DISCHARGE
        or (cancelled and activity in DISCHARGE)
        or activity.startswith("revise-admit")
    ) and not (cancelled and activity in ADMIT)
    # A leave says she is in the stay: the first the platform hears of a
    # stay may be its leave (the admission delayed, or never sent here).
    in_stay = activity in LEAVE and encounter.get("status") in IN_STAY
    # When the event happened: a time that cannot be kept is refused where
    # it was refused before (after the refusals above and below).
    unreadable: InvalidMessage | None = None
    try:
        occurred_at = _occurred_at(message, encounter)
    except InvalidMessage as exc:
        occurred_at, unreadable = None, exc
    # Read in one statement: her open stays (another citizen's stay refused),
    # an admission's visits not yet at her door (it withdraws them), and a
    # later event of the stay already received.
    key, open_stays, open_visits, later = _stay_read(
        citizen, keys, occurred_at, admits=admits or in_stay
    )
    result: dict[str, Any] = {"activity": activity, "episode_of_care": key}
    if len(keys) > 1:
        result[EPISODE_IDENTIFIERS] = keys
    if patient.get("deceasedBoolean") is False and citizen.deceased_at is not None:
        # MedCom sends deceasedBoolean only for a death, or for a change back
        # from deceased: the death was reported in error. Corrected first,
        # so the rest of the message (an admission) is received for the living.
        withdrawn = citizen_death_withdraw(citizen_id=citizen.pk, admission=key, actor=actor)
        citizen.deceased_at = citizen.deceased_on = None
        result["death_withdrawn"] = withdrawn.isoformat() if withdrawn else None
    death_cancelled = (
        cancelled or activity in CANCEL_DISCHARGE or activity in CANCEL_ADMIT
    ) and _cancels_death(partner, message, patient, citizen, key)
    standing = _death_standing(citizen, key) if death_cancelled else None
    if standing is not None:
        # Another hospital's report of her death stands: she stays
        # registered dead, at the time it gives; only this report is gone.
        stays_at, stays_on, stood_by = standing
        citizen_death_restate(
            citizen_id=citizen.pk,
            died_at=stays_at,
            died_on=stays_on,
            admission=stood_by,
            actor=actor,
        )
        citizen.deceased_at = stays_at
        citizen.deceased_on = death_day_kept(stays_at, stays_on)
        result[DEATH_STANDS] = stood_by
    elif death_cancelled:
        # The hospital cancels its own death message (the Encounter
        # ``entered-in-error``, or a cancellation naming it): the death it
        # reported is withdrawn as deceasedBoolean false withdraws it, and
        # the rest of the message is received for the living.
        withdrawn = citizen_death_withdraw(citizen_id=citizen.pk, admission=key, actor=actor)
        citizen.deceased_at = citizen.deceased_on = None
        result["death_withdrawn"] = withdrawn.isoformat() if withdrawn else None
    # A cancelled death message still carries the death it cancels.
    died_at = None if death_cancelled else _died_at(patient, encounter, citizen)
    if unreadable is not None:
        raise unreadable
    if occurred_at is not None:
        result["occurred_at"] = occurred_at.isoformat()
    if died_at is not None and encounter.get("status") == "finished":
        care_relationship_close(
            source_type=HOSPITAL_STAY_SOURCE, source_id=key, citizen_id=citizen.pk
        )
        if key in open_stays:
            # Kept on the message's row: its cancellation opens the stay again.
            result[DEATH_ENDED_STAY] = True
        # Kept on the message's row: a cancellation of this message names
        # the death it withdraws by its stay.
        result[DIED_AT] = died_at.isoformat()
        # A death given as a day alone is kept as that day.
        died_on = death_day_kept(died_at, death_day(patient.get("deceasedDateTime")))
        if died_on is not None:
            result[DIED_ON] = died_on.isoformat()
        # Registered and followed as a death reported on the Patient is.
        result.update(
            citizen_death_register(
                citizen_id=citizen.pk,
                died_at=died_at,
                died_on=died_on,
                admission=key,
                actor=actor,
            )
        )
    elif standing is not None:
        # Her death stands, so the stay it ended here stays ended.
        result["recorded"] = True
    elif later is not None and activity in KNOWN:
        # Received after a later event of the same stay: recorded, and the
        # stay stays as that event left it (the dead are admitted never).
        if admits:
            admission_for_the_living(citizen)
        result["superseded_by"] = later
    elif death_cancelled and cancelled and _death_ended_stay(citizen, key):
        # The death message sent again cancelled: the stay it ended is as it
        # was before the death, open at this hospital (R12), whatever activity
        # the death message carried; her stays elsewhere were never touched.
        result.update(citizen_admitted(partner, citizen, key, open_stays, open_visits, actor))
    elif activity in CANCEL_ADMIT or (cancelled and activity in ADMIT):
        ended = hospital_stay_end(
            citizen, key, actor, open_stays, cause=RESUMED_ADMISSION_CANCELLED
        )
        result.update({"admission_cancelled": key, "discharge": key, **ended})
    elif admits or (in_stay and key not in open_stays):
        result.update(citizen_admitted(partner, citizen, key, open_stays, open_visits, actor))
    elif activity in DISCHARGE or (activity in REVISE_DISCHARGE and key in open_stays):
        # A revised discharge says she was discharged: one delivered before
        # the discharge it revises ends the stay (the discharge, late, is
        # then superseded by it).
        result.update({"discharge": key, **hospital_stay_end(citizen, key, actor, open_stays)})
    elif activity in LEAVE or activity in REVISE:
        result["recorded"] = True
    else:
        raise InvalidMessage(
            "hospital.activity_unsupported",
            "This activity is not one of MedCom's HospitalNotification activities.",
            field="Provenance.activity",
        )
    return Handled(citizen=citizen, result=result)
