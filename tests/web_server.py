"""The platform served by gunicorn with its own configuration (config/gunicorn.py),
in a process of its own, on the test database, for tests that need the real
server: local mode, static files, the compose health check."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, worker_env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningWeb:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, port: int):
        self.process = process
        self.log = log
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_web(tmp: Path, *extra_args: str, port: int | None = None, **env: str) -> RunningWeb:
    """Start gunicorn and wait until it answers; ``env`` on top of the test
    database's environment (DEBUG is off unless given). A free port unless one is named."""
    port = port or free_port()
    log = tmp / f"web-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:config.gunicorn",
            *extra_args,
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env=worker_env(DEBUG="0", PORT=str(port), VAR_DIR=str(tmp / "var"), **env),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    web = RunningWeb(process, log, port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"web server exited:\n{web.output()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return web
        except OSError:
            time.sleep(0.2)
    web.stop()
    raise RuntimeError(f"web server did not listen within 60 s:\n{web.output()[-3000:]}")


def fetch(
    url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, dict[str, str], bytes, list[str]]:
    """Status, headers, body and every Set-Cookie of one request; redirects are
    not followed, so a redirect to HTTPS shows as itself."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    # Only ever the test's own server on http://127.0.0.1.
    request = urllib.request.Request(url, headers=headers or {}, data=data)  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            return (
                response.status,
                dict(response.headers),
                response.read(),
                response.headers.get_all("Set-Cookie") or [],
            )
    except urllib.error.HTTPError as error:
        return (
            error.code,
            dict(error.headers),
            error.read(),
            error.headers.get_all("Set-Cookie") or [],
        )
