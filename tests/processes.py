"""Process helpers for the real servers the tests and the benchmarks start (no pytest here, so
bench/ can import it too): a free loopback port, waiting for health, stopping by PID, and a
dev-mode OpenBao."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    """Poll `url` until it answers 200; fail early if the server process exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy in {seconds} s")


def stop(process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    """SIGTERM the server's PID, then SIGKILL that PID if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bao_env(home: Path) -> dict[str, str]:
    """The environment for a `bao` server: a scratch HOME, since the dev server stores its root
    token with the token helper in ~/.vault-token, which must never touch the developer's own;
    and no VAULT_/BAO_ variables of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(home)
    return env


@contextmanager
def openbao_dev(bao: Path) -> Iterator[tuple[str, str]]:
    """A dev-mode OpenBao (in memory, KV v2 at secret/) on a free loopback port: (url, token);
    stopped by PID on exit."""
    token = secrets.token_hex(16)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tenancy-bao-") as home:
        process = subprocess.Popen(
            [
                str(bao),
                "server",
                "-dev",
                f"-dev-root-token-id={token}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=bao_env(Path(home)),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(f"{url}/v1/sys/health", process)
            yield url, token
        finally:
            stop(process)
