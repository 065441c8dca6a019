"""The audit log's refusals that several doors give alike."""

from __future__ import annotations

from core.errors import NotFoundOrNotAllowed

ENTRY_NOT_FOUND = "audit.entry_not_found"
# An entry id is a bigint: more digits name no entry (and are not sent to the database).
ENTRY_ID_MAX_DIGITS = 18


def entry_not_found() -> NotFoundOrNotAllowed:
    """An audit entry id that names no entry: one code and one message on every
    door that takes an entry's id (the auditor's API and pages, the inclusion
    proof, FHIR AuditEvent, ``manage.py audit_prove``), and for an entry
    outside the auditor's scope alike (decision 0039): to her it is none."""
    return NotFoundOrNotAllowed(ENTRY_NOT_FOUND, "No such audit entry.")


def entry_id_possible(entry_id: int) -> bool:
    """Whether ``entry_id`` can name an entry at all (a positive bigint)."""
    return 0 < entry_id < 10**ENTRY_ID_MAX_DIGITS


ALARM_NOT_FOUND = "audit.alarm_not_found"


def alarm_not_found() -> NotFoundOrNotAllowed:
    """An id that names no witness's refusal (no alarm to acknowledge)."""
    return NotFoundOrNotAllowed(ALARM_NOT_FOUND, "No such witness alarm.")
