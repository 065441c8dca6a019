"""Starting the real OpenID provider (``provider.mjs``, the certified npm
``oidc-provider``) for a test, on a fixed port of 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REQUIRE_SERVICES

HERE = Path(__file__).resolve().parent
CLIENT_ID = "tvaerakut-test"
CLIENT_SECRET = "test-only-client-secret-for-the-local-provider"
STARTUP_SECONDS = 90


class RunningProvider:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, issuer: str):
        self.process = process
        self.log = log
        self.issuer = issuer

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_provider(
    tmp: Path,
    *,
    port: int,
    redirect_uris: list[str],
    accounts: dict[str, dict[str, Any]],
    issuer: str | None = None,
    code_ttl: int = 60,
) -> RunningProvider:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").exists():
        message = "node and tests/oidc/node_modules are needed: run `make test` (npm ci)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    config = tmp / f"provider-{port}.json"
    config.write_text(
        json.dumps(
            {
                "port": port,
                "issuer": issuer or f"http://127.0.0.1:{port}",
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": redirect_uris,
                    }
                ],
                "accounts": accounts,
                "claims": {"tvaerakut": ["organisation_sor", "role"]},
                "code_ttl": code_ttl,
            }
        )
    )
    log = tmp / f"provider-{port}.log"
    process = subprocess.Popen(
        [node, str(HERE / "provider.mjs")],
        cwd=HERE,
        env={"PATH": "/usr/bin:/bin", "OIDC_TEST_CONFIG": str(config)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    running = RunningProvider(process, log, issuer or f"http://127.0.0.1:{port}")
    # Node loads oidc-provider in about a second on an idle machine; on a
    # loaded one (the suite runs in two processes beside their browsers and
    # workers) it has been seen to take more than twenty.
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the identity provider exited:\n{running.output()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return running
        except OSError:
            time.sleep(0.1)
    running.stop()
    raise RuntimeError(f"the identity provider did not listen:\n{running.output()[-2000:]}")
