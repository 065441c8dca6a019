"""Posting a MedCom message as a partner would (signed) and reading the answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.test import Client

from integrations.models import OutboundMessage, Partner
from integrations.outbox import outbox_deliver
from integrations.transport import close_connections, signed_headers
from tests.conftest import wait_for

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def example(folder: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / folder / f"{name}.json").read_text(encoding="utf-8"))


def post_signed(partner: Partner, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(message).encode()
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=body)
    response = Client().post(
        "/fhir/$process-message",
        data=body,
        content_type="application/fhir+json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    return response.status_code, json.loads(response.content)


def ack_parts(body: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(response code, the MessageHeader.id answered, MedCom issue detail codes)."""
    header = body["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == "acknowledgement-message"
    details = [
        coding["code"]
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
        for coding in (issue.get("details") or {}).get("coding") or []
    ]
    return header["response"]["code"], header["response"]["identifier"], details


def header_id(message: dict[str, Any]) -> str:
    return str(message["entry"][0]["resource"]["id"])


def delivered(message: OutboundMessage) -> str:
    """Deliver ``message`` now and return its status once settled. A hand-off
    written in a committed transaction is also handed to the worker after
    commit; when the session's worker runs, it may take the message first
    (``outbox_deliver`` then claims nothing), so both paths are waited for."""
    outbox_deliver(message_pks=[message.pk])
    settled = wait_for(
        lambda: (
            OutboundMessage.objects.get(pk=message.pk).status
            not in {OutboundMessage.Status.PENDING, OutboundMessage.Status.SENDING}
        ),
        timeout=30,
    )
    assert settled, "the message was not delivered"
    return OutboundMessage.objects.get(pk=message.pk).status


class ScriptedPeer:
    """A partner on 127.0.0.1 that answers each POST with the next of its
    ``answers`` (status and body; None for no body) and keeps every Bundle
    it received."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any] | None]] = []
        self.received: list[dict[str, Any]] = []
        self.url = ""


@contextmanager
def scripted_peer() -> Iterator[ScriptedPeer]:
    """A :class:`ScriptedPeer` serving at its ``url`` until the block ends."""
    state = ScriptedPeer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            state.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status, answer = state.answers.pop(0)
            body = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/inbox"
    try:
        yield state
    finally:
        close_connections()
        server.shutdown()
        server.server_close()


def outbound_to(partner: Partner, citizen: Any) -> OutboundMessage:
    """A message about ``citizen`` waiting to go to ``partner``, its Bundle
    carrying its own id as the outbox writes it."""
    message = OutboundMessage.objects.create(
        partner=partner,
        event="admission-handoff",
        citizen=citizen,
        bundle={"resourceType": "Bundle", "type": "message", "timestamp": "2026-01-05T08:00:00Z"},
    )
    OutboundMessage.objects.filter(pk=message.pk).update(
        bundle={**message.bundle, "id": str(message.bundle_id)}
    )
    message.refresh_from_db()
    return message
