"""Browser tests: Playwright for Python drives Debian's headless Chromium
(``/usr/bin/chromium``, installed by ``make browsers``; nothing is downloaded)
against a live server on 127.0.0.1 and a real Celery worker on Redis.

Every test here is marked ``integration``: on a plain SQLite run it is skipped
with the reason; CI (PostgreSQL + Redis) runs it. Screenshots of the main pages
go to ``test-artifacts/screenshots/`` (kept by CI as artifacts, ignored by git).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REQUIRE_SERVICES, ROOT
from tests.parallel import worker_number

CHROMIUM = Path(os.environ.get("TVAERAKUT_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LIVE_SERVER_PORTS = range(8300, 8400)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET_PORTRAIT = {"width": 800, "height": 1280}
TABLET_LANDSCAPE = {"width": 1280, "height": 800}
DESKTOP = {"width": 1440, "height": 900}

# Playwright's sync API keeps an event loop in this thread; the test's own ORM
# calls (factories, assertions) are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _free_port() -> int:
    # Each of the suite's processes (tests/parallel.py) looks in its own part
    # of the range, so two never pick the same port before either binds it.
    share = len(LIVE_SERVER_PORTS) // 2
    start = LIVE_SERVER_PORTS.start + (worker_number() % 2) * share
    for port in range(start, start + share):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + share - 1} for the live server")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        return  # the process that hands out the tests: each worker picks its own
    if not config.getoption("liveserver", None) and not os.environ.get(
        "DJANGO_LIVE_TEST_SERVER_ADDRESS"
    ):
        os.environ["DJANGO_LIVE_TEST_SERVER_ADDRESS"] = f"127.0.0.1:{_free_port()}"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make browsers` (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Opens a fresh browser context (its own cookies and storage) at a viewport.

    Every request the page makes to anything but the live server is aborted:
    the platform's pages make no outside calls.
    """
    contexts: list[Any] = []
    base = live_server.url

    def open_page(viewport: dict[str, int] = TABLET_LANDSCAPE, locale: str = "da-DK") -> Any:
        context = chromium.new_context(
            viewport=viewport, locale=locale, timezone_id="Europe/Copenhagen", base_url=base
        )
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base) else route.abort()
            ),
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Saves a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, username: str, password: str) -> None:
    """A password login as staff make it: the password, then the code from
    the user's TOTP app (the tests' key, tests/factories.py)."""
    from core.models import User
    from tests import factories

    user = User.objects.filter(username=username).first()
    if user is not None:
        factories.totp_device(user)
    page.goto("/login/")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state("domcontentloaded")
    if user is not None and page.url.endswith("/login/code/"):
        page.get_by_label("Kode", exact=True).fill(factories.totp_code(user))
        page.get_by_role("button", name="Log ind").click()
        page.wait_for_load_state("domcontentloaded")


@pytest.fixture(autouse=True)
def reference_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests empty every table when they end, including the rows
    that data migrations seed: put the predefined test catalogue (R7) back."""
    if "django_db_setup" not in request.fixturenames and "live_server" not in (
        request.fixturenames
    ):
        return
    import importlib

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    importlib.import_module("acute.clinical.migrations.0002_seed_catalogue").seed(apps, None)
