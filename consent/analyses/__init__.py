"""Restricted analyses (R6): named, aggregate-only, differentially private.

Only analysts run them. Each analysis counts *citizens* in a table (rows by
columns). The exact counts never leave this module: every cell gets discrete
Laplace noise (``consent.privacy``) scaled to the most one citizen can change
the table and to the epsilon a new answer costs. The row, column and grand
totals are sums of the noisy cells, so they are noisy too and cost nothing
more. Then every value below ``CONSENT_ANALYSIS_MIN_CELL`` — zero and
negatives included, since a noisy zero says nothing exact — is suppressed, and
wherever a published total would give a hidden value away, another part is
hidden too (complementary suppression). Both are computed from the noisy table
alone, so they cost no privacy.

Suppression inside one table cannot stop an analyst from combining tables:
nested diagnosis prefixes (differencing), a count against its complement and a
total, or a small group padded with a large one and the padding subtracted
(a tracker). Noise does: each answer an analyst combines carries its own noise,
and each costs epsilon from the analyst's privacy budget — an append-only
ledger, summed over a rolling window. A new answer that would take the
analyst's spending above the budget is refused (``analysis.budget_exhausted``).
The same question asked again within the window, over the same data, gets
the same answer back — by the same analyst at no cost, by another for what a
new answer costs her — so asking it again, or pooling what several analysts
or one analyst acting for several organisations were given, cannot average
the noise away (``consent.models.AnalysisRelease``). See
``docs/decisions/0005-differential-privacy-for-analyses.md``.

Citizens whose refusal covers the analyst who asks, for the purpose
``analysis`` (or with no purpose limit) — every recipient, her organisation
or her by name, as the gate reads it — are left out of her answers; if such a
refusal names a data period, only their record data dated inside it is.

Every run — a new answer, an answer given again, a refusal — is recorded in
the audit log.

Modules: :mod:`~consent.analyses.catalogue` (the named analyses),
:mod:`~consent.analyses.refusals` (what they leave out),
:mod:`~consent.analyses.runs` (running one), :mod:`~consent.analyses.budget`
(the privacy budget), :mod:`~consent.analyses.suppression` and
:mod:`~consent.analyses.tables` (the released table).
"""

from consent.analyses.budget import Budget, analysis_budget
from consent.analyses.catalogue import (
    ANALYSES,
    CONTACT_DAYS_DEFAULT,
    CONTACT_DAYS_LEAST,
    CONTACT_DAYS_MOST,
    ICD10_PREFIX,
    SERVICE_LABELS,
    Analysis,
    Counts,
)
from consent.analyses.refusals import refused_to_any_analyst
from consent.analyses.runs import analysis_release_read, analysis_request_refuse, analysis_run
from consent.analyses.suppression import suppress
from consent.analyses.tables import NOISE_NOTE, SUPPRESSED, Privacy, Table

__all__ = [
    "ANALYSES",
    "CONTACT_DAYS_DEFAULT",
    "CONTACT_DAYS_LEAST",
    "CONTACT_DAYS_MOST",
    "ICD10_PREFIX",
    "NOISE_NOTE",
    "SERVICE_LABELS",
    "SUPPRESSED",
    "Analysis",
    "Budget",
    "Counts",
    "Privacy",
    "Table",
    "analysis_budget",
    "analysis_release_read",
    "analysis_request_refuse",
    "analysis_run",
    "refused_to_any_analyst",
    "suppress",
]
