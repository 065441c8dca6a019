"""``manage.py audit_witness``: witness the platform's audit log from outside.

Uses only the platform's public endpoints, its own key and its own state
file (``--storage``), never the platform's database or settings. It must be
told the log's verifier key (``--log-key``, from ``manage.py audit_log_key``)
and gives its own with ``--print-vkey`` (for the platform's
``AUDIT_WITNESS_KEYS``). See consent/audit/witness.py.

Without ``--once`` it checks every ``--interval`` seconds until stopped,
saying each problem on a line of its own and going on. With ``--once`` (cron,
a monitoring check) it checks once and its exit code says how that went, with
the reason on one line:

- 0: the newest checkpoint was checked and cosigned (or this witness had
  cosigned that very tree already: nothing new);
- 1: the checkpoint was refused — not a checkpoint, not signed by the log's
  key, or not an append-only extension of what this witness saw (a fork:
  the alarm is raised and the refusal delivered);
- 2: wrong usage (an argument, or ``--platform``/``--log-key`` missing or not valid);
- 3: the platform could not be reached or did not answer as asked (the line
  names the request, the HTTP status and the platform's error code);
- 4: the witness's own key or state cannot be read or written (it stops
  without changing them; also without ``--once``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.audit.notes import NoteError, NoteVerifier
from consent.audit.witness import LOCAL_WITNESS_NAME, Witness, WitnessState, witness_key
from core.supervisor import stop_on_signals

_TIMEOUT = 10
# The exit codes of a round with --once (the module's docstring says what each means).
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_PLATFORM = 3
EXIT_OWN_STORAGE = 4


class Command(BaseCommand):
    help = (
        "Cosign each new checkpoint of the audit log that is an append-only extension. "
        "With --once, exit codes: 0 checked and cosigned (or nothing new); 1 checkpoint "
        "refused (not the log's, or a fork); 2 wrong usage; 3 platform unreachable or "
        "refused a request; 4 the witness's own key or state cannot be read or written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        env = os.environ.get
        parser.add_argument("--platform", default=env("AUDIT_WITNESS_PLATFORM_URL", ""))
        parser.add_argument("--host", default=env("AUDIT_WITNESS_HOST", ""), help="Host header.")
        parser.add_argument("--log-key", default=env("AUDIT_WITNESS_LOG_KEY", ""))
        parser.add_argument("--name", default=env("AUDIT_WITNESS_NAME", LOCAL_WITNESS_NAME))
        parser.add_argument("--storage", default=env("AUDIT_WITNESS_DIR", "var/witness"))
        parser.add_argument(
            "--interval", type=_seconds, default=5.0, help="Seconds between checks (above 0)."
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Check once; the exit code says how (0 only when checked and cosigned).",
        )
        parser.add_argument("--print-vkey", action="store_true", help="Print this witness's key.")

    def handle(self, *args: Any, **options: Any) -> None:
        storage = Path(options["storage"])
        try:
            key = witness_key(storage / "key", options["name"])
            state = WitnessState(storage / "state.json")
        except (OSError, ValueError) as exc:
            # Never start afresh over it: the state is what the witness saw,
            # and forgetting it would cosign a rewritten log as a new one.
            raise CommandError(
                f"The witness's key or state in {storage} cannot be read "
                f"({exc.__class__.__name__}: {exc}). Nothing was changed; restore them "
                "from a backup (a new state would take a rewritten log as a new one).",
                returncode=EXIT_OWN_STORAGE,
            ) from None
        if options["print_vkey"]:
            self.stdout.write(key.verifier().vkey())
            return
        if not options["platform"] or not options["log_key"]:
            raise CommandError(
                "--platform and --log-key (or their environment variables) are required.",
                returncode=EXIT_USAGE,
            )
        try:
            log_key = NoteVerifier.from_vkey(options["log_key"])
        except NoteError as exc:
            raise CommandError(f"--log-key: {exc}", returncode=EXIT_USAGE) from None
        base = options["platform"].rstrip("/") + "/api/audit/log/"
        headers = {"X-Forwarded-Proto": "https"}
        if options["host"]:
            headers["Host"] = options["host"]
        session = requests.Session()
        session.headers.update(headers)

        def fetch_checkpoint() -> str:
            response = session.get(base + "checkpoint", timeout=_TIMEOUT)
            response.raise_for_status()
            return response.text

        def fetch_consistency(log: str, old: int, new: int) -> list[bytes]:
            params: dict[str, str | int] = {"log": log, "from": old, "to": new}
            response = session.get(base + "consistency", params=params, timeout=_TIMEOUT)
            response.raise_for_status()
            try:
                proof = response.json()["proof"]
                return [base64.b64decode(p, validate=True) for p in proof]
            except (ValueError, KeyError, TypeError) as exc:
                raise _NotAProof(response=response, request=response.request) from exc

        def deliver(payload: dict[str, Any]) -> None:
            session.post(base + "cosignatures", json=payload, timeout=_TIMEOUT).raise_for_status()

        witness = Witness(
            key=key,
            log_key=log_key,
            state=state,
            fetch_checkpoint=fetch_checkpoint,
            fetch_consistency=fetch_consistency,
            deliver=deliver,
        )
        if options["once"]:
            failed = _round(witness, storage)
            if isinstance(failed, _Failed):
                raise CommandError(failed.line, returncode=failed.code)
            self.stdout.write(failed)
            return
        say = _Quiet(self.stdout, self.stderr)
        stopping = stop_on_signals()
        while not stopping():
            said = _round(witness, storage)
            if not isinstance(said, _Failed):
                say.out(said)
            elif said.code == EXIT_PLATFORM:
                # The platform unreachable or not ready: try again later.
                say.error(f"{said.line}; trying again.")
            elif said.code == EXIT_REFUSED:
                say.error(said.line, always=not said.repeated)
            else:  # its own storage: going on would forget what it saw
                raise CommandError(said.line, returncode=said.code)
            self.stdout.flush()
            time.sleep(options["interval"])


@dataclass(frozen=True)
class _Failed:
    """A round that did not cosign: its line, its exit code, and whether it
    refused a log it had refused (and said so) before."""

    line: str
    code: int
    repeated: bool = False


def _round(witness: Witness, storage: Path) -> str | _Failed:
    """One check of the newest checkpoint: the line to say when it was
    cosigned, or how it failed."""
    try:
        outcome = witness.check_once()
    except requests.RequestException as exc:
        return _Failed(f"audit witness: {_unanswered(exc)}", EXIT_PLATFORM)
    except OSError as exc:
        return _Failed(
            f"The witness's state in {storage} cannot be written "
            f"({exc.__class__.__name__}: {exc}); stopped before it cosigned anything more.",
            EXIT_OWN_STORAGE,
        )
    if outcome.cosigned:
        return f"cosigned size {outcome.size}"
    if outcome.repeated:
        return _Failed(
            f"REFUSED (still, alarm raised before): {outcome.problem}", EXIT_REFUSED, True
        )
    return _Failed(f"REFUSED: {outcome.problem}", EXIT_REFUSED)


def _seconds(raw: str) -> float:
    """A pause between checks: 0 asked the platform without one, and a
    negative pause stopped the witness with a traceback after its first round."""
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"a number of seconds above 0, not {raw!r}")
    return seconds


class _NotAProof(requests.RequestException):
    """The platform answered a consistency request with something else."""


def _unanswered(exc: requests.RequestException) -> str:
    """What went wrong speaking to the platform, in one line: the request,
    the HTTP status and the platform's error code when it gave one."""
    response, request = exc.response, exc.request
    path = getattr(request, "path_url", "") or ""  # a PreparedRequest's, without the host
    asked = f"{request.method} {path.split('?')[0]}" if request is not None else "the platform"
    kind = exc.__class__.__name__
    if isinstance(exc, _NotAProof):
        return f"{asked} answered no consistency proof ({kind})"
    if response is None:
        return f"cannot reach the platform for {asked} ({kind})"
    code = ""
    with contextlib.suppress(ValueError, KeyError, TypeError):
        code = " " + str(response.json()["error"]["code"])
    return f"{asked} answered HTTP {response.status_code}{code} ({kind})"


class _Quiet:
    """Says a line when it differs from the one said before, or the same one
    again after ten minutes: a platform down for an hour is a few lines, not
    one every few seconds."""

    AGAIN_AFTER = 600.0

    def __init__(self, stdout: Any, stderr: Any) -> None:
        self.stdout, self.stderr = stdout, stderr
        self.last, self.said_at = "", 0.0

    def _say(self, stream: Any, line: str, always: bool) -> None:
        now = time.monotonic()
        if always or line != self.last or now - self.said_at >= self.AGAIN_AFTER:
            stream.write(line)
            self.last, self.said_at = line, now

    def out(self, line: str) -> None:
        self._say(self.stdout, line, False)

    def error(self, line: str, *, always: bool = False) -> None:
        self._say(self.stderr, line, always)
