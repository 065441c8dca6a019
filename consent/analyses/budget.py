"""An analyst's privacy budget (R6): an append-only ledger of the epsilon each
new answer cost, summed over a rolling window, and when the window will have
room again for a new answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from consent.models import PrivacyBudgetEntry
from core.actors import Actor
from core.errors import Forbidden
from core.models import Role, User


@dataclass(frozen=True)
class Budget:
    """An analyst's privacy budget now."""

    budget: Decimal
    spent: Decimal
    epsilon_per_run: Decimal
    window_days: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget": float(self.budget),
            "budget_spent": float(self.spent),
            "budget_remaining": float(max(self.budget - self.spent, Decimal(0))),
            "epsilon_per_run": float(self.epsilon_per_run),
            "window_days": self.window_days,
        }


def budget_window() -> dt.timedelta:
    return dt.timedelta(days=settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS)


def spent_since(*, analyst: User, since: dt.datetime) -> Decimal:
    total = PrivacyBudgetEntry.objects.filter(analyst=analyst, spent_at__gt=since).aggregate(
        total=Sum("epsilon")
    )["total"]
    return total if total is not None else Decimal(0)


def analysis_budget(*, actor: Actor) -> Budget:
    """What the acting analyst has spent of the privacy budget in the window."""
    if actor.role != Role.ANALYST or actor.user is None:
        raise Forbidden("analysis.role", gettext("Only analysts run analyses (R6)."), rule="R6")
    return Budget(
        budget=settings.CONSENT_ANALYSIS_EPSILON_BUDGET,
        spent=spent_since(analyst=actor.user, since=timezone.now() - budget_window()),
        epsilon_per_run=settings.CONSENT_ANALYSIS_EPSILON_PER_RUN,
        window_days=settings.CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS,
    )


def when_budget_allows(*, analyst: User, since: dt.datetime, need: Decimal) -> dt.datetime:
    """The moment enough of the window's spending has left it for ``need`` more."""
    budget = settings.CONSENT_ANALYSIS_EPSILON_BUDGET
    entries = PrivacyBudgetEntry.objects.filter(analyst=analyst, spent_at__gt=since).order_by(
        "spent_at"
    )
    spent = sum((e.epsilon for e in entries), Decimal(0))
    for entry in entries:
        spent -= entry.epsilon
        if spent + need <= budget:
            return entry.spent_at + budget_window()
    return timezone.now()
