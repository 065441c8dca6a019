"""Running an analysis on the API as a client does (R6): a POST of the
question, its answer read again at the Location it is given."""

from __future__ import annotations

from typing import Any


def run(client: Any, name: str, **question: Any) -> Any:
    """``POST /api/consent/analyses/<name>`` with ``question`` as its body."""
    return client.post(f"/api/consent/analyses/{name}", question, format="json")


def run_csv(client: Any, name: str, **question: Any) -> Any:
    """The run's answer as CSV, read where the run says; a refused run as it is."""
    answer = run(client, name, **question)
    if answer.status_code not in (200, 201):
        return answer
    return client.get(answer["Location"] + "/csv")
