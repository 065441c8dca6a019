"""The auditor's filter "Baggrundsjob" lists each of the platform's own jobs
by its Danish name: two jobs never read the same, or the auditor could not
tell which of them she picks."""

from __future__ import annotations

from django.utils import translation

from core.labels import TASKS


def test_every_background_job_reads_differently_in_danish() -> None:
    with translation.override("da"):
        labels = [str(label) for label in TASKS.values()]

    repeated = sorted({label for label in labels if labels.count(label) > 1})
    assert repeated == []
