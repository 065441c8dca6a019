"""`make run` keeps its processes up and stops them together (core/supervisor.py,
run_platform): real child processes, real signals, no mocks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_for, worker_env

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]

# Runs the supervisor in a process of its own, as run_platform does, with the
# children and timings given as JSON on the command line.
DRIVER = textwrap.dedent(
    """
    import json, sys
    from core.supervisor import Child, Supervisor
    spec = json.loads(sys.argv[1])
    children = [
        Child(c["name"], c["argv"], essential=c.get("essential", False))
        for c in spec["children"]
    ]
    sys.exit(Supervisor(children, out=sys.stdout, **spec["timings"]).run())
    """
)


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Supervised:
    def __init__(self, process: subprocess.Popen[bytes], log: Path):
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text()

    def pids(self, name: str) -> list[int]:
        return [int(p) for p in re.findall(rf"started {name} \(pid (\d+)\)", self.output())]

    def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        assert wait_for(lambda: text in self.output(), timeout=timeout), self.output()


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[object]:
    started: list[Supervised] = []

    def run(children: list[dict[str, object]], **timings: float) -> Supervised:
        log = tmp_path / f"supervisor-{len(started)}.log"
        spec = json.dumps({"children": children, "timings": timings})
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, spec],
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        supervised = Supervised(process, log)
        started.append(supervised)
        return supervised

    yield run
    # Whatever a failed test left behind: the supervisor stops its children on SIGTERM.
    for supervised in started:
        if supervised.process.poll() is None:
            supervised.process.send_signal(signal.SIGTERM)
            try:
                supervised.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                supervised.process.kill()


def test_a_killed_child_is_restarted_with_a_growing_pause_and_says_so(supervise) -> None:
    supervised = supervise([{"name": "worker", "argv": SLEEPER}], first_delay=0.5)
    supervised.wait_for_output("started worker")
    first = supervised.pids("worker")[0]

    os.kill(first, signal.SIGKILL)
    supervised.wait_for_output("worker was killed by SIGKILL; restarting in 0.5 s")
    assert wait_for(lambda: len(supervised.pids("worker")) == 2)
    second = supervised.pids("worker")[1]
    assert second != first and _alive(second)

    # A child that dies again soon waits twice as long before its next start.
    os.kill(second, signal.SIGKILL)
    supervised.wait_for_output("worker was killed by SIGKILL; restarting in 1 s")
    assert wait_for(lambda: len(supervised.pids("worker")) == 3)
    assert _alive(supervised.pids("worker")[2])


def test_sigterm_stops_every_child_and_what_they_started(supervise, tmp_path: Path) -> None:
    grandchild_file = tmp_path / "grandchild.pid"
    # A child that starts a process of its own, as gunicorn and Celery do.
    parent = textwrap.dedent(
        f"""
        import subprocess, sys, time
        grandchild = subprocess.Popen({SLEEPER!r})
        open({str(grandchild_file)!r}, "w").write(str(grandchild.pid))
        time.sleep(600)
        """
    )
    # A child that ignores SIGTERM is killed once the wait is over.
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    supervised = supervise(
        [
            {"name": "web", "argv": [sys.executable, "-c", parent], "essential": True},
            {"name": "worker", "argv": SLEEPER},
            {"name": "beat", "argv": [sys.executable, "-c", stubborn]},
        ],
        stop_timeout=2.0,
    )
    supervised.wait_for_output("started beat")
    assert wait_for(lambda: grandchild_file.exists() and grandchild_file.read_text())
    pids = [*(supervised.pids(n)[0] for n in ("web", "worker", "beat"))]
    pids.append(int(grandchild_file.read_text()))
    assert all(_alive(pid) for pid in pids)

    supervised.process.send_signal(signal.SIGTERM)
    assert supervised.process.wait(timeout=20) == 0
    assert wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=5), [
        pid for pid in pids if _alive(pid)
    ]
    assert "stopping web, worker, beat" in supervised.output()
    assert "beat did not stop in time; killing it" in supervised.output()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG)")
def test_a_supervisor_killed_outright_takes_its_children_with_it(supervise) -> None:
    """`kill -9` of `make run` (or the OOM killer) left the web server, worker,
    beat and sequencer running in their own process groups, holding the port:
    the next `make run` refused to start."""
    supervised = supervise(
        [{"name": "web", "argv": SLEEPER, "essential": True}, {"name": "worker", "argv": SLEEPER}]
    )
    supervised.wait_for_output("started worker")
    pids = [supervised.pids("web")[0], supervised.pids("worker")[0]]
    assert all(_alive(pid) for pid in pids)

    supervised.process.kill()
    supervised.process.wait(timeout=10)
    assert wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=5), [
        pid for pid in pids if _alive(pid)
    ]


def test_a_closed_terminal_stops_every_child_in_order(supervise) -> None:
    """SIGHUP (the terminal closed) had killed the supervisor alone."""
    supervised = supervise([{"name": "web", "argv": SLEEPER, "essential": True}])
    supervised.wait_for_output("started web")
    web = supervised.pids("web")[0]

    supervised.process.send_signal(signal.SIGHUP)
    assert supervised.process.wait(timeout=20) == 0
    assert "received SIGHUP" in supervised.output()
    assert "stopping web" in supervised.output()
    assert wait_for(lambda: not _alive(web), timeout=5)


def test_a_web_server_that_cannot_stay_up_stops_everything_and_fails(supervise) -> None:
    supervised = supervise(
        [
            {
                "name": "web",
                "argv": [sys.executable, "-c", "raise SystemExit(3)"],
                "essential": True,
            },
            {"name": "worker", "argv": SLEEPER},
        ],
        first_delay=0.2,
    )
    assert supervised.process.wait(timeout=30) == 1
    output = supervised.output()
    assert "web exited with status 3; restarting in 0.2 s" in output
    assert (
        "web exited with status 3 and cannot stay up (3 times in a row); stopping everything"
        in (output)
    )
    worker = supervised.pids("worker")
    assert len(worker) == 1
    assert wait_for(lambda: not _alive(worker[0]), timeout=5)


def test_run_platform_starts_nothing_when_its_port_is_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "run_platform"],
            cwd=ROOT,
            env=worker_env(PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Nothing was started" in result.stderr
    assert "[supervisor]" not in result.stdout


def test_make_run_asks_for_the_port_before_it_migrates(tmp_path: Path) -> None:
    """`make run` with its port taken had migrated and loaded the demo data
    (a minute on a fresh machine) before it said so."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\nrun:") :]
    assert recipe.index("run_platform --check-port") < recipe.index("manage.py migrate")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        taken = subprocess.run(
            [sys.executable, "manage.py", "run_platform", "--check-port"],
            cwd=ROOT,
            env=worker_env(PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert taken.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in taken.stderr
    free = subprocess.run(
        [sys.executable, "manage.py", "run_platform", "--check-port"],
        cwd=ROOT,
        env=worker_env(PORT=str(port)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert free.returncode == 0, free.stderr
    assert "[supervisor]" not in free.stdout


def test_make_run_starts_nothing_when_the_redis_it_names_is_down() -> None:
    """With REDIS_URL naming a Redis that is not running, `make run` started
    everything: the worker and beat retried in the log and /healthz failed,
    with nothing on the screen saying why."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        redis_port = probe.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as web:
        web.bind(("127.0.0.1", 0))
        web_port = web.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "manage.py", "run_platform", "--check-port"],
        cwd=ROOT,
        env=worker_env(
            PORT=str(web_port), REDIS_URL=f"redis://:hunter2secret@127.0.0.1:{redis_port}/0"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"Cannot reach the Redis REDIS_URL names (127.0.0.1:{redis_port})" in result.stderr
    assert "Nothing was started" in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout
