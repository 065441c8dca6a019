"""The API keeps its contract: schemathesis against the live platform.

gunicorn serves the platform on the test database, seeded with the demo data;
every operation of the schema at ``/api/schema/`` is called with inputs
generated from the schema (a fixed seed, a bounded number of each), as each
role that may call it, with a real bearer token. Any 5xx, any status the
operation does not document, any body outside its schema and any crash fails.

The port is fixed (8617): run it under ``flock /tmp/tvaerakut-ports.lock``.
"""

from __future__ import annotations

import importlib
import io
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from django.apps import apps
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.models import Membership, Role
from tests import factories
from tests.web_server import RunningWeb, start_web

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, reset_sequences=True)]

PORT = 8617
# API_CONTRACT_PORT=0 takes any free port (no lock needed) while working on it.
PORT = int(os.environ.get("API_CONTRACT_PORT", PORT))
# Examples per operation: enough to reach each operation's paths past its
# checks, few enough that the run stays within a few minutes on two cores.
EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# One demo user per role (core/demo.py), each acting in the demo's organisation.
DEMO_USERS = {
    Role.COORDINATOR: "coordinator",
    Role.ACUTE_NURSE: "nurse1",
    Role.PHYSICIAN: "physician",
    Role.HOME_NURSE: "homenurse",
    Role.MEDICINE_OFFICER: "officer",
    Role.AUDITOR: "auditor",
    Role.ANALYST: "analyst",
    Role.ADMINISTRATOR: "admin",
}
# The demo's ids are small (sequences reset): a path id drawn from these names
# a real referral, visit, count or order as often as not.
SEEDED_IDS = st.integers(min_value=1, max_value=12)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningWeb]:
    # A transactional test before this one emptied every table, the test
    # catalogue (R7) that a data migration seeds too: put it back first.
    importlib.import_module("acute.clinical.migrations.0002_seed_catalogue").seed(apps, None)
    call_command("demo_data", stdout=io.StringIO())
    web = start_web(
        tmp_path, port=PORT or None, DEPLOYMENT="local", STATIC_ROOT=str(tmp_path / "static")
    )
    yield web
    web.stop()


def _tokens() -> dict[str, str]:
    tokens: dict[str, str] = {}
    for role, username in DEMO_USERS.items():
        membership = (
            Membership.objects.select_related("organisation")
            .filter(user__username=username, role=role)
            .order_by("-is_default", "pk")
            .first()
        )
        assert membership is not None, username
        tokens[role] = factories.token_for(membership)
    return tokens


def _cases(operation: Any) -> Any:
    """Inputs the schema allows and inputs it does not, with generated path ids
    and with ids of the demo's own records."""
    names = [parameter.name for parameter in operation.path_parameters if parameter.name != "name"]
    strategies: list[Any] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if names:

            def with_ids(n: int, mode: GenerationMode = mode) -> Any:
                return operation.as_strategy(
                    generation_mode=mode, path_parameters=dict.fromkeys(names, n)
                )

            strategies.append(SEEDED_IDS.flatmap(with_ids))
    return st.one_of(strategies)


def _checks_bite(base_url: str, token: str) -> None:
    """The checks refuse an answer outside the schema: the coordinator's board,
    read against a schema that promises a field the platform never sends."""
    raw = requests.get(f"{base_url}/api/schema/?format=json", timeout=60).json()
    board = raw["components"]["schemas"]["ReferralBoard"]
    board["properties"]["promised"] = {"type": "string"}
    board["required"] = [*board["required"], "promised"]
    operation = schemathesis.openapi.from_dict(raw)["/api/acute/referrals"]["GET"]
    case = operation.Case(query={})
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(base_url=base_url, headers=headers, timeout=30)
    assert response.status_code == 200
    with pytest.raises(FailureGroup, match="promised"):
        case.validate_response(response, checks=CHECKS, headers=headers)


def _run(
    operation: Any, base_url: str, token_for: Callable[[str], str], seen: dict[str, set[int]]
) -> None:
    roles = operation.definition.raw.get("x-roles") or [None]

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation), role=st.sampled_from(roles))
    def call(case: Any, role: str | None) -> None:
        headers = {"Authorization": f"Bearer {token_for(role)}"} if role else {}
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        seen.setdefault(operation.label, set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    call()


def test_every_operation_keeps_its_contract_for_every_role(platform: RunningWeb) -> None:
    tokens = _tokens()
    _checks_bite(platform.url, tokens[Role.COORDINATOR])
    schema = schemathesis.openapi.from_url(f"{platform.url}/api/schema/?format=json", timeout=60)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 70

    def token_for(role: str) -> str:
        return tokens[role]

    def fresh_token_for(role: str) -> str:
        # Logging out revokes the token it is sent with: each call gets its own.
        membership = Membership.objects.filter(
            user__username=DEMO_USERS[Role(role)], role=role
        ).first()
        assert membership is not None
        return factories.token_for(membership)

    failures: dict[str, str] = {}
    seen: dict[str, set[int]] = {}
    for operation in operations:
        revokes = operation.definition.raw["operationId"] == "auth_token_revoke"
        try:
            _run(operation, platform.url, fresh_token_for if revokes else token_for, seen)
        except Exception as failure:  # noqa: BLE001 (every operation's failure is reported)
            failures[operation.label] = "".join(traceback.format_exception_only(failure))[:3000]
    print({label: sorted(codes) for label, codes in seen.items()})  # noqa: T201
    if failures:
        log = platform.output()[-6000:]
        report = "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
        pytest.fail(f"{len(failures)} operations broke their contract:\n{report}\n\n{log}")
