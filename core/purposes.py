"""Purposes of use (R3: every access states its purpose), one rule for every door.

Each role exists for one purpose (:data:`ROLE_PURPOSE`): what its accesses
are for when it states none. It may state only the purposes defined for it
(:data:`PERMITTED_PURPOSES`); ``emergency`` is defined for the clinical roles
and permits only together with an open break-the-glass, which the access gate
decides. The pages and ``/api/`` state the purpose of the endpoint in the code
(each open to the roles that exist for it); ``/fhir/`` reads the
``X-Purpose-Of-Use`` header by :func:`purpose_stated`
(``docs/decisions/0023-purpose-of-use.md``).
"""

from __future__ import annotations

from core.errors import Forbidden, InvalidInput
from core.models import Role

# As the audit log spells them (``consent.audit.models.Purpose``).
TREATMENT = "treatment"
EMERGENCY = "emergency"
OPERATIONS = "operations"
ANALYSIS = "analysis"
AUDIT = "audit"

# Platform purposes <-> HL7 v3 PurposeOfUse (v3-ActReason).
PURPOSE_CODES = {
    TREATMENT: "TREAT",
    EMERGENCY: "ETREAT",
    OPERATIONS: "HOPERAT",
    ANALYSIS: "HRESCH",
    AUDIT: "HSYSADMIN",
}
PURPOSE_BY_CODE = {v: k for k, v in PURPOSE_CODES.items()}

# The purpose each role exists for.
ROLE_PURPOSE: dict[str, str] = {
    Role.ACUTE_NURSE: TREATMENT,
    Role.COORDINATOR: TREATMENT,
    Role.PHYSICIAN: TREATMENT,
    Role.HOME_NURSE: TREATMENT,
    Role.MEDICINE_OFFICER: OPERATIONS,
    Role.AUDITOR: AUDIT,
    Role.ANALYST: ANALYSIS,
    Role.ADMINISTRATOR: OPERATIONS,
}

# The purposes each role may state: its own, and for the clinical roles the
# emergency of break-the-glass; the coordinator runs the acute function too.
PERMITTED_PURPOSES: dict[str, frozenset[str]] = {
    Role.ACUTE_NURSE: frozenset({TREATMENT, EMERGENCY}),
    Role.COORDINATOR: frozenset({TREATMENT, OPERATIONS, EMERGENCY}),
    Role.PHYSICIAN: frozenset({TREATMENT, EMERGENCY}),
    Role.HOME_NURSE: frozenset({TREATMENT, EMERGENCY}),
    Role.MEDICINE_OFFICER: frozenset({OPERATIONS}),
    Role.AUDITOR: frozenset({AUDIT}),
    Role.ANALYST: frozenset({ANALYSIS}),
    Role.ADMINISTRATOR: frozenset({OPERATIONS}),
}

UNKNOWN_MESSAGE = (
    "X-Purpose-Of-Use is one of treatment, emergency, operations, analysis, audit "
    "(or TREAT, ETREAT, HOPERAT, HRESCH, HSYSADMIN)."
)
NOT_PERMITTED_MESSAGE = "Your role may not state this purpose of use."


def role_purpose(role: str) -> str:
    """The purpose ``role`` exists for; a caller without a role (none of
    staff's) is taken as treatment, which the gate then refuses it."""
    return ROLE_PURPOSE.get(role, TREATMENT)


def purpose_known(raw: str | None) -> str | None:
    """The platform's purpose a stated value names (its own word or the HL7
    v3 code, any case), or ``None``."""
    value = (raw or "").strip()
    purpose = PURPOSE_BY_CODE.get(value.upper(), value.lower())
    return purpose if purpose in PURPOSE_CODES else None


def purpose_stated(raw: str | None, role: str) -> str:
    """The purpose of an access: the one stated (``raw``), or without one the
    purpose ``role`` exists for. A value that names no purpose is bad input
    (``purpose.unknown``); a purpose the role may not state is refused
    (``purpose.not_permitted``). Only reads: the callers record a refusal."""
    if raw is None or not raw.strip():
        return role_purpose(role)
    purpose = purpose_known(raw)
    if purpose is None:
        raise InvalidInput("purpose.unknown", UNKNOWN_MESSAGE, field="X-Purpose-Of-Use")
    if purpose not in PERMITTED_PURPOSES.get(role, frozenset()):
        raise Forbidden(
            "purpose.not_permitted",
            NOT_PERMITTED_MESSAGE,
            field="X-Purpose-Of-Use",
        )
    return purpose
