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
