"""The Content-Security-Policy forbids inline script and style on every page,
so a template with an inline handler would break in the browser: none has one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

INLINE = re.compile(
    r"""\son[a-z]+\s*=|<style[\s>]|<script(?![^>]*\ssrc=)[^>]*>|\sstyle\s*=|javascript:""",
    re.IGNORECASE,
)


def _templates() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("templates/**/*.html")
        if ".venv" not in path.parts and "site-packages" not in path.parts
    ]


def test_pages_send_a_policy_without_inline_script_or_style(client) -> None:
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    directives = {
        name: value
        for name, _, value in (part.strip().partition(" ") for part in policy.split(";"))
        if name
    }
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_carries_inline_script_style_or_handlers() -> None:
    templates = _templates()
    assert len(templates) > 20
    offenders = {
        str(path.relative_to(ROOT)): match.group(0)
        for path in templates
        for match in [INLINE.search(path.read_text(encoding="utf-8"))]
        if match
    }
    assert offenders == {}
