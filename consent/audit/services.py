"""Recording to the audit log: the one way, used by API, FHIR, pages, tasks and commands.

Rules for callers:

- A **write** records inside the same ``transaction.atomic`` block as the write,
  so both commit or neither does.
- A **read** records before the data is returned; if recording fails the
  exception propagates and the data is not served.
- A **denied** attempt is recorded by the access gate outside any transaction
  that the refusal will roll back (the gate is asked before a write's
  transaction starts).
- A search or list records one entry per citizen in the result (IHE BALP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NotRequired, TypedDict, TypeVar, Unpack

import orjson
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, DataError, IntegrityError, connection
from django.utils import timezone

from consent.audit.append import content_append, content_append_along, entries_append
from consent.audit.errors import ENTRY_NOT_FOUND, entry_id_possible, entry_not_found
from consent.audit.models import (
    DIGEST_FIELDS,
    Action,
    AuditEntry,
    AuditFlag,
    EntryReview,
    Outcome,
    Purpose,
)
from consent.audit.scope import AuditorScope
from core.actors import Actor
from core.context import current_context
from core.errors import Conflict, InvalidInput, NotFoundOrNotAllowed, Unavailable
from core.validation import full_clean_or_raise, insert_or_conflict, is_digits, required_text

__all__ = [
    "Action",
    "Outcome",
    "Purpose",
    "audit_record",
    "audit_record_auditor_view",
    "audit_record_many",
    "audit_write",
    "audit_write_along",
    "entry_review",
]


_T = TypeVar("_T")
_R = TypeVar("_R")
_ENCODER = DjangoJSONEncoder()
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _as_stored(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as it will read back from the log: dates and times as
    Django writes them in JSON (ISO text), keys as text."""
    return orjson.loads(orjson.dumps(detail, default=_ENCODER.default, option=_JSON_OPTIONS))


def _text(value: str) -> str:
    """Text a client chose (a user agent, an id from a URL, a query in the
    detail) as PostgreSQL can store it: a NUL or a lone surrogate becomes
    U+FFFD. Recording a refusal must not fail on what was refused."""
    if value.isascii() and "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)  # beyond what JSON in the log holds as a number
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def _values(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_id: int | None,
    outcome: str = Outcome.PERMITTED,
    resource_type: str = "",
    resource_id: str = "",
    reason_code: str = "",
    detail: dict[str, Any] | None = None,
) -> list[Any]:
    """An entry's content fields, in ``DIGEST_FIELDS`` order."""
    ctx = current_context()
    # Scheduled work no person or partner set going is on the log of the
    # organisation whose work it does (the citizen's report names it, R5).
    organisation = actor.organisation or actor.caused_by
    user = actor.user
    return [
        user.pk if user else None,
        user.username if user else "",
        actor.role,
        organisation.pk if organisation else None,
        organisation.name if organisation else "",
        _text(actor.task[:200]),
        actor.partner.pk if actor.partner else None,
        citizen_id,
        action,
        _text(resource_type[:64]),
        _text(str(resource_id)[:64]),
        purpose,
        outcome,
        _text(reason_code[:64]),
        _text(ctx.request_id[:64]),
        ctx.client_address or None,
        _text(ctx.user_agent[:300]),
        # Stored as it will read back (dates as ISO text), so digests agree.
        _as_stored(_storable(detail)) if detail else {},
    ]


def _entry(values: list[Any]) -> AuditEntry:
    # Positional, in the model's field order (checked below): the one model
    # every request builds, at a third of the cost of keyword arguments.
    # Id and time are given by the insert (see append.py).
    return AuditEntry(None, None, *values, b"", None)  # type: ignore[misc]


_FIELD_ORDER = ("id", "recorded_at", *DIGEST_FIELDS, "digest", "chain_hash")
if tuple(f.attname for f in AuditEntry._meta.concrete_fields) != _FIELD_ORDER:
    raise ImproperlyConfigured("_entry builds AuditEntry positionally: update it with the model")


class EntryContent(TypedDict):
    """What an entry says, but for the citizen it is about (one entry per
    citizen in :func:`audit_record_many`). What is left out takes the default
    of :func:`_values`: permitted, no resource, no reason, no detail."""

    actor: Actor
    action: str
    purpose: str
    outcome: NotRequired[str]
    resource_type: NotRequired[str]
    resource_id: NotRequired[str]
    reason_code: NotRequired[str]
    detail: NotRequired[dict[str, Any] | None]


class Entry(EntryContent):
    """One entry's content: about ``citizen_id`` (``None``: about no citizen)."""

    citizen_id: int | None


def audit_record(**entry: Unpack[Entry]) -> AuditEntry:
    """Append one entry. Raises if it cannot be written."""
    return _append(entries_append, [_entry(_values(**entry))])[0]


def audit_record_many(
    *, citizen_ids: Iterable[int | None], **content: Unpack[EntryContent]
) -> list[AuditEntry]:
    """One entry per distinct citizen, as IHE BALP asks for searches and lists
    (``None``: an entry about no citizen)."""
    entries = [
        _entry(_values(**content, citizen_id=citizen_id))
        for citizen_id in dict.fromkeys(citizen_ids)
    ]
    return _append(entries_append, entries)


def audit_write(**entry: Unpack[Entry]) -> None:
    """Append one entry, as :func:`audit_record` does, for a caller that does
    not read it back (the gate, on every access): its content goes to the
    log as it is, with no model built around it. Raises if it cannot be written."""
    values = _values(**entry)
    if connection.vendor == "postgresql":
        _append(content_append, values)
    else:
        _append(entries_append, [_entry(values)])


def _unavailable() -> Unavailable:
    return Unavailable(
        "audit.unavailable",
        "The access could not be recorded in the audit log, so it was not carried out.",
    )


def audit_write_along(statement: str, params: Sequence[Any], **entry: Unpack[Entry]) -> None:
    """:func:`audit_write` of one entry in the same statement as the caller's
    own write, ``statement`` with its ``params`` (an INSERT, UPDATE or DELETE:
    the row that remembers a partner's message): one round trip for both,
    and both written or neither. PostgreSQL only.

    The caller's row may break one of its table's constraints or hold a
    value its columns cannot: those errors (``IntegrityError``,
    ``DataError``) reach the caller as Django raises them, for it to answer
    as it answers its own statement's. Any other failure is
    ``audit.unavailable``, as for :func:`audit_write`."""
    try:
        content_append_along(statement, params, _values(**entry))
    except (IntegrityError, DataError):
        raise
    except DatabaseError as exc:
        raise _unavailable() from exc


def _append(append: Callable[[_T], _R], entries: _T) -> _R:
    """Write or refuse: a failure surfaces as ``audit.unavailable`` (503) so the
    caller's data is not served and its transaction rolls back."""
    try:
        return append(entries)
    except DataError:
        # A value the log cannot hold is the request's, not an outage:
        # refused for good, never "try again".
        raise InvalidInput(
            "audit.value_invalid",
            "A value in the request cannot be recorded in the audit log; nothing was done.",
        ) from None
    except DatabaseError as exc:
        raise _unavailable() from exc


def audit_record_auditor_view(
    *,
    actor: Actor,
    action: str,
    citizen_ids: Iterable[int | None],
    query: dict[str, str] | None = None,
) -> None:
    """An auditor's own search, read or export, recorded with purpose ``audit``:
    one entry per citizen in the result, or one without a citizen when the
    result names none."""
    ids = [citizen_id for citizen_id in citizen_ids if citizen_id is not None]
    audit_record_many(
        actor=actor,
        action=action,
        purpose=Purpose.AUDIT,
        citizen_ids=ids or [None],
        resource_type="AuditEvent",
        detail={"query": query} if query else None,
    )


def audit_record_unknown_entry(
    *, actor: Actor, entry_id: str, query: dict[str, str], action: str = Action.READ
) -> NotFoundOrNotAllowed:
    """An auditor asked to read (or, ``action``, to review) an entry id that
    names no entry: recorded as her other reads are (purpose ``audit``,
    ``query`` as the read of a found entry records it), denied with the code
    every door answers (``audit.entry_not_found``), and on no citizen. The
    same on every door that takes an entry by its id (``/api/audit/``,
    ``/fhir/AuditEvent``, the auditor's pages); returns the error the door
    raises."""
    auditor_attempt_refused(
        actor=actor,
        action=action,
        reason_code=ENTRY_NOT_FOUND,
        # The id as asked when it can be one (an id that is not stays in the query).
        resource_id=entry_id if is_digits(entry_id) and len(entry_id) <= 64 else "",
        detail={"query": query},
    )
    return entry_not_found()


def auditor_attempt_refused(
    *,
    actor: Actor,
    action: str,
    reason_code: str,
    citizen_id: int | None = None,
    resource_id: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """An attempt refused on a door of the log itself (an entry that is not
    hers to read, a search or an export refused, a municipality that has
    left): recorded as denied, purpose ``audit``, on the citizen it names if
    any (R9)."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.AUDIT,
        citizen_id=citizen_id,
        outcome=Outcome.DENIED,
        resource_type="AuditEvent",
        resource_id=resource_id,
        reason_code=reason_code,
        detail=detail,
    )


def entry_review(*, entry_id: int, actor: Actor, comment: str, scope: AuditorScope) -> EntryReview:
    """An auditor marks a flagged entry reviewed. Stored beside the log, never
    in it. The review of an id that names no entry, or of an entry outside
    her ``scope`` (:mod:`consent.audit.scope`), is recorded as a denied
    attempt (``audit_record_unknown_entry``)."""
    comment = required_text(
        comment,
        code="audit.review_comment_required",
        field="comment",
        message="A review needs a comment.",
    )
    if actor.user is None:
        raise InvalidInput("audit.review_needs_user", "Only a person can review an entry.")
    if not scope.holds(entry_id):
        raise audit_record_unknown_entry(
            actor=actor,
            entry_id=str(entry_id),
            query={"review": str(entry_id)},
            action=Action.UPDATE,
        )
    if not AuditFlag.objects.filter(entry_id=entry_id).exists():
        if not entry_id_possible(entry_id) or not AuditEntry.objects.filter(id=entry_id).exists():
            # Her attempt is on the log as the read of an unknown id is (R9).
            raise audit_record_unknown_entry(
                actor=actor,
                entry_id=str(entry_id),
                query={"review": str(entry_id)},
                action=Action.UPDATE,
            )
        # The entry is there for the auditor to read; it only has no flag.
        raise Conflict("audit.entry_not_flagged", "This entry has no flag to review.")
    review = EntryReview(
        entry_id=entry_id, reviewed_by=actor.user, reviewed_at=timezone.now(), comment=comment
    )
    full_clean_or_raise(review, code="audit.review_invalid", exclude=["entry_id"])
    insert_or_conflict(
        review, code="audit.already_reviewed", message="This entry has already been reviewed."
    )
    return review
