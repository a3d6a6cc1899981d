"""The diff suite: `tenancy diff BASE HEAD -f json` on a one-change commit at N users.

Why: `tenancy diff` is what a pull request runs to show each person's access change, so its
wall clock is what a reviewer waits for in CI. It validates and renders both revisions afresh
from git (the committed manifests are never trusted) and computes everyone's access twice, so
it costs about two in-memory renders plus git reads.

Per size, a git repository is made in the scratch directory from a clean generated repository
(bench/generate.py `clean=True`: every input validates), with three commits on `main`:

1. `base`: the generated inputs;
2. `move namespace`: one namespace-owner's last namespace moves to another namespace-owner
   (k8s_users and both roster rows), so two people change: one loses it, one gains it;
3. `raise quota`: one namespace-owner's `cpu_requests` goes up (within the ceiling), so one
   person changes.

Timed, from inside the repository as a user runs them (process start included), round-robin
with one untimed warm-up: `tenancy diff HEAD~1 HEAD -f json` (the quota raise) and
`tenancy diff HEAD~2 HEAD~1 -f json` (the move). Each run's JSON must name exactly the changed
people, with nothing under `other` and no `problems`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import generate
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

SUITE = "diff"
#: Target for the one-change diff (median wall clock, process start included).
TARGET_SECONDS = {1_000: 3.0}
RAISED_CPU = "4"  # under the generated namespace-owner ceiling of 8
_GIT_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.org")
_NAMESPACES = re.compile(r"namespaces: \[([^\]]*)\]")


class Mismatch(Exception):
    """A run whose output is not what the change must produce."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One committed change and the people whose access it changes."""

    key: str
    description: str
    base: str
    head: str
    people: frozenset[str]


def _git(repo: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    subprocess.run(
        ["git", *_GIT_IDENTITY, "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
    )


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _read_users(repo: Path) -> dict[str, Any]:
    users: dict[str, Any] = json.loads(
        (repo / "tenants" / "k8s_users.json").read_text(encoding="utf-8")
    )
    return users


def _write_users(repo: Path, users: dict[str, Any]) -> None:
    text = json.dumps(users, indent=2) + "\n"
    (repo / "tenants" / "k8s_users.json").write_text(text, encoding="utf-8")


def _roster_rows(repo: Path) -> dict[str, int]:
    """k8s_user key -> line index of its roster row."""
    lines = (repo / "tenants" / "roster.yaml").read_text(encoding="utf-8").splitlines()
    rows: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = re.search(r"k8s_user: ([^,}\s]+)", line)
        if match and not line.lstrip().startswith("#"):
            rows[match.group(1)] = index
    return rows


def move_namespace(repo: Path) -> tuple[str, str, str]:
    """Move the last namespace of the first owner with two or more to the next owner; both
    have roster rows, which are edited too. Returns (from, to, namespace)."""
    users = _read_users(repo)
    rows = _roster_rows(repo)
    owners = [k for k, v in users.items() if v["role"] == "namespace-owner" and k in rows]
    source = next(k for k in owners if len(users[k]["namespaces"]) >= 2)
    target = next(k for k in owners[owners.index(source) + 1 :] if k != source)
    namespace = users[source]["namespaces"][-1]
    users[source]["namespaces"].remove(namespace)
    users[target]["namespaces"].append(namespace)
    _write_users(repo, users)
    roster = repo / "tenants" / "roster.yaml"
    lines = roster.read_text(encoding="utf-8").splitlines(keepends=True)
    for key, gains in ((source, False), (target, True)):
        line = lines[rows[key]]
        match = _NAMESPACES.search(line)
        if match is None:
            raise RuntimeError(f"roster row of {key} has no namespaces: {line!r}")
        names = [n.strip() for n in match.group(1).split(",")]
        names = [n for n in names if n and n != namespace] + ([namespace] if gains else [])
        updated = "namespaces: [" + ", ".join(names) + "]"
        lines[rows[key]] = line[: match.start()] + updated + line[match.end() :]
    roster.write_text("".join(lines), encoding="utf-8")
    return source, target, namespace


def raise_quota(repo: Path) -> tuple[str, str, str]:
    """Raise the first namespace-owner's cpu_requests of 1 or 2 to RAISED_CPU; returns
    (user, before, after)."""
    users = _read_users(repo)
    key = next(
        k
        for k, v in users.items()
        if v["role"] == "namespace-owner"
        and isinstance(v.get("quota"), dict)
        and v["quota"].get("cpu_requests") in {"1", "2"}
    )
    before = users[key]["quota"]["cpu_requests"]
    users[key]["quota"]["cpu_requests"] = RAISED_CPU
    _write_users(repo, users)
    return key, before, RAISED_CPU


def make_repository(size: int, repo: Path) -> list[Change]:
    """The three-commit repository described above; returns the changes to time."""
    generate(size, repo, clean=True)
    (repo / "policy_input.json").unlink(missing_ok=True)  # for conftest only; not an input
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "base")
    source, target, namespace = move_namespace(repo)
    _commit(repo, f"move namespace {namespace} from {source} to {target}")
    user, before, after = raise_quota(repo)
    _commit(repo, f"raise {user}'s cpu_requests from {before} to {after}")
    return [
        Change(
            key="quota",
            description=f"raise {user}'s cpu_requests {before} -> {after}",
            base="HEAD~1",
            head="HEAD",
            people=frozenset({user}),
        ),
        Change(
            key="move",
            description=f"move namespace {namespace} from {source} to {target}",
            base="HEAD~2",
            head="HEAD~1",
            people=frozenset({source, target}),
        ),
    ]


def verify(run: Run, change: Change) -> str:
    """The diff must exit 0 and name exactly the changed people, nothing else."""
    if run.returncode != 0:
        raise Mismatch(f"exit code {run.returncode}: {run.stderr.strip()[-500:]}")
    try:
        report = json.loads(run.stdout)
        people = {str(p["id"]): list(p["changes"]) for p in report["people"]}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise Mismatch(f"output is not a diff report ({exc}): {run.stdout[:200]!r}") from exc
    if set(people) != change.people:
        raise Mismatch(f"names {sorted(people)}, expected {sorted(change.people)}")
    if report.get("other") or report.get("problems"):
        raise Mismatch(f"other {report.get('other')!r}, problems {report.get('problems')!r}")
    if not all(people.values()):
        raise Mismatch(f"a named person has no changes: {people}")
    changes = sum(len(c) for c in people.values())
    noun = "change" if changes == 1 else "changes"
    return f"{', '.join(sorted(people))}: {changes} {noun}, max {report.get('max_severity')}"


def _measure_size(size: int, options: Options, result: SuiteResult) -> None:
    repo = options.workdir / f"{SUITE}-{size}"
    print(f"  {size:,} users: generating and committing ...", file=sys.stderr, flush=True)
    try:
        changes = make_repository(size, repo)
    except (OSError, RuntimeError, StopIteration, subprocess.SubprocessError) as exc:
        result.failures.append(f"{size:,} diff: could not build the git repository: {exc}")
        return
    tenancy = str(Path(sys.executable).parent / "tenancy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    rows = {
        change.key: Row(
            suite=SUITE,
            size=size,
            tool=f"tenancy diff {change.base} {change.head} -f json ({change.key})",
        )
        for change in changes
    }
    broken: set[str] = set()
    for _, timed, label in rounds(options):
        print(f"  {size:,} users: {label}", file=sys.stderr, flush=True)
        for change in changes:
            if change.key in broken:
                continue
            row = rows[change.key]
            argv = [tenancy, "diff", change.base, change.head, "-f", "json"]
            run = run_measured(argv, cwd=repo, env=env, timeout=options.timeout)
            try:
                if run.timed_out:
                    raise Mismatch(f"timed out after {options.timeout:.0f} s")
                row.findings = verify(run, change)
            except Mismatch as exc:
                row.findings = "FAILED"
                result.failures.append(f"{size:,} {row.tool}: {exc}")
                broken.add(change.key)
                continue
            if timed:
                row.seconds.append(run.seconds)
                row.peak_rss_kib.append(run.peak_rss_kib)
                row.peak_tree_kib.append(run.peak_tree_kib)
    result.rows.extend(rows.values())
    result.notes.append(
        f"{size:,} users, clean: "
        + "; ".join(f"{change.key}: {change.description}" for change in changes)
    )


def targets(result: SuiteResult) -> list[str]:
    """PASS/MISS lines for the target, with the numbers it is judged on."""
    lines: list[str] = []
    for size, limit in TARGET_SECONDS.items():
        rows = [row for row in result.rows if row.size == size]
        if not rows:
            lines.append(f"n/a   tenancy diff <= {limit} s at {size:,} users: not run")
        for row in rows:
            if row.median is None:
                lines.append(f"n/a   {row.tool} <= {limit} s at {size:,} users: no timed run")
                continue
            verdict = "PASS" if row.median <= limit else "MISS"
            lines.append(
                f"{verdict}  {row.tool} <= {limit} s at {size:,} users: "
                f"median {row.median:.3f} s (min {row.minimum or 0:.3f} s)"
            )
    return lines


def run(options: Options) -> SuiteResult:
    """Every size; never raises for a slow or wrong run (it reports)."""
    result = SuiteResult()
    for size in options.sizes:
        _measure_size(size, options, result)
    result.notes.append(
        f"peak RSS is per process ({rss_method()}); peak tree PSS is the sum over the run's "
        f"process tree: {tree_method()}"
    )
    result.verdicts.extend(targets(result))
    return result
