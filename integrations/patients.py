"""The citizen a message is about: found by CPR number or replacement CPR
(X-eCPR or D-eCPR), or registered from the message's Patient when a partner
refers someone new (1813)."""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from django.db import IntegrityError, connection, transaction

from consent.fhir.datatypes import instant
from consent.fhir.patient import chosen_home_address, chosen_name, chosen_phone
from core.deaths import death_day, death_time_missing
from core.errors import Duplicate, InvalidInput
from core.fhir.patient import DK_MUNICIPALITY_EXTENSION
from core.models import MUNICIPALITY_CODE_SYSTEM, Citizen, Organisation
from core.services import citizen_create, citizen_text_checked
from core.sql import CompiledQuery, columns_of, instances_of, plain_columns
from integrations.messages import InvalidMessage, patient_identity

T = TypeVar("T")

GEOLOCATION = "http://hl7.org/fhir/StructureDefinition/geolocation"
DEATH_FIELD = "Patient.deceasedDateTime"

# The citizens registered from messages while one message is processed
# (``registrations_noted``); None outside one.
_registered: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "integrations_registered", default=None
)


@contextmanager
def registrations_noted() -> Iterator[list[int]]:
    """The ids of the citizens ``citizen_find_or_register`` registers inside
    the block. A message refused after it registered a new citizen rolls her
    back with everything else; this is how its refusal still knows it reached
    for a citizen's record (R9)."""
    noted: list[int] = []
    token = _registered.set(noted)
    try:
        yield noted
    finally:
        _registered.reset(token)


# A citizen by CPR number with her municipality and GP practice (none: its
# columns all null), looked up for every message received: compiled once.
_CITIZEN = ((Citizen, ""), (Organisation, "municipality__"), (Organisation, "gp_practice__"))
_BY_CPR = CompiledQuery(
    lambda cpr: Citizen.objects.filter(cpr=cpr).values_list(*columns_of(_CITIZEN))[:1],
    "stand-in CPR number",
)


def _citizen_by_cpr(cpr: str) -> Citizen | None:
    if connection.vendor != "postgresql" or not plain_columns(_CITIZEN):
        # A CPR number is unique: its row needs no ORDER BY, whose building
        # is a fifth of this lookup's CPU, paid for every message received.
        citizens = Citizen.objects.select_related("municipality", "gp_practice")
        return next(iter(citizens.filter(cpr=cpr)[:1]), None)
    rows = _BY_CPR.rows(cpr, binary=True)
    if not rows:
        return None
    citizen, municipality, practice = instances_of(rows[0], _CITIZEN)
    found = cast("Citizen", citizen)
    found.municipality = cast("Organisation", municipality)
    found.gp_practice = cast("Organisation", practice) if found.gp_practice_id else None
    return found


def citizen_find(patient: dict[str, Any]) -> Citizen | None:
    """The citizen with the Patient's CPR number, else with its replacement
    CPR (one who had a replacement CPR before her CPR number came is found
    by either)."""
    identity = patient_identity(patient)
    found = _citizen_by_cpr(identity.cpr) if identity.cpr else None
    if found is None and identity.replacement is not None:
        citizens = Citizen.objects.select_related("municipality", "gp_practice")
        found = citizens.filter(Citizen.holding(identity.replacement)).first()
    return found


# The same citizen read with her row locked for the transaction (a hospital's
# message about her stay): her row alone, found and locked in one statement.
_LOCKED = ((Citizen, ""),)
_BY_CPR_LOCKED = CompiledQuery(
    lambda cpr: (
        Citizen.objects.select_for_update().filter(cpr=cpr).values_list(*columns_of(_LOCKED))
    ),
    "stand-in CPR number",
)


def citizen_find_locked(patient: dict[str, Any]) -> Citizen | None:
    """:func:`citizen_find`, her row locked for the transaction as it is
    found (``SELECT … FOR UPDATE``): the first read of a message about her
    is the lock, so nothing else of hers is read before another message
    about her is committed. Read without her municipality and GP practice."""
    identity = patient_identity(patient)
    found: Citizen | None = None
    if identity.cpr:
        if connection.vendor != "postgresql" or not plain_columns(_LOCKED):
            found = Citizen.objects.select_for_update().filter(cpr=identity.cpr).first()
        else:
            rows = _BY_CPR_LOCKED.rows(identity.cpr, binary=True)
            found = cast("Citizen", instances_of(rows[0], _LOCKED)[0]) if rows else None
    if found is None and identity.replacement is not None:
        found = (
            Citizen.objects.select_for_update()
            .filter(Citizen.holding(identity.replacement))
            .order_by("pk")
            .first()
        )
    return found


def _municipality(patient: dict[str, Any]) -> Organisation:
    codes = {
        str(coding.get("code") or "")
        for extension in patient.get("extension") or []
        if extension.get("url") == DK_MUNICIPALITY_EXTENSION
        for coding in (extension.get("valueCodeableConcept") or {}).get("coding") or []
        if coding.get("system") in (None, "", MUNICIPALITY_CODE_SYSTEM)
    }
    # The municipality decides who serves the citizen and who gets the
    # hand-back (R1, R11): of two codes, the first one known was taken
    # silently. Refused as on the FHIR Patient door.
    if len(codes) > 1:
        raise InvalidMessage(
            "message.patient_municipality_ambiguous",
            "The Patient gives more than one municipality of residence.",
            field="Patient.extension(dk-core-municipalityCodes)",
        )
    org = (
        Organisation.objects.filter(
            kind=Organisation.Kind.MUNICIPALITY, municipality_code=next(iter(codes))
        ).first()
        if codes
        else None
    )
    if org is not None:
        return org
    raise InvalidMessage(
        "message.patient_municipality_unknown",
        "The Patient's municipality code is missing or unknown.",
        field="Patient.extension(dk-core-municipalityCodes)",
    )


def _location(address: dict[str, Any]) -> tuple[Decimal, Decimal]:
    for extension in address.get("extension") or []:
        if extension.get("url") == GEOLOCATION:
            values = {e.get("url"): e.get("valueDecimal") for e in extension.get("extension") or []}
            try:
                return Decimal(str(values["latitude"])), Decimal(str(values["longitude"]))
            except (KeyError, InvalidOperation):
                break
    raise InvalidMessage(
        "message.patient_location_missing",
        "A new citizen's address needs its geolocation (latitude and longitude).",
        field="Patient.address.extension(geolocation)",
    )


def death_time_stated(patient: dict[str, Any]) -> dt.datetime | None:
    """The time of death a message's Patient states in ``deceasedDateTime``,
    read as the FHIR Patient door reads it (``consent.fhir.datatypes.instant``):
    a date alone is the first moment of that day in Copenhagen
    (:func:`core.times.day_start`), a time without its
    offset is refused (``time.naive``), as on every door. Read so by every
    door that takes a death from a message's Patient (a new citizen
    registered, the hospital's death event)."""
    stated = patient.get("deceasedDateTime")
    return instant(stated, field=DEATH_FIELD) if isinstance(stated, str) else None


def _death(patient: dict[str, Any]) -> dt.datetime | None:
    """The time of death a new citizen's Patient states
    (``death_time_stated``). ``deceasedBoolean`` true without a time is
    refused as on the FHIR Patient door (``patient.deceased_time_required``):
    she is not registered alive against the message, nor dead at a guessed
    time. Only the hospital's death event (``integrations.hospital.medcom``)
    takes the end of the stay for the time, and only for a citizen already
    known."""
    died_at = death_time_stated(patient)
    if died_at is None and patient.get("deceasedBoolean") is True:
        raise death_time_missing(field="Patient.deceasedBoolean")
    if died_at is None and patient.get("deceasedDateTime"):
        # A date of less than a day (``2026-03``) states a death, not its time.
        raise death_time_missing(field=DEATH_FIELD)
    return died_at


def _read(choose: Callable[[dict[str, Any]], T], patient: dict[str, Any]) -> T:
    """One of the Patient's facts read by ``choose``; a refusal is the
    message's fatal-error, naming the element."""
    try:
        return choose(patient)
    except InvalidInput as exc:
        raise InvalidMessage(
            exc.code, exc.message, field=f"Patient.{exc.field}", params=exc.params
        ) from None


def citizen_find_or_register(patient: dict[str, Any]) -> Citizen:
    """The citizen with the Patient's CPR number or replacement CPR;
    registered if not yet known.

    A new citizen whose Patient reports her dead is registered dead, her
    time of death checked as the FHIR Patient create checks it
    (``core.services.citizen_create``): a time to come or before her birth
    (``death.in_future``, ``death.before_birth``) or no time at all
    (``patient.deceased_time_required``) refuses the message with a
    fatal-error. Whatever the message goes on to start for her (a referral)
    is then refused as for any citizen registered dead, and the registration
    rolls back with it: the message is processed in one transaction
    (``integrations.inbound``), whose refusal is audited as a denied attempt
    on a new citizen, naming none (``registrations_noted``).

    A citizen already known is returned as she is: a death her Patient
    reports in a message does not register (nor withdraw) one here. Only the
    hospital's death event (HospitalNotification) and her Patient written
    over FHIR do; a message starting work for a citizen the platform knows
    as alive is received as for the living.

    Two messages about the same new citizen can arrive at once (two 1813
    cases, or a case and a hospital's notice): the one that registers second
    waits on the CPR number's (or replacement CPR's) unique index and then
    uses the citizen the other registered, instead of failing the message."""
    existing = citizen_find(patient)
    if existing is not None:
        return existing
    # The official name, the home address and the phone to call, chosen as
    # the FHIR Patient door chooses them; of two, neither is taken.
    name = _read(chosen_name, patient)
    address = _read(chosen_home_address, patient)
    phone = _read(chosen_phone, patient)
    given = " ".join(g for g in name.get("given") or [] if isinstance(g, str))
    family = str(name.get("family") or "")
    # Every line of the address, as the FHIR Patient door keeps them: the
    # second ("2. tv.") is the door a nurse rings at.
    line = " ".join(x for x in address.get("line") or [] if isinstance(x, str))
    city = str(address.get("city") or "")
    if not given or not family or not line or not address.get("postalCode"):
        raise InvalidMessage(
            "message.patient_incomplete",
            "A new citizen needs a name and a home address.",
            field="Patient",
        )
    try:
        for column, value, element in (
            ("given_name", given, "name.given"),
            ("family_name", family, "name.family"),
            ("address_line", line, "address.line"),
            ("city", city, "address.city"),
            ("phone", phone, "telecom"),
        ):
            citizen_text_checked(column, value, element=element)
    except InvalidInput as exc:
        raise InvalidMessage(
            exc.code, exc.message, field=f"Patient.{exc.field}", params=exc.params
        ) from None
    latitude, longitude = _location(address)
    died_at = _death(patient)
    try:
        with transaction.atomic():
            registered = citizen_create(
                cpr=patient_identity(patient).cpr,
                replacement_cpr=patient_identity(patient).replacement,
                given_name=given,
                family_name=family,
                address_line=line,
                postal_code=address.get("postalCode", ""),
                city=city,
                latitude=latitude,
                longitude=longitude,
                municipality=_municipality(patient),
                phone=phone,
                deceased_at=died_at,
                deceased_on=death_day(patient.get("deceasedDateTime")),
                death_field=DEATH_FIELD,
            )
    except (IntegrityError, Duplicate):
        registered_meanwhile = citizen_find(patient)
        if registered_meanwhile is None:
            raise
        return registered_meanwhile
    noted = _registered.get()
    if noted is not None:
        noted.append(registered.pk)
    return registered
