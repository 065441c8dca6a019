"""Every refusal a service raises reads in Danish on a Danish page, and a form
refused by the CSRF check gets the platform's own Danish page.

The first test reads the platform's source: each error raised with a fixed
English message (a code and a message written out where it is raised) must be
one ``core.messages.user_message`` turns into Danish — through ``FIXED``, a
template or the code's own sentence. A message missing there reached the page
in English (a physician's short referral without the responsible physician
showed "Name the physician holding treatment responsibility")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from core.errors import PlatformError
from core.messages import user_message
from core.models import Role
from tests import factories
from tests.source_trees import syntax_tree

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("acute", "consent", "core", "integrations", "medicine_cabinet", "portal", "worker")


def _noop_names(tree: ast.Module) -> set[str]:
    """The names ``gettext_noop`` goes by in a module (``_`` in core.services)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
        for alias in node.names
        if alias.name == "gettext_noop"
    }


def _unwrap_noop(node: ast.expr, noop: set[str]) -> ast.expr:
    """``_("message")`` with ``_`` = gettext_noop marks the message for
    translation and leaves it English: it is the literal message all the same."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in noop
        and len(node.args) == 1
    ):
        return node.args[0]
    return node


def _raised_messages() -> list[tuple[str, int, str, str]]:
    """(file, line, code, message) of every error built with a literal code and
    message: ``SomeError("code", "message")`` or ``code=..., message=...``, the
    message also when wrapped in ``gettext_noop``."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = syntax_tree(path)
            noop = _noop_names(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                keywords = {k.arg: k.value for k in node.keywords}
                pair: tuple[ast.expr, ast.expr] | None = None
                is_error = name.endswith(
                    ("Error", "Input", "Allowed", "Forbidden", "Conflict")
                ) or name in (
                    "PreconditionFailed",
                    "Unauthenticated",
                    "InvalidMessage",
                    "Throttled",
                )
                if is_error and len(node.args) >= 2:
                    pair = (node.args[0], node.args[1])
                if "code" in keywords and "message" in keywords:
                    pair = (keywords["code"], keywords["message"])
                if pair is None:
                    continue
                code, message = pair[0], _unwrap_noop(pair[1], noop)
                if not (
                    isinstance(code, ast.Constant)
                    and isinstance(code.value, str)
                    and isinstance(message, ast.Constant)
                    and isinstance(message.value, str)
                ):
                    continue
                where = str(path.relative_to(ROOT))
                found.append((where, node.lineno, code.value, message.value))
    return found


def test_the_scan_finds_the_errors_it_is_meant_to_check() -> None:
    codes = {code for _where, _line, code, _message in _raised_messages()}
    # Raised positionally, and through required_text's keywords.
    assert "visit_note.empty" in codes
    assert "referral.responsible_physician_required" in codes
    # Marked with gettext_noop where raised (core.services), and a throttle.
    assert "auth.otp_invalid" in codes
    assert "auth.throttled" in codes


def test_every_fixed_refusal_reads_in_danish() -> None:
    english = []
    with translation.override("da"):
        for where, line, code, message in _raised_messages():
            if user_message(PlatformError(code, message)) == message:
                english.append(f"{where}:{line} {code}: {message}")
    assert english == []


@pytest.mark.django_db
def test_a_form_refused_by_the_csrf_check_gets_the_platforms_danish_page() -> None:
    nurse, _shift = factories.acute_nurse_on_shift()
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    response = client.post(
        "/login/", {"username": nurse.user.username, "password": factories.PASSWORD}
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-code="request.csrf_failed"' in html
    assert "så intet blev gemt. Genindlæs siden, og send formularen igen." in html
    assert "Tværakut" in html  # the platform's frame, with its navigation and language switch
    for technical in ("CSRF-verifikationen", "DEBUG=True", "Forbidden"):
        assert technical not in html, technical
    # Nobody was logged in by the refused form.
    assert client.get("/nurse/shift/")["Location"].startswith("/login/")


@pytest.mark.django_db
def test_a_csrf_refusal_on_a_signed_in_page_keeps_the_session() -> None:
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    signed_in = Client()
    assert factories.log_in(signed_in, coordinator).status_code == 302
    client = Client(enforce_csrf_checks=True)
    client.cookies = signed_in.cookies
    response = client.post("/coordinator/referrals/new/", {"cpr": "0101901234"})
    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-code="request.csrf_failed"' in html
    assert "0101901234" not in html
    assert client.get("/coordinator/").status_code == 200
