"""The API's documentation page (/api/docs/) in headless Chromium: Swagger UI
from the platform's own static files renders every operation under the strict
Content-Security-Policy, with nothing fetched from anywhere else."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_every_operation_under_the_csp(new_page, live_server) -> None:
    page = new_page(DESKTOP)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server.url) else outside.append(request.url)
        ),
    )
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 70
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Tværakut API")
    # The bearer scheme is offered for trying the API out.
    assert page.locator(".swagger-ui .btn.authorize").count() == 1
    screenshot(page, "api-docs")
    assert refused == []
    assert outside == []
