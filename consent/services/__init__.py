"""Writes in ``consent``, one module per use case; every name is importable from
``consent.services``.

- :mod:`~consent.services.record` — the shared record: a resource created, a
  versioned update, a transaction Bundle all or nothing (R2 at the door);
- :mod:`~consent.services.patients` — registering a citizen and versioned
  updates of the Patient;
- :mod:`~consent.services.consents` — refusals and consents, and their
  withdrawal (R4);
- :mod:`~consent.services.break_glass` — break-the-glass (*værdispring*);
- :mod:`~consent.services.care_relationships` — the care relationships the
  gate reads (R1);
- :mod:`~consent.services.versions` — the version a versioned update names;
- :mod:`~consent.services.denied` — a refused write recorded as an attempt (R9).

Each write asks the gate (:mod:`consent.gate`) before its transaction opens and
records its own audit entry inside it.
"""

from consent.services.break_glass import BREAK_GLASS_ROLES, break_glass_open
from consent.services.care_relationships import care_relationship_close, care_relationship_open
from consent.services.consents import consent_create, consent_withdraw
from consent.services.patients import patient_create, patient_register, patient_update
from consent.services.record import (
    bundle_citizens_named,
    record_resource_create,
    record_resource_update,
    record_transaction,
    resource_citizen_named,
)

__all__ = [
    "BREAK_GLASS_ROLES",
    "break_glass_open",
    "bundle_citizens_named",
    "care_relationship_close",
    "care_relationship_open",
    "consent_create",
    "consent_withdraw",
    "patient_create",
    "patient_register",
    "patient_update",
    "record_resource_create",
    "record_resource_update",
    "record_transaction",
    "resource_citizen_named",
]
