"""The inputs suite: `tenancy validate` on pathological inputs of N list items.

Why: the loader and the schema stage must stay linear in the size of what they are given, also
when it is wrong. A pull request can hold one list of 50,000 namespaces with one duplicate, or
50,000 values that each break the schema; either must be answered in about the time a clean
input of that size takes, not in minutes (a quadratic duplicate search took 18 s at 50,000).

Per size N (here: list items, not users), two k8s_users files are written to the scratch
directory, each with one namespace-owner whose `namespaces` list holds N items:

1. `duplicate`: N distinct valid names and, last, the first name again: one `schema-unique-items`
   error;
2. `invalid`: N names that each break the namespace pattern: N `schema-pattern` errors, of
   which tenancy reports a capped number plus one `schema-truncated` line with the count.

Timed: `tenancy validate --k8s-users FILE --no-policies -f json` (process start included),
round-robin with one untimed warm-up. Each run must exit 1 and report the expected codes.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

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

SUITE = "inputs"
#: Target per case at 50,000 items (median wall clock, process start included).
TARGET_SECONDS = {50_000: 3.0}


class Mismatch(Exception):
    """A run whose output is not what the generated input must produce."""


def write_cases(size: int, root: Path) -> dict[str, Path]:
    """The two k8s_users files of `size` list items, by case name."""
    root.mkdir(parents=True, exist_ok=True)
    names = [f"ns-{i}" for i in range(size)]
    cases = {
        "duplicate": [*names, names[0]],
        "invalid": [f"NS_{i}" for i in range(size)],
    }
    paths = {}
    for case, namespaces in cases.items():
        path = root / f"{case}.k8s_users.json"
        user = {"role": "namespace-owner", "email": "o@example.org", "namespaces": namespaces}
        path.write_text(json.dumps({"owner": user}, indent=1) + "\n", encoding="utf-8")
        paths[case] = path
    return paths


def verify(case: str, run: Run) -> str:
    """The run must exit 1 with exactly the planted kind of error."""
    if run.returncode != 1:
        raise Mismatch(f"exit code {run.returncode} (want 1): {run.stderr.strip()[-500:]}")
    report = json.loads(run.stdout)
    codes = Counter(d["code"] for d in report["diagnostics"])
    if case == "duplicate" and codes != Counter({"schema-unique-items": 1}):
        raise Mismatch(f"want one schema-unique-items, got {dict(codes)}")
    if case == "invalid" and set(codes) - {"schema-pattern", "schema-truncated"}:
        raise Mismatch(f"want schema-pattern errors only, got {dict(codes)}")
    return ", ".join(f"{n} {code}" for code, n in sorted(codes.items()))


def run(options: Options) -> SuiteResult:
    """Every size and case; never raises for a slow or wrong run (it reports)."""
    result = SuiteResult()
    tenancy = str(Path(sys.executable).parent / "tenancy")
    for size in options.sizes:
        root = options.workdir / f"{SUITE}-{size}"
        paths = write_cases(size, root)
        rows = {
            case: Row(suite=SUITE, size=size, tool=f"tenancy validate ({case})") for case in paths
        }
        for _, timed, label in rounds(options):
            for case, path in paths.items():
                argv = [tenancy, "validate", "--k8s-users", str(path), "--no-policies"]
                measured = run_measured([*argv, "-f", "json"], cwd=root, timeout=options.timeout)
                try:
                    rows[case].findings = verify(case, measured)
                except (Mismatch, json.JSONDecodeError, KeyError) as exc:
                    result.failures.append(f"{case} at {size:,} ({label}): {exc}")
                    continue
                if timed:
                    rows[case].seconds.append(measured.seconds)
                    rows[case].peak_rss_kib.append(measured.peak_rss_kib)
                    rows[case].peak_tree_kib.append(measured.peak_tree_kib)
        result.rows.extend(rows.values())
        for case, row in rows.items():
            target = TARGET_SECONDS.get(size)
            if target is not None and row.seconds:
                median = sorted(row.seconds)[len(row.seconds) // 2]
                verdict = "met" if median <= target else "MISSED"
                result.verdicts.append(
                    f"{case} at {size:,} items: median {median:.2f} s, target {target:g} s: "
                    f"{verdict}"
                )
    result.notes.append(
        f"sizes are list items; peak RSS is per process ({rss_method()}); peak tree PSS: "
        f"{tree_method()}"
    )
    return result
