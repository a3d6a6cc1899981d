"""A real OPA server for the `--engine opa` measurements: loopback only, stopped by its PID.

The equivalent of `tests.servers.opa_server` without pytest (a missing binary is a plain error
here, and the caller reports it). The server's own memory is a separate process from the
`tenancy` client being timed, so `OpaServer.peak_rss_kib` reads its high-water mark (VmHWM)
from /proc before the server is stopped: the OPA engine's cost is client plus server.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, stop, wait_until_healthy

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
        wait_until_healthy(f"{url}/health", process, HEALTH_TIMEOUT_SECONDS)
        yield OpaServer(url=url, pid=process.pid)
    finally:
        stop(process, STOP_TIMEOUT_SECONDS)
