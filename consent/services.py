"""Writes in ``consent``: care relationships, the shared record, consent and
refusals, break-the-glass."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.fhir import (
    ParsedPatient,
    ParsedResource,
    RecordRefused,
    parse_consent,
    parse_patient,
    parse_record_resource,
    with_subject,
)
from consent.gate import (
    CATEGORY_CONSENT,
    CATEGORY_PATIENT,
    PATIENT_CREATORS,
    access_citizen,
    audit_detail,
    patient_create_decide,
)
from consent.models import (
    BreakGlass,
    CareRelationship,
    ConsentDirective,
    ConsentWithdrawal,
    PatientVersion,
    RecordResource,
    RecordVersion,
)
from consent.selectors import patient_version
from core.actors import Actor
from core.cpr import CPR_SYSTEM
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFoundOrNotAllowed,
    PlatformError,
    PreconditionFailed,
)
from core.fhir.patient import patient_resource
from core.logging import scrub
from core.models import Citizen, Organisation, Role, User
from core.services import citizen_create
from core.validation import full_clean_or_raise

BREAK_GLASS_ROLES = frozenset({Role.ACUTE_NURSE, Role.PHYSICIAN, Role.HOME_NURSE, Role.COORDINATOR})


@transaction.atomic
def care_relationship_open(
    *,
    citizen: Citizen,
    organisation: Organisation,
    basis: str,
    source_type: str,
    source_id: str,
    user: User | None = None,
) -> CareRelationship:
    """Open (or keep open) the relationship for this source. Idempotent."""
    existing = (
        CareRelationship.objects.select_for_update()
        .filter(
            source_type=source_type,
            source_id=str(source_id),
            organisation=organisation,
            user=user,
            ended_at__isnull=True,
        )
        .first()
    )
    if existing is not None:
        return existing
    relationship = CareRelationship(
        citizen=citizen,
        organisation=organisation,
        user=user,
        basis=basis,
        source_type=source_type,
        source_id=str(source_id),
    )
    relationship.full_clean()
    relationship.save(force_insert=True)
    return relationship


@transaction.atomic
def care_relationship_close(*, source_type: str, source_id: str, user: User | None = None) -> int:
    """End every open relationship from this source (only ``user``'s, if given)."""
    open_ones = CareRelationship.objects.filter(
        source_type=source_type, source_id=str(source_id), ended_at__isnull=True
    )
    if user is not None:
        open_ones = open_ones.filter(user=user)
    return open_ones.update(ended_at=timezone.now())


# --- The shared record -------------------------------------------------------


def _resolve_citizen_id(ref: tuple[str, str]) -> int:
    """The internal id from ``Patient/<id>`` or a CPR identifier; -1 if unknown
    (the gate then refuses exactly as for a hidden citizen)."""
    kind, value = ref
    if kind == "id":
        return int(value)
    found = Citizen.objects.filter(cpr=value).values_list("pk", flat=True).first()
    return found if found is not None else -1


def _check_contact_department(parsed: ParsedResource) -> None:
    if parsed.source_organisation_id is None:
        return
    if not Organisation.objects.filter(
        pk=parsed.source_organisation_id, kind=Organisation.Kind.HOSPITAL_DEPARTMENT
    ).exists():
        raise RecordRefused(
            "record.contact_not_department",
            "a hospital contact names the hospital department as serviceProvider.",
            field="serviceProvider",
        )


def _refuse_audited(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_id: int | None,
    resource_type: str,
    exc: PlatformError,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id if citizen_id and citizen_id > 0 else None,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        reason_code=exc.code[:64],
        detail={"rule": exc.rule} if exc.rule else None,
    )


def _parse_audited(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    data: dict[str, Any],
    expected_type: str | None,
    citizen_id: int | None = None,
) -> ParsedResource:
    """Parse and check R2; a refusal is itself audited (it was an attempt to write)."""
    try:
        parsed = parse_record_resource(data, expected_type=expected_type)
        _check_contact_department(parsed)
    except RecordRefused as exc:
        if citizen_id is None:
            try:
                field = "patient" if data.get("resourceType") == "EpisodeOfCare" else "subject"
                ref = data.get(field) or {}
                reference = str(ref.get("reference") or "")
                if reference.startswith("Patient/") and reference[8:].isdigit():
                    citizen_id = int(reference[8:])
                elif (ref.get("identifier") or {}).get("system") == CPR_SYSTEM:
                    citizen_id = _resolve_citizen_id(("cpr", str(ref["identifier"].get("value"))))
            except (AttributeError, TypeError, ValueError):
                citizen_id = None
        _refuse_audited(
            actor=actor,
            action=action,
            purpose=purpose,
            citizen_id=citizen_id,
            resource_type=str(data.get("resourceType", ""))[:64],
            exc=exc,
        )
        raise
    return parsed


def _source_for(actor: Actor, parsed: ParsedResource) -> Organisation:
    organisation = actor.organisation
    if organisation is None:
        raise InvalidInput("record.source_unknown", "The writer acts for no organisation.")
    return organisation


def _store_new(
    *, actor: Actor, parsed: ParsedResource, citizen_id: int, purpose: str, decision: Any
) -> RecordResource:
    now = timezone.now()
    resource = RecordResource(
        citizen_id=citizen_id,
        resource_type=parsed.resource_type,
        category=parsed.category,
        source_organisation=_source_for(actor, parsed),
        code_system=parsed.code_system,
        code=parsed.code,
        effective_at=parsed.effective_at,
        version_id=1,
        body=with_subject(parsed.body, parsed.resource_type, citizen_id),
        created_at=now,
        updated_at=now,
    )
    full_clean_or_raise(resource, code="record.invalid", exclude=["citizen", "source_organisation"])
    resource.save(force_insert=True)
    RecordVersion.objects.create(
        resource=resource,
        version_id=1,
        body=resource.body,
        source_organisation=resource.source_organisation,
        recorded_at=now,
        recorded_by=actor.user,
    )
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=decision.audit_purpose(purpose),
        citizen_id=citizen_id,
        resource_type=resource.resource_type,
        resource_id=str(resource.pk),
        reason_code=decision.reason_code,
        detail=audit_detail(decision, parsed.category, {"version": 1}),
    )
    return resource


def record_resource_create(
    *, actor: Actor, data: dict[str, Any], purpose: str, expected_type: str | None = None
) -> RecordResource:
    """Create one shared-record resource: R2 check, the gate, then an atomic write
    with its first version and its audit entry."""
    parsed = _parse_audited(
        actor=actor, action=Action.CREATE, purpose=purpose, data=data, expected_type=expected_type
    )
    citizen_id = _resolve_citizen_id(parsed.citizen_ref)
    citizen = access_citizen(
        actor=actor,
        citizen_id=citizen_id,
        action=Action.CREATE,
        category=parsed.category,
        purpose=purpose,
        resource_type=parsed.resource_type,
        audit_permit=False,
    )
    with transaction.atomic():
        return _store_new(
            actor=actor,
            parsed=parsed,
            citizen_id=citizen.pk,
            purpose=purpose,
            decision=citizen.gate_decision,  # type: ignore[attr-defined]
        )


def record_resource_update(
    *,
    actor: Actor,
    resource_type: str,
    resource_id: int,
    data: dict[str, Any],
    purpose: str,
    if_match: str | None,
) -> RecordResource:
    """Versioned update: the caller names the version it read (``If-Match`` or
    ``meta.versionId``); a stale version is refused with 412, and the previous
    version stays in the history."""
    current = (
        RecordResource.objects.filter(pk=resource_id, resource_type=resource_type)
        .only("citizen_id", "category", "effective_at", "created_at")
        .first()
    )
    citizen_id = current.citizen_id if current else -1
    if current is None:
        access_citizen(
            actor=actor,
            citizen_id=-1,
            action=Action.UPDATE,
            category="",
            purpose=purpose,
            resource_type=resource_type,
            resource_id=str(resource_id),
        )
    parsed = _parse_audited(
        actor=actor,
        action=Action.UPDATE,
        purpose=purpose,
        data=data,
        expected_type=resource_type,
        citizen_id=citizen_id,
    )
    if data.get("id") not in (None, str(resource_id)):
        raise InvalidInput(
            "fhir.id_mismatch", "The id in the body differs from the URL.", field="id"
        )
    citizen = access_citizen(
        actor=actor,
        citizen_id=citizen_id,
        action=Action.UPDATE,
        category=parsed.category,
        purpose=purpose,
        resource_type=resource_type,
        resource_id=str(resource_id),
        audit_permit=False,
        # A resource hidden by a refusal of its period cannot be updated by
        # those it is hidden from: they would learn it exists.
        data_dates=(current.data_date,) if current else (),
    )
    if _resolve_citizen_id(parsed.citizen_ref) != citizen.pk:
        raise InvalidInput(
            "record.subject_changed",
            "An update cannot move a resource to another citizen.",
            field="subject",
        )
    wanted = _wanted_version(if_match, data)
    decision = citizen.gate_decision  # type: ignore[attr-defined]
    with transaction.atomic():
        resource = RecordResource.objects.select_for_update().get(pk=resource_id)
        if resource.version_id != wanted:
            raise PreconditionFailed(
                "record.version_conflict",
                f"The resource is at version {resource.version_id}, not {wanted}; read it again.",
            )
        now = timezone.now()
        resource.category = parsed.category
        resource.code_system = parsed.code_system
        resource.code = parsed.code
        resource.effective_at = parsed.effective_at
        resource.body = with_subject(parsed.body, parsed.resource_type, citizen.pk)
        resource.source_organisation = _source_for(actor, parsed)
        resource.version_id += 1
        resource.updated_at = now
        full_clean_or_raise(
            resource, code="record.invalid", exclude=["citizen", "source_organisation"]
        )
        resource.save(
            update_fields=[
                "category",
                "code_system",
                "code",
                "effective_at",
                "body",
                "source_organisation",
                "version_id",
                "updated_at",
            ]
        )
        RecordVersion.objects.create(
            resource=resource,
            version_id=resource.version_id,
            body=resource.body,
            source_organisation=resource.source_organisation,
            recorded_at=now,
            recorded_by=actor.user,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            purpose=decision.audit_purpose(purpose),
            citizen_id=citizen.pk,
            resource_type=resource_type,
            resource_id=str(resource.pk),
            reason_code=decision.reason_code,
            detail=audit_detail(decision, parsed.category, {"version": resource.version_id}),
        )
    return resource


def _wanted_version(if_match: str | None, data: dict[str, Any], *, noun: str = "record") -> int:
    raw = if_match or str((data.get("meta") or {}).get("versionId") or "")
    raw = raw.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw:
        raise PreconditionFailed(
            f"{noun}.version_required",
            'Say which version you are updating (If-Match: W/"n" or meta.versionId).',
        )
    if not raw.isdigit():
        raise InvalidInput(
            f"{noun}.version_invalid", "The version is a whole number.", field="If-Match"
        )
    return int(raw)


def _entry_place(where: str, resource: dict[str, Any], field: str | None) -> str:
    """An element of an entry's resource as a place in the Bundle
    (``Condition.code.coding[1]`` -> ``Bundle.entry[2].resource.code.coding[1]``)."""
    if not field:
        return where
    own = field.removeprefix(f"{resource.get('resourceType')}.")
    return f"{where}.resource.{own}"


def record_transaction(
    *, actor: Actor, bundle: dict[str, Any], purpose: str
) -> list[RecordResource]:
    """Load a transaction Bundle all or nothing: every entry is checked against
    R2 and the gate before anything is written."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        raise InvalidInput(
            "bundle.not_transaction", "POST /fhir takes a Bundle of type transaction."
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("bundle.empty", "The transaction Bundle has no entries.", field="entry")
    if len(entries) > 1000:
        raise InvalidInput(
            "bundle.too_large", "At most 1000 entries per transaction.", field="entry"
        )
    prepared: list[tuple[ParsedResource, int, Any]] = []
    for index, entry in enumerate(entries):
        where = f"Bundle.entry[{index}]"
        request = entry.get("request") or {} if isinstance(entry, dict) else {}
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if request.get("method") != "POST" or not isinstance(resource, dict):
            raise InvalidInput(
                "bundle.entry_unsupported",
                f"{where}: each entry creates one resource (request.method POST).",
                field=where,
            )
        try:
            parsed = _parse_audited(
                actor=actor,
                action=Action.CREATE,
                purpose=purpose,
                data=resource,
                expected_type=None,
            )
        except PlatformError as exc:
            exc.message = f"{where}: {exc.message}"
            exc.field = _entry_place(where, resource, exc.field)
            raise
        citizen_id = _resolve_citizen_id(parsed.citizen_ref)
        try:
            citizen = access_citizen(
                actor=actor,
                citizen_id=citizen_id,
                action=Action.CREATE,
                category=parsed.category,
                purpose=purpose,
                resource_type=parsed.resource_type,
                audit_permit=False,
            )
        except NotFoundOrNotAllowed as exc:
            exc.message = f"{where}: no such patient."
            exc.field = where
            raise
        prepared.append((parsed, citizen.pk, citizen.gate_decision))  # type: ignore[attr-defined]
    with transaction.atomic():
        return [
            _store_new(actor=actor, parsed=p, citizen_id=cid, purpose=purpose, decision=d)
            for p, cid, d in prepared
        ]


# --- Consent and refusal (R4) --------------------------------------------------


def consent_create(*, actor: Actor, data: dict[str, Any], purpose: str) -> ConsentDirective:
    """Record a refusal or consent as the citizen gave it (oral/written), by whom."""
    parsed = parse_consent(data)
    citizen = access_citizen(
        actor=actor,
        citizen_id=int(parsed.citizen_id),
        action=Action.CREATE,
        category=CATEGORY_CONSENT,
        purpose=purpose,
        resource_type="Consent",
        audit_permit=False,
    )
    organisations = list(Organisation.objects.filter(pk__in=parsed.organisation_ids))
    if len(organisations) != len(set(parsed.organisation_ids)):
        raise InvalidInput(
            "consent.organisation_unknown",
            "provision.actor names an unknown organisation.",
            field="provision.actor",
        )
    users = list(User.objects.filter(pk__in=parsed.user_ids))
    if len(users) != len(set(parsed.user_ids)):
        raise InvalidInput(
            "consent.professional_unknown",
            "provision.actor names an unknown professional.",
            field="provision.actor",
        )
    if actor.user is None or actor.organisation is None:
        raise InvalidInput("consent.recorder_unknown", "Consent is recorded by a member of staff.")
    decision = citizen.gate_decision  # type: ignore[attr-defined]
    with transaction.atomic():
        directive = ConsentDirective(
            citizen=citizen,
            provision=parsed.provision,
            include_sub_units=parsed.include_sub_units,
            purposes=parsed.purposes,
            period_start=parsed.period_start or timezone.now(),
            period_end=parsed.period_end,
            data_period_start=parsed.data_period_start,
            data_period_end=parsed.data_period_end,
            given_how=parsed.given_how,
            recorded_by=actor.user,
            recorded_by_organisation=actor.organisation,
        )
        full_clean_or_raise(
            directive,
            code="consent.invalid",
            exclude=["citizen", "recorded_by", "recorded_by_organisation"],
        )
        directive.save(force_insert=True)
        directive.recipient_organisations.set(organisations)
        directive.recipient_users.set(users)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            purpose=decision.audit_purpose(purpose),
            citizen_id=citizen.pk,
            resource_type="Consent",
            resource_id=str(directive.pk),
            reason_code=decision.reason_code,
            detail=audit_detail(decision, CATEGORY_CONSENT, {"provision": parsed.provision}),
        )
    return directive


def consent_withdraw(
    *, actor: Actor, directive_id: int, given_how: str, purpose: str
) -> ConsentDirective:
    """The citizen withdraws a refusal or consent. The directive itself is kept."""
    citizen_id = (
        ConsentDirective.objects.filter(pk=directive_id)
        .values_list("citizen_id", flat=True)
        .first()
    )
    citizen = access_citizen(
        actor=actor,
        citizen_id=citizen_id if citizen_id is not None else -1,
        action=Action.UPDATE,
        category=CATEGORY_CONSENT,
        purpose=purpose,
        resource_type="Consent",
        resource_id=str(directive_id),
        audit_permit=False,
    )
    if given_how not in ConsentDirective.GivenHow.values:
        raise InvalidInput(
            "consent.given_how_required", "Say how it was given: oral or written.", field="how"
        )
    if actor.user is None or actor.organisation is None:
        raise InvalidInput("consent.recorder_unknown", "Consent is recorded by a member of staff.")
    decision = citizen.gate_decision  # type: ignore[attr-defined]
    with transaction.atomic():
        directive = ConsentDirective.objects.select_for_update().get(pk=directive_id)
        if ConsentWithdrawal.objects.filter(directive=directive).exists():
            raise Conflict("consent.already_withdrawn", "This directive is already withdrawn.")
        ConsentWithdrawal.objects.create(
            directive=directive,
            given_how=given_how,
            recorded_by=actor.user,
            recorded_by_organisation=actor.organisation,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            purpose=decision.audit_purpose(purpose),
            citizen_id=citizen.pk,
            resource_type="Consent",
            resource_id=str(directive.pk),
            reason_code=decision.reason_code,
            detail=audit_detail(decision, CATEGORY_CONSENT, {"withdrawn": True}),
        )
    return ConsentDirective.objects.select_related("withdrawal", "recorded_by").get(pk=directive_id)


# --- Break-the-glass (værdispring) ---------------------------------------------


def break_glass_open(*, actor: Actor, citizen_id: int, reason: str, basis: str) -> BreakGlass:
    """Open an override for this clinician and this citizen only, for the
    configured few minutes. Recorded as a ``break_glass`` audit entry that the
    auditors review and the citizen sees in the insight report."""
    if actor.role not in BREAK_GLASS_ROLES or actor.user is None or actor.organisation is None:
        raise Forbidden("break_glass.role", "Only clinicians may break the glass.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput(
            "break_glass.reason_required",
            "State why (at least 10 characters): break-the-glass needs a reason.",
            field="reason",
        )
    if scrub(reason) != reason:
        # The reason travels with every access made under the override (audit
        # entries, the auditors' exports, the insight report): never a CPR number.
        raise InvalidInput(
            "break_glass.reason_has_cpr",
            gettext("Write the reason without a CPR number; the citizen is already chosen."),
            field="reason",
        )
    if basis not in BreakGlass.Basis.values:
        raise InvalidInput(
            "break_glass.basis_invalid",
            f"basis is one of {', '.join(BreakGlass.Basis.values)}.",
            field="basis",
        )
    citizen = Citizen.objects.filter(pk=citizen_id).first()
    if citizen is None:
        audit_record(
            actor=actor,
            action=Action.BREAK_GLASS,
            purpose=Purpose.EMERGENCY,
            citizen_id=None,
            outcome=Outcome.DENIED,
            reason_code="unknown_citizen",
        )
        raise NotFoundOrNotAllowed()
    now = timezone.now()
    with transaction.atomic():
        glass = BreakGlass(
            citizen=citizen,
            user=actor.user,
            organisation=actor.organisation,
            role=actor.role,
            basis=basis,
            reason=reason[:500],
            started_at=now,
            expires_at=now + dt.timedelta(minutes=settings.CONSENT_BREAK_GLASS_MINUTES),
        )
        full_clean_or_raise(
            glass, code="break_glass.invalid", exclude=["citizen", "user", "organisation"]
        )
        glass.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.BREAK_GLASS,
            purpose=Purpose.EMERGENCY,
            citizen_id=citizen.pk,
            resource_type="Patient",
            resource_id=str(citizen.pk),
            reason_code="break_glass",
            detail={
                "break_glass_id": glass.pk,
                "basis": basis,
                "reason": glass.reason,
                "expires_at": glass.expires_at.isoformat(),
            },
        )
    return glass


# --- Patient (the citizen's identity and address) --------------------------------


def _patient_refused(
    *, actor: Actor, action: str, purpose: str, reason_code: str, citizen_id: int | None = None
) -> None:
    audit_record(
        actor=actor,
        action=action,
        purpose=purpose,
        citizen_id=citizen_id,
        outcome=Outcome.DENIED,
        resource_type="Patient",
        reason_code=reason_code[:64],
    )


def _patient_places(
    parsed: ParsedPatient,
) -> tuple[Organisation | None, Organisation | None]:
    """The municipality of residence and the GP practice the Patient names."""
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
    return municipality, gp


def _patient_version_add(*, citizen: Citizen, version_id: int, actor: Actor | None) -> None:
    PatientVersion.objects.create(
        citizen=citizen,
        version_id=version_id,
        body=patient_resource(citizen, show_cpr=False),
        recorded_at=citizen.updated_at,
        recorded_by=actor.user if actor else None,
        recorded_by_organisation=actor.organisation if actor else None,
    )


def patient_create(*, actor: Actor, data: dict[str, Any], purpose: str) -> Citizen:
    """Register a citizen (Patient create). A CPR number already registered is
    refused (409 ``patient.exists``), never a second citizen and never the
    existing one's data: the caller finds that citizen through the gate with
    ``POST /fhir/Patient/_search``. Refusals are audited; the CPR number is in
    no message, log line or audit entry."""
    if actor.role not in PATIENT_CREATORS:
        _patient_refused(
            actor=actor, action=Action.CREATE, purpose=purpose, reason_code="role_not_permitted"
        )
        raise Forbidden("patient.create_not_permitted", "Your role does not register citizens.")
    try:
        parsed = parse_patient(data)
        municipality, gp = _patient_places(parsed)
        if municipality is None:
            raise InvalidInput(
                "patient.municipality_unknown",
                "The municipality code names no known municipality.",
                field="extension",
            )
    except InvalidInput as exc:
        _patient_refused(actor=actor, action=Action.CREATE, purpose=purpose, reason_code=exc.code)
        raise
    decision = patient_create_decide(actor=actor, municipality=municipality, purpose=purpose)
    if not decision.permitted:
        _patient_refused(
            actor=actor, action=Action.CREATE, purpose=purpose, reason_code=decision.reason_code
        )
        raise Forbidden(
            "patient.create_not_permitted",
            "You may register residents of the municipalities your organisation serves only.",
        )
    existing = Citizen.objects.filter(cpr=parsed.cpr).values_list("pk", flat=True).first()
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
        except IntegrityError:
            pass  # registered by someone else a moment ago
        except InvalidInput as exc:
            if exc.code != "citizen.exists":
                raise
        existing = Citizen.objects.filter(cpr=parsed.cpr).values_list("pk", flat=True).first()
    # Who tried to register an existing citizen is on that citizen's log.
    _patient_refused(
        actor=actor,
        action=Action.CREATE,
        purpose=purpose,
        reason_code="patient_exists",
        citizen_id=existing,
    )
    raise Conflict(
        "patient.exists",
        "A citizen with this CPR number is already registered. Find them with "
        "POST /fhir/Patient/_search (identifier in the body) instead of registering again.",
        field="identifier",
    )


@transaction.atomic
def _patient_store_new(
    *,
    actor: Actor,
    parsed: ParsedPatient,
    municipality: Organisation,
    gp: Organisation | None,
    purpose: str,
    decision: Any,
) -> Citizen:
    citizen = citizen_create(
        cpr=parsed.cpr,
        given_name=parsed.given_name,
        family_name=parsed.family_name,
        address_line=parsed.address_line,
        postal_code=parsed.postal_code,
        city=parsed.city,
        latitude=parsed.latitude,
        longitude=parsed.longitude,
        municipality=municipality,
        gp_practice=gp,
        phone=parsed.phone,
    )
    _patient_version_add(citizen=citizen, version_id=1, actor=actor)
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=purpose,
        citizen_id=citizen.pk,
        resource_type="Patient",
        resource_id=str(citizen.pk),
        reason_code=decision.reason_code,
        detail=audit_detail(decision, CATEGORY_PATIENT, {"version": 1}),
    )
    return citizen


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
    number cannot be changed here. The previous version is kept."""
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
        if parsed.cpr != citizen.cpr:
            raise InvalidInput(
                "patient.cpr_changed",
                "A citizen's CPR number is not changed by an update; it follows the CPR register.",
                field="identifier",
            )
        municipality, gp = _patient_places(parsed)
        if municipality is None:
            raise InvalidInput(
                "patient.municipality_unknown",
                "The municipality code names no known municipality.",
                field="extension",
            )
        wanted = _wanted_version(if_match, data, noun="patient")
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
    # Recorded after the lock is let go: a stale write is an attempt, too.
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
    )


def _patient_apply(
    *,
    actor: Actor,
    citizen: Citizen,
    parsed: ParsedPatient,
    municipality: Organisation,
    gp: Organisation | None,
    version_id: int,
    purpose: str,
    decision: Any,
) -> None:
    """Write the update on the locked citizen, its version and its audit entry."""
    if version_id == 2 and not citizen.patient_versions.exists():
        # Registered elsewhere: keep the state before this first update as version 1.
        _patient_version_add(citizen=citizen, version_id=1, actor=None)
    citizen.given_name = parsed.given_name
    citizen.family_name = parsed.family_name
    citizen.address_line = parsed.address_line
    citizen.postal_code = parsed.postal_code
    citizen.city = parsed.city
    citizen.latitude = parsed.latitude
    citizen.longitude = parsed.longitude
    citizen.municipality = municipality
    citizen.gp_practice = gp
    citizen.phone = parsed.phone
    citizen.deceased_at = parsed.deceased_at
    citizen.updated_at = timezone.now()
    full_clean_or_raise(citizen, code="patient.invalid", exclude=["municipality", "gp_practice"])
    citizen.save(
        update_fields=[
            "given_name",
            "family_name",
            "address_line",
            "postal_code",
            "city",
            "latitude",
            "longitude",
            "municipality",
            "gp_practice",
            "phone",
            "deceased_at",
            "updated_at",
        ]
    )
    _patient_version_add(citizen=citizen, version_id=version_id, actor=actor)
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=decision.audit_purpose(purpose),
        citizen_id=citizen.pk,
        resource_type="Patient",
        resource_id=str(citizen.pk),
        reason_code=decision.reason_code,
        detail=audit_detail(decision, CATEGORY_PATIENT, {"version": version_id}),
    )
