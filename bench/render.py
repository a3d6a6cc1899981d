"""The render suite: `tenancy render` at N users, its stages, and kubeconform on the same output.

Why: `render` is what a platform runs on every merge, and it does much more than `validate`
(render every manifest, audit them with Rego, validate them against the Kubernetes schemas,
parse the Vault policies with OpenBao, build the kustomizations with kubectl, write the tree).
Per size, one clean generated repository (bench/generate.py `clean=True`: no deliberately bad
users, so the inputs validate and there is something to render) is measured, per repeat, by:

1. `tenancy render` into an empty output directory: the full user-facing time (process start,
   validation, render, every check, the write). It must exit 0 and the files on disk must be
   as many as it says it rendered;
2. `tenancy render --check` right after, nothing changed: it must exit 0 (no drift);
3. `python -m bench.render ROOT` (this module): the same pipeline as `tenancy.app.run_render`
   through the Python API in a fresh process, each stage timed alone. Its `k8s schema` stage,
   `tenancy.k8s_schema.check` over the rendered manifests, is the row compared with kubeconform;
   it is cold as in the CLI (the compiled validators are cached per process). `compare` is the
   extra work of `--check`, `write` the extra work of a real render (into a scratch directory);
4. kubeconform, strict, with the same `-local-strict` Kubernetes 1.33 schemas tenancy uses, on
   the rendered `kubernetes/`, `vault/operator/` and `sync/` trees (every rendered object; the
   `kustomization.yaml` files are not objects and are ignored), CRD kinds skipped. It must find
   0 invalid, 0 errors, as many valid resources as tenancy validated against a schema, and as
   many skipped as tenancy found custom resources.

kubeconform and the schemas: the template `{{ .ResourceKind }}{{ .KindSuffix }}.json` names the
files as kubernetes-validate does (`namespace-v1.json`, `clusterrole-rbac-v1.json`). kubeconform
does not resolve their `$ref: /api/_definitions.json#...`: each schema's `$id` is
`https://kubernetes.io/api/<kind>/...`, so the reference is a URL it cannot load offline, and
every object ends as "could not find schema" (after a network timeout). So the suite writes a
copy of the schema folder into the scratch directory with `$id` removed and the references
rewritten to `_definitions.json#...` (beside the schema), and points kubeconform at the copy.

Runs are interleaved round-robin as in the validate suite; one untimed warm-up round first. The
output trees (about 300,000 files at 10,000 users) are removed after every round and the size's
scratch folder at the end, so disk use stays at one tree or two.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench.generate import generate
from bench.measure import Options, Row, Run, SuiteResult, rss_method, run_measured

REPO_ROOT = Path(__file__).resolve().parent.parent
KUBECONFORM = REPO_ROOT / ".tools" / "bin" / "kubeconform"
SUITE = "render"
OUTPUT = "manifests"  # the generated tenancy.yaml's `output`
STAGE_OUTPUT = "manifests-stages"  # where the stage process writes (never the CLI's tree)
K8S_VERSION = "1.33.0"

#: Targets (median wall clock, process start included) and the peak RSS ceiling.
TARGET_SECONDS = {1_000: 1.5, 10_000: 12.0}
TARGET_CHECK_SECONDS = {1_000: 1.0}
TARGET_RSS_MIB = 1024.0
#: The file-creation probe: about the 1,000-user tree (21,881 files in 2,001 folders).
PROBE_FILES = 20_000
PROBE_FOLDERS = 2_000

#: Custom resources the rendered tree holds, which have no Kubernetes schema. Given as GVKs
#: where the kind alone is ambiguous (kustomize's own Kustomization is not an object here).
CRD_KINDS = (
    "cert-manager.io/v1/Certificate",
    "argoproj.io/v1alpha1/ApplicationSet",
    "kustomize.toolkit.fluxcd.io/v1/Kustomization",
    "redhatcop.redhat.io/v1alpha1/Policy",
    "redhatcop.redhat.io/v1alpha1/KubernetesAuthEngineRole",
    "redhatcop.redhat.io/v1alpha1/Entity",
    "redhatcop.redhat.io/v1alpha1/EntityAlias",
)
#: The rendered folders that hold Kubernetes objects (vault/ policies and roles are not).
OBJECT_TREES = ("kubernetes", "vault/operator", "sync")
_RENDERED = re.compile(r"^rendered (\d+) files in ", re.MULTILINE)

T = TypeVar("T")


class Mismatch(Exception):
    """A run whose output is not what it must be."""


# --- the stage process: `python -m bench.render ROOT` --------------------------------------


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def stages(root: Path, *, compare_to: Path | None, write_to: Path | None) -> dict[str, Any]:
    """`tenancy.app.run_render` step by step, each stage timed once; returns the measurements.

    Runs with root as the working directory (the paths in tenancy.yaml are relative to it)."""
    timings: list[dict[str, Any]] = []

    def timed(name: str, action: Callable[[], T]) -> T:
        start = time.perf_counter()
        value = action()
        timings.append(
            {"name": name, "seconds": time.perf_counter() - start, "rss_kib": _rss_kib()}
        )
        return value

    def import_all() -> None:
        import tenancy.app
        import tenancy.audit
        import tenancy.k8s_schema
        import tenancy.policy.embedded
        import tenancy.render
        import tenancy.render.profiles
        import tenancy.tools
        import tenancy.write  # noqa: F401  (run_render imports these lazily)

    timed("import", import_all)
    from tenancy import app, files, k8s_schema, tools, write
    from tenancy.audit import audit
    from tenancy.check import check
    from tenancy.model import build
    from tenancy.render import profiles
    from tenancy.render import render as render_tree

    os.chdir(root)
    inputs = app.InputParams(config=Path("tenancy.yaml"), roster=None, k8s_users=None)
    config, problems = timed("config", lambda: app.load_config(inputs))
    if config is None:
        raise RuntimeError(f"{root}/tenancy.yaml is invalid: {problems[:3]}")

    def compile_policies() -> tuple[Any, Any]:
        policies = files.read_policies(app.policy_dirs(config))
        return policies, app.build_engine("embedded", None, policies)

    policies, engine = timed("policy compile", compile_policies)
    checked = timed(
        "validate (load, schema, policies)",
        lambda: check(
            app.read_inputs(config),
            config,
            engine=engine,
            policies=policies,
            waivers=app.read_waivers(None, config),
        ),
    )
    if not checked.report.ok:
        raise RuntimeError(f"the inputs do not validate: {checked.report.diagnostics[:3]}")
    output = Path(config.output)
    shown = files.display(output)
    inventory = timed(
        "build inventory",
        lambda: build(
            checked.documents["roster"].data, checked.documents["k8s_users"].data, config
        ),
    )
    rendered, found = timed(
        "render",
        lambda: render_tree(
            inventory,
            profiles.with_overrides(profiles.load(), config.render),
            sources=app.input_sources(config),
            output=shown,
        ),
    )
    diagnostics = list(found)
    diagnostics += timed(
        "audit (rendered_audit Rego)",
        lambda: audit(engine, policies, rendered, inventory, config, shown),
    )
    schema_problems = timed(
        "k8s schema", lambda: k8s_schema.check(rendered.manifests, rendered.files, shown)
    )
    diagnostics += schema_problems
    diagnostics += timed(
        "hcl check (bao policy fmt)", lambda: tools.check_hcl(rendered.files, shown)
    )
    diagnostics += timed(
        "kustomize check (kubectl kustomize)", lambda: tools.check_kustomize(rendered.files, shown)
    )
    drift: list[Any] = []
    if compare_to is not None:
        drift = timed("compare (--check)", lambda: write.compare(compare_to, rendered, shown))
    if write_to is not None:
        timed("write", lambda: write.write(write_to, rendered))

    schema_root = k8s_schema.schema_root()
    folder = None if schema_root is None else schema_root / f"v{K8S_VERSION}-local-strict"
    with_schema = sum(
        folder is not None and (folder / k8s_schema.schema_file(m)).exists()
        for m in rendered.manifests
    )
    return {
        "stages": timings,
        "files": len(rendered.files),
        "manifests": len(rendered.manifests),
        "schema_checked": with_schema,
        "schema_errors": sum(d.severity == "error" for d in schema_problems),
        "errors": [str(d) for d in diagnostics if d.severity in {"error", "warning"}][:10],
        "drift": len(drift),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__)
    parser.add_argument("root", type=Path, help="a clean generated repository")
    parser.add_argument("--compare", type=Path, help="an output tree to compare with (--check)")
    parser.add_argument("--write", type=Path, help="write the tree here (must not exist)")
    args = parser.parse_args()
    root = args.root.resolve()
    compare_to = None if args.compare is None else args.compare.resolve()
    write_to = None if args.write is None else args.write.resolve()
    json.dump(stages(root, compare_to=compare_to, write_to=write_to), sys.stdout)
    sys.stdout.write("\n")


# --- the suite --------------------------------------------------------------------------------


def kubeconform_schemas(target: Path) -> Path:
    """A copy of tenancy's schema folder that kubeconform can resolve offline (see above)."""
    from tenancy.k8s_schema import schema_root

    root = schema_root()
    if root is None:
        raise RuntimeError("kubernetes-validate is not installed: no Kubernetes schemas")
    source = root / f"v{K8S_VERSION}-local-strict"
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
        (target / path.name).write_text(text, encoding="utf-8")
    return target


def kubeconform_argv(schemas: Path) -> list[str]:
    """The kubeconform command line, relative to the output directory."""
    return [
        str(KUBECONFORM),
        "-strict",
        "-summary",
        "-output",
        "json",
        "-schema-location",
        f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
        "-ignore-filename-pattern",
        r"(^|/)kustomization\.yaml$",
        "-skip",
        ",".join(CRD_KINDS),
        *OBJECT_TREES,
    ]


def _tail(run: Run) -> str:
    return (run.stderr.strip() or run.stdout.strip())[-500:]


def _count_files(folder: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(folder))


@dataclass(slots=True)
class _Expected:
    """What the stage process found, which the CLI and kubeconform runs are checked against."""

    files: int | None = None
    manifests: int | None = None
    schema_checked: int | None = None


@dataclass(slots=True)
class _Stages:
    """`python -m bench.render` output across repeats, one row per stage."""

    size: int
    rows: dict[str, Row] = field(default_factory=dict)
    totals: list[float] = field(default_factory=list)

    def record(self, data: dict[str, Any]) -> None:
        for stage in data["stages"]:
            name = stage["name"]
            if name not in self.rows:
                self.rows[name] = Row(suite=SUITE, size=self.size, tool=f"  stage: {name}")
            self.rows[name].seconds.append(float(stage["seconds"]))
            self.rows[name].peak_rss_kib.append(int(stage["rss_kib"]))
        self.totals.append(sum(float(stage["seconds"]) for stage in data["stages"]))

    def result_rows(self) -> list[Row]:
        total = Row(suite=SUITE, size=self.size, tool="  stages: sum (in-process)")
        total.seconds = list(self.totals)
        return [*self.rows.values(), total]


def _verify_render(run: Run, output: Path, expected: _Expected) -> str:
    if run.returncode != 0:
        raise Mismatch(f"exit code {run.returncode}: {_tail(run)}")
    match = _RENDERED.search(run.stderr)
    if match is None:
        raise Mismatch(f"no `rendered N files` line on stderr: {run.stderr[-300:]!r}")
    said = int(match.group(1))
    on_disk = _count_files(output) if output.is_dir() else 0
    if on_disk == 0 or on_disk != said:
        raise Mismatch(f"said it rendered {said:,} files, {on_disk:,} are on disk")
    if expected.files is not None and said != expected.files:
        raise Mismatch(f"{said:,} files, the in-process render made {expected.files:,}")
    expected.files = said
    return f"{said:,} files written"


def _verify_check(run: Run) -> str:
    if run.returncode != 0:
        raise Mismatch(f"render --check with nothing changed: exit {run.returncode}: {_tail(run)}")
    return "no drift (exit 0)"


def _verify_stages(run: Run, expected: _Expected) -> dict[str, Any]:
    if run.returncode != 0:
        raise Mismatch(f"exit code {run.returncode}: {_tail(run)}")
    try:
        data: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise Mismatch(f"output is not JSON ({exc}): {run.stdout[:200]!r}") from exc
    if data["errors"] or data["schema_errors"]:
        raise Mismatch(f"findings on a clean repository: {data['errors']}")
    if data["drift"]:
        raise Mismatch(f"{data['drift']} files differ from the CLI's render")
    if expected.files is not None and data["files"] != expected.files:
        raise Mismatch(f"{data['files']:,} files, the CLI rendered {expected.files:,}")
    expected.files = data["files"]
    expected.manifests = data["manifests"]
    expected.schema_checked = data["schema_checked"]
    return data


def _verify_kubeconform(run: Run, expected: _Expected) -> str:
    try:
        summary = json.loads(run.stdout)["summary"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise Mismatch(f"exit {run.returncode}, output is not a report: {_tail(run)}") from exc
    valid, invalid = int(summary["valid"]), int(summary["invalid"])
    errors, skipped = int(summary["errors"]), int(summary["skipped"])
    if run.returncode != 0 or invalid or errors:
        raise Mismatch(
            f"exit {run.returncode}: {invalid} invalid, {errors} errors: {run.stdout[:400]!r}"
        )
    if expected.schema_checked is None or expected.manifests is None:
        raise Mismatch("no tenancy counts to compare with (the stage process failed)")
    crds = expected.manifests - expected.schema_checked
    if valid != expected.schema_checked or skipped != crds:
        raise Mismatch(
            f"{valid:,} valid and {skipped:,} skipped; tenancy validated "
            f"{expected.schema_checked:,} objects and skipped {crds:,} custom resources"
        )
    return f"{valid:,} valid, 0 invalid, {skipped:,} CRDs skipped"


def _measure(
    rows: dict[str, Row],
    options: Options,
    label: str,
    timed: bool,
    key: str,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
) -> Run:
    """One run of one tool; recorded in its row when timed. Raises Mismatch on a timeout."""
    print(f"  {label}: {key}", file=sys.stderr, flush=True)
    run = run_measured(argv, cwd=cwd, env=env, timeout=options.timeout)
    if run.timed_out:
        raise Mismatch(f"{key} timed out after {options.timeout:.0f} s")
    if timed:
        rows[key].seconds.append(run.seconds)
        rows[key].peak_rss_kib.append(run.peak_rss_kib)
    return run


def create_cost(folder: Path, files: int = PROBE_FILES, folders: int = PROBE_FOLDERS) -> float:
    """Seconds to create `files` empty files in `folders` new folders here (the shape of the
    1,000-user tree, without content): the floor under the `write` stage, which on some virtual
    disks dominates the render. The cost per file grows with the count, so it is probed at the
    real shape rather than extrapolated from a few files."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        for index in range(folders):
            (folder / f"d{index}").mkdir()
        for index in range(files):
            path = folder / f"d{index % folders}" / f"f{index}.yaml"
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
        return time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _measure_size(size: int, options: Options, schemas: Path, result: SuiteResult) -> None:
    root = options.workdir / f"{SUITE}-{size}"
    print(f"  {size:,} users: generating ...", file=sys.stderr, flush=True)
    repo = generate(size, root, clean=True)
    (root / "policy_input.json").unlink(missing_ok=True)  # for conftest only; not an input
    output, stage_output = root / OUTPUT, root / STAGE_OUTPUT
    tenancy = [str(Path(sys.executable).parent / "tenancy"), "render", "--config", "tenancy.yaml"]
    env = {k: v for k, v in os.environ.items() if k != "TENANCY_OPA_URL"}
    stage_env = {**env, "PYTHONPATH": str(REPO_ROOT)}

    def row(tool: str) -> Row:
        return Row(suite=SUITE, size=size, tool=tool)

    rows = {
        "render": row("tenancy render (empty output dir)"),
        "check": row("tenancy render --check (nothing changed)"),
        "stages": row("python -m bench.render (whole process)"),
        "k8s": row("tenancy k8s_schema.check (in-process, cold)"),
        "kubeconform": row("kubeconform -strict (same schemas, same tree)"),
    }
    stage_rows = _Stages(size)
    expected = _Expected()
    rounds = ([False] if options.warmup else []) + [True] * options.repeat
    done = 0
    try:
        for timed in rounds:
            done += timed
            label = f"repeat {done}/{options.repeat}" if timed else "warm-up"
            _remove(output, stage_output)
            measure = partial(_measure, rows, options, f"{size:,} users: {label}", timed)

            key = "render"
            try:
                run = measure(key, tenancy, root, env)
                rows[key].findings = _verify_render(run, output, expected)
                key = "check"
                run = measure(key, [*tenancy, "--check"], root, env)
                rows[key].findings = _verify_check(run)
                key = "stages"
                argv = [
                    sys.executable,
                    "-m",
                    "bench.render",
                    str(root),
                    "--compare",
                    str(output),
                    "--write",
                    str(stage_output),
                ]
                data = _verify_stages(measure(key, argv, root, stage_env), expected)
                rows[key].findings = f"{data['manifests']:,} objects, {data['files']:,} files"
                if timed:
                    stage_rows.record(data)
                    k8s = next(s for s in data["stages"] if s["name"] == "k8s schema")
                    rows["k8s"].seconds.append(float(k8s["seconds"]))
                rows["k8s"].findings = (
                    f"{data['schema_checked']:,} objects validated, "
                    f"{data['manifests'] - data['schema_checked']:,} CRDs skipped"
                )
                _remove(stage_output)
                key = "kubeconform"
                run = measure(key, kubeconform_argv(schemas), output, env)
                rows[key].findings = _verify_kubeconform(run, expected)
            except Mismatch as exc:
                rows[key].findings = "FAILED"
                result.failures.append(f"{size:,} {rows[key].tool}: {exc}")
                break  # every later run depends on this one's output
    finally:
        _remove(output, stage_output)
    result.rows.extend(rows.values())
    result.rows.extend(stage_rows.result_rows())
    result.notes.append(
        f"{size:,} users, clean ({repo.admins} admin, {repo.power_users} power-user, "
        f"{repo.owners} namespace-owner): {expected.manifests or 0:,} objects in "
        f"{expected.files or 0:,} files, {expected.schema_checked or 0:,} of them with a "
        "Kubernetes schema"
    )
    render, k8s, kubeconform = rows["render"], rows["k8s"], rows["kubeconform"]
    if k8s.median and kubeconform.median:
        result.notes.append(
            f"{size:,}: kubeconform / tenancy k8s_schema.check = "
            f"{kubeconform.median / k8s.median:.1f}x (kubeconform includes its process start)"
        )
    if render.median and stage_rows.rows:
        top = sorted(stage_rows.rows.values(), key=lambda r: r.median or 0.0, reverse=True)[:3]
        result.notes.append(
            f"{size:,}: largest stages: "
            + ", ".join(
                f"{r.tool.strip().removeprefix('stage: ')} {r.median or 0:.2f} s "
                f"({(r.median or 0) / render.median:.0%} of tenancy render)"
                for r in top
            )
        )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(result: SuiteResult) -> list[str]:
    """PASS/MISS lines for the targets, with the numbers they are judged on."""
    by_key = {(row.size, row.tool): row for row in result.rows}
    lines: list[str] = []
    for size, limit in TARGET_SECONDS.items():
        row = by_key.get((size, "tenancy render (empty output dir)"))
        if row is None or row.median is None:
            lines.append(f"n/a   tenancy render <= {limit} s at {size:,} users: not run")
            continue
        lines.append(
            f"{_verdict(row.median <= limit)}  tenancy render <= {limit} s at {size:,} users: "
            f"median {row.median:.3f} s (min {row.minimum or 0:.3f} s)"
        )
        peak = row.peak_mib or 0.0
        lines.append(
            f"{_verdict(peak <= TARGET_RSS_MIB)}  tenancy render peak RSS <= "
            f"{TARGET_RSS_MIB:,.0f} MiB at {size:,} users: {peak:,.1f} MiB"
        )
    for size, limit in TARGET_CHECK_SECONDS.items():
        row = by_key.get((size, "tenancy render --check (nothing changed)"))
        if row is None or row.median is None:
            lines.append(f"n/a   tenancy render --check <= {limit} s at {size:,} users: not run")
            continue
        lines.append(
            f"{_verdict(row.median <= limit)}  tenancy render --check <= {limit} s at "
            f"{size:,} users: median {row.median:.3f} s (min {row.minimum or 0:.3f} s)"
        )
    return lines


def run(options: Options) -> SuiteResult:
    """Every size; never raises for a slow or wrong run (it reports)."""
    result = SuiteResult()
    if not KUBECONFORM.exists():
        result.failures.append(f"{KUBECONFORM} is missing: run scripts/build-tools.sh")
        return result
    try:
        schemas = kubeconform_schemas(options.workdir / "kubeconform-schemas")
    except (OSError, RuntimeError, ValueError) as exc:
        result.failures.append(f"kubeconform schemas: {exc}")
        return result
    probe = create_cost(options.workdir / "create-probe")
    for size in options.sizes:
        _measure_size(size, options, schemas, result)
    write = next(
        (
            row
            for row in result.rows
            if row.size == 1_000 and row.tool == "  stage: write" and row.median is not None
        ),
        None,
    )
    result.notes.append(
        f"this filesystem creates {PROBE_FILES:,} empty files in {PROBE_FOLDERS:,} new folders "
        f"(the 1,000-user tree's shape, no content) in {probe:.2f} s, probed once before the "
        "sizes: the floor under the `write` stage"
        + (f" (median {write.median:.2f} s at 1,000 users)" if write and write.median else "")
    )
    result.notes.append(
        "kubeconform command (in the output directory; SCHEMAS is the rewritten copy): "
        + " ".join(
            f"'{arg}'" if any(c in arg for c in " {}|()$^\\") else arg
            for arg in kubeconform_argv(Path("SCHEMAS"))
        ).replace(str(KUBECONFORM), "kubeconform")
    )
    result.notes.append(
        f"peak RSS is per process ({rss_method()}); for `stage:` rows it is the stage process's "
        "high-water mark after that stage. The stage process re-runs tenancy.app.run_render's "
        "steps in a fresh process; `compare` is what --check adds, `write` what a real render "
        "adds (into a scratch directory)"
    )
    result.verdicts.extend(targets(result))
    return result


if __name__ == "__main__":
    main()
