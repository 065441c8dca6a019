"""`make run` serves like production (DEPLOYMENT=local, DEBUG off): gunicorn
with the collected, compressed static files, the platform's own error pages,
and plain HTTP on 127.0.0.1 that a browser can log in over. A real gunicorn on
the test database, asked over HTTP as a browser asks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Role
from tests import factories
from tests.conftest import ROOT, wait_for, worker_env
from tests.web_server import RunningWeb, fetch, free_port, start_web

CPR_IN_URL = "0101901234"
TECHNICAL_PAGE_MARKS = ("Traceback", "DEBUG = True", "Using the URLconf", "Page not found")


@pytest.fixture(scope="module")
def local_web(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningWeb]:
    tmp = tmp_path_factory.mktemp("local")
    env = {"DEPLOYMENT": "local", "STATIC_ROOT": str(tmp / "static")}
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=worker_env(DEBUG="0", VAR_DIR=str(tmp / "var"), **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    web = start_web(tmp, **env)
    yield web
    web.stop()


def _cookie(set_cookies: list[str], name: str) -> str:
    found = [c for c in set_cookies if c.startswith(f"{name}=")]
    assert found, set_cookies
    return found[0]


def test_local_mode_starts_without_a_configured_key_and_never_shows_a_traceback(
    local_web: RunningWeb,
) -> None:
    """DEBUG is off: an unknown address is the platform's page, not Django's."""
    status, headers, body, _ = fetch(f"{local_web.url}/no-such-page/")
    html = body.decode()
    assert status == 404
    assert "Ikke tilgængelig" in html
    for mark in TECHNICAL_PAGE_MARKS:
        assert mark not in html, mark

    status, headers, body, _ = fetch(f"{local_web.url}/fhir/NoSuchResource")
    assert status == 404
    assert headers["Content-Type"] == "application/fhir+json"
    assert b'"resourceType":"OperationOutcome"' in body.replace(b" ", b"")


def test_static_files_are_served_compressed_with_a_long_cache(local_web: RunningWeb) -> None:
    _, _, body, _ = fetch(f"{local_web.url}/login/")
    stylesheet = re.search(r'href="(/static/core/app\.[0-9a-f]{12}\.css)"', body.decode())
    assert stylesheet, "the page links the hashed stylesheet that collectstatic wrote"
    status, headers, _, _ = fetch(
        local_web.url + stylesheet.group(1), headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers.get("Content-Encoding") == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"]
    assert "immutable" in headers["Cache-Control"]


@pytest.mark.postgres  # the server's own process reads the test database: SQLite's is in memory
@pytest.mark.django_db(transaction=True)
def test_a_nurse_logs_in_over_plain_http_on_this_machine(local_web: RunningWeb) -> None:
    """No redirect to HTTPS, no Secure-only cookies, no HSTS: the browser on
    http://127.0.0.1 keeps its session. The query string (here a CPR number
    typed where it does not belong, refused) stays out of the access log."""
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    factories.totp_device(nurse.user)
    status, _headers, _body, _cookies = fetch(f"{local_web.url}/login/?next={CPR_IN_URL}")
    assert status == 400
    status, headers, body, cookies = fetch(f"{local_web.url}/login/")
    assert status == 200
    assert "Strict-Transport-Security" not in headers
    csrf_cookie = _cookie(cookies, "csrftoken")
    assert "secure" not in csrf_cookie.lower()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode())
    assert token

    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": nurse.user.username,
            "password": factories.PASSWORD,
        }
    ).encode()
    status, headers, _, cookies = fetch(
        f"{local_web.url}/login/",
        data=form,
        headers={
            "Cookie": csrf_cookie.split(";")[0],
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 302, headers
    assert headers["Location"] == "/login/code/"
    pending = _cookie(cookies, "sessionid")
    # The second step: the code from the nurse's TOTP app.
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "otp": factories.totp_code(nurse.user)}
    ).encode()
    status, headers, _, cookies = fetch(
        f"{local_web.url}/login/code/",
        data=form,
        headers={
            "Cookie": f"{csrf_cookie.split(';')[0]}; {pending.split(';')[0]}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 302, headers
    session = _cookie(cookies, "sessionid")
    assert "secure" not in session.lower()
    assert "httponly" in session.lower()

    status, _, body, _ = fetch(f"{local_web.url}/", headers={"Cookie": session.split(";")[0]})
    assert status == 200
    assert "Log ud" in body.decode()
    assert CPR_IN_URL not in local_web.output()
    # The access log is JSON lines, like every other log line.
    access = [
        json.loads(line)["message"]
        for line in local_web.output().splitlines()
        if line.startswith("{") and "HTTP/1.1" in line
    ]
    assert any('"GET /login/ HTTP/1.1" 200' in message for message in access)


def test_local_mode_refuses_an_address_that_others_can_reach(tmp_path: Path) -> None:
    """A --bind on gunicorn's command line cannot slip past the loopback rule."""
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:config.gunicorn",
            "--bind",
            f"0.0.0.0:{port}",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env=worker_env(DEBUG="0", DEPLOYMENT="local", VAR_DIR=str(tmp_path / "var")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "loopback address only, not on 0.0.0.0" in result.stderr


def test_the_access_line_carries_the_request_id_the_response_did(local_web: RunningWeb) -> None:
    """gunicorn writes its access line after the response has left the
    platform; the line still carries the id the caller was answered with, so
    the id a user reports finds the request in the log."""
    _, given, _, _ = fetch(
        f"{local_web.url}/no-such-page/", headers={"X-Request-ID": "ward-7-000123"}
    )
    _, made, _, _ = fetch(f"{local_web.url}/login/")
    assert given["X-Request-ID"] == "ward-7-000123"

    def access_lines(request_id: str) -> list[str]:
        lines = [json.loads(line) for line in local_web.output().splitlines() if line[:1] == "{"]
        return [
            line["message"]
            for line in lines
            if line["logger"] == "gunicorn.access" and line["request_id"] == request_id
        ]

    for request_id, path in (
        ("ward-7-000123", "/no-such-page/"),
        (made["X-Request-ID"], "/login/"),
    ):
        assert wait_for(lambda rid=request_id: access_lines(rid)), local_web.output()[-2000:]
        [line] = access_lines(request_id)
        assert f'"GET {path} HTTP/1.1" ' in line
