"""Where `tenancy validate` spends its time: each pipeline stage timed through the Python API.

Run as `python -m bench.stages ROOT` in a fresh process per repeat, so every stage is as cold
as in the CLI (the compiled JSON Schema validators are cached per process, regexes too); it
prints one JSON document on stdout. The stages are those of `tenancy.validate.check` in order:
import, config, read, then per file load (the YAML event parser, the JSON parser) and schema,
policy compile (read the .rego files and build the embedded engine), policy input (the combined
document), policy evaluate (`tenancy.validate.policy.evaluate`: serialise the input into
regorus, evaluate every deny/warn rule, map violations to positions) and report (the JSON output).

After the timed pipeline, a breakdown re-runs the policy query one entry rule at a time through
the public engine API: `query([], input)` costs only handing the input to regorus, and
`query([ref], input)` minus that is the evaluation of one rule. It shows which package dominates.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run(root: Path, breakdown_rounds: int) -> dict[str, Any]:
    """Time each stage once over the repository at root; return the measurements."""
    stages: list[dict[str, Any]] = []

    def timed(name: str, action: Callable[[], T], findings: int | None = None) -> T:
        start = time.perf_counter()
        value = action()
        seconds = time.perf_counter() - start
        stages.append({"name": name, "seconds": seconds, "rss_kib": _rss_kib()})
        if findings is not None:
            stages[-1]["findings"] = findings
        return value

    def import_all() -> None:
        import tenancy.cli
        import tenancy.validate.policy.embedded  # noqa: F401  (the CLI imports it lazily)

    timed("import", import_all)
    from tenancy.errors import Location, Report, sort_diagnostics
    from tenancy.inputs.load import parse_bytes
    from tenancy.model import InputName
    from tenancy.report import format_json
    from tenancy.validate import schema
    from tenancy.validate.check import locator, policy_input
    from tenancy.validate.config import resolve
    from tenancy.validate.policy import evaluate
    from tenancy.validate.policy.embedded import EmbeddedEngine
    from tenancy.validate.policy.source import policy_dirs, read_policies

    config_path = root / "tenancy.yaml"

    def load_config() -> Any:
        document, problems = parse_bytes(str(config_path), config_path.read_bytes())
        config, more = resolve(document, config_path)
        if config is None or problems or more:
            raise RuntimeError(f"{config_path} is invalid")
        return config

    config = timed("config", load_config)
    paths: dict[InputName, Path] = {
        "roster": Path(config.roster),
        "k8s_users": Path(config.k8s_users),
    }
    raw = timed("read", lambda: {name: path.read_bytes() for name, path in paths.items()})
    documents: dict[InputName, Any] = {}
    diagnostics: list[Any] = []
    for name, path in paths.items():
        document, problems = timed(
            f"load {path.name}",
            partial(parse_bytes, str(path), raw[name], max_depth=config.max_depth),
        )
        diagnostics.extend(problems)
        if document is None:
            raise RuntimeError(f"{path} does not parse: {problems[:3]}")
        documents[name] = document
        # Schema right after load, file by file, as tenancy.check.load_inputs does (the number
        # of live objects, and so the cost of a garbage collection, depends on this order).
        problems = timed(f"schema {path.name}", partial(schema.check, document, name))
        diagnostics.extend(problems)

    def compile_policies() -> tuple[Any, Any]:
        policies = read_policies(policy_dirs(config))
        return policies, EmbeddedEngine(policies.sources())

    policies, engine = timed("policy compile", compile_policies)
    document_input = timed("policy input", lambda: policy_input(documents, config))
    found = timed(
        "policy evaluate",
        lambda: evaluate(
            engine,
            policies,
            document_input,
            locator(documents),
            fallback=Location(str(paths["roster"])),
        ),
    )
    diagnostics.extend(found)
    stages[-1]["findings"] = len(found)
    report = Report(
        diagnostics=tuple(sort_diagnostics(diagnostics)),
        files=tuple(str(path) for path in paths.values()),
    )
    timed("report", lambda: format_json(report, io.StringIO(), False))

    breakdown: dict[str, list[float]] = {"catalogue": [], "set input": []}
    refs = policies.refs("input")
    for _ in range(breakdown_rounds):
        start = time.perf_counter()
        policies.catalogue()
        breakdown["catalogue"].append(time.perf_counter() - start)
        start = time.perf_counter()
        engine.query([], document_input)
        baseline = time.perf_counter() - start
        breakdown["set input"].append(baseline)
        for ref in refs:
            start = time.perf_counter()
            engine.query([ref], document_input)
            breakdown.setdefault(f"eval data.{ref}", []).append(
                max(0.0, time.perf_counter() - start - baseline)
            )
    return {
        "stages": stages,
        "breakdown": {name: min(samples) for name, samples in breakdown.items() if samples},
        "errors": dict(Counter(d.code for d in diagnostics if d.severity == "error")),
        "warnings": sum(d.severity == "warning" for d in diagnostics),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("root", type=Path, help="a generated repository (bench/generate.py)")
    parser.add_argument(
        "--breakdown-rounds", type=int, default=1, help="per-rule rounds (min is kept)"
    )
    args = parser.parse_args()
    rounds = max(0, min(args.breakdown_rounds, 20))
    json.dump(run(args.root.resolve(), rounds), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
