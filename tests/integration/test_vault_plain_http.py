"""sync/vault.py against a server that speaks plain HTTP where VAULT_ADDR says https://."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tenancy.errors import BackendError
from tenancy.sync.settings import VaultSettings
from tenancy.sync.vault import connect, connection_from_env


class _Plain(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_http() -> Iterator[int]:
    """A plain-HTTP server on a free loopback port (stopped after the test)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_to_a_plain_http_server_says_so(plain_http: int) -> None:
    """The TLS handshake meets a plain-HTTP answer: the message says the server speaks
    http://, not that verification failed (VAULT_CACERT would not help)."""
    address = f"https://127.0.0.1:{plain_http}"
    connection = connection_from_env(address, {"VAULT_TOKEN": "hvs.test"})
    with pytest.raises(BackendError) as caught:
        connect(connection, VaultSettings()).read("secret/data/x")
    message = str(caught.value)
    assert "plain HTTP" in message and "http://" in message
    assert "VAULT_CACERT" not in message and "verification" not in message
    assert "hvs.test" not in message
