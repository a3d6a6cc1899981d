"""The functional core does no I/O: only the shell modules may import I/O libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tenancy"
#: Shell modules (STYLE rule 1): the only ones allowed to talk to processes, git, HTTP, Vault.
SHELL = {
    "cli.py",
    "cli_vault.py",
    "app.py",
    "files.py",
    "git.py",
    "write.py",
    "tools.py",
    "report.py",
    "policy/server.py",
    "sync/vault.py",
    "sync/kube.py",
    "sync/kv.py",
    "cli_cluster.py",
    "app_cluster.py",
    "sync/commands.py",
    # The check cache (files), the forked checks (fork, pipe), the checks' orchestration (tools,
    # child), the render memo (cache files) and the two-process writer (fork, files): the
    # render's shell around the pure parts.
    "cache.py",
    "forked.py",
    "render_checks.py",
    "render_memo.py",
    "render_write.py",
    "stopwatch.py",
}
FORBIDDEN = {
    "subprocess",
    "hvac",
    "requests",
    "opa_client",
    "kubernetes",
    "urllib.request",
    "socket",
}


def core_modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).as_posix() not in SHELL)


@pytest.mark.parametrize("module", core_modules(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_core_module_imports_no_io_library(module: Path) -> None:
    """A core module imports none of subprocess, hvac, requests, opa_client, kubernetes."""
    tree = ast.parse(module.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    bad = {name for name in imported if name.split(".")[0] in FORBIDDEN or name in FORBIDDEN}
    assert bad == set()


def test_the_core_is_most_of_the_code() -> None:
    """Guard against the check passing vacuously: there are core modules to check."""
    assert len(core_modules()) >= 20
