"""What the gate decides, and in which words: the categories of data a caller
asks for, the purposes each role may state (R3), the :class:`Decision` itself,
and what a decision adds to its audit entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from consent.audit.services import Purpose
from consent.models import DataCategory
from core.models import Role

CATEGORY_PATIENT = "patient"  # identity and address (Patient)
CATEGORY_SUMMARY = "summary"  # every permitted category at once ($everything)
CATEGORY_CONSENT = "consent"  # the citizen's refusals and consents
CATEGORY_INSIGHT = "insight"  # the insight report (R5)
RECORD_CATEGORIES = frozenset({*DataCategory.values, CATEGORY_PATIENT, CATEGORY_SUMMARY})

CLINICAL_ROLES = frozenset({Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE})

# R3: the purposes each recipient role may state. ``emergency`` is only ever
# granted together with an open break-the-glass.
PERMITTED_PURPOSES: dict[str, frozenset[str]] = {
    Role.ACUTE_NURSE: frozenset({Purpose.TREATMENT, Purpose.EMERGENCY}),
    Role.COORDINATOR: frozenset({Purpose.TREATMENT, Purpose.OPERATIONS, Purpose.EMERGENCY}),
    Role.PHYSICIAN: frozenset({Purpose.TREATMENT, Purpose.EMERGENCY}),
    Role.HOME_NURSE: frozenset({Purpose.TREATMENT, Purpose.EMERGENCY}),
}


# Background work on behalf of a partner organisation (no person, no role).
SYSTEM_PURPOSES = frozenset({Purpose.TREATMENT, Purpose.OPERATIONS})


# A data period refused to this reader: [start, end), either end open.
HiddenPeriod = tuple[dt.datetime | None, dt.datetime | None]

# The categories whose resources carry a date a data-period refusal can cover.
DATED_CATEGORIES = frozenset({*DataCategory.values, CATEGORY_SUMMARY})


@dataclass(frozen=True)
class Decision:
    permitted: bool
    reason_code: str  # why: "care_relationship", "refused", "purpose_not_permitted", ...
    basis: str = ""
    # Set when the override alone permitted: the open break-the-glass and its reason.
    break_glass_id: int | None = None
    break_glass_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Record data the reader may not see although the citizen is permitted.
    hidden_periods: tuple[HiddenPeriod, ...] = ()

    def audit_purpose(self, asked: str) -> str:
        """The purpose the audit entry states: ``emergency`` whenever the
        override alone permitted, whatever purpose the caller asked with."""
        return Purpose.EMERGENCY if self.break_glass_id else asked


def in_hidden_period(when: dt.datetime | None, periods: Iterable[HiddenPeriod]) -> bool:
    if when is None:
        return False
    return any(
        (start is None or when >= start) and (end is None or when < end) for start, end in periods
    )


def audit_detail(
    decision: Decision, category: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"basis": decision.basis}
    if category:
        out["category"] = category
    if decision.break_glass_id:
        out["break_glass_id"] = decision.break_glass_id
        out["break_glass_reason"] = decision.break_glass_reason
    if decision.hidden_periods:
        # The reader got the record without the data the citizen refused by period.
        out["withheld"] = "data_period"
    if extra:
        out.update(extra)
    return out
