"""Writes to the shared record: one resource created, a versioned update, and
a transaction Bundle loaded all or nothing. R2 is checked at the door before
the gate is asked, and a refusal there is recorded as an attempt (R9); each
write keeps its version and records its audit entry in its own transaction.

One module, a little over 500 lines: the three writes share one R2 check with
its audited refusal, one question to the gate and one versioned store, and a
transaction's references are resolved for that same store.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from consent.audit.services import Action, Outcome, audit_record_many
from consent.fhir import (
    ParsedResource,
    RecordRefused,
    check_reference_targets,
    parse_record_resource,
    with_subject,
)
from consent.fhir.datatypes import referenced_id
from consent.gate import Decision, access_citizen, audit_decision
from consent.models import RecordResource, RecordVersion
from consent.services.denied import audit_denied
from consent.services.versions import wanted_version
from core.actors import Actor
from core.cpr import CPR_SYSTEM, ReplacementCpr
from core.errors import (
    InvalidInput,
    NotFoundOrNotAllowed,
    NotSupported,
    PlatformError,
    PreconditionFailed,
)
from core.fhir.references import refuse_unheld
from core.fhir.validation import (
    FHIRInvalid,
    refuse_unknown_modifiers,
    unknown_modifier,
)
from core.locks import citizen_lock, citizens_locked_then
from core.models import Citizen, Organisation
from core.validation import full_clean_or_raise


def _resolve_citizen_id(ref: tuple[str, str]) -> int:
    """The internal id from ``Patient/<id>``, a CPR identifier or a
    replacement CPR identifier; -1 if unknown (the gate then refuses exactly
    as for a hidden citizen)."""
    kind, value = ref
    if kind == "id":
        return int(value)
    if kind == "replacement_cpr":
        system, _, number = value.partition("|")
        held = Citizen.objects.filter(Citizen.holding(ReplacementCpr(system, number)))
    else:
        held = Citizen.objects.filter(cpr=value)
    found = held.values_list("pk", flat=True).first()
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


def _parse_audited(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    data: dict[str, Any],
    expected_type: str | None,
    citizen_id: int | None = None,
    resource_id: str = "",
) -> ParsedResource:
    """Parse and check R2; a refusal is itself audited (it was an attempt to
    write), naming the resource an update was refused for."""
    # Refused for what it says (R2), for a modifier that would change what it
    # says, or as no valid resource of its type at all (``fhir.invalid``,
    # ``fhir.type_mismatch``): an attempt on the citizen's record all the same
    # (R9), whichever check caught it first.
    with _refusal_recorded(
        actor=actor,
        action=action,
        purpose=purpose,
        resource_type=str(data.get("resourceType", "")),
        resource_id=resource_id,
        citizen=lambda: _citizen_named(data) if citizen_id is None else citizen_id,
    ):
        parsed = parse_record_resource(data, expected_type=expected_type)
        _check_contact_department(parsed)
    return parsed


@contextmanager
def _refusal_recorded(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    resource_type: str,
    resource_id: str,
    citizen: Callable[[], int | None],
) -> Iterator[None]:
    """Within it, a write refused for its input is recorded as a denied
    attempt on the citizen's record (R9), with the refusal's code and rule,
    and raised; ``citizen`` names her, asked only when it is refused."""
    try:
        yield
    except InvalidInput as exc:
        audit_denied(
            actor=actor,
            action=action,
            purpose=purpose,
            reason_code=exc.code,
            citizen_id=citizen(),
            resource_type=resource_type,
            resource_id=resource_id,
            rule=exc.rule,
        )
        raise


def _citizen_named(data: dict[str, Any]) -> int | None:
    """The citizen a refused resource names, as far as it can be read, so that
    the attempt is on that citizen's log: ``Patient/<id>`` read as the
    resource itself is read (an id no citizen has names none), or a CPR
    identifier."""
    named = _citizen_reference(data)
    if isinstance(named, int):
        return named if Citizen.objects.filter(pk=named).exists() else None
    if isinstance(named, str):
        found = _resolve_citizen_id(("cpr", named))
        return found if found != -1 else None
    return None


def _citizen_reference(data: Any, field: str | None = None) -> int | str | None:
    """How a refused resource names its citizen, unresolved: the Patient id
    of its reference (``field``, else the one its type names her in), or the
    number of its CPR identifier; None where it names none in a form the
    platform reads."""
    if not isinstance(data, dict):
        return None
    if field is None:
        field = "patient" if data.get("resourceType") == "EpisodeOfCare" else "subject"
    ref = data.get(field)
    if not isinstance(ref, dict):
        return None
    citizen_id = referenced_id(ref, "Patient")
    if citizen_id is not None:
        return citizen_id
    identifier = ref.get("identifier")
    if isinstance(identifier, dict) and identifier.get("system") == CPR_SYSTEM:
        value = identifier.get("value")
        # A number the register could hold; anything else names no one.
        return value if isinstance(value, str) and value.isascii() and value.isalnum() else None
    return None


# The most entries a transaction takes (``record_transaction``): a refused
# Bundle's citizens are read from no more than that.
BUNDLE_ENTRIES_MAX = 1000


def bundle_citizens_named(bundle: Any) -> tuple[int, ...]:
    """The registered citizens a refused transaction Bundle names, so that
    the attempt is on each one's log (R9): every entry's resource read as a
    refused resource is, in the order of the entries, each citizen once,
    resolved in one query per kind of reference."""
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    return _registered(
        [
            _citizen_reference(entry.get("resource"))
            for entry in (entries if isinstance(entries, list) else [])[:BUNDLE_ENTRIES_MAX]
            if isinstance(entry, dict)
        ]
    )


def resource_citizen_named(data: Any, field: str | None = None) -> int | None:
    """The registered citizen a refused create's resource names as it was
    sent (its subject, or ``field``: a Patient reference or a CPR
    identifier), so that the attempt is on her log (R9); None when it names
    none who is registered."""
    found = _registered([_citizen_reference(data, field)])
    return found[0] if found else None


def _registered(named: list[int | str | None]) -> tuple[int, ...]:
    """The registered citizens among ``named`` (row ids and CPR numbers), in
    order, each once, in one query per kind of reference."""
    ids = {value for value in named if isinstance(value, int)}
    numbers = {value for value in named if isinstance(value, str)}
    known = set(Citizen.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    by_number = (
        dict(Citizen.objects.filter(cpr__in=numbers).values_list("cpr", "pk")) if numbers else {}
    )
    found = [
        (value if value in known else None) if isinstance(value, int) else by_number.get(value)
        for value in named
        if value is not None
    ]
    return tuple(dict.fromkeys(pk for pk in found if pk is not None))


def _gate_create(*, actor: Actor, parsed: ParsedResource, purpose: str) -> Citizen:
    """Ask the gate whether the actor may add this resource to its citizen's
    record, under her row's lock (:func:`core.locks.citizens_locked_then`). A permit
    is recorded by the write itself, in its transaction."""
    citizen_id = _resolve_citizen_id(parsed.citizen_ref)
    citizen_lock(citizen_id)
    return access_citizen(
        actor=actor,
        citizen_id=citizen_id,
        action=Action.CREATE,
        category=parsed.category,
        purpose=purpose,
        resource_type=parsed.resource_type,
        audit_permit=False,
    )


def _targets_held(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    parsed: ParsedResource,
    citizen: Citizen,
    resource_id: str = "",
) -> None:
    """Each reference to this server's resources names one the platform
    holds on this citizen's record (or a shared one): asked only once the
    gate let the writer at her, and a refusal recorded on her log (R9)."""
    with _refusal_recorded(
        actor=actor,
        action=action,
        purpose=purpose,
        resource_type=parsed.resource_type,
        resource_id=resource_id,
        citizen=lambda: citizen.pk,
    ):
        refuse_unheld(parsed.references, citizen_id=citizen.pk, actor=actor, purpose=purpose)


def _keep_version(
    *, actor: Actor, resource: RecordResource, action: str, purpose: str, decision: Decision
) -> None:
    """The version just written, kept beside the resource, and its audit
    entry: inside the write's transaction, so all three commit or none."""
    RecordVersion.objects.create(
        resource=resource,
        version_id=resource.version_id,
        body=resource.body,
        source_organisation=resource.source_organisation,
        recorded_at=resource.updated_at,
        recorded_by=actor.user,
    )
    audit_decision(
        actor=actor,
        decision=decision,
        action=action,
        purpose=purpose,
        citizen_id=resource.citizen_id,
        category=resource.category,
        resource_type=resource.resource_type,
        resource_id=str(resource.pk),
        detail={"version": resource.version_id},
    )


def _source_for(actor: Actor, parsed: ParsedResource) -> Organisation:
    organisation = actor.organisation
    if organisation is None:
        raise InvalidInput("record.source_unknown", "The writer acts for no organisation.")
    return organisation


def _store_new(
    *, actor: Actor, parsed: ParsedResource, citizen_id: int, purpose: str, decision: Decision
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
    _keep_version(
        actor=actor, resource=resource, action=Action.CREATE, purpose=purpose, decision=decision
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

    def gated_write() -> RecordResource:
        citizen = _gate_create(actor=actor, parsed=parsed, purpose=purpose)
        _targets_held(
            actor=actor, action=Action.CREATE, purpose=purpose, parsed=parsed, citizen=citizen
        )
        with transaction.atomic():
            return _store_new(
                actor=actor,
                parsed=parsed,
                citizen_id=citizen.pk,
                purpose=purpose,
                decision=citizen.gate_decision,  # type: ignore[attr-defined]
            )

    return citizens_locked_then([_resolve_citizen_id(parsed.citizen_ref)], gated_write)


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
        resource_id=str(resource_id),
    )
    if data.get("id") not in (None, str(resource_id)):
        raise InvalidInput(
            "fhir.id_mismatch", "The id in the body differs from the URL.", field="id"
        )

    def gated_write() -> RecordResource:
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

        def refused(code: str) -> None:
            # Past the gate, a refused update is an attempt on her record all the
            # same (R9), recorded as a Patient update's is.
            audit_denied(
                actor=actor,
                action=Action.UPDATE,
                purpose=purpose,
                reason_code=code,
                citizen_id=citizen.pk,
                resource_type=resource_type,
                resource_id=str(resource_id),
            )

        try:
            if _resolve_citizen_id(parsed.citizen_ref) != citizen.pk:
                raise InvalidInput(
                    "record.subject_changed",
                    "An update cannot move a resource to another citizen.",
                    field="subject",
                )
            refuse_unheld(parsed.references, citizen_id=citizen.pk, actor=actor, purpose=purpose)
            wanted = wanted_version(if_match, data)
        except (InvalidInput, PreconditionFailed) as exc:
            refused(exc.code)
            raise
        decision = citizen.gate_decision  # type: ignore[attr-defined]
        with transaction.atomic():
            resource = RecordResource.objects.select_for_update().get(pk=resource_id)
            stored = resource.version_id
            if stored == wanted:
                return _update_apply(
                    actor=actor,
                    resource=resource,
                    parsed=parsed,
                    purpose=purpose,
                    decision=decision,
                )
        # A stale write is an attempt, too (R9).
        refused("record.version_conflict")
        raise PreconditionFailed(
            "record.version_conflict",
            f"The resource is at version {stored}, not {wanted}; read it again.",
            params={"current": stored, "wanted": wanted},
        )

    return citizens_locked_then([citizen_id], gated_write)


def _update_apply(
    *,
    actor: Actor,
    resource: RecordResource,
    parsed: ParsedResource,
    purpose: str,
    decision: Decision,
) -> RecordResource:
    """The new version of a resource locked at the version its update named."""
    now = timezone.now()
    resource.category = parsed.category
    resource.code_system = parsed.code_system
    resource.code = parsed.code
    resource.effective_at = parsed.effective_at
    resource.body = with_subject(parsed.body, parsed.resource_type, resource.citizen_id)
    resource.source_organisation = _source_for(actor, parsed)
    resource.version_id += 1
    resource.updated_at = now
    full_clean_or_raise(resource, code="record.invalid", exclude=["citizen", "source_organisation"])
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
    _keep_version(
        actor=actor, resource=resource, action=Action.UPDATE, purpose=purpose, decision=decision
    )
    return resource


def _entry_place(where: str, resource: dict[str, Any], field: str | None) -> str:
    """An element of an entry's resource as a place in the Bundle
    (``Condition.code.coding[1]`` -> ``Bundle.entry[2].resource.code.coding[1]``)."""
    if not field:
        return where
    own = field.removeprefix(f"{resource.get('resourceType')}.")
    return f"{where}.resource.{own}"


def record_transaction(*, actor: Actor, bundle: Any, purpose: str) -> list[RecordResource]:
    """Load a transaction Bundle all or nothing: every entry is checked against
    R2 and the gate before anything is written. A Bundle refused for its form
    (no transaction, an entry that is no create, a reference to no entry) is
    an attempt on every citizen it names all the same (R9), recorded on each
    one's log with the refusal's code, as an entry refused by R2 or the gate is."""
    try:
        entries, full_urls = _transaction_entries(bundle)
    except PlatformError as exc:
        _refused_bundle(actor=actor, bundle=bundle, purpose=purpose, code=exc.code)
        raise

    def gated_write() -> list[RecordResource]:
        prepared: list[tuple[ParsedResource, int, Decision]] = []
        for index, entry in enumerate(entries):
            where = f"Bundle.entry[{index}]"
            try:
                resource = _entry_create(entry, where)
            except PlatformError as exc:
                _refused_bundle(actor=actor, bundle=bundle, purpose=purpose, code=exc.code)
                raise
            refused_here = partial(
                _refused_with_entry, actor=actor, bundle=bundle, purpose=purpose, where=where
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
                if isinstance(exc, InvalidInput):
                    # On her log as refused; on the others' as refused with it.
                    refused_here(code=exc.code, recorded=_citizen_named(resource))
                exc.message = f"{where}: {exc.message}"
                exc.params = {**exc.params, "in_entry": where}
                exc.field = _entry_place(where, resource, exc.field)
                raise
            try:
                citizen = _gate_create(actor=actor, parsed=parsed, purpose=purpose)
            except NotFoundOrNotAllowed as exc:
                refused_here(code=exc.code, recorded=_resolve_citizen_id(parsed.citizen_ref))
                exc.message = f"{where}: no such patient."
                exc.field = where
                raise
            try:
                _targets_held(
                    actor=actor,
                    action=Action.CREATE,
                    purpose=purpose,
                    parsed=parsed,
                    citizen=citizen,
                )
            except InvalidInput as exc:
                refused_here(code=exc.code, recorded=citizen.pk)
                exc.message = f"{where}: {exc.message}"
                exc.params = {**exc.params, "in_entry": where}
                exc.field = _entry_place(where, {"resourceType": parsed.resource_type}, exc.field)
                raise
            prepared.append((parsed, citizen.pk, citizen.gate_decision))  # type: ignore[attr-defined]
        try:
            _check_bundle_references(prepared, full_urls)
        except PlatformError as exc:
            _refused_bundle(actor=actor, bundle=bundle, purpose=purpose, code=exc.code)
            raise
        with transaction.atomic():
            stored = [
                _store_new(actor=actor, parsed=p, citizen_id=cid, purpose=purpose, decision=d)
                for p, cid, d in prepared
            ]
            _resolve_bundle_references(stored, [full_urls.get(i) for i in range(len(stored))])
            return stored

    # Every citizen the entries name, locked before the gate is asked of any.
    return citizens_locked_then(bundle_citizens_named(bundle), gated_write)


def _transaction_entries(bundle: Any) -> tuple[list[Any], dict[int, str]]:
    """The entries of a transaction Bundle and their ``fullUrl``s, once its
    form is one the platform writes."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "transaction"
    ):
        raise InvalidInput(
            "bundle.not_transaction", "POST /fhir takes a Bundle of type transaction."
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("bundle.empty", "The transaction Bundle has no entries.", field="entry")
    if len(entries) > BUNDLE_ENTRIES_MAX:
        raise InvalidInput(
            "bundle.too_large", "At most 1000 entries per transaction.", field="entry"
        )
    _refuse_bundle_modifiers(bundle, entries)
    return entries, _full_urls(entries)


def _entry_create(entry: Any, where: str) -> dict[str, Any]:
    """The resource a transaction entry creates, once its request is one the
    platform writes: a POST of its resource's type, with no condition."""
    request = entry.get("request") if isinstance(entry, dict) else None
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if isinstance(request, dict) and isinstance(resource, dict):
        # FHIR's request.method and request.url are both required (1..1):
        # an entry that leaves one out is refused, naming it, never
        # written as if it had said what its resource is.
        for element in ("method", "url"):
            if request.get(element) is None:
                raise InvalidInput(
                    "bundle.entry_request_incomplete",
                    f"{where}: request.{element} is missing; a transaction entry states"
                    " request.method (POST) and request.url (its resource's type).",
                    field=f"{where}.request.{element}",
                    params={"entry": where, "element": f"request.{element}"},
                )
    if (
        not isinstance(request, dict)
        or request.get("method") != "POST"
        or not isinstance(resource, dict)
    ):
        raise InvalidInput(
            "bundle.entry_unsupported",
            f"{where}: each entry creates one resource (request.method POST).",
            field=where,
            params={"entry": where},
        )
    url = request["url"]
    if not isinstance(url, str) or url.strip().removesuffix("/") != resource.get("resourceType"):
        # The entry says where it is written; one that says another
        # type (or an id, a condition) than the resource it carries is
        # not written as if it had said what it carries.
        raise InvalidInput(
            "bundle.entry_url_mismatch",
            f"{where}: request.url must be the type of the entry's resource.",
            field=f"{where}.request.url",
            params={"entry": where},
        )
    if "ifNoneExist" in request:
        # As the If-None-Exist header on a create: ignored, a retried
        # transaction would write a second copy.
        raise NotSupported(
            "fhir.conditional_create_unsupported",
            "Conditional create (request.ifNoneExist) is not supported; nothing was created.",
            field=f"{where}.request.ifNoneExist",
            params={"in_entry": where},
        )
    if "ifMatch" in request:
        # As the If-Match header on a create: no version for it to match.
        raise PreconditionFailed(
            "fhir.if_match_on_post",
            "request.ifMatch names the version an update replaces; a POST entry"
            " replaces none. Nothing was written.",
            field=f"{where}.request.ifMatch",
            params={"in_entry": where},
        )
    if "ifNoneMatch" in request:
        raise NotSupported(
            "fhir.if_none_match_unsupported",
            "request.ifNoneMatch is not served on a create; nothing was written.",
            field=f"{where}.request.ifNoneMatch",
            params={"in_entry": where},
        )
    return resource


def _check_bundle_references(
    prepared: list[tuple[ParsedResource, int, Decision]], full_urls: dict[int, str]
) -> None:
    """Every reference to an entry of the Bundle (``urn:uuid:``) points at one,
    of a type its element takes."""
    types = {url: prepared[index][0].resource_type for index, url in full_urls.items()}
    for index, (parsed, _cid, _d) in enumerate(prepared):
        where = f"Bundle.entry[{index}]"
        for place, reference in _bundle_references(parsed.body, parsed.resource_type):
            if reference not in full_urls.values():
                raise InvalidInput(
                    "bundle.reference_unresolved",
                    f"{where}: {place} points at no entry of this Bundle (fullUrl).",
                    params={"entry": where, "element": place},
                    field=_entry_place(where, {"resourceType": parsed.resource_type}, place),
                )
        try:
            check_reference_targets(
                parsed.body, get_fhir_model_class(parsed.resource_type), local=types
            )
        except InvalidInput as exc:
            exc.message = f"{where}: {exc.message}"
            exc.params = {**exc.params, "in_entry": where}
            exc.field = _entry_place(where, {"resourceType": parsed.resource_type}, exc.field)
            raise


def _refused_bundle(*, actor: Actor, bundle: Any, purpose: str, code: str) -> None:
    """A transaction refused for its form, recorded on each citizen it names
    (R9); one that names none is recorded as about no citizen."""
    audit_record_many(
        actor=actor,
        action=Action.CREATE,
        purpose=purpose,
        citizen_ids=bundle_citizens_named(bundle) or (None,),
        outcome=Outcome.DENIED,
        resource_type="Bundle",
        reason_code=code[:64],
    )


def _refused_with_entry(
    *,
    actor: Actor,
    bundle: dict[str, Any],
    purpose: str,
    where: str,
    code: str,
    recorded: int | None,
) -> None:
    """A transaction refused for one entry (by R2 or by the gate, recorded on
    that entry's citizen, ``recorded``) was an attempt on every citizen it
    names (R9): each other one's log has it too, refused with that entry,
    which the detail names with its refusal's code."""
    others = [pk for pk in bundle_citizens_named(bundle) if pk != recorded]
    if not others:
        return
    audit_record_many(
        actor=actor,
        action=Action.CREATE,
        purpose=purpose,
        citizen_ids=others,
        outcome=Outcome.DENIED,
        resource_type="Bundle",
        reason_code="bundle.entry_refused",
        detail={"entry": where, "refused": code},
    )


def _refuse_bundle_modifiers(bundle: dict[str, Any], entries: list[Any]) -> None:
    """A modifier extension on the Bundle or on an entry (``implicitRules``
    too) is refused as on any resource; each entry's resource is checked
    where it is read, and a refusal there recorded on its citizen."""
    shell = {
        **bundle,
        "entry": [
            {key: value for key, value in entry.items() if key != "resource"}
            if isinstance(entry, dict)
            else entry
            for entry in entries
        ],
    }
    try:
        refuse_unknown_modifiers(shell)
    except FHIRInvalid as exc:
        raise unknown_modifier(exc) from None


# A reference to another entry of the same Bundle, by its fullUrl.
BUNDLE_LOCAL = ("urn:uuid:", "urn:oid:")


def _full_urls(entries: list[Any]) -> dict[int, str]:
    """Each entry's ``fullUrl`` that other entries may reference
    (``urn:uuid:``/``urn:oid:``), by entry index; two alike are refused."""
    found: dict[int, str] = {}
    for index, entry in enumerate(entries):
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(url, str) and url.startswith(BUNDLE_LOCAL):
            if url in found.values():
                raise InvalidInput(
                    "bundle.full_url_duplicate",
                    f"Bundle.entry[{index}]: two entries have the same fullUrl.",
                    field=f"Bundle.entry[{index}].fullUrl",
                    params={"entry": f"Bundle.entry[{index}]"},
                )
            found[index] = url
    return found


def _bundle_references(body: Any, where: str) -> list[tuple[str, str]]:
    """Every ``reference`` in ``body`` naming an entry of the Bundle (urn:uuid/urn:oid)."""
    out: list[tuple[str, str]] = []
    if isinstance(body, list):
        for index, item in enumerate(body):
            out += _bundle_references(item, f"{where}[{index}]")
    elif isinstance(body, dict):
        reference = body.get("reference")
        if isinstance(reference, str) and reference.startswith(BUNDLE_LOCAL):
            out.append((f"{where}.reference", reference))
        for key, value in body.items():
            if isinstance(value, (dict, list)):
                out += _bundle_references(value, f"{where}.{key}")
    return out


def _resolve_bundle_references(stored: list[RecordResource], urls: list[str | None]) -> None:
    """FHIR's transaction rule: a reference to another entry's fullUrl becomes
    that entry's new ``Type/id``, in the resource and its first version, inside
    the transaction that writes them (nobody reads the urn in between)."""
    new_ids = {url: f"{r.resource_type}/{r.pk}" for url, r in zip(urls, stored, strict=True) if url}
    if not new_ids:
        return

    def rewrite(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                rewrite(item)
        elif isinstance(node, dict):
            if node.get("reference") in new_ids:
                node["reference"] = new_ids[node["reference"]]
            for value in node.values():
                rewrite(value)

    for resource in stored:
        if not _bundle_references(resource.body, resource.resource_type):
            continue
        body = copy.deepcopy(resource.body)
        rewrite(body)
        resource.body = body
        RecordResource.objects.filter(pk=resource.pk).update(body=body)
        RecordVersion.objects.filter(resource=resource, version_id=resource.version_id).update(
            body=body
        )
