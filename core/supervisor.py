"""Keeps a set of processes running together, as `make run` needs: the web
server, the Celery worker, beat and the partner simulators.

Each child runs in a process group of its own, so a Ctrl-C in the terminal
reaches only the supervisor, which then stops the children in order, and so
stopping a child also stops what it started (gunicorn's and Celery's worker
processes). A child that dies is started again after a pause that doubles with
each quick death (1 s up to 30 s) and starts over once it has run for a
minute. When an essential child (the web server) cannot stay up, or on SIGINT,
SIGTERM or SIGHUP (the terminal closed), every child is stopped: terminated,
waited for, then killed. Should the supervisor itself be killed outright
(``kill -9``, the OOM killer), Linux sends each child SIGTERM, so no web
server, worker or beat is left running without it to hold the port and the
queues.

Nothing here needs Django: the supervisor only runs commands.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol


def stop_on_signals() -> Callable[[], bool]:
    """For a long-running command: from now on SIGINT or SIGTERM asks it to
    stop; the returned function says whether it has been asked (the command
    finishes its current step and returns)."""
    asked: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        asked.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return lambda: bool(asked)


def bind_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port now, or None if it could.

    The probe reuses addresses as servers do, so a port left in TIME_WAIT by a
    previous run counts as free while one that another server holds does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
            probe.listen(1)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


# prctl(2): the signal a process gets when the thread that started it dies.
_PR_SET_PDEATHSIG = 1


def _dies_with(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent SIGTERM when ``parent`` dies,
    however it dies (Linux only; elsewhere the signals above must do)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork, not in the child

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # it died before the line above took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


class Output(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


@dataclass
class Child:
    """One command to keep running. ``essential``: the platform is down
    without it, so when it cannot stay up everything stops."""

    name: str
    argv: Sequence[str]
    essential: bool = False
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    restart_at: float | None = None
    delay: float = 0.0
    quick_deaths: int = 0


def _how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        out: Output,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        give_up_after: int = 3,
        stop_timeout: float = 15.0,
        tick: float = 0.2,
    ):
        self.children = list(children)
        self.out = out
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.give_up_after = give_up_after
        self.stop_timeout = stop_timeout
        self.tick = tick
        self._signal: int | None = None

    def say(self, message: str) -> None:
        self.out.write(f"[supervisor] {message}\n")
        self.out.flush()

    def run(self) -> int:
        """Start every child and keep them up until a signal (returns 0) or
        until an essential child cannot stay up (returns 1)."""
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            for child in self.children:
                child.delay = self.first_delay
                self._start(child)
            while self._signal is None:
                if not self._watch():
                    return 1
                time.sleep(self.tick)
            self.say(f"received {signal.Signals(self._signal).name}")
            return 0
        finally:
            self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signal = signum

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            list(child.argv), cwd=child.cwd, process_group=0, preexec_fn=_dies_with(os.getpid())
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        self.say(f"started {child.name} (pid {child.process.pid})")

    def _watch(self) -> bool:
        """Restart what died and is due; False when an essential child gives up."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
                continue
            returncode = child.process.poll()
            if returncode is None:
                continue
            # What the child started (pool or worker processes) goes with it.
            self._kill_group(child.process.pid)
            child.process = None
            if now - child.started_at >= self.stable_after:
                child.delay, child.quick_deaths = self.first_delay, 0
            child.quick_deaths += 1
            if child.essential and child.quick_deaths >= self.give_up_after:
                self.say(
                    f"{child.name} {_how_it_ended(returncode)} and cannot stay up "
                    f"({child.quick_deaths} times in a row); stopping everything"
                )
                return False
            wait = child.delay
            child.delay = min(child.delay * 2, self.max_delay)
            child.restart_at = now + wait
            self.say(f"{child.name} {_how_it_ended(returncode)}; restarting in {wait:g} s")
        return True

    def stop_all(self) -> None:
        """Terminate every child, wait, then kill what is left of its group.

        SIGTERM goes to the child alone: gunicorn and Celery stop their own
        worker processes in order (a Celery worker finishes its task first).
        """
        running = [c for c in self.children if c.process is not None]
        if running:
            self.say("stopping " + ", ".join(c.name for c in running))
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in time; killing it")
            self._kill_group(child.process.pid)
            child.process.wait()
            child.process = None

    @staticmethod
    def _kill_group(pgid: int) -> None:
        # ProcessLookupError: the group is already empty.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
