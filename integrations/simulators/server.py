"""A simulated partner: a small real HTTP server on 127.0.0.1 that receives
signed messages, checks and de-duplicates them, acknowledges them, and sends
its own to the platform."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from integrations.medcom.envelope import Issue
from integrations.medcom.inbound import is_medcom, issue_of
from integrations.medcom.validation import validate_message
from integrations.simulators.acks import in_envelope, medcom_ack, simulator_ack
from integrations.transport import (
    OUR_SENDER_CODE,
    SENDER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HttpReply,
    SignatureRefused,
    post_signed,
    signature_verify,
)


@dataclass
class SimulatorState:
    """What the simulator was told to do, and what it has seen."""

    fail_next: int = 0  # answer this many requests with 503
    down: bool = False  # answer every request with 503 until cleared
    drop_connection: bool = False  # close without answering (like a crash)
    delay_seconds: float = 0.0  # wait before answering
    ack_mode: str = "sync"  # sync | async | none | fatal | transient
    duplicates: int = 1  # how many times send() posts each message
    requests: int = 0
    refused_signatures: int = 0
    refused_medcom: list[str] = field(default_factory=list)  # header ids that broke MedCom's rules
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)  # header id -> bundle
    acks: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    received_bundle_ids: list[str] = field(default_factory=list)
    received_at: dict[str, float] = field(default_factory=dict)  # header id -> first arrival
    replies: list[HttpReply] = field(default_factory=list)


class PartnerSimulator:
    def __init__(
        self,
        *,
        code: str,
        secret: str,
        port: int,
        platform_url: str = "",
        host: str = "127.0.0.1",
    ):
        if host != "127.0.0.1":
            raise ValueError("Simulators listen on 127.0.0.1 only.")
        self.code = code
        self.secret = secret
        self.port = port
        self.platform_url = platform_url
        self.state = SimulatorState()
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/inbox"

    def start(self) -> PartnerSimulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"sim-{self.code}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        # Kept-alive connections would otherwise go on being served by this
        # stopped simulator's threads.
        with self.lock:
            open_connections, self._connections = self._connections, set()
        for conn in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def processed_count(self, header_id: str | None = None) -> int:
        with self.lock:
            if header_id is None:
                return len(self.state.processed)
            return 1 if header_id in self.state.processed else 0

    def messages(self, event: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            bundles = list(self.state.processed.values())
        if event is None:
            return bundles
        return [b for b in bundles if b["entry"][0]["resource"]["eventCoding"]["code"] == event]

    # --- sending to the platform ------------------------------------------
    def send(self, bundle: dict[str, Any]) -> list[HttpReply]:
        """POST a message to the platform (``duplicates`` times), signed as this partner."""
        body = json.dumps(bundle).encode()
        replies = []
        for _ in range(max(1, self.state.duplicates)):
            reply = post_signed(
                url=self.platform_url, body=body, sender=self.code, secret=self.secret, timeout=30
            )
            replies.append(reply)
        with self.lock:
            self.state.replies.extend(replies)
        return replies

    def _send_ack_later(self, ack: dict[str, Any], delay: float) -> None:
        """Send ``ack`` (the answer the message got) as a message of its own."""

        def run() -> None:
            time.sleep(delay)
            self.send(ack)

        threading.Thread(target=run, daemon=True).start()

    # --- receiving from the platform --------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's
            # algorithm and the client's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with simulator.lock:
                    simulator._connections.add(self.connection)

            def finish(self) -> None:
                with simulator.lock:
                    simulator._connections.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: message bodies hold citizen data

            def _reply(self, status: int, payload: dict[str, Any] | None) -> None:
                body = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                state = simulator.state
                with simulator.lock:
                    state.requests += 1
                    delay = state.delay_seconds
                    if state.drop_connection:
                        self.close_connection = True
                        self.connection.close()
                        return
                    if state.down or state.fail_next > 0:
                        state.fail_next = max(0, state.fail_next - 1)
                        failing = True
                    else:
                        failing = False
                if failing:
                    self._reply(503, None)
                    return
                try:
                    if self.headers.get(SENDER_HEADER) != OUR_SENDER_CODE:
                        raise SignatureRefused("auth.unknown_sender", "unknown sender")
                    signature_verify(
                        secret=simulator.secret,
                        timestamp=self.headers.get(TIMESTAMP_HEADER),
                        given=self.headers.get(SIGNATURE_HEADER),
                        body=raw,
                    )
                except SignatureRefused as exc:
                    with simulator.lock:
                        state.refused_signatures += 1
                    self._reply(
                        401,
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [
                                {"severity": "error", "code": "security", "diagnostics": exc.code}
                            ],
                        },
                    )
                    return
                bundle = json.loads(raw)
                header_id = bundle["entry"][0]["resource"]["id"]
                arrived = time.time()
                with simulator.lock:
                    state.received_bundle_ids.append(bundle["id"])
                    state.received_at.setdefault(header_id, arrived)
                    earlier = state.acks.get(header_id)
                    mode = state.ack_mode
                    # A MedCom message is checked with MedCom's rules, as a real
                    # receiver would, and answered with MedCom's Acknowledgement.
                    broken = (
                        validate_message(bundle) if is_medcom(bundle) and earlier is None else []
                    )
                    # Every message in the MedCom envelope (the platform's local
                    # events too) is answered with MedCom's Acknowledgement.
                    medcom = in_envelope(bundle)
                    if earlier is None and broken:
                        state.refused_medcom.append(header_id)
                        answer = (
                            400,
                            medcom_ack(bundle, "fatal-error", [issue_of(v) for v in broken[:20]]),
                        )
                        state.acks[header_id] = answer
                    elif earlier is None and medcom and (mode != "async" or is_medcom(bundle)):
                        # In the answer, or later as a message of its own
                        # (``async``: a MedCom message's, its parties checked).
                        state.processed[header_id] = bundle
                        code = {"fatal": "fatal-error", "transient": "transient-error"}.get(
                            mode, "ok"
                        )
                        issues = (
                            [Issue(details="MSG_LOCAL_FAIL", text="rejected by the partner")]
                            if mode in ("fatal", "transient")
                            else []
                        )
                        answer = (
                            {"fatal": 400, "transient": 503}.get(mode, 200),
                            medcom_ack(bundle, code, issues),
                        )
                        if mode == "transient":
                            del state.processed[header_id]
                        else:
                            state.acks[header_id] = answer
                    elif earlier is None:
                        # Processed once; a duplicate gets the original acknowledgement.
                        state.processed[header_id] = bundle
                        if mode == "fatal":
                            answer = (
                                400,
                                simulator_ack(
                                    header_id,
                                    "fatal-error",
                                    sender=simulator.code,
                                    diagnostics="rejected by the partner",
                                ),
                            )
                        elif mode == "transient":
                            del state.processed[header_id]
                            answer = (
                                503,
                                simulator_ack(header_id, "transient-error", sender=simulator.code),
                            )
                        else:
                            answer = (200, simulator_ack(header_id, "ok", sender=simulator.code))
                        if mode != "transient":
                            state.acks[header_id] = answer
                    else:
                        answer = earlier
                if delay:
                    time.sleep(delay)
                if mode in ("async", "none"):
                    # The acknowledgement travels (or is lost) separately, duplicates too.
                    self._reply(202, None)
                    if mode == "async":
                        # The answer it was given: a broken message's fatal-error
                        # too, never an ok for what was refused.
                        simulator._send_ack_later(answer[1], 0.2)
                    return
                self._reply(*answer)

        return Handler
