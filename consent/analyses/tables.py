"""A released answer as the analyst gets it: the noisy, suppressed table with
its margins, what it cost from the privacy budget, and the notes that say so
— as JSON and as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from core.spreadsheet import BOM, csv_decimal, csv_text
from core.times import api_instant

SUPPRESSED = None  # a suppressed value is published as null / "hidden"

# Every released table says this, in the analyst's language.
NOISE_NOTE = gettext_lazy(
    "The counts carry random noise (differential privacy) and are not exact; the totals "
    "are sums of the noisy counts. Asking the same question again within the budget "
    "window gives the same answer."
)


@dataclass(frozen=True)
class Privacy:
    """What an answer cost and what the analyst has left."""

    epsilon: Decimal  # what the answer cost when it was first given
    epsilon_spent: Decimal  # what this request cost: nothing when the answer is given again
    reused: bool
    released_at: dt.datetime
    budget: Decimal
    budget_spent: Decimal  # inside the window, this request included
    window_days: int

    @property
    def budget_remaining(self) -> Decimal:
        return max(self.budget - self.budget_spent, Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "noisy": True,
            "mechanism": "discrete_laplace",
            "epsilon": float(self.epsilon),
            "epsilon_spent": float(self.epsilon_spent),
            "reused": self.reused,
            "released_at": api_instant(self.released_at),
            "budget": float(self.budget),
            "budget_spent": float(self.budget_spent),
            "budget_remaining": float(self.budget_remaining),
            "window_days": self.window_days,
            "note": str(NOISE_NOTE),
        }


@dataclass
class Table:
    """One released answer: noisy, suppressed, with what it cost."""

    analysis: str
    title: str
    row_header: str  # the key of each row's name in JSON, e.g. "municipality"
    row_header_label: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    parameters: dict[str, Any]
    min_cell: int
    privacy: Privacy
    release_id: int = 0  # the answer as kept: its page is the run's result

    def suppression_note(self) -> str:
        return gettext(
            "Counts below %(min_cell)s, and counts that would reveal them, are not shown."
        ) % {"min_cell": self.min_cell}

    def as_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "title": self.title,
            "parameters": self.parameters,
            "suppression": self.suppression_note(),
            "columns": self.columns,
            "rows": [
                {self.row_header: name, "cells": cells, "total": total}
                for name, cells, total in zip(self.rows, self.cells, self.row_totals, strict=True)
            ],
            "column_totals": self.column_totals,
            "total": self.total,
            "privacy": self.privacy.as_dict(),
        }

    def as_csv(self) -> str:
        """For a spreadsheet: a byte order mark so æ, ø and å read right,
        decimal commas, and no name (a municipality's, a service's) that
        could start a formula."""
        out = io.StringIO()
        out.write(BOM)
        writer = csv.writer(out)
        total_label = gettext("Total")
        writer.writerow(
            [csv_text(str(self.row_header_label)), *map(csv_text, self.columns), total_label]
        )

        # A hidden cell is marked as the page marks it, never "<5": a cell is
        # also hidden so that a total does not give away a small one, and
        # may then be 5 or more (the note under the table says both).
        hidden = gettext("hidden")

        def show(value: int | None) -> str:
            return hidden if value is None else str(value)

        for name, cells, total in zip(self.rows, self.cells, self.row_totals, strict=True):
            writer.writerow([csv_text(name), *(show(c) for c in cells), show(total)])
        writer.writerow([total_label, *(show(c) for c in self.column_totals), show(self.total)])
        # Below the table, so the table itself reads as before in a spreadsheet.
        writer.writerow([])
        writer.writerow([csv_text(self.suppression_note())])
        writer.writerow([csv_text(str(NOISE_NOTE))])
        privacy = self.privacy
        writer.writerow([gettext("Epsilon of this answer"), csv_decimal(privacy.epsilon)])
        writer.writerow(
            [gettext("Epsilon spent by this request"), csv_decimal(privacy.epsilon_spent)]
        )
        writer.writerow(
            [
                gettext("Budget left (last %(days)s days)") % {"days": privacy.window_days},
                csv_decimal(privacy.budget_remaining),
            ]
        )
        return out.getvalue()


def number(value: Decimal) -> str:
    return format(value.normalize(), "f")
