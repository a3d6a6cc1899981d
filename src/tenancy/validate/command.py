"""`tenancy validate` and `tenancy test`: inputs through the validation stage into a report.
Shell."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenancy.errors import ExitCode, Report, UsageError, sort_diagnostics
from tenancy.inputs import files
from tenancy.model import Config
from tenancy.report import emit
from tenancy.validate.check import check
from tenancy.validate.policy import PolicyEngine, PolicySet
from tenancy.validate.policy.source import read_policies

if TYPE_CHECKING:
    pass


from tenancy.inputs.read import read_inputs, read_waivers
from tenancy.report import finish, say
from tenancy.validate.config import InputParams, load_config
from tenancy.validate.policy.source import policy_dirs


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidateParams:
    inputs: InputParams
    format: str
    engine: str
    opa_url: str | None
    waivers: Path | None
    policies: bool
    strict: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TestParams:
    coverage: bool
    match: str | None
    config: Path | None
    format: str


def optional_config(path: Path | None) -> Config:
    """The config when there is one; commands that only need policy directories use this."""
    found = path or files.find_config(Path.cwd())
    if found is None:
        return Config()
    config, problems = load_config(InputParams(config=found, roster=None, k8s_users=None))
    if config is None:
        emit(Report(diagnostics=tuple(sort_diagnostics(problems))), "text")
        raise SystemExit(ExitCode.FINDINGS)
    return config


def run_test(params: TestParams) -> ExitCode:
    from tenancy.validate import catalogue, regotest

    policies = read_policies(policy_dirs(optional_config(params.config)))
    outcome = regotest.run(policies, match=params.match)
    say(catalogue.render_tests(outcome, fmt=params.format, coverage=params.coverage), nl=False)
    failed = any(not r.passed for r in outcome.results)
    uncovered = params.coverage and any(not c.covered for c in outcome.coverage)
    if not outcome.results:
        say("no Rego tests found", err=True)
        return ExitCode.FINDINGS
    return ExitCode.FINDINGS if failed or uncovered else ExitCode.OK


def build_engine(engine: str, opa_url: str | None, policies: PolicySet) -> PolicyEngine:
    if engine == "opa":
        if not opa_url:
            raise UsageError("--engine opa needs --opa-url URL (or TENANCY_OPA_URL)")
        from tenancy.validate.policy.server import OpaServerEngine

        return OpaServerEngine(opa_url, policies.sources())
    from tenancy.validate.policy.embedded import EmbeddedEngine

    return EmbeddedEngine(policies.sources())


def run_validate(params: ValidateParams) -> ExitCode:
    config, problems = load_config(params.inputs)
    if config is None:
        return finish(Report(diagnostics=tuple(sort_diagnostics(problems))), params.format, False)
    inputs = read_inputs(config)
    engine = policies = None
    if params.policies:
        policies = read_policies(policy_dirs(config))
        engine = build_engine(params.engine, params.opa_url, policies)
    waivers = read_waivers(params.waivers, config)
    checked = check(inputs, config, engine=engine, policies=policies, waivers=waivers)
    return finish(checked.report, params.format, params.strict)
