"""axe-core in the browser tests: injected into the page under test (from the
npm package ``make test`` installs in ``tests/browser/axe/``), run there, and
no serious or critical finding allowed."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from tests.conftest import REQUIRE_SERVICES, ROOT

AXE_SCRIPT = ROOT / "tests" / "browser" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_findings(page: Any) -> list[dict[str, Any]]:
    """The serious and critical axe findings on the page as it is now."""
    if not AXE_SCRIPT.exists():
        message = f"{AXE_SCRIPT} is missing: run `make test` (npm ci in tests/browser/axe)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    # Evaluated by the browser's devtools, not as a page script: the platform's
    # Content-Security-Policy (no inline script) stays as it is.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def assert_accessible(page: Any) -> None:
    findings = axe_findings(page)
    assert findings == [], f"{page.url}: {findings}"
