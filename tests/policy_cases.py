"""Policy example cases: one folder each under tests/examples/policy/, with an `expect` file.

Each folder holds roster.yaml, k8s_users.yaml and a tenancy.yaml naming them; `expect` lists
`file:line:col code` lines, exactly what `tenancy validate` must report. A new case is a folder.
"""

from __future__ import annotations

from pathlib import Path

from tenancy.errors import Diagnostic
from tenancy.inputs.load import parse_bytes
from tenancy.inputs.read import InputFile
from tenancy.model import Config
from tenancy.resources import data_dir
from tenancy.validate.check import check
from tenancy.validate.config import resolve
from tenancy.validate.policy import PolicyEngine, PolicySet
from tenancy.validate.policy.source import read_policies

CASES = Path(__file__).resolve().parent / "examples" / "policy"


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def builtin_policies() -> PolicySet:
    return read_policies([data_dir("policies")])


def case_config(folder: Path) -> Config:
    path = folder / "tenancy.yaml"
    document, problems = parse_bytes("tenancy.yaml", path.read_bytes())
    assert document is not None, problems
    config, problems = resolve(document, path)
    assert config is not None, problems
    return config


def run_case(folder: Path, engine: PolicyEngine, policies: PolicySet) -> list[Diagnostic]:
    config = case_config(folder)
    inputs = [
        InputFile(name="roster", shown="roster.yaml", raw=(folder / "roster.yaml").read_bytes()),
        InputFile(
            name="k8s_users", shown="k8s_users.yaml", raw=(folder / "k8s_users.yaml").read_bytes()
        ),
    ]
    return list(check(inputs, config, engine=engine, policies=policies).report.diagnostics)


def expected(folder: Path) -> list[str]:
    return sorted(line for line in (folder / "expect").read_text().splitlines() if line.strip())


def found(diagnostics: list[Diagnostic]) -> list[str]:
    return sorted(f"{d.location} {d.code}" for d in diagnostics)
