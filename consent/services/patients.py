"""The citizen's Patient written over FHIR: registering a citizen, by the
coordinator at intake or by municipal home nursing, and versioned updates of
name, address, municipality, GP, phone and death by whom the gate lets write
the citizen's identity. The CPR number is never changed here, and it is in no
message, log line or audit entry. Every version is kept.

One module, just over 500 lines: registering and updating share one parse of
the Patient, one set of checks (places, death, position) and one versioned
store, and read best together."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.audit.services import Action
from consent.fhir import GEOLOCATION_EXTENSION, ParsedPatient, parse_patient
from consent.gate import (
    CATEGORY_PATIENT,
    PATIENT_CREATORS,
    Decision,
    access_citizen,
    audit_decision,
    patient_create_decide,
)
from consent.models import PatientVersion
from consent.selectors.patients import patient_version
from consent.services.denied import audit_denied
from consent.services.versions import wanted_version
from core.actors import Actor
from core.cpr import CPR_SYSTEM, validate_cpr
from core.deaths import (
    citizen_death_withdrawn,
    citizen_died,
    death_day_kept,
    death_time_check,
    death_time_missing,
)
from core.errors import (
    Duplicate,
    Forbidden,
    InvalidInput,
    PlatformError,
    PreconditionFailed,
)
from core.fhir.patient import DK_MUNICIPALITY_EXTENSION, patient_resource
from core.fhir.references import refuse_unheld
from core.locks import citizens_locked_then
from core.models import MUNICIPALITY_CODE_SYSTEM, Citizen, Organisation
from core.services.citizens import citizen_create
from core.validation import full_clean_or_raise, is_digits, text_blank, typed_coordinate

# The audit reason of a death corrected as reported in error, whichever door
# corrects it (the Patient here, the hospital's HospitalNotification in
# ``acute``): an auditor finds every withdrawn death by it.
DEATH_WITHDRAWN = "death_withdrawn"


def _patient_places(parsed: ParsedPatient) -> tuple[Organisation, Organisation | None]:
    """The municipality of residence and the GP practice the Patient names;
    both must be known."""
    municipality = Organisation.objects.filter(
        kind=Organisation.Kind.MUNICIPALITY, municipality_code=parsed.municipality_code
    ).first()
    gp = None
    if parsed.gp_practice_id is not None:
        gp = Organisation.objects.filter(
            pk=parsed.gp_practice_id, kind=Organisation.Kind.GP_PRACTICE
        ).first()
        if gp is None:
            raise InvalidInput(
                "patient.gp_unknown",
                "generalPractitioner names no known GP practice.",
                field="generalPractitioner",
            )
    if municipality is None:
        raise InvalidInput(
            "patient.municipality_unknown",
            "The municipality code names no known municipality.",
            field="extension",
        )
    return municipality, gp


def _patient_refused(
    *, actor: Actor, action: str, purpose: str, reason_code: str, citizen_id: int | None = None
) -> None:
    audit_denied(
        actor=actor,
        action=action,
        purpose=purpose,
        reason_code=reason_code,
        citizen_id=citizen_id,
        resource_type="Patient",
    )


def _patient_version_add(*, citizen: Citizen, version_id: int, actor: Actor | None) -> None:
    PatientVersion.objects.create(
        citizen=citizen,
        version_id=version_id,
        body=patient_resource(citizen, show_cpr=False),
        recorded_at=citizen.updated_at,
        recorded_by=actor.user if actor else None,
        recorded_by_organisation=actor.organisation if actor else None,
    )


def _citizen_fields(
    parsed: ParsedPatient, municipality: Organisation, gp: Organisation | None
) -> dict[str, Any]:
    """What a Patient sets on the citizen, at registration and at every update."""
    return {
        "given_name": parsed.given_name,
        "family_name": parsed.family_name,
        "address_line": parsed.address_line,
        "postal_code": parsed.postal_code,
        "city": parsed.city,
        "latitude": parsed.latitude,
        "longitude": parsed.longitude,
        "municipality": municipality,
        "gp_practice": gp,
        "phone": parsed.phone,
    }


def _audit_version(
    *,
    actor: Actor,
    citizen: Citizen,
    action: str,
    purpose: str,
    decision: Decision,
    version_id: int,
    withdrawn: dt.datetime | None = None,
) -> None:
    """The version just written, kept as it reads over FHIR, and its audit
    entry: inside the write's transaction, so all three commit or none. A
    death withdrawn (``withdrawn``, the time it stood at) is audited as the
    hospital's correction is (``acute.services.deaths.citizen_death_withdraw``):
    reason ``death_withdrawn``, with the time withdrawn."""
    _patient_version_add(citizen=citizen, version_id=version_id, actor=actor)
    detail: dict[str, Any] = {"version": version_id}
    if withdrawn is not None:
        detail["deceased_at_withdrawn"] = withdrawn.isoformat()
    audit_decision(
        actor=actor,
        decision=decision,
        action=action,
        purpose=purpose,
        citizen_id=citizen.pk,
        category=CATEGORY_PATIENT,
        resource_type="Patient",
        resource_id=str(citizen.pk),
        detail=detail,
        reason_code=DEATH_WITHDRAWN if withdrawn is not None else None,
    )


def patient_citizen_named(data: Any) -> int | None:
    """The registered citizen a refused Patient resource names by its CPR
    identifier, for the log of the refusal only (R9): nothing of her is
    answered, and a number that names nobody names no one."""
    identifiers = data.get("identifier") if isinstance(data, dict) else None
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if not isinstance(identifier, dict):
            continue
        value = identifier.get("value")
        if identifier.get("system") == CPR_SYSTEM and isinstance(value, str):
            try:
                number = validate_cpr(value)
            except InvalidInput:
                return None
            return Citizen.objects.filter(cpr=number).values_list("pk", flat=True).first()
    return None


def patient_create(*, actor: Actor, data: dict[str, Any], purpose: str) -> Citizen:
    """Register a citizen (Patient create). A CPR number already registered is
    refused (409 ``patient.exists``), never a second citizen and never the
    existing one's data: the caller finds that citizen through the gate with
    ``POST /fhir/Patient/_search``. Refusals are audited; the CPR number is in
    no message, log line or audit entry."""
    if actor.role not in PATIENT_CREATORS:
        # On the log of the citizen the number names, if registered (R9).
        _patient_refused(
            actor=actor,
            action=Action.CREATE,
            purpose=purpose,
            reason_code="role_not_permitted",
            citizen_id=patient_citizen_named(data),
        )
        raise Forbidden("patient.create_not_permitted", "Your role does not register citizens.")
    try:
        parsed = parse_patient(data)
        municipality, gp = _patient_places(parsed)
        # A new citizen's record holds nothing yet: only shared targets are held.
        refuse_unheld(parsed.references, citizen_id=None, actor=actor, purpose=purpose)
        # Registered dead as she would be by an update: with a time that can be true.
        _death_stated(parsed, None)
        _death_checked(parsed)
    except InvalidInput as exc:
        _patient_refused(actor=actor, action=Action.CREATE, purpose=purpose, reason_code=exc.code)
        raise
    decision = patient_create_decide(actor=actor, municipality=municipality, purpose=purpose)
    if not decision.permitted:
        _patient_refused(
            actor=actor,
            action=Action.CREATE,
            purpose=purpose,
            reason_code=decision.reason_code,
            citizen_id=patient_citizen_named(data),
        )
        raise Forbidden(
            "patient.create_not_permitted",
            "You may register residents of the municipalities your organisation serves only.",
        )
    existing = _registered(parsed)
    if existing is None:
        try:
            return _patient_store_new(
                actor=actor,
                parsed=parsed,
                municipality=municipality,
                gp=gp,
                purpose=purpose,
                decision=decision,
            )
        except (IntegrityError, Duplicate):
            pass  # registered by someone else a moment ago
        existing = _registered(parsed)
    # Who tried to register an existing citizen is on that citizen's log.
    _patient_refused(
        actor=actor,
        action=Action.CREATE,
        purpose=purpose,
        reason_code="patient_exists",
        citizen_id=existing,
    )
    raise Duplicate(
        "patient.exists",
        "A citizen with this CPR number or replacement CPR is already registered. Find them with "
        "POST /fhir/Patient/_search (identifier in the body) instead of registering again.",
        field="identifier",
    )


def _registered(parsed: ParsedPatient) -> int | None:
    """The citizen already holding the Patient's CPR number or replacement CPR."""
    condition = Q(pk__in=[])
    if parsed.cpr:
        condition |= Q(cpr=parsed.cpr)
    if parsed.replacement is not None:
        condition |= Citizen.holding(parsed.replacement)
    return Citizen.objects.filter(condition).values_list("pk", flat=True).first()


@transaction.atomic
def _patient_store_new(
    *,
    actor: Actor,
    parsed: ParsedPatient,
    municipality: Organisation,
    gp: Organisation | None,
    purpose: str,
    decision: Decision,
) -> Citizen:
    citizen = citizen_create(
        cpr=parsed.cpr,
        replacement_cpr=parsed.replacement,
        deceased_at=parsed.deceased_at,
        deceased_on=parsed.deceased_on,
        death_field="deceasedDateTime",
        **_citizen_fields(parsed, municipality, gp),
    )
    _audit_version(
        actor=actor,
        citizen=citizen,
        action=Action.CREATE,
        purpose=purpose,
        decision=decision,
        version_id=1,
    )
    if parsed.deceased_at is not None:
        # Followed as a death registered by an update is (nothing is open yet).
        _death_followed(actor=actor, citizen=citizen, died_at=parsed.deceased_at)
    return citizen


def _death_followed(*, actor: Actor, citizen: Citizen, died_at: dt.datetime) -> None:
    """The acute function follows her death (``core.deaths.citizen_died``),
    with the day where it was given as a day."""
    citizen_died.send(
        sender=Citizen,
        citizen_id=citizen.pk,
        died_at=died_at,
        died_on=citizen.deceased_on,
        actor=actor,
    )


def patient_update(
    *,
    actor: Actor,
    citizen_id: int,
    data: dict[str, Any],
    purpose: str,
    if_match: str | None,
) -> Citizen:
    """Versioned update of a citizen's Patient (name, address and position,
    municipality, GP, phone, death) by whom the gate lets write the citizen's
    identity: a clinician with a care relationship and no refusal. The CPR
    number cannot be changed here. The previous version is kept. The gate
    is asked under her row's lock (:func:`core.locks.citizens_locked_then`)."""

    def gated_write() -> Citizen:
        citizen = access_citizen(
            actor=actor,
            citizen_id=citizen_id,
            action=Action.UPDATE,
            category=CATEGORY_PATIENT,
            purpose=purpose,
            resource_type="Patient",
            resource_id=str(citizen_id),
            audit_permit=False,
        )
        decision = citizen.gate_decision  # type: ignore[attr-defined]
        try:
            parsed = parse_patient(data)
            if parsed.id not in (None, str(citizen.pk)):
                raise InvalidInput(
                    "fhir.id_mismatch", "The id in the body differs from the URL.", field="id"
                )
            if parsed.cpr != citizen.cpr or parsed.replacement != citizen.replacement:
                raise InvalidInput(
                    "patient.cpr_changed",
                    "A citizen's CPR number and replacement CPR are not changed by an update;"
                    " they follow the CPR register and the eCPR issuer.",
                    field="identifier",
                )
            municipality, gp = _patient_places(parsed)
            refuse_unheld(parsed.references, citizen_id=citizen.pk, actor=actor, purpose=purpose)
            _death_stated(parsed, citizen)
            _death_checked(parsed)
            wanted = wanted_version(if_match, data, noun="patient")
        except (InvalidInput, PreconditionFailed) as exc:
            _patient_refused(
                actor=actor,
                action=Action.UPDATE,
                purpose=purpose,
                reason_code=exc.code,
                citizen_id=citizen.pk,
            )
            raise
        with transaction.atomic():
            locked = Citizen.objects.select_for_update().get(pk=citizen.pk)
            current = patient_version(locked.pk)
            if current == wanted:
                _patient_apply(
                    actor=actor,
                    citizen=locked,
                    parsed=parsed,
                    municipality=municipality,
                    gp=gp,
                    version_id=current + 1,
                    purpose=purpose,
                    decision=decision,
                )
                return locked
        # A stale write is an attempt, too (R9).
        _patient_refused(
            actor=actor,
            action=Action.UPDATE,
            purpose=purpose,
            reason_code="patient.version_conflict",
            citizen_id=citizen.pk,
        )
        raise PreconditionFailed(
            "patient.version_conflict",
            f"The Patient is at version {current}, not {wanted}; read it again.",
            params={"current": current, "wanted": wanted},
        )

    return citizens_locked_then([citizen_id], gated_write)


def _death_checked(parsed: ParsedPatient) -> None:
    """A death to come, or before birth, would stop every referral and visit
    for a living citizen: refused, at registration as at an update (leaving
    it out of an update corrects one in error)."""
    if parsed.deceased_at is not None:
        assert parsed.birth_date is not None  # parse_patient reads it from the CPR
        death_time_check(parsed.deceased_at, birth_date=parsed.birth_date, field="deceasedDateTime")


def _death_stated(parsed: ParsedPatient, citizen: Citizen | None) -> None:
    """``deceasedBoolean`` true, or a ``deceasedDateTime`` of a month or a year,
    says she is dead but not when. A death already
    registered keeps its time (the Patient read and written back). A new one
    is refused: its time decides which of her records are "after the death"
    and so refused, and the moment it reached us would be a guess that lets
    through what was measured, ordered or given after she died. The hospital's
    HospitalNotification, which MedCom lets carry only the flag, has the end
    of the stay for its time (``integrations.hospital``)."""
    if not parsed.deceased_without_time:
        return
    if citizen is None or citizen.deceased_at is None:
        raise death_time_missing(field=parsed.deceased_without_time)
    parsed.deceased_at, parsed.deceased_on = citizen.deceased_at, citizen.deceased_on


def _patient_apply(
    *,
    actor: Actor,
    citizen: Citizen,
    parsed: ParsedPatient,
    municipality: Organisation,
    gp: Organisation | None,
    version_id: int,
    purpose: str,
    decision: Decision,
) -> None:
    """Write the update on the locked citizen, its version and its audit entry."""
    if version_id == 2 and not citizen.patient_versions.exists():
        # Registered elsewhere: keep the state before this first update as version 1.
        _patient_version_add(citizen=citizen, version_id=1, actor=None)
    was_dead = citizen.deceased_at is not None
    withdrawn = citizen.deceased_at if parsed.deceased_at is None else None
    changes = {
        **_citizen_fields(parsed, municipality, gp),
        "deceased_at": parsed.deceased_at,
        # The day where the death is given as a day; cleared by a time of
        # day or by the death withdrawn.
        "deceased_on": death_day_kept(parsed.deceased_at, parsed.deceased_on),
        "updated_at": timezone.now(),
    }
    for name, value in changes.items():
        setattr(citizen, name, value)
    full_clean_or_raise(citizen, code="patient.invalid", exclude=["municipality", "gp_practice"])
    citizen.save(update_fields=list(changes))
    _audit_version(
        actor=actor,
        citizen=citizen,
        action=Action.UPDATE,
        purpose=purpose,
        decision=decision,
        version_id=version_id,
        withdrawn=withdrawn,
    )
    if withdrawn is not None:
        # The acute function warns the coordinator of an episode that ended
        # on the death, in this transaction, as for the hospital's correction.
        citizen_death_withdrawn.send(
            sender=Citizen, citizen_id=citizen.pk, withdrawn=withdrawn, actor=actor
        )
    if parsed.deceased_at is not None and not was_dead:
        # The acute function closes her referrals and withdraws her visits
        # in this transaction, as for the hospital's report of a death.
        _death_followed(actor=actor, citizen=citizen, died_at=parsed.deceased_at)


# The registration form's field, and its label, for each Patient element
# ``patient_register`` fills from it.
_FORM_FIELD_OF_ELEMENT = {
    "name.given": ("given_name", gettext_lazy("First name(s)")),
    "name.family": ("family_name", gettext_lazy("Surname")),
    "address.line": ("address_line", gettext_lazy("Street and number")),
    "address.city": ("city", gettext_lazy("Town")),
    "telecom": ("phone", gettext_lazy("Citizen's phone (optional)")),
}


def patient_register(
    *,
    actor: Actor,
    cpr: str,
    given_name: str,
    family_name: str,
    address_line: str,
    postal_code: str,
    city: str,
    municipality_code: str,
    latitude: str,
    longitude: str,
    phone: str = "",
    purpose: str,
) -> Citizen:
    """Register a citizen from a form (the coordinator's phone referral): the
    fields as the Patient :func:`patient_create` takes, so the same checks,
    gate and audit apply as over FHIR."""
    wanted = {
        "given_name": (given_name, _("Type the citizen's first name.")),
        "family_name": (family_name, _("Type the citizen's surname.")),
        "address_line": (address_line, _("Type the street and number.")),
        "city": (city, _("Type the town.")),
    }
    errors: list[PlatformError] = [
        InvalidInput("patient.field_required", message, field=name)
        for name, (value, message) in wanted.items()
        if text_blank(value)
    ]
    if not (len(postal_code.strip()) == 4 and is_digits(postal_code.strip())):
        errors.append(
            InvalidInput(
                "patient.postal_code_invalid",
                _("A postal code is four digits."),
                field="postal_code",
            )
        )
    if not municipality_code:
        errors.append(
            InvalidInput(
                "patient.field_required", _("Choose the municipality."), field="municipality"
            )
        )
    position = {
        name: _position_typed(raw, name, errors)
        for name, raw in (("latitude", latitude), ("longitude", longitude))
    }
    if errors:
        _patient_refused(
            actor=actor, action=Action.CREATE, purpose=purpose, reason_code=errors[0].code
        )
        raise PlatformError.all_of(errors)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
        "name": [{"use": "official", "family": family_name.strip(), "given": given_name.split()}],
        "address": [
            {
                "use": "home",
                "line": [address_line.strip()],
                "postalCode": postal_code.strip(),
                "city": city.strip(),
                "extension": [
                    {
                        "url": GEOLOCATION_EXTENSION,
                        "extension": [
                            {"url": name, "valueDecimal": value} for name, value in position.items()
                        ],
                    }
                ],
            }
        ],
        "extension": [
            {
                "url": DK_MUNICIPALITY_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": MUNICIPALITY_CODE_SYSTEM, "code": municipality_code}]
                },
            }
        ],
    }
    if phone.strip():
        patient["telecom"] = [{"system": "phone", "value": phone.strip()}]
    try:
        return patient_create(actor=actor, data=patient, purpose=purpose)
    except InvalidInput as exc:
        form_field = _FORM_FIELD_OF_ELEMENT.get(exc.field or "")
        if exc.code != "patient.text_too_long" or form_field is None:
            raise
        # Told on the field she typed it in, by the label the form shows.
        name, label = form_field
        raise InvalidInput(
            exc.code, exc.message, field=name, params={**exc.params, "element": label}
        ) from None
    except Duplicate as exc:
        # Audited as over FHIR; told in the form's words, on the number typed
        # (she is looked up by it, not searched for over FHIR).
        raise Duplicate(
            exc.code, "A citizen with this CPR number is already registered.", field="cpr"
        ) from None


def _position_typed(raw: str, field: str, errors: list[PlatformError]) -> float | None:
    """A latitude or longitude as typed (a plain decimal, a comma or a dot);
    a refusal joins ``errors``."""
    value = typed_coordinate(raw)
    if value is not None:
        return value
    errors.append(
        InvalidInput(
            "patient.geolocation_required",
            _("Give the address's position as a number (for example 55.7512)."),
            field=field,
        )
    )
    return None
