"""``manage.py migrate`` (the first thing ``make run`` does with the database)
against a PostgreSQL server that is down, or a host that does not resolve,
stops with one line naming the variable and the server, never a traceback
and never the password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _migrate(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "DEPLOYMENT"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**clean, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1:{port}", "Connection refused"), ("db.invalid:5432", "db.invalid")],
)
def test_a_database_server_that_cannot_be_reached_is_named_in_one_line(
    host: str, reason: str
) -> None:
    where = host.format(port=_closed_port())
    result = _migrate(DATABASE_URL=f"postgres://app:hunter2secret@{where}/tvaerakut_missing")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: Cannot use the database DATABASE_URL names")
    assert '"tvaerakut_missing"' in lines[0] and reason in lines[0]


def test_with_two_roles_the_owner_variable_is_named() -> None:
    where = f"127.0.0.1:{_closed_port()}"
    result = _migrate(
        DATABASE_URL=f"postgres://app:apppw@{where}/tvaerakut",
        DATABASE_OWNER_URL=f"postgres://owner:ownerpw@{where}/tvaerakut",
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "DATABASE_OWNER_URL names" in result.stderr and '"owner"' in result.stderr
    assert "ownerpw" not in result.stderr and "apppw" not in result.stderr
