"""A real OPA server for the `--engine opa` measurements: loopback only, stopped by its PID.

The equivalent of `tests.servers.opa_server` without pytest (a missing binary is a plain error
here, and the caller reports it). The server's own memory is a separate process from the
`tenancy` client being timed, so `OpaServer.peak_rss_kib` reads its high-water mark (VmHWM)
from /proc before the server is stopped: the OPA engine's cost is client plus server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HEALTH_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class OpaServer:
    url: str
    pid: int

    def peak_rss_kib(self) -> int | None:
        """The server's peak resident set so far (VmHWM), or None when it cannot be read."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"opa server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy in {HEALTH_TIMEOUT_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's PID, then SIGKILL that PID if it does not exit in time."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def opa_server(binary: Path) -> Iterator[OpaServer]:
    """`opa run --server` on 127.0.0.1 and a free port; always stopped on exit."""
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: run scripts/build-tools.sh opa")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(f"{url}/health", process)
        yield OpaServer(url=url, pid=process.pid)
    finally:
        _stop(process)
