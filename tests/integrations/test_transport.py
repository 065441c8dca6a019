"""Sending to partners keeps one connection per thread and partner, until
this thread closes its connections."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.transport import close_connections, post_signed


@pytest.fixture
def peer() -> Iterator[tuple[str, list[int]]]:
    """An HTTP/1.1 peer on 127.0.0.1 that notes the client port of every request."""
    ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            ports.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/inbox", ports
    finally:
        close_connections()
        server.shutdown()
        server.server_close()


def _post(url: str) -> int:
    return post_signed(url=url, body=b"{}", sender="test", secret="s" * 32, timeout=5).status


def test_a_connection_is_kept_until_the_thread_closes_its_connections(peer) -> None:
    url, ports = peer
    assert [_post(url), _post(url)] == [200, 200]
    assert len(set(ports)) == 1  # the second request came on the same connection
    close_connections()
    assert _post(url) == 200
    assert len(set(ports)) == 2  # a new connection after closing
