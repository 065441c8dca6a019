"""Admission and discharge notifications from the hospital (HospitalNotification style).

The Encounter's status says what happened: ``in-progress`` — admitted;
``finished`` — discharged. For a citizen the acute function follows, an
admission withdraws the visits not yet under way at the door (the nurse need
not drive out), puts the referrals no nurse is on yet on hold with a warning on
the coordinator's board, and opens the hospital's care relationship; a
discharge closes it, resumes the held referrals and, when the message carries
a ServiceRequest, starts a follow-up referral.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.utils import translation
from django.utils.translation import gettext_noop

from acute.models import Referral, Visit
from acute.services import (
    RESUMED_DISCHARGED,
    referrals_admitted,
    referrals_resume_after_discharge,
    visit_withdraw,
)
from consent.models import HOSPITAL_STAY_SOURCE, CareRelationship
from consent.services import care_relationship_close, care_relationship_open
from core.actors import Actor
from core.deaths import is_registered_dead
from core.models import Citizen
from core.sql import CompiledQuery, columns_of, instances_of, plain_columns
from integrations.adapters import Handled
from integrations.medcom.inbound import STAY_OF_ANOTHER
from integrations.messages import InvalidMessage, ParsedMessage
from integrations.models import Partner
from integrations.patients import citizen_find_locked, citizen_find_or_register
from integrations.referrals import referral_from_partner, requested_visit

# The most a stay's key may hold: the care relationship's source_id.
STAY_KEY_LENGTH = 64


def stay_key(issuer: str, identifier: str) -> str:
    """The key of a hospital stay: who issued its identifier, and the
    identifier. One that does not fit the care relationship's ``source_id``
    is named by the SHA-256 digest of the whole, never cut: two stays whose
    identifiers begin alike are two stays, neither ending the other."""
    key = f"{issuer}:{identifier}"
    if len(key) <= STAY_KEY_LENGTH:
        return key
    prefix = "sha256:"
    return prefix + hashlib.sha256(key.encode()).hexdigest()[: STAY_KEY_LENGTH - len(prefix)]


def _encounter_key(partner: Partner, encounter: dict[str, Any]) -> str:
    ids = [i.get("value") for i in encounter.get("identifier") or [] if i.get("value")]
    key = ids[0] if ids else encounter.get("id")
    if not key:
        raise InvalidMessage(
            "hospital.encounter_id_missing",
            "The Encounter needs an identifier.",
            field="Encounter.identifier",
        )
    return stay_key(partner.code, str(key))


def _open_visits(citizen_id: int) -> QuerySet[Visit]:
    """The citizen's visits not yet at her door."""
    return Visit.objects.filter(
        citizen_id=citizen_id,
        status__in=[Visit.Status.ASSIGNED, Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE],
    )


def _withdraw_open_visits(citizen_id: int, actor: Actor, open_visits: list[int]) -> list[Visit]:
    """The visits not yet at her door withdrawn (``open_visits``: their ids,
    read with her stays by :func:`hospital_stays_open`), as withdrawn: the
    board's warning names each and its nurse."""
    ids = sorted(open_visits)
    if not ids:
        return []
    # The note is kept with the visit for staff to read: written in the
    # platform's language, whatever language the message is processed in.
    with translation.override(settings.LANGUAGE_CODE):
        note = translation.gettext("The citizen was admitted to hospital.")
    # Each read again, locked, and its status asked again, by the withdrawal.
    return [
        visit_withdraw(
            visit=Visit(pk=pk), note=note, actor=actor, reason=Visit.CancelReason.ADMITTED
        )
        for pk in ids
    ]


def citizen_admitted(
    partner: Partner,
    citizen: Citizen,
    key: str,
    open_stays: list[str],
    open_visits: list[int],
    actor: Actor,
) -> dict[str, Any]:
    """The hospital reports the citizen admitted in its stay ``key`` (R12),
    on either of its doors: the stay opened as her care relationship with
    the hospital (``open_stays``: those open before), the visits not yet at
    her door withdrawn (``open_visits``), her referrals no nurse is on held,
    and the coordinator warned of the others. What the message's result
    says of it."""
    admission_for_the_living(citizen)
    if key not in open_stays:
        hospital_contact_open(partner, citizen, key)
    withdrawn = _withdraw_open_visits(citizen.pk, actor, open_visits)
    held, warned = referrals_admitted(
        citizen_id=citizen.pk, admission=key, actor=actor, withdrawn=withdrawn
    )
    return {
        "admission": key,
        "visits_withdrawn": [visit.pk for visit in withdrawn],
        "referrals_on_hold": held,
        "referrals_warned": warned,
    }


def _follow_up(
    partner: Partner, message: ParsedMessage, citizen: Citizen, actor: Actor
) -> int | None:
    requests = message.of_type("ServiceRequest")
    if not requests:
        return None
    requested = requested_visit(
        message,
        requests[0],
        physician_missing=InvalidMessage(
            "hospital.physician_missing",
            "A follow-up needs the discharging physician (Practitioner with a phone number).",
            field="ServiceRequest.requester",
        ),
        default_reason=gettext_noop("Follow-up after discharge"),
        default_actions=gettext_noop("Follow-up visit after discharge"),
    )
    referral = referral_from_partner(
        requested, citizen=citizen, partner=partner, source=Referral.Source.HOSPITAL, actor=actor
    )
    return referral.pk


def _stays_open(key: str, citizen_id: int) -> QuerySet[CareRelationship, tuple[str, int]]:
    return (
        CareRelationship.objects.filter(source_type=HOSPITAL_STAY_SOURCE, ended_at__isnull=True)
        .filter(Q(source_id=key) | Q(citizen_id=citizen_id))
        .values_list("source_id", "citizen_id")
    )


# What a row of :func:`stay_rows` is: an open stay (its key and citizen), a
# visit not yet at her door (its status and id), or a message (its header and
# citizen: ``integrations.hospital.medcom``).
STAY, VISIT, MESSAGE = 0, 1, 2


def stay_rows(
    key: str, citizen_id: int, *, visits: bool
) -> QuerySet[CareRelationship, tuple[str, int, int]]:
    """:func:`_stays_open` as rows of :data:`STAY` and, for an admission
    (``visits``), her visits not yet at her door as rows of :data:`VISIT`, in
    one statement; each row is a text, an id and what it is."""
    rows = (
        _stays_open(key, citizen_id)
        .annotate(row_kind=Value(STAY))
        .values_list("source_id", "citizen_id", "row_kind")
    )
    if not visits:
        return rows
    return rows.union(
        _open_visits(citizen_id)
        .annotate(row_kind=Value(VISIT))
        .values_list("status", "pk", "row_kind"),
        all=True,
    )


# The per-message reads of a hospital's message about a stay, compiled once
# (core/sql.py).
_STAYS_OPEN = CompiledQuery(_stays_open, "stand-in stay key", -7_361_004_221)
_STAYS_OPEN_AND_VISITS = CompiledQuery(
    lambda key, citizen_id: stay_rows(key, citizen_id, visits=True),
    "stand-in stay key",
    -7_361_004_227,
)
_CITIZEN = ((Citizen, ""),)
_CITIZEN_LOCKED = CompiledQuery(
    lambda pk: Citizen.objects.select_for_update().filter(pk=pk).values_list(*columns_of(_CITIZEN)),
    -7_361_004_223,
)


def hospital_stays_open(citizen: Citizen, key: str) -> list[str]:
    """The stays the platform holds open for the citizen (their keys), read in
    one query with the stay ``key`` a message names. A stay is one citizen's:
    a message naming a stay held open for another citizen is refused, before
    its admission could borrow her care relationship or its discharge end it."""
    if connection.vendor == "postgresql":
        rows = _STAYS_OPEN.rows(key, citizen.pk)
    else:
        rows = list(_stays_open(key, citizen.pk))
    return hospital_stays_of(citizen, key, [(text, pk, STAY) for text, pk in rows])[0]


def hospital_stays_open_and_visits(citizen: Citizen, key: str) -> tuple[list[str], list[int]]:
    """:func:`hospital_stays_open` for an admission, which withdraws her
    visits not yet at her door: their ids read in the same statement, after
    her row is locked (``citizen_locked``; a nurse is sent to her only with
    her row locked, so none is sent before the withdrawal)."""
    if connection.vendor == "postgresql":
        rows = _STAYS_OPEN_AND_VISITS.rows(key, citizen.pk)
    else:
        rows = list(stay_rows(key, citizen.pk, visits=True))
    return hospital_stays_of(citizen, key, rows)


def hospital_stays_of(
    citizen: Citizen, key: str, rows: Sequence[tuple[str, int, int]]
) -> tuple[list[str], list[int]]:
    """The keys of the open stays and the ids of the open visits among
    ``rows`` (of :func:`stay_rows`); the message refused if the stay ``key``
    is another citizen's."""
    stays = [(text, pk) for text, pk, kind in rows if kind == STAY]
    others = {owner for source_id, owner in stays if source_id == key and owner != citizen.pk}
    if others:
        raise InvalidMessage(
            STAY_OF_ANOTHER,
            "The hospital stay this message names is another citizen's.",
            field="Encounter.episodeOfCare.identifier",
            citizen_ids=others,
        )
    return [source_id for source_id, _owner in stays], [pk for _s, pk, k in rows if k == VISIT]


def hospital_stay_end(
    citizen: Citizen,
    key: str,
    actor: Actor,
    open_stays: list[str],
    *,
    cause: str = RESUMED_DISCHARGED,
) -> dict[str, Any]:
    """The stay ``key`` ended (a discharge, a cancelled admission: ``cause``,
    shown to the coordinator): its care relationship closes, and the
    citizen's referrals held for an admission
    resume, unless she is still in another stay the platform knows
    (``open_stays``, from :func:`hospital_stays_open`): admitted at another
    department, or the message names a stay never reported admitted. She is
    still in hospital, so the hold stays."""
    if key in open_stays:
        care_relationship_close(
            source_type=HOSPITAL_STAY_SOURCE, source_id=key, citizen_id=citizen.pk
        )
    still_in = [stay for stay in open_stays if stay != key]
    if still_in:
        return {"referrals_resumed": [], "still_admitted": still_in}
    return {
        "referrals_resumed": referrals_resume_after_discharge(
            citizen_id=citizen.pk, actor=actor, cause=cause
        )
    }


def hospital_contact_open(partner: Partner, citizen: Citizen, key: str) -> None:
    """The hospital is in contact with the citizen: a care relationship the
    gate knows, until the discharge closes it (``key``: the stay)."""
    care_relationship_open(
        citizen=citizen,
        organisation=partner.organisation,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type=HOSPITAL_STAY_SOURCE,
        source_id=key,
    )


def citizen_locked(citizen: Citizen) -> Citizen:
    """The citizen read again with her row locked for the transaction of the
    hospital's message, taken before anything of her stay is read: another
    message about her waits until this one is committed, then reads the
    stay as this one left it (no hold twice, no resume before the admission
    it ends is in). A citizen the message names is found locked in the
    same read (``integrations.patients.citizen_find_locked``); this is for
    one registered, or found, by another look-up."""
    if connection.vendor != "postgresql" or not plain_columns(_CITIZEN):
        return Citizen.objects.select_for_update().get(pk=citizen.pk)
    rows = _CITIZEN_LOCKED.rows(citizen.pk, binary=True)
    if not rows:
        raise Citizen.DoesNotExist
    return cast("Citizen", instances_of(rows[0], _CITIZEN)[0])


def admission_for_the_living(citizen: Citizen) -> None:
    """A citizen registered deceased is not admitted (R12): the message is
    refused with a fatal error, its attempt audited, and nothing changes — no
    care relationship for the hospital, no hold. A death reported in error is
    corrected first (MedCom: the Patient's ``deceasedBoolean`` false)."""
    if is_registered_dead(citizen):
        raise InvalidMessage(
            "hospital.citizen_deceased",
            "The citizen is registered deceased, so an admission cannot be received. "
            "A death reported in error is corrected with Patient.deceasedBoolean false.",
            field="Patient",
        )


def hospital_notification_receive(
    partner: Partner, message: ParsedMessage, actor: Actor
) -> Handled:
    encounter = message.one("Encounter")
    patient = message.one("Patient")
    key = _encounter_key(partner, encounter)
    status = encounter.get("status")
    if status == "in-progress":
        # Found and locked in one read (see ``citizen_locked``).
        citizen = citizen_find_locked(patient)
        if citizen is None:
            # Not a citizen the platform knows: nothing to pause, nothing to open.
            return Handled(citizen=None, result={"admission": "not_followed"})
        open_stays, open_visits = hospital_stays_open_and_visits(citizen, key)
        return Handled(
            citizen=citizen,
            result=citizen_admitted(partner, citizen, key, open_stays, open_visits, actor),
        )
    if status == "finished":
        wants_follow_up = bool(message.of_type("ServiceRequest"))
        found = citizen_find_locked(patient)
        if found is None and wants_follow_up:
            # A new citizen, registered for her follow-up (or by a message
            # about her that was committed meanwhile: then locked here).
            found = citizen_locked(citizen_find_or_register(patient))
        if found is None:
            return Handled(citizen=None, result={"discharge": "not_followed"})
        citizen = found
        ended = hospital_stay_end(citizen, key, actor, hospital_stays_open(citizen, key))
        referral = _follow_up(partner, message, citizen, actor)
        return Handled(
            citizen=citizen,
            result={"discharge": key, **ended, "follow_up_referral": referral},
        )
    raise InvalidMessage(
        "hospital.encounter_status_unsupported",
        "A hospital notification's Encounter must be in-progress (admitted)"
        " or finished (discharged).",
        field="Encounter.status",
    )
