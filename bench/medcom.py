"""MedCom HospitalNotifications received: validated against MedCom's rules and
processed (R12 hold and resume), side by side with the same messages with
validation off, in one process and as a partner meets the platform over HTTP.

    DEBUG=1 .venv/bin/python -m bench.medcom [--messages 300] [--seconds 15]
        [--workers 4] [--threads 1] [--clients 8] [--citizens 64]

PostgreSQL: ``BENCH_DATABASE_URL`` (default ``.../bench_medcom``), created and
migrated if needed. The world: our acute function and a hospital partner with
MedCom's SOR and EAN numbers, a coordinator, and ``--citizens`` citizens, each
with one open accepted referral (created once, kept between runs), so every
admission puts a referral on hold with an ``admitted`` warning and every
discharge resumes it. The messages are MedCom's own admission and discharge
examples with new Bundle and MessageHeader ids, and each citizen's CPR number
and episode-of-care identifier.

1. In one process, as the platform receives a message after the signature
   check (``message_receive``: parse, de-duplicate, validate, process,
   acknowledge, audit), for one citizen, alternating admission and discharge:
   - validation alone: ``validate_message`` of the admission example;
   - received, validation on, then off: per-message latency (goal: p95 under
     50 ms) and the one-process rate;
   - the SQL statements of one admission and one discharge.
2. Over HTTP, as a partner meets it: gunicorn with the platform's own
   configuration (config/gunicorn.py: threaded workers that keep a
   partner's connection open; ``--workers`` processes of ``--threads``
   threads), DEBUG off, serving ``POST /fhir/$process-message``, and
   ``--clients`` partner processes on the same machine, each sending its own
   citizens' admissions and discharges in turn, made and signed before the
   phase starts (a partner's own work, on its own machine), each waiting for
   its acknowledgement before the next (closed loop), for ``--seconds``. Two
   servers one after the other: validation on, then off (off: neither the
   message nor our acknowledgement is checked against MedCom's rules). The
   rate (goal: 300 messages per second on this 2-core machine with
   validation on), latency, and the machine's CPU time per message (server,
   database and clients together) are measured per phase. Every answer must be
   an ``ok`` acknowledgement.

Results: printed and written to ``bench/results/medcom.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    ROOT,
    cpu_seconds,
    machine_busy_seconds,
    report,
    setup_django,
    start_gunicorn,
    summary,
)

if TYPE_CHECKING:
    from integrations.medcom.validation import Violation

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_medcom"
FIXTURES = ROOT / "tests" / "integrations" / "medcom" / "fixtures" / "hospitalnotification"
ADMIT = "a5e5b880-c087-4055-b9ec-99108695f81d"
DISCHARGE = "f4aa42a4-86db-4e68-9b38-9dda0dfd5774"
# What the examples say of MedCom's test person, replaced per citizen.
EXAMPLE_CPR = "2509479989"
EXAMPLE_EPISODE = "bd481c38-a921-11ed-afa1-0242ac120002"
PARTNER_CODE = "bench-medcom-hospital"
PARTNER_SECRET = "bench-medcom-secret-not-used-elsewhere"
PATH = "/fhir/$process-message"


def _cpr(n: int) -> str:
    """The bench's citizens: born 25 September 1947, like MedCom's test person."""
    return f"250947{n:04d}"


class Messages:
    """MedCom's admission and discharge examples, made new for a citizen."""

    def __init__(self) -> None:
        self.admit = (FIXTURES / f"{ADMIT}.json").read_text(encoding="utf-8")
        self.discharge = (FIXTURES / f"{DISCHARGE}.json").read_text(encoding="utf-8")
        self._ids = {
            text: (data["id"], data["entry"][0]["resource"]["id"])
            for text, data in (
                (self.admit, json.loads(self.admit)),
                (self.discharge, json.loads(self.discharge)),
            )
        }

    def fresh(self, admission: bool, citizen: int, stay: str) -> bytes:
        """A new Bundle.id and MessageHeader.id (its Provenance follows the
        header), the citizen's CPR number and the episode of care of her
        ``stay``: each admission opens a stay of its own, which its discharge
        ends. (With one episode for all her stays, every admission after
        the first discharge would arrive after a later event of the same
        stay, and change nothing: ``superseded_by``.)"""
        text = self.admit if admission else self.discharge
        bundle_id, header_id = self._ids[text]
        return (
            text.replace(bundle_id, str(uuid.uuid4()))
            .replace(header_id, str(uuid.uuid4()))
            .replace(EXAMPLE_CPR, _cpr(citizen))
            .replace(EXAMPLE_EPISODE, f"bench-episode-{citizen}-{stay}")
            .encode()
        )

    def stays(self, citizen: int, count: int) -> list[bytes]:
        """``count`` messages for one citizen: admission, discharge, admission
        … each admission and its discharge a new stay."""
        run = uuid.uuid4().hex[:8]
        return [self.fresh(i % 2 == 0, citizen, f"{run}-{i // 2}") for i in range(count)]


def _world(citizens: int) -> Any:
    """The partner; the acute function, a coordinator and the citizens, each
    with one open referral (made once)."""
    from acute.models import Referral
    from core.models import Citizen, Membership, Organisation, Role, User
    from integrations.models import Partner
    from tests.factories import acute_referral

    acute, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.ACUTE_FUNCTION,
        defaults={"name": "Tværkommunal Akutfunktion"},
    )
    Organisation.objects.filter(pk=acute.pk).update(sor_code="953741000016009", ean="5790001348120")
    hospital, _ = Organisation.objects.get_or_create(
        sor_code="265161000016000",
        defaults={
            "kind": Organisation.Kind.HOSPITAL,
            "name": "Bench Hospital",
            "ean": "5790000209354",
        },
    )
    partner, _ = Partner.objects.update_or_create(
        code=PARTNER_CODE,
        defaults={
            "kind": Partner.Kind.HOSPITAL,
            "organisation": hospital,
            "secret": PARTNER_SECRET,
            "is_active": True,
        },
    )
    # A municipality that takes part: others send no referrals.
    municipality, _ = Organisation.objects.update_or_create(
        municipality_code="157",
        defaults={
            "kind": Organisation.Kind.MUNICIPALITY,
            "name": "Gentofte Kommune",
            "participates": True,
        },
    )
    acute.serves.add(municipality)
    user, _ = User.objects.get_or_create(username="bench-medcom-coordinator")
    coordinator, _ = Membership.objects.get_or_create(
        user=user, organisation=acute, role=Role.COORDINATOR
    )
    for n in range(citizens):
        citizen, _ = Citizen.objects.get_or_create(
            cpr=_cpr(n),
            defaults={
                "given_name": "Bruno",
                "family_name": f"Elmer {n}",
                "birth_date": "1947-09-25",
                "sex": "male",
                "address_line": f"Testvej {n + 1}",
                "postal_code": "2820",
                "city": "Gentofte",
                "latitude": "55.75",
                "longitude": "12.55",
                "municipality": municipality,
            },
        )
        open_ones = Referral.objects.filter(
            citizen=citizen, status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED]
        )
        if not open_ones.exists():
            acute_referral(person=citizen, by=coordinator)
    return Partner.objects.select_related("organisation").get(pk=partner.pk)


# --- 1. one process -----------------------------------------------------------------


def _receive_all(partner: Any, bodies: list[bytes]) -> tuple[list[float], float]:
    from integrations.inbound import message_receive

    samples = []
    started = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        answer = message_receive(partner=partner, raw=body)
        samples.append((time.perf_counter() - t0) * 1000)
        if answer.status != 200:
            raise SystemExit(f"a message was refused: {answer.body}")
    return samples, time.perf_counter() - started


def _statements(partner: Any, messages: Messages) -> dict[str, int]:
    """SQL statements of one admission and of the discharge that follows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.inbound import message_receive

    counted = {}
    stay = uuid.uuid4().hex
    for name, admission in (("admission", True), ("discharge", False)):
        with CaptureQueriesContext(connection) as queries:
            message_receive(partner=partner, raw=messages.fresh(admission, 0, stay))
        counted[name] = len(queries.captured_queries)
    return counted


@contextmanager
def _without_validation() -> Iterator[None]:
    """No message is checked against MedCom's rules: neither the one received
    nor our acknowledgement (the side the ratio is taken against)."""
    import integrations.inbound as inbound
    import integrations.medcom.inbound as medcom_inbound

    checks = inbound.validate_message, medcom_inbound.validate_message
    inbound.validate_message = medcom_inbound.validate_message = _no_rules
    try:
        yield
    finally:
        inbound.validate_message, medcom_inbound.validate_message = checks


def _no_rules(bundle: Any, *, local: bool = False) -> list[Violation]:
    return []


def in_process(partner: Any, messages: Messages, count: int) -> dict[str, Any]:
    from integrations.medcom.validation import validate_message

    admit = json.loads(messages.admit)
    validate_message(admit)  # the rules are read once, at the first message
    validation = []
    for _ in range(200):
        t0 = time.perf_counter()
        assert validate_message(admit) == []
        validation.append((time.perf_counter() - t0) * 1000)
    statements = _statements(partner, messages)
    received, seconds_on = _receive_all(partner, messages.stays(0, count))
    bodies = messages.stays(0, count)
    with _without_validation():
        received_off, seconds_off = _receive_all(partner, bodies)
    return {
        "validation_only": summary(validation),
        "statements": statements,
        "received_validation_on": summary(received),
        "received_validation_off": summary(received_off),
        "rate_validation_on_per_s": round(count / seconds_on, 1),
        "rate_validation_off_per_s": round(count / seconds_off, 1),
    }


# --- 2. over HTTP -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(
    port: int, workers: int, threads: int, validation: bool, log: Path
) -> subprocess.Popen[bytes]:
    return start_gunicorn(
        "bench.medcom_server:application",
        port=port,
        workers=workers,
        threads=threads,
        env={"BENCH_MEDCOM_VALIDATION": "on" if validation else "off"},
        log=log,
        wait_seconds=120,  # a busy machine starts workers slowly
    )


# Messages a partner connection makes ready before its phase starts: more
# than the fastest closed loop sends (600 a second over all connections).
_READY_PER_SECOND = 600


class _Connection:
    """One partner's keep-alive HTTP/1.1 connection, as lean as a partner's
    own sender: each request's bytes are made with its message, and the
    answer is read by its Content-Length (http.client's parsing of each
    answer cost the machine 0.3 ms a message, CPU the platform never had)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, body: bytes, headers: dict[str, str]) -> bytes:
        """The whole request, ready to send."""
        lines = [f"POST {PATH} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send a request; its answer's status and body."""
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._received()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = -1
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length < 0:
            raise SystemExit(f"an answer without Content-Length: {head[:300]!r}")
        while len(rest) < length:
            rest += self._received()
        self.buffer = rest[length:]
        return status, rest[:length]

    def _received(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit("the server closed a partner's connection")
        return data

    def close(self) -> None:
        self.sock.close()


# What every answer must say: MedCom's acknowledgement code ``ok``.
_OK = re.compile(rb'"response"\s*:\s*\{[^{}]*"code"\s*:\s*"ok"')


def _client(
    args: tuple[int, list[int], float, float, Messages, int],
) -> tuple[int, list[float], str, float]:
    """One partner connection: its citizens' admissions and discharges in
    turn, each sent when the previous one is acknowledged, from ``start``
    until ``stop`` (wall clock). The messages are made and signed before
    ``start``, as a partner's own system does on its own machine: what is
    measured is the platform's work, not the partner's (a signature stays
    good for minutes). Returns the count, latencies, the first refusal (''
    when every answer was an ``ok`` acknowledgement) and the CPU time it took
    while sending."""
    from integrations.transport import signed_headers

    port, citizens, start, stop, messages, ready = args
    run = uuid.uuid4().hex[:8]
    conn = _Connection(port)

    def signed(n: int) -> bytes:
        body = messages.fresh(n % 2 == 0, citizens[(n // 2) % len(citizens)], f"{run}-{n // 2}")
        headers = signed_headers(sender=PARTNER_CODE, secret=PARTNER_SECRET, body=body)
        return conn.request(body, headers)

    made = [signed(n) for n in range(ready)]
    latencies: list[float] = []
    refused = ""
    while time.time() < start:
        time.sleep(0.001)
    cpu = time.process_time()
    sent = 0
    while time.time() < stop:
        request = made[sent] if sent < ready else signed(sent)
        sent += 1
        t0 = time.perf_counter()
        status, answer = conn.exchange(request)
        latencies.append((time.perf_counter() - t0) * 1000)
        if (status != 200 or not _OK.search(answer)) and not refused:
            refused = f"{status}: {answer[:300]!r}"
    conn.close()
    return len(latencies), latencies, refused, time.process_time() - cpu


def _server_pids(server: subprocess.Popen[bytes]) -> tuple[list[int], list[int]]:
    """The gunicorn workers, and the database sessions of the bench's database
    (the web workers' and the warm-up's: each worker keeps its own)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    name = os.environ["BENCH_DATABASE_URL"].rsplit("/", 1)[1]
    sessions = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tA", "-v", f"name={name}"],
        input="SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " AND datname = :'name' AND pid <> pg_backend_pid();",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [int(pid) for pid in children], [int(pid) for pid in sessions]


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _load(
    server: subprocess.Popen[bytes],
    port: int,
    clients: int,
    citizens: int,
    seconds: float,
    messages: Messages,
) -> dict[str, Any]:
    """A warm-up (every worker reads MedCom's rules and opens its database
    session), then the measured phase."""
    shares = [list(range(c, citizens, clients)) for c in range(clients)]
    results: dict[str, Any] = {}
    with mp.get_context("fork").Pool(clients) as pool:
        for phase, length in (("warm_up", 3.0), ("measured", seconds)):
            ready = int(length * _READY_PER_SECOND / clients) + 1
            start = time.time() + 2.0  # every client has made its messages
            stop = start + length
            workers, sessions = _server_pids(server)
            pending = pool.map_async(
                _client, [(port, share, start, stop, messages, ready) for share in shares]
            )
            while time.time() < start:
                time.sleep(0.001)
            busy = machine_busy_seconds()
            web, database = _cpu_of(workers), _cpu_of(sessions)
            answers = pending.get()
            busy = machine_busy_seconds() - busy
            web, database = _cpu_of(workers) - web, _cpu_of(sessions) - database
            count = sum(n for n, _, _, _ in answers)
            refused = [r for _, _, r, _ in answers if r]
            if refused:
                raise SystemExit(f"a message was refused over HTTP: {refused[0]}")
            if phase == "measured":
                latencies = [x for _, samples, _, _ in answers for x in samples]
                clients_cpu = sum(cpu for _, _, _, cpu in answers)
                ours = web + database + clients_cpu
                per_message = ours / max(1, count) * 1000
                results = {
                    **summary(latencies),
                    "per_s": round(count / length, 1),
                    "machine_cpu_ms_per_message": round(busy / max(1, count) * 1000, 3),
                    "own_cpu_ms_per_message": round(per_message, 3),
                    # Where it goes: the web workers, their database
                    # sessions, the partners' clients.
                    "web_cpu_ms_per_message": round(web / max(1, count) * 1000, 3),
                    "database_cpu_ms_per_message": round(database / max(1, count) * 1000, 3),
                    "clients_cpu_ms_per_message": round(clients_cpu / max(1, count) * 1000, 3),
                    "two_cores_at_own_cpu_per_s": round(2000 / per_message, 1),
                }
    return results


def _vacuumed() -> None:
    """The bench's database vacuumed and analysed, as autovacuum keeps a
    deployment's: every admission opens a care relationship and its
    discharge ends it, so without it each phase read through the dead rows
    of the runs before it (the look-up of a citizen's open stays visited
    hundreds of heap pages after a few runs) and met the planner's counts
    of an emptier database."""
    name = os.environ["BENCH_DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-d", name, "-c", "VACUUM ANALYZE"],
        check=True,
        capture_output=True,
    )


def over_http(args: argparse.Namespace, messages: Messages) -> dict[str, Any]:
    logs = ROOT / "var"
    logs.mkdir(exist_ok=True)
    figures: dict[str, Any] = {}
    for validation in (True, False):
        _vacuumed()
        port = _free_port()
        side = "on" if validation else "off"
        server = _serve(
            port, args.workers, args.threads, validation, logs / f"bench-medcom-{side}.log"
        )
        try:
            figures[f"http_validation_{side}"] = _load(
                server, port, args.clients, args.citizens, args.seconds, messages
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    on, off = figures["http_validation_on"], figures["http_validation_off"]
    figures["http_rate_off_over_on"] = round(off["per_s"] / on["per_s"], 2)
    figures["http_setup"] = (
        f"gunicorn as deployed, {args.workers} workers of {args.threads} threads (DEBUG off),"
        f" {args.clients} partner connections in a closed loop, messages signed beforehand,"
        f" {args.citizens} citizens, {args.seconds:g} s each"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="in one process")
    parser.add_argument("--seconds", type=float, default=15.0, help="each HTTP phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads in each worker")
    parser.add_argument("--clients", type=int, default=8, help="partner connections")
    parser.add_argument("--citizens", type=int, default=64)
    parser.add_argument("--no-http", action="store_true", help="only the one-process part")
    args = parser.parse_args()
    setup_django(os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB))
    partner = _world(max(args.citizens, 1))
    messages = Messages()
    count = args.messages - args.messages % 2
    figures = in_process(partner, messages, count)
    from django.db import connections

    connections.close_all()
    if not args.no_http:
        figures.update(over_http(args, messages))
    goals = {
        "HospitalNotification validated and processed: p95 < 50 ms (one process)": figures[
            "received_validation_on"
        ]["p95_ms"]
        < 50,
    }
    if not args.no_http:
        goals[">= 300 messages/s with validation on (over HTTP, this machine)"] = (
            figures["http_validation_on"]["per_s"] >= 300
        )
    report("medcom", figures, goals)


if __name__ == "__main__":
    main()
