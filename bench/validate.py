"""The validate suite: `tenancy validate` at N users, side by side with the reference tools.

For each size one generated repository (bench/generate.py) is measured, in one run, by:

1. `tenancy --version`: the floor, interpreter start-up plus the CLI's imports;
2. `tenancy validate -f json` (embedded regorus engine): the full user-facing time, process start,
   schema and policy stages included; it must report exactly the three planted errors;
3. the same with `--engine opa --opa-url URL` against a real OPA server (.tools/bin/opa) on
   127.0.0.1, one server per size (its own peak RSS is a separate row), stopped by PID;
4. `conftest test policy_input.json --policy policies --all-namespaces -o json --no-fail`: the
   same Rego on the same combined input (conftest's bundled OPA), which must find the same three.
   `--no-fail` makes exit 0 mean "ran" (findings are read from the JSON, so exit 1 is not needed
   to see them); no `--ignore` is needed: the `*_test` packages compile and define no deny/warn,
   and `power_user_rbac` (a rendered-manifest audit) finds no `objects` and reports nothing;
5. `python -m bench.stages`: in-process stage timings, to see where tenancy's time goes.

Runs are interleaved round-robin (each repeat runs every tool once) so that drift on a shared
2-core machine spreads over all tools; one untimed warm-up per tool fills the page cache and
the bytecode cache first. Medians and minima are over the timed repeats. Every run's output is
checked, not only the first: a run that finds the wrong things is a failure, whatever its time.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import Repo, generate
from bench.measure import (
    Options,
    Row,
    Run,
    SuiteResult,
    rounds,
    rss_method,
    run_measured,
    tree_method,
)
from bench.opa import opa_server

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS = REPO_ROOT / ".tools" / "bin"
POLICIES = REPO_ROOT / "policies"
SUITE = "validate"

#: Targets for `tenancy validate` (embedded engine, median wall clock, process start included).
TARGET_SECONDS = {1_000: 0.5, 10_000: 3.0}
TARGET_RATIO = 12.0


#: A verifier turns a finished run into its findings cell, or raises Mismatch.
Verify = Callable[[Run], str]


class Mismatch(Exception):
    """A run whose output is not what the generated repository must produce."""


@dataclass(slots=True, kw_only=True)
class _Tool:
    row: Row
    argv: list[str]
    verify: Verify
    env: Mapping[str, str] | None = None
    on_run: Callable[[Run], None] | None = None


def _tenancy_bin() -> Path:
    return Path(sys.executable).parent / "tenancy"


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TENANCY_OPA_URL", None)  # the engine is chosen on the command line only
    env["RUST_BACKTRACE"] = "0"
    return env


def _describe(errors: Mapping[str, int], warnings: int) -> str:
    return f"{sum(errors.values())} errors, {warnings} warnings"


def _check(errors: Mapping[str, int], warnings: int, expected: Mapping[str, int]) -> str:
    if dict(errors) != dict(expected) or warnings:
        raise Mismatch(
            f"expected errors {dict(expected)} and no warnings, got {dict(errors)} "
            f"and {warnings} warnings"
        )
    return _describe(errors, warnings)


def verify_tenancy(expected: Mapping[str, int]) -> Verify:
    """`tenancy validate -f json` must exit 1 and list exactly the planted errors."""

    def verify(run: Run) -> str:
        if run.returncode != 1:
            raise Mismatch(f"exit code {run.returncode} (want 1): {run.stderr.strip()[-500:]}")
        try:
            report = json.loads(run.stdout)
        except json.JSONDecodeError as exc:
            raise Mismatch(f"output is not JSON ({exc}): {run.stdout[:200]!r}") from exc
        diagnostics = report.get("diagnostics", [])
        errors = Counter(d["code"] for d in diagnostics if d.get("severity") == "error")
        warnings = sum(d.get("severity") == "warning" for d in diagnostics)
        return _check(errors, warnings, expected)

    return verify


def verify_conftest(expected: Mapping[str, int]) -> Verify:
    """conftest (with --no-fail) must exit 0 and report the planted errors as failures."""

    def verify(run: Run) -> str:
        if run.returncode != 0:
            raise Mismatch(f"exit code {run.returncode}: {run.stderr.strip()[-500:]}")
        try:
            results = json.loads(run.stdout)
        except json.JSONDecodeError as exc:
            raise Mismatch(f"output is not JSON ({exc}): {run.stdout[:200]!r}") from exc
        errors: Counter[str] = Counter()
        warnings = 0
        for result in results:
            for failure in result.get("failures") or []:
                errors[str((failure.get("metadata") or {}).get("code", "?"))] += 1
            warnings += len(result.get("warnings") or [])
        return _check(errors, warnings, expected)

    return verify


def verify_ok(run: Run) -> str:
    if run.returncode != 0:
        raise Mismatch(f"exit code {run.returncode}: {run.stderr.strip()[-500:]}")
    return ""


class _Stages:
    """Collects `bench.stages` output across repeats into one row per stage."""

    def __init__(self, size: int, expected: Mapping[str, int]) -> None:
        self.size = size
        self.expected = expected
        self.rows: dict[str, Row] = {}
        self.totals: list[float] = []

    def _row(self, name: str) -> Row:
        if name not in self.rows:
            self.rows[name] = Row(suite=SUITE, size=self.size, tool=name)
        return self.rows[name]

    def verify(self, run: Run) -> str:
        verify_ok(run)
        try:
            data = json.loads(run.stdout)
        except json.JSONDecodeError as exc:
            raise Mismatch(f"bench.stages output is not JSON: {exc}") from exc
        return _check(data["errors"], data["warnings"], self.expected)

    def record(self, run: Run) -> None:
        data: dict[str, Any] = json.loads(run.stdout)
        for stage in data["stages"]:
            row = self._row(f"  stage: {stage['name']}")
            row.seconds.append(float(stage["seconds"]))
            row.peak_rss_kib.append(int(stage["rss_kib"]))
            if "findings" in stage:
                row.findings = f"{stage['findings']} violations"
        self.totals.append(sum(float(stage["seconds"]) for stage in data["stages"]))
        for name, seconds in data["breakdown"].items():
            self._row(f"    {name}").seconds.append(float(seconds))

    def result_rows(self) -> list[Row]:
        total = Row(suite=SUITE, size=self.size, tool="  stages: sum (in-process)")
        total.seconds = list(self.totals)
        return [*self.rows.values(), total]


def _measure_size(size: int, options: Options, result: SuiteResult) -> dict[str, Row]:
    """Generate, then run every tool `repeat` times round-robin; return the main rows by key."""
    root = options.workdir / f"{SUITE}-{size}"
    print(f"  {size:,} users: generating ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    repo: Repo = generate(size, root)
    generated = time.perf_counter() - start
    input_kib = (root / "policy_input.json").stat().st_size / 1024
    result.notes.append(
        f"{size:,} users ({repo.admins} admin, {repo.power_users} power-user, {repo.owners} "
        f"namespace-owner; {repo.roster_rows} roster rows): roster.yaml "
        f"{repo.roster_bytes / 1024:,.0f} KiB, k8s_users.json {repo.k8s_bytes / 1024:,.0f} KiB, "
        f"policy_input.json {input_kib:,.0f} KiB; generated in {generated:.2f} s"
    )
    expected = repo.expected_errors
    env = _base_env()

    def row(tool: str) -> Row:
        return Row(suite=SUITE, size=size, tool=tool)

    tenancy = [str(_tenancy_bin()), "validate", "-f", "json", "--config", "tenancy.yaml"]
    stages = _Stages(size, expected)
    tools: dict[str, _Tool] = {
        "floor": _Tool(
            row=row("tenancy --version (start-up floor)"),
            argv=[str(_tenancy_bin()), "--version"],
            verify=verify_ok,
            env=env,
        ),
        "embedded": _Tool(
            row=row("tenancy validate (embedded)"),
            argv=tenancy,
            verify=verify_tenancy(expected),
            env=env,
        ),
    }
    with ExitStack() as stack:
        server = None
        try:
            server = stack.enter_context(opa_server(TOOLS / "opa"))
        except (OSError, RuntimeError) as exc:
            result.failures.append(f"{size:,}: OPA server unavailable: {exc}")
        if server is not None:
            tools["opa"] = _Tool(
                row=row("tenancy validate --engine opa"),
                argv=[*tenancy, "--engine", "opa", "--opa-url", server.url],
                verify=verify_tenancy(expected),
                env=env,
            )
        conftest = TOOLS / "conftest"
        if conftest.exists():
            tools["conftest"] = _Tool(
                row=row("conftest test (same policies, combined input)"),
                argv=[
                    str(conftest),
                    "test",
                    "policy_input.json",
                    "--policy",
                    str(POLICIES),
                    "--all-namespaces",
                    "-o",
                    "json",
                    "--no-fail",
                    "--no-color",
                ],
                verify=verify_conftest(expected),
                env=env,
            )
        else:
            result.failures.append(f"{conftest} is missing: run scripts/build-tools.sh conftest")
        tools["stages"] = _Tool(
            row=row("python -m bench.stages (whole process)"),
            argv=[sys.executable, "-m", "bench.stages", str(root)],
            verify=stages.verify,
            env={**env, "PYTHONPATH": str(REPO_ROOT)},
            on_run=stages.record,
        )
        broken: set[str] = set()  # tools whose output was wrong are not run again
        for _, timed, label in rounds(options):
            print(f"  {size:,} users: {label}", file=sys.stderr, flush=True)
            for key, tool in tools.items():
                if key in broken:
                    continue
                run = run_measured(
                    tool.argv,
                    cwd=REPO_ROOT if key == "stages" else root,
                    env=tool.env,
                    timeout=options.timeout,
                )
                try:
                    if run.timed_out:
                        raise Mismatch(f"timed out after {options.timeout:.0f} s")
                    tool.row.findings = tool.verify(run)
                except Mismatch as exc:
                    tool.row.findings = "FAILED"
                    result.failures.append(f"{size:,} {tool.row.tool}: {exc}")
                    broken.add(key)
                    continue
                if timed:
                    tool.row.seconds.append(run.seconds)
                    tool.row.peak_rss_kib.append(run.peak_rss_kib)
                    tool.row.peak_tree_kib.append(run.peak_tree_kib)
                    if tool.on_run is not None:
                        tool.on_run(run)
        server_row = None
        if server is not None:
            server_row = row("  opa server process (peak RSS over all its requests)")
            peak = server.peak_rss_kib()
            server_row.peak_rss_kib = [] if peak is None else [peak]
    ordered = [tool.row for tool in tools.values()]
    if server_row is not None:
        ordered.insert(list(tools).index("opa") + 1, server_row)
    result.rows.extend(ordered)
    result.rows.extend(stages.result_rows())
    return {key: tool.row for key, tool in tools.items()}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(main_rows: Mapping[int, Mapping[str, Row]]) -> list[str]:
    """PASS/MISS lines for the targets, with the numbers they are judged on."""
    lines: list[str] = []
    medians: dict[int, float] = {}
    for size, limit in TARGET_SECONDS.items():
        embedded = main_rows.get(size, {}).get("embedded")
        median = embedded.median if embedded is not None else None
        if median is None:
            lines.append(
                f"n/a   tenancy validate (embedded) <= {limit} s at {size:,} users: not run"
            )
            continue
        medians[size] = median
        lines.append(
            f"{_verdict(median <= limit)}  tenancy validate (embedded) <= {limit} s at "
            f"{size:,} users: median {median:.3f} s"
        )
    if len(medians) == 2:
        ratio = medians[10_000] / medians[1_000]
        lines.append(
            f"{_verdict(ratio <= TARGET_RATIO)}  10k/1k ratio <= {TARGET_RATIO:g}x "
            f"(tenancy validate, embedded): {ratio:.2f}x"
        )
    else:
        lines.append(f"n/a   10k/1k ratio <= {TARGET_RATIO:g}x: needs sizes 1000 and 10000")
    return lines


def run(options: Options) -> SuiteResult:
    """The whole suite over every size; never raises for a slow or wrong tool (it reports)."""
    result = SuiteResult()
    main_rows: dict[int, dict[str, Row]] = {}
    for size in options.sizes:
        main_rows[size] = _measure_size(size, options, result)
    result.notes.append(
        f"peak RSS is per process ({rss_method()}); for `stage:` rows it is the stage process's "
        "high-water mark after that stage. Peak tree PSS is the sum over the run's process tree: "
        f"{tree_method()}. Rows indented twice break `policy evaluate` down "
        "through the public API, one rule per query (each minus `set input`), after the timed "
        "pipeline; `catalogue` is the METADATA parse evaluate does for severities"
    )
    for size, rows in main_rows.items():
        embedded, opa = rows.get("embedded"), rows.get("opa")
        floor = rows.get("floor")
        if embedded and embedded.median and floor and floor.median:
            result.notes.append(
                f"{size:,}: start-up floor is {floor.median / embedded.median:.0%} of "
                "tenancy validate (embedded)"
            )
        if embedded and opa and embedded.median and opa.median:
            result.notes.append(
                f"{size:,}: --engine opa / embedded = {opa.median / embedded.median:.2f}x"
            )
        conftest = rows.get("conftest")
        if embedded and conftest and embedded.median and conftest.median:
            result.notes.append(
                f"{size:,}: conftest / tenancy embedded = {conftest.median / embedded.median:.2f}x"
            )
    result.verdicts.extend(targets(main_rows))
    return result
