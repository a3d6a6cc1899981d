"""The layout is the architecture: stage packages in data-flow order, a pure core, I/O at the
edges, and functions short enough to read (CONTRIBUTING.md, "The tree")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tenancy"
#: The stages of the data flow, in order. A module may import from its own stage and from
#: earlier ones, never from a later one. `base` is the values every stage speaks (errors,
#: model, quantity, resources, report) and the package's top.
STAGES = ("base", "inputs", "validate", "render", "diff", "sync", "cluster", "people", "cli")
#: Shell modules (STYLE rule 1): the only ones allowed to talk to processes, git, HTTP, Vault
#: or the cluster. Every stage's `command.py` is shell as well.
SHELL = {
    "__main__.py",
    "report.py",
    "inputs/files.py",
    "inputs/git.py",
    "inputs/read.py",
    "validate/policy/server.py",
    "validate/policy/source.py",
    "render/cache.py",
    "render/concurrent.py",
    "render/memo.py",
    "render/stopwatch.py",
    "render/write.py",
    "render/writers.py",
    "render/checks/__init__.py",
    "render/checks/tools.py",
    "render/plan/tier_data.py",
    "sync/vault.py",
    "sync/kv.py",
    "cluster/client.py",
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
#: At most this many modules at the top of the package (the issue-16 bound): everything else
#: lives in the stage it serves.
TOP_MODULES = 12
#: No function longer than this many lines: a stage reads in one screen.
MAX_FUNCTION_LINES = 80


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def is_shell(path: Path) -> bool:
    return name(path) in SHELL or name(path).startswith("cli/") or path.name == "command.py"


def core_modules() -> list[Path]:
    return [p for p in modules() if not is_shell(p)]


def stage_of(dotted: str) -> str:
    """The stage of `tenancy.<dotted>` (a module or a package)."""
    head = dotted.split(".", maxsplit=1)[0]
    if head == "__main__":
        return "cli"
    return head if head in STAGES else "base"


def imports(path: Path) -> list[tuple[str, int]]:
    """Every tenancy module `path` imports (at the top or inside a function), with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tenancy"):
            base = node.module.removeprefix("tenancy").lstrip(".")
            targets = [base] if base else [alias.name for alias in node.names]
            found += [(target, node.lineno) for target in targets]
        elif isinstance(node, ast.Import):
            found += [
                (alias.name.removeprefix("tenancy."), node.lineno)
                for alias in node.names
                if alias.name.startswith("tenancy.")
            ]
    return found


@pytest.mark.parametrize("module", core_modules(), ids=name)
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
    assert len(core_modules()) > len(modules()) / 2


@pytest.mark.parametrize("module", modules(), ids=name)
def test_no_module_imports_a_later_stage(module: Path) -> None:
    own = stage_of(".".join(module.relative_to(SRC).with_suffix("").parts))
    later = [
        f"line {line}: tenancy.{target} ({stage_of(target)})"
        for target, line in imports(module)
        if STAGES.index(stage_of(target)) > STAGES.index(own)
    ]
    assert later == [], f"{name(module)} is in stage {own}"


def test_the_layering_check_sees_a_backward_import(tmp_path: Path) -> None:
    """The check above is not vacuous: an earlier stage importing a later one is caught."""
    module = tmp_path / "bad.py"
    module.write_text("from tenancy.render.plan import plan\nimport tenancy.cli\n")
    stages = [STAGES.index(stage_of(target)) for target, _ in imports(module)]
    assert stages == [STAGES.index("render"), STAGES.index("cli")]
    assert all(stage > STAGES.index("validate") for stage in stages)


def test_every_stage_is_a_package() -> None:
    for stage in STAGES[1:]:
        assert (SRC / stage / "__init__.py").is_file(), stage


def test_the_top_of_the_package_stays_small() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= TOP_MODULES, top


@pytest.mark.parametrize("module", modules(), ids=name)
def test_every_package_and_module_says_why(module: Path) -> None:
    """Each module opens with a docstring, and no placeholder stands in for one."""
    doc = ast.get_docstring(ast.parse(module.read_text()))
    assert doc, name(module)
    assert "TODO" not in doc, name(module)


@pytest.mark.parametrize("module", modules(), ids=name)
def test_no_function_is_longer_than_a_screen(module: Path) -> None:
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], name(module)
