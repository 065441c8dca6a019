"""``manage.py audit_witness`` as it runs beside a platform that is down, one
that serves a forked log, and a state file it cannot read: one clear line per
change (not one every few seconds, never a traceback), one alarm per forked
log delivered once, and a state it never overwrites with a fresh one.

The platform here is a stand-in speaking the public endpoints' shapes
(``/api/audit/log/checkpoint``, ``consistency``, ``cosignatures``), so the
command's own loop, messages and state are what is tested; the real
endpoints are tested with the witness in test_witness.py."""

from __future__ import annotations

import base64
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from consent.audit import merkle
from consent.audit.management.commands import audit_witness
from consent.audit.notes import Checkpoint, NoteKey, note_sign, note_text

LOG = "tvaerakut.test/audit/2026"


class _Answer:
    def __init__(self, status: int, body: Any, request: requests.PreparedRequest) -> None:
        self.status_code, self.body, self.request = status, body, request
        self.text = body if isinstance(body, str) else json.dumps(body)

    def json(self) -> Any:
        if isinstance(self.body, str):
            raise ValueError("not JSON")
        return self.body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code}", response=self, request=self.request)


class _Platform:
    """The log's public side: a tree, the log's key, and what witnesses sent."""

    def __init__(self) -> None:
        self.key = NoteKey.from_seed("tvaerakut.test/audit", b"\x07" * 32)
        self.tree = merkle.MemoryTree()
        self.down = False
        self.delivered: list[dict[str, Any]] = []

    def grow(self, n: int, tag: bytes = b"") -> None:
        for _ in range(n):
            self.tree.append(merkle.leaf_hash(tag + str(self.tree.size).encode()))

    def fork(self) -> None:
        """Rewritten history: the same number of entries and one more, other leaves."""
        size = self.tree.size
        self.tree = merkle.MemoryTree()
        self.grow(size + 1, tag=b"forged")

    def checkpoint(self) -> str:
        size = self.tree.size
        body = Checkpoint(LOG, size, self.tree.root(size)).body()
        return note_text(body, [note_sign(body, self.key)])

    def session(self) -> Any:
        platform = self

        class Session:
            headers: dict[str, str] = {}

            def _request(self, method: str, url: str) -> requests.PreparedRequest:
                return requests.Request(method, url).prepare()

            def get(self, url: str, params: Any = None, timeout: float = 0) -> _Answer:
                request = self._request("GET", url)
                if platform.down:
                    raise requests.ConnectionError("refused", request=request)
                if url.endswith("/checkpoint"):
                    return _Answer(200, platform.checkpoint(), request)
                proof = merkle.consistency_proof(platform.tree, params["from"], params["to"])
                return _Answer(
                    200, {"proof": [base64.b64encode(p).decode() for p in proof]}, request
                )

            def post(self, url: str, json: Any = None, timeout: float = 0) -> _Answer:
                request = self._request("POST", url)
                if platform.down:
                    raise requests.ConnectionError("refused", request=request)
                platform.delivered.append(json)
                return _Answer(201, {"id": len(platform.delivered)}, request)

        return Session()


def _run(
    monkeypatch: pytest.MonkeyPatch, platform: _Platform, storage: Path, rounds: int
) -> tuple[str, str]:
    """Run the witness's loop for ``rounds`` rounds, as ``make run`` runs it."""
    calls = iter(range(rounds + 1))
    monkeypatch.setattr(audit_witness, "stop_on_signals", lambda: lambda: next(calls) == rounds)
    monkeypatch.setattr(audit_witness.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(audit_witness.requests, "Session", platform.session)
    out, err = StringIO(), StringIO()
    call_command(
        "audit_witness",
        "--platform",
        "http://platform.test",
        "--log-key",
        platform.key.verifier().vkey(),
        "--storage",
        str(storage),
        stdout=out,
        stderr=err,
    )
    return out.getvalue(), err.getvalue()


def test_a_platform_that_is_down_is_one_line_not_one_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = _Platform()
    platform.grow(3)
    out, _ = _run(monkeypatch, platform, tmp_path, rounds=2)
    assert out.splitlines() == ["cosigned size 3"]  # said once, not every round
    state = (tmp_path / "state.json").read_text()
    platform.down = True
    out, err = _run(monkeypatch, platform, tmp_path, rounds=20)
    assert err.splitlines() == [
        "audit witness: cannot reach the platform for GET /api/audit/log/checkpoint "
        "(ConnectionError); trying again."
    ]
    assert (tmp_path / "state.json").read_text() == state  # untouched
    platform.down = False
    platform.grow(2)
    out, err = _run(monkeypatch, platform, tmp_path, rounds=2)
    assert out.splitlines() == ["cosigned size 5"] and not err


def test_a_forked_log_is_refused_with_one_alarm_delivered_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = _Platform()
    platform.grow(3)
    _run(monkeypatch, platform, tmp_path, rounds=1)
    platform.fork()
    _, err = _run(monkeypatch, platform, tmp_path, rounds=5)
    problem = "size 4 is not an append-only extension of size 3"
    assert err.splitlines()[0] == f"REFUSED: {problem}"
    assert len(err.splitlines()) == 2  # then once that it still refuses, not every round
    refusals = [d for d in platform.delivered if "refusal" in d]
    assert [r["refusal"] for r in refusals] == [problem]  # the alarm the auditors see
    state = json.loads((tmp_path / "state.json").read_text())
    assert [a["problem"] for a in state["alarms"]] == [problem]
    assert state["logs"][LOG]["size"] == 3  # it still holds the log to what it saw
    # The forged log grows: still the same fork, still no new alarm.
    platform.grow(4, tag=b"forged")
    _run(monkeypatch, platform, tmp_path, rounds=3)
    assert len([d for d in platform.delivered if "refusal" in d]) == 1
    assert len(json.loads((tmp_path / "state.json").read_text())["alarms"]) == 1


def test_a_refusal_the_platform_did_not_take_is_sent_again_without_a_new_alarm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = _Platform()
    platform.grow(3)
    _run(monkeypatch, platform, tmp_path, rounds=1)
    platform.fork()
    real_session = platform.session

    def failing_delivery() -> Any:
        session = real_session()

        def post(url: str, json: Any = None, timeout: float = 0) -> _Answer:
            raise requests.ConnectionError(
                "refused", request=requests.Request("POST", url).prepare()
            )

        session.post = post
        return session

    monkeypatch.setattr(platform, "session", failing_delivery)
    _, err = _run(monkeypatch, platform, tmp_path, rounds=3)
    assert "POST /api/audit/log/cosignatures (ConnectionError)" in err
    monkeypatch.setattr(platform, "session", real_session)
    _run(monkeypatch, platform, tmp_path, rounds=3)
    assert len([d for d in platform.delivered if "refusal" in d]) == 1
    assert len(json.loads((tmp_path / "state.json").read_text())["alarms"]) == 1


@pytest.mark.parametrize("broken", ["state.json", "key"])
def test_a_state_it_cannot_read_stops_it_with_a_message_and_is_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken: str
) -> None:
    platform = _Platform()
    platform.grow(3)
    _run(monkeypatch, platform, tmp_path, rounds=1)
    (tmp_path / broken).write_text('{"logs": {')
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(CommandError, match=r"cannot be read.*Nothing was changed"):
        _run(monkeypatch, platform, tmp_path, rounds=1)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files  # nothing new either


@pytest.mark.parametrize("interval", ["-1", "0", "nan", "inf", "soon"])
def test_an_interval_that_is_no_pause_is_refused_at_once(tmp_path: Path, interval: str) -> None:
    """A negative pause stopped the witness with a traceback after its first
    round; 0 asked the platform in a tight loop."""
    with pytest.raises(CommandError, match="seconds above 0"):
        call_command(
            "audit_witness",
            "--interval",
            interval,
            "--platform",
            "http://platform.test",
            "--log-key",
            _Platform().key.verifier().vkey(),
            "--storage",
            str(tmp_path),
        )
    assert not tmp_path.joinpath("state.json").exists()


# --- --once: the exit code an operator's cron and monitoring read ------------------


def _once(monkeypatch: pytest.MonkeyPatch, platform: _Platform, storage: Path, *args: str) -> str:
    """One round with ``--once``: its output when it exits 0; a failure is the
    CommandError Django turns into the exit code and the one line on stderr."""
    monkeypatch.setattr(audit_witness.requests, "Session", platform.session)
    out = StringIO()
    call_command(
        "audit_witness",
        "--once",
        "--platform",
        "http://platform.test",
        "--log-key",
        platform.key.verifier().vkey(),
        "--storage",
        str(storage),
        *args,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


def _exit(monkeypatch: pytest.MonkeyPatch, platform: _Platform, storage: Path) -> CommandError:
    with pytest.raises(CommandError) as failed:
        _once(monkeypatch, platform, storage)
    assert "\n" not in str(failed.value)  # one line
    return failed.value


def test_once_exits_0_only_when_the_checkpoint_was_checked_and_cosigned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = _Platform()
    platform.grow(3)
    assert _once(monkeypatch, platform, tmp_path).splitlines() == ["cosigned size 3"]
    # Nothing new since: still the tree it cosigned, 0 again.
    assert _once(monkeypatch, platform, tmp_path).splitlines() == ["cosigned size 3"]
    assert [d["checkpoint"].splitlines()[1] for d in platform.delivered] == ["3"]


def test_once_exits_3_when_the_platform_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It exited 0: a witness that had not checked anything for days looked
    healthy to the cron job running it."""
    platform = _Platform()
    platform.grow(3)
    platform.down = True
    failed = _exit(monkeypatch, platform, tmp_path)
    assert failed.returncode == audit_witness.EXIT_PLATFORM == 3
    assert str(failed) == (
        "audit witness: cannot reach the platform for GET /api/audit/log/checkpoint "
        "(ConnectionError)"
    )
    assert not (tmp_path / "state.json").exists()


def test_once_exits_1_when_it_refuses_a_forked_log_and_every_time_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = _Platform()
    platform.grow(3)
    _once(monkeypatch, platform, tmp_path)
    platform.fork()
    problem = "size 4 is not an append-only extension of size 3"
    failed = _exit(monkeypatch, platform, tmp_path)
    assert (failed.returncode, str(failed)) == (1, f"REFUSED: {problem}")
    # The same fork again: no new alarm, and still not a healthy witness.
    again = _exit(monkeypatch, platform, tmp_path)
    assert (again.returncode, str(again)) == (1, f"REFUSED (still, alarm raised before): {problem}")
    assert len([d for d in platform.delivered if "refusal" in d]) == 1


def test_once_exits_1_for_a_checkpoint_not_signed_by_the_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = _Platform()
    platform.grow(3)
    impostor = _Platform()
    impostor.key = NoteKey.from_seed("tvaerakut.test/audit", b"\x08" * 32)
    impostor.grow(3)
    monkeypatch.setattr(audit_witness.requests, "Session", impostor.session)
    with pytest.raises(CommandError) as failed:
        call_command(
            "audit_witness",
            "--once",
            "--platform",
            "http://platform.test",
            "--log-key",
            platform.key.verifier().vkey(),
            "--storage",
            str(tmp_path),
            stdout=StringIO(),
        )
    assert failed.value.returncode == 1
    assert str(failed.value) == "REFUSED: the checkpoint is not signed by the log's key"


@pytest.mark.parametrize(
    "state",
    [
        '{"logs": {',  # not JSON
        "[]",  # JSON, not a state: failed in the middle of a round, with a traceback
        '{"logs": {"tvaerakut.test/audit/2026": {"size": 3}}, "alarms": []}',
        '{"logs": {"tvaerakut.test/audit/2026": {"size": "3", "root": "AA=="}}, "alarms": []}',
    ],
)
def test_once_exits_4_for_a_state_it_cannot_read_and_leaves_it_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, state: str
) -> None:
    platform = _Platform()
    platform.grow(3)
    (tmp_path / "state.json").write_text(state)
    failed = _exit(monkeypatch, platform, tmp_path)
    assert failed.returncode == audit_witness.EXIT_OWN_STORAGE == 4
    assert "cannot be read" in str(failed)
    assert (tmp_path / "state.json").read_text() == state
    assert not platform.delivered


def test_a_state_it_cannot_write_stops_it_with_exit_4_with_or_without_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A full or read-only disk stopped the witness with a traceback (and,
    with --once, it could not say so by its exit code)."""
    platform = _Platform()
    platform.grow(3)

    def disk_full(self: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_witness.WitnessState, "_save", disk_full)
    failed = _exit(monkeypatch, platform, tmp_path)
    assert failed.returncode == 4 and "cannot be written" in str(failed)
    assert not platform.delivered  # nothing cosigned that it could not remember
    with pytest.raises(CommandError) as looping:
        _run(monkeypatch, platform, tmp_path, rounds=3)
    assert looping.value.returncode == 4


def test_once_exits_2_when_it_is_not_told_the_platform_or_the_log_key(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as failed:
        call_command("audit_witness", "--once", "--storage", str(tmp_path), "--platform", "")
    assert failed.value.returncode == 2
    with pytest.raises(CommandError) as bad_key:
        call_command(
            "audit_witness",
            "--once",
            "--storage",
            str(tmp_path),
            "--platform",
            "http://platform.test",
            "--log-key",
            "not-a-key",
        )
    assert bad_key.value.returncode == 2


def test_the_exit_codes_are_in_the_commands_help() -> None:
    from consent.audit.management.commands.audit_witness import Command

    described = Command().create_parser("manage.py", "audit_witness").format_help()
    for said in ("0 checked and cosigned", "1 checkpoint", "3 platform", "4 the witness"):
        assert said in " ".join(described.split())


@pytest.mark.django_db
def test_once_as_cron_runs_it_exits_3_with_one_line_when_the_platform_is_down(
    tmp_path: Path,
) -> None:
    """The real process, as cron starts it: nothing listens on the port."""
    import socket
    import subprocess
    import sys

    from tests.conftest import ROOT, worker_env

    with socket.socket() as probe:  # a port on this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "audit_witness",
            "--once",
            "--platform",
            f"http://127.0.0.1:{port}",
            "--log-key",
            _Platform().key.verifier().vkey(),
            "--storage",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [
        "CommandError: audit witness: cannot reach the platform for "
        "GET /api/audit/log/checkpoint (ConnectionError)"
    ]
