"""The render suite: `tenancy render` at N users, cold and warm, and kubeconform on the output.

Why: `render` is what a platform runs on every merge, and it does much more than `validate`
(render every manifest, audit them with Rego, validate them against the Kubernetes schemas,
parse the Vault policies with OpenBao, build the kustomizations with kubectl, write the tree).
Per size, one clean generated repository (bench/generate.py `clean=True`: no deliberately bad
users, so the inputs validate and there is something to render) is measured, per repeat, by:

1. `tenancy render --timings` into a new, empty output directory with a new, empty cache
   (`TENANCY_CACHE_DIR`): **cold**, as CI on a fresh machine runs it. Every check runs. It must
   exit 0 and the files on disk must be as many as it says it rendered. Its `timing:` lines
   (the stopwatch inside tenancy's own `run_render`, no separate harness) give the stage rows;
   its `k8s schema` lap is tenancy's own manifest validation (its time summed over the two
   processes that write the tree and check its objects), compared with kubeconform;
2. `tenancy render --check --no-cache`, nothing changed: cold `--check` (must exit 0);
3. `tenancy render --check` with the cache that run 1 filled: **warm**, as on a laptop or in CI
   that keeps the cache; identical inputs are recognised and the disk compared with the
   memoized digests (must exit 0);
4. `tenancy render` into a second new, empty output directory with that warm cache: the render
   runs, the checks are answered from the cache, the tree is written (must exit 0, files on
   disk as said, and byte-identical to run 1's tree: compared file by file);
5. `tenancy render` again into that directory: nothing changed, nothing written (exit 0);
6. kubeconform, strict, with the same `-local-strict` Kubernetes 1.33 schemas tenancy uses, on
   run 1's `kubernetes/`, `vault/operator/` and `sync/` trees (every rendered object; the
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

The disk: this machine's root file system is ext4 without a journal. There, the inode
allocator skips every free inode that was freed in the last 60 s, or 360 s while its
inode-table block is dirty (`recently_deleted` in the kernel's fs/ext4/ialloc.c; ext4 with a
journal does not check). Creating a file next to many such inodes costs one buffer lookup per
skipped inode: after a delete of a few hundred thousand files, each new file costs 10-30 times
what it costs settled, for up to six minutes (a 10,000-user render measured 39.6 s with 59 s
of system time, 70 s after deleting a tree of 220,000 files; `perf` put half the machine's
samples in `recently_deleted`). That is the harness's own deletions, not tenancy's cost, so:

- no tree on disk is deleted until the benchmark has printed its report (each run writes into
  a new directory, all under the scratch folder `python -m bench` removes last; at 10,000
  users the suite keeps about 2 million files, 16 million inodes are free here; an A/B run
  keeps as many per checkout);
- before each run that writes, the suite creates 20,000 empty files in 2,000 folders on the
  disk and as many in RAM, and waits (up to 420 s) until the disk costs at most
  `SETTLED_RATIO` times RAM. The probes are reported. The benchmark's own deletes at its end make
  the next six minutes slow: run the bench at least six minutes after deleting large trees.

Runs are interleaved round-robin as in the validate suite; one untimed warm-up round first.
"""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from bench.generate import generate
from bench.measure import (
    Options,
    Row,
    Run,
    SuiteResult,
    Variant,
    rounds,
    rss_method,
    run_measured,
    tree_method,
    variant_order,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
KUBECONFORM = REPO_ROOT / ".tools" / "bin" / "kubeconform"
SUITE = "render"
OUTPUT = "manifests"  # the generated tenancy.yaml's `output`
STAGE_OUTPUT = "manifests-stages"  # where the stage process writes (never the CLI's tree)
K8S_VERSION = "1.33.0"

#: Targets (median wall clock, process start included) and the peak memory ceiling, judged on
#: the larger of peak RSS and peak tree PSS (see bench/measure.py).
TARGET_SECONDS = {1_000: 1.5, 10_000: 12.0}
TARGET_CHECK_SECONDS = {1_000: 1.0}
TARGET_RSS_MIB = 1024.0
#: A disk is settled when creating files costs at most this many times what it costs in RAM
#: (measured here: 2-4x settled, 10-30x in the minutes after a large delete); the wait for it
#: ends after the kernel's longest recently-deleted window (360 s) and a margin.
SETTLED_RATIO = 6.0
SETTLE_LIMIT_SECONDS = 420.0
#: Inodes every round must leave free on the scratch disk: its trees are kept to the end (see
#: above), and an A/B run keeps as many per checkout as a plain run keeps.
INODE_RESERVE = 1_000_000
#: The settle probe: as many files and folders as a 1,000-user tree (21,881 files in 2,001
#: folders), so that it lands in as many of the disk's block groups as a render does (a probe of
#: 2,000 files passed while a render that followed it still met recently freed inodes).
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
#: A RAM file system for the run that shows tenancy's cost without the disk's.
RAM = Path("/dev/shm")
#: What a checkout copy leaves out of the generated repository: everything but the inputs.
_NOT_INPUTS = ("manifests", "checkout-*", "cache-*", "settle", "policy_input.json")
_RENDERED = re.compile(r"^rendered (\d+) files in ", re.MULTILINE)

T = TypeVar("T")


class Mismatch(Exception):
    """A run whose output is not what it must be."""


# --- the suite --------------------------------------------------------------------------------


def kubeconform_schemas(target: Path) -> Path:
    """A copy of tenancy's schema folder that kubeconform can resolve offline (see above)."""
    from tenancy.render.checks.k8s_schema import schema_root

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
    """Counts from the first cold render's tree, which every later run is checked against."""

    files: int | None = None
    manifests: int | None = None
    schema_checked: int | None = None
    tree: str | None = None  # digest of every path and its bytes: the warm render identical


_TIMING = re.compile(
    r"^timing: (.+?)\s+start\s+[\d.]+ s\s+took\s+([\d.]+) s\s+peak RSS\s+([\d.]+) MiB$"
)


def timings(stderr: str) -> list[tuple[str, float, float]]:
    """(stage, seconds, peak RSS MiB) from `tenancy render --timings`, in start order."""
    found = []
    for line in stderr.splitlines():
        match = _TIMING.match(line.strip())
        if match:
            found.append((match.group(1).strip(), float(match.group(2)), float(match.group(3))))
    return found


def _object_counts(output: Path) -> tuple[int, int]:
    """(objects, objects with a Kubernetes schema) in a rendered tree: one object per file,
    named `<kind>-<name>.yaml`; the custom resources are the CRD kinds'."""
    crd_prefixes = tuple(f"{gvk.rsplit('/', 1)[1].lower()}-" for gvk in CRD_KINDS)
    objects = crds = 0
    for tree in OBJECT_TREES:
        for _, _, names in os.walk(output / tree):
            for name in names:
                if name.endswith(".yaml") and name != "kustomization.yaml":
                    objects += 1
                    crds += name.startswith(crd_prefixes)
    return objects, objects - crds


def _tree_digest(folder: Path) -> str:
    """A digest of every file's path (relative to `folder`) and bytes, in path order: equal for
    two trees exactly when they hold the same files with the same bytes."""
    files = sorted(
        ((Path(base) / name).relative_to(folder).as_posix(), Path(base) / name)
        for base, _, names in os.walk(folder)
        for name in names
    )
    digest = hashlib.sha256()
    for relative, path in files:
        data = path.read_bytes()
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


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
        raise Mismatch(f"{said:,} files, the first render made {expected.files:,}")
    if expected.tree is None:
        expected.files = said
        expected.manifests, expected.schema_checked = _object_counts(output)
        expected.tree = _tree_digest(output)
    elif _tree_digest(output) != expected.tree:
        raise Mismatch("the tree differs from the first render's, byte for byte")
    return f"{said:,} files written"


def _verify_up_to_date(run: Run) -> str:
    if run.returncode != 0:
        raise Mismatch(f"exit code {run.returncode}: {_tail(run)}")
    if "up to date" not in run.stderr:
        raise Mismatch(f"expected `up to date` on stderr: {run.stderr[-300:]!r}")
    return "up to date (nothing written)"


def _verify_check(run: Run) -> str:
    if run.returncode != 0:
        raise Mismatch(f"render --check with nothing changed: exit {run.returncode}: {_tail(run)}")
    return "no drift (exit 0)"


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
        rows[key].peak_tree_kib.append(run.peak_tree_kib)
    return run


def create_cost(folder: Path, files: int, folders: int) -> float:
    """Seconds to create `files` empty files in `folders` new folders under `folder` (which
    must not exist, and is left in place: deleting it would make the disk stall again)."""
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for index in range(folders):
        os.mkdir(folder / f"d{index}")
    for index in range(files):
        os.close(
            os.open(folder / f"d{index % folders}" / f"f{index}", os.O_WRONLY | os.O_CREAT, 0o644)
        )
    return time.perf_counter() - start


def probe_cost(folder: Path) -> float:
    """One settle probe: seconds to create `PROBE_FILES` empty files in `PROBE_FOLDERS` new
    folders under `folder` (read when called, so a test can make the probe smaller)."""
    return create_cost(folder, PROBE_FILES, PROBE_FOLDERS)


@dataclass(slots=True)
class _Disk:
    """The settle probes: before each run that writes, `PROBE_FILES` empty files are created on
    the disk and in RAM, until the disk costs at most `SETTLED_RATIO` times RAM (see the module
    docstring). Comparing with RAM, measured at the same moment, cancels the VM's speed drift.

    The probe (a folder -> the seconds it took), the clock and the sleep are the real ones
    unless given: a test gives them to check the decision (settle, wait, give up) on chosen
    timings rather than on how fast its machine happens to be."""

    scratch: Path
    ram: Path | None
    probes: list[tuple[float, float | None]] = field(default_factory=list)
    waited: float = 0.0
    probe: Callable[[Path], float] = probe_cost
    clock: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], None] = time.sleep

    def settle(self, limit: float = SETTLE_LIMIT_SECONDS) -> None:
        os.sync()
        begin = self.clock()
        while True:
            name = f"probe-{len(self.probes)}"
            disk = self.probe(self.scratch / name)
            ram = self.probe(self.ram / name) if self.ram is not None else None
            self.probes.append((disk, ram))
            if ram is None or disk <= SETTLED_RATIO * ram:
                break
            if self.clock() - begin > limit:
                break
            self.sleep(5.0)
        self.waited += self.clock() - begin

    def summary(self) -> str:
        disk = [probe for probe, _ in self.probes]
        ratios = [d / r for d, r in self.probes if r]
        text = (
            f"disk settle probes ({PROBE_FILES:,} empty files each): {len(disk)} probes, best "
            f"{min(disk):.3f} s, worst {max(disk):.3f} s"
        )
        if ratios:
            text += f", disk/RAM {min(ratios):.1f}x to {max(ratios):.1f}x"
        return f"{text}; {self.waited:.1f} s spent waiting before the writing runs"


def _room(folder: Path, inodes: int) -> None:
    """Raise Mismatch unless the disk of `folder` has room for `inodes` more files and folders
    and `INODE_RESERVE` besides (a full disk would fail the runs, and other work on it)."""
    free = os.statvfs(folder).f_favail
    if free < inodes + INODE_RESERVE:
        raise Mismatch(
            f"{free:,} inodes free on the scratch disk; a round needs about {inodes:,} and "
            f"leaves {INODE_RESERVE:,}: measure fewer sizes, checkouts or repeats per run"
        )


def _ram() -> Path | None:
    """A folder of this run in the RAM file system, or None where there is none."""
    if not (RAM.is_dir() and os.access(RAM, os.W_OK)):
        return None
    return RAM / f"tenancy-bench-{os.getpid()}"


def _remove(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


#: Row keys, in table order, and their labels.
ROWS = {
    "cold": "tenancy render (empty output dir, cold cache)",
    "check-cold": "tenancy render --check --no-cache (nothing changed)",
    "check": "tenancy render --check (nothing changed, warm cache)",
    "warm": "tenancy render (empty output dir, warm cache)",
    "noop": "tenancy render (nothing changed, warm cache)",
    "cold-ram": "tenancy render (cold cache, checkout and output in RAM: /dev/shm)",
    "warm-ram": "tenancy render (warm cache, checkout and output in RAM: /dev/shm)",
    "k8s": "tenancy k8s schema stage (--timings lap, cold)",
    "kubeconform": "kubeconform -strict (same schemas, same tree)",
}


#: What an A/B run (`--against`) measures unless `--rows` says otherwise: tenancy's own commands
#: (kubeconform and the runs in RAM tell no checkout from another).
AB_ROWS = ("cold", "check-cold", "check", "warm", "noop")
#: An A/B verdict passes when this checkout's median is at most this many times the other's.
AB_LIMIT = 1.10
THIS = "this"


@dataclass(slots=True)
class _Side:
    """One checkout's part of a size's rounds: how tenancy is started, its rows, its tree."""

    variant: Variant
    argv: list[str]  # the launcher, before `render ...`
    env: dict[str, str]
    rows: dict[str, Row]
    stage_rows: dict[str, Row] = field(default_factory=dict)
    expected: _Expected = field(default_factory=_Expected)
    failed: bool = False


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("TENANCY_OPA_URL", "TENANCY_NO_CACHE")}


def variant_env(variant: Variant) -> dict[str, str]:
    """The environment a checkout's tenancy runs in: its own src/ first on the path (before the
    venv's editable install of this checkout, which comes later on sys.path), its variables."""
    return {**_base_env(), **dict(variant.env), "PYTHONPATH": str(variant.root / "src")}


def selected_rows(options: Options) -> tuple[str, ...]:
    """The row keys a run measures, in table order (`cold` always: every other run needs it)."""
    chosen = set(options.rows or (AB_ROWS if options.against else ROWS))
    return tuple(key for key in ROWS if key in chosen or key == "cold")


def _sides(size: int, options: Options) -> list[_Side]:
    """This checkout alone (its `tenancy` script), or, with `--against`, this checkout and each
    other one, all started alike (`python -m tenancy` with PYTHONPATH=<checkout>/src), so the
    process start costs the same on each side."""

    def rows(suffix: str) -> dict[str, Row]:
        return {
            key: Row(suite=SUITE, size=size, tool=f"{label}{suffix}") for key, label in ROWS.items()
        }

    if not options.against:
        script = [str(Path(sys.executable).parent / "tenancy")]
        return [_Side(Variant(THIS, REPO_ROOT), script, _base_env(), rows(""))]
    launcher = [sys.executable, "-m", "tenancy"]
    return [
        _Side(v, launcher, variant_env(v), rows("" if v.name == THIS else f" [{v.name}]"))
        for v in (Variant(THIS, REPO_ROOT), *options.against)
    ]


def _median_tree(row: Row) -> float | None:
    return statistics.median(row.peak_tree_kib) / 1024 if any(row.peak_tree_kib) else None


def _ratio(new: float | None, old: float | None) -> float | None:
    return new / old if new and old else None


def compare(this: Row, other: Row, name: str, *, memory: bool) -> tuple[str, list[str]]:
    """(the ratios to show on the other checkout's row, the verdict lines): this checkout's
    median and min over the other's, and the median peak tree PSS when `memory`."""
    shown: list[str] = []
    verdicts: list[str] = []
    seconds, fastest = _ratio(this.median, other.median), _ratio(this.minimum, other.minimum)
    if seconds is not None and fastest is not None:
        shown.append(f"{THIS}/{name} {seconds:.2f}x (min {fastest:.2f}x)")
        verdicts.append(
            f"{_verdict(seconds <= AB_LIMIT)}  {this.tool} at {this.size:,} users: {THIS}/{name} "
            f"median {this.median or 0:.3f} / {other.median or 0:.3f} s = {seconds:.2f}x (min "
            f"{this.minimum or 0:.3f} / {other.minimum or 0:.3f} s = {fastest:.2f}x), "
            f"limit {AB_LIMIT:.2f}x"
        )
    this_tree, other_tree = _median_tree(this), _median_tree(other)
    tree = _ratio(this_tree, other_tree)
    if memory and tree is not None:
        shown.append(f"tree PSS {tree:.2f}x")
        verdicts.append(
            f"{_verdict(tree <= AB_LIMIT)}  peak tree PSS of {this.tool} at {this.size:,} users: "
            f"{THIS}/{name} median {this_tree or 0:,.1f} / {other_tree or 0:,.1f} MiB = "
            f"{tree:.2f}x, limit {AB_LIMIT:.2f}x"
        )
    return ", ".join(shown), verdicts


def _measure_size(size: int, options: Options, schemas: Path | None, result: SuiteResult) -> None:
    """One size's rounds: in each, every side (checkout) in turn, in an order that rotates from
    round to round. Its trees on disk stay (removed with the scratch folder after the report:
    see the module docstring); its trees in RAM are removed here."""
    root = options.workdir / f"{SUITE}-{size}"
    print(f"  {size:,} users: generating ...", file=sys.stderr, flush=True)
    repo = generate(size, root, clean=True, policy_input=False)  # that is for conftest only
    selected = selected_rows(options)
    sides = _sides(size, options)
    ram_root = _ram() if {"cold-ram", "warm-ram"} & set(selected) else None
    disk = _Disk(root / "settle", None if ram_root is None else ram_root / f"{root.name}-settle")
    written: list[Path] = []  # in RAM

    def one(index: int, side: _Side, number: int, timed: bool, label: str) -> None:
        rows, stage_rows, expected = side.rows, side.stage_rows, side.expected
        tenancy = [*side.argv, "render", "--config", "tenancy.yaml"]
        name = "" if len(sides) == 1 else f", {side.variant.name}"
        cache = root / f"cache-{number}-{index}"
        env = {**side.env, "TENANCY_CACHE_DIR": str(cache)}
        # Two checkouts of the repository: the output path is written into the sync
        # objects, so the second tree can equal the first only at the same relative path.
        checkouts = [root / f"checkout-{number}-{index}{ab}" for ab in "ab"]
        first, second = (checkout / OUTPUT for checkout in checkouts)
        measure = partial(_measure, rows, options, f"{size:,} users: {label}{name}", timed)
        key = "cold"
        try:
            files = max(other.expected.files or 0 for other in sides)
            _room(root, 2 * (files + PROBE_FILES + PROBE_FOLDERS))
            for checkout in checkouts:
                shutil.copytree(repo.root, checkout, ignore=shutil.ignore_patterns(*_NOT_INPUTS))
            disk.settle()
            run = measure(key, [*tenancy, "--timings"], checkouts[0], env)
            rows[key].findings = _verify_render(run, first, expected)
            laps = timings(run.stderr)
            if not laps:
                raise Mismatch("no `timing:` lines on stderr")
            if timed and "k8s" in selected:
                for stage, seconds, rss in laps:
                    row = stage_rows.setdefault(
                        stage, Row(suite=SUITE, size=size, tool=f"  stage: {stage}")
                    )
                    row.seconds.append(seconds)
                    row.peak_rss_kib.append(int(rss * 1024))
                k8s_laps = [seconds for stage, seconds, _ in laps if stage == "k8s schema"]
                rows["k8s"].seconds += k8s_laps
            rows["k8s"].findings = (
                f"{expected.schema_checked or 0:,} objects validated, "
                f"{(expected.manifests or 0) - (expected.schema_checked or 0):,} CRDs skipped"
            )
            if "check-cold" in selected:
                key = "check-cold"
                run = measure(key, [*tenancy, "--check", "--no-cache"], checkouts[0], env)
                rows[key].findings = _verify_check(run)
            if "check" in selected:
                key = "check"
                run = measure(key, [*tenancy, "--check"], checkouts[0], env)
                rows[key].findings = _verify_check(run)
            if "warm" in selected or "noop" in selected:
                key = "warm"
                disk.settle()
                run = measure(key, tenancy, checkouts[1], env)
                rows[key].findings = _verify_render(run, second, expected)
            if "noop" in selected:
                key = "noop"
                run = measure(key, tenancy, checkouts[1], env)
                rows[key].findings = _verify_up_to_date(run)
            if "kubeconform" in selected and schemas is not None:
                key = "kubeconform"
                run = measure(key, kubeconform_argv(schemas), first, env)
                rows[key].findings = _verify_kubeconform(run, expected)
            if ram_root is not None:
                # The same cold render with no disk under it: what is tenancy's own cost.
                key = "cold-ram"
                ram = ram_root / f"{size}-{number}-{index}"
                written.append(ram)
                shutil.copytree(repo.root, ram, ignore=shutil.ignore_patterns(*_NOT_INPUTS))
                ram_env = {**side.env, "TENANCY_CACHE_DIR": f"{ram}-cache"}
                written.append(Path(f"{ram}-cache"))
                run = measure(key, tenancy, ram, ram_env)
                rows[key].findings = _verify_render(run, ram / OUTPUT, expected)
                key = "warm-ram"
                again = ram_root / f"{size}-{number}-{index}-b"
                written.append(again)
                shutil.copytree(repo.root, again, ignore=shutil.ignore_patterns(*_NOT_INPUTS))
                run = measure(key, tenancy, again, ram_env)
                rows[key].findings = _verify_render(run, again / OUTPUT, expected)
        except Mismatch as exc:
            rows[key].findings = "FAILED"
            result.failures.append(f"{size:,} {rows[key].tool}: {exc}")
            side.failed = True  # every later run of this side depends on this one's output

    try:
        for number, timed, label in rounds(options):
            for index, side in variant_order(list(enumerate(sides)), number):
                if not side.failed:
                    one(index, side, number, timed, label)
    finally:
        _remove(*written)
        if disk.ram is not None:
            _remove(disk.ram)
    this = sides[0]
    for key in selected:
        result.rows.extend(side.rows[key] for side in sides)
    result.rows.extend(this.stage_rows.values())
    for side in sides[1:]:
        name = side.variant.name
        if this.failed or side.failed:
            result.notes.append(f"{size:,}: {THIS} and {name} not compared (a run failed)")
            continue
        for key in selected:
            shown, verdicts = compare(this.rows[key], side.rows[key], name, memory=key == "cold")
            if shown:
                side.rows[key].findings = f"{shown}; {side.rows[key].findings}"
            result.verdicts.extend(verdicts)
        same = side.expected.tree is not None and side.expected.tree == this.expected.tree
        result.notes.append(
            f"{size:,}: the tree {name} rendered is "
            + ("byte-identical to" if same else "NOT the same as")
            + f" the tree {THIS} rendered"
        )
    expected, rows = this.expected, this.rows
    result.notes.append(
        f"{size:,} users, clean ({repo.admins} admin, {repo.power_users} power-user, "
        f"{repo.owners} namespace-owner): {expected.manifests or 0:,} objects in "
        f"{expected.files or 0:,} files, {expected.schema_checked or 0:,} of them with a "
        "Kubernetes schema"
    )
    if disk.probes:
        result.notes.append(f"{size:,}: {disk.summary()}")
    k8s, kubeconform = rows["k8s"], rows["kubeconform"]
    if k8s.median and kubeconform.median:
        result.notes.append(
            f"{size:,}: kubeconform / tenancy k8s schema stage = "
            f"{kubeconform.median / k8s.median:.1f}x (kubeconform includes its process start)"
        )
    cold = rows["cold"]
    if cold.median and this.stage_rows:
        top = sorted(this.stage_rows.values(), key=lambda r: r.median or 0.0, reverse=True)[:4]
        result.notes.append(
            f"{size:,}: largest stages of the cold render: "
            + ", ".join(
                f"{r.tool.strip().removeprefix('stage: ')} {r.median or 0:.2f} s" for r in top
            )
            + f" (whole process {cold.median:.2f} s; the audit and the tools run in a forked "
            "child during `write`, which is itself two processes, so laps overlap; the `k8s "
            "schema` lap is the schema check's time summed over both writers)"
        )


def prepare(variant: Variant) -> str | None:
    """Compile a checkout's modules (as `make install` leaves this one: see bench/__main__.py)
    and check that its environment imports its own tenancy, not the venv's: a problem, or None."""
    package = variant.root / "src" / "tenancy"
    if not (package / "__main__.py").is_file():
        return f"{variant.name}: no {package}/__main__.py (not a checkout of tenancy?)"
    compileall.compile_dir(package, quiet=1)
    found = subprocess.run(
        [sys.executable, "-c", "import tenancy; print(tenancy.__file__)"],
        cwd=variant.root,
        env=variant_env(variant),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    imported = found.stdout.strip()
    if found.returncode != 0 or Path(imported).resolve() != (package / "__init__.py").resolve():
        where = imported or found.stderr[-300:]
        return f"{variant.name}: imports tenancy from {where!r}, not {package}"
    return None


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(result: SuiteResult) -> list[str]:
    """PASS/MISS lines for the targets, with the numbers they are judged on: cold (CI on a
    fresh machine) and warm (the cache kept) are both judged, never one for the other."""
    by_key = {(row.size, row.tool): row for row in result.rows}
    lines: list[str] = []

    def judge(size: int, key: str, limit: float, what: str) -> None:
        row = by_key.get((size, ROWS[key]))
        if row is None or row.median is None:
            lines.append(f"n/a   {what} <= {limit} s at {size:,} users: not run")
            return
        lines.append(
            f"{_verdict(row.median <= limit)}  {what} <= {limit} s at {size:,} users: "
            f"median {row.median:.3f} s (min {row.minimum or 0:.3f} s)"
        )

    for size, limit in TARGET_SECONDS.items():
        judge(size, "cold", limit, "tenancy render, cold cache,")
        judge(size, "warm", limit, "tenancy render, warm cache,")
        judged = [
            by_key[(size, ROWS[k])]
            for k in ("cold", "warm", "check-cold")
            if (size, ROWS[k]) in by_key
        ]
        rss = max((row.peak_mib or 0.0 for row in judged), default=0.0)
        tree = max((row.peak_tree_mib or 0.0 for row in judged), default=0.0)
        if rss or tree:
            peak = max(rss, tree)
            lines.append(
                f"{_verdict(peak <= TARGET_RSS_MIB)}  tenancy render peak memory <= "
                f"{TARGET_RSS_MIB:,.0f} MiB at {size:,} users: {peak:,.1f} MiB (the larger of "
                f"peak RSS {rss:,.1f} MiB and peak tree PSS "
                + (f"{tree:,.1f} MiB" if tree else "not measured")
                + "; the largest of the cold, warm and --check runs)"
            )
    for size, limit in TARGET_CHECK_SECONDS.items():
        judge(size, "check-cold", limit, "tenancy render --check, no cache,")
        judge(size, "check", limit, "tenancy render --check, warm cache,")
    return lines


def run(options: Options) -> SuiteResult:
    """Every size; never raises for a slow or wrong run (it reports)."""
    result = SuiteResult()
    schemas = None
    if "kubeconform" in selected_rows(options):
        if not KUBECONFORM.exists():
            result.failures.append(f"{KUBECONFORM} is missing: run scripts/build-tools.sh")
            return result
        try:
            schemas = kubeconform_schemas(options.workdir / "kubeconform-schemas")
        except (OSError, RuntimeError, ValueError) as exc:
            result.failures.append(f"kubeconform schemas: {exc}")
            return result
    if options.against:
        variants = (Variant(THIS, REPO_ROOT), *options.against)
        result.failures += [problem for v in variants if (problem := prepare(v)) is not None]
        if result.failures:
            return result
        result.notes.append(
            "A/B: "
            + "; ".join(
                f"{v.name} = {v.root}" + "".join(f" {var}={value}" for var, value in v.env)
                for v in variants
            )
            + ", each run as `python -m tenancy` with PYTHONPATH=<checkout>/src and compiled"
            " bytecode, on the same generated inputs; each round runs every checkout in turn,"
            " the order rotated by one each round; a ratio is this checkout's median (min) over"
            " the other's, tree PSS the median over the repeats of each run's peak"
        )
    try:
        for size in options.sizes:
            _measure_size(size, options, schemas, result)
    finally:
        ram = _ram()
        if ram is not None:
            _remove(ram)
    if schemas is not None:
        result.notes.append(
            "kubeconform command (in the output directory; SCHEMAS is the rewritten copy): "
            + " ".join(
                f"'{arg}'" if any(c in arg for c in " {}|()$^\\") else arg
                for arg in kubeconform_argv(Path("SCHEMAS"))
            ).replace(str(KUBECONFORM), "kubeconform")
        )
    result.notes.append(
        f"peak RSS ({rss_method()}) is Linux's wait4 figure: the largest of the process and the"
        " children it waited for (the forked audit child, bao, kubectl), not their sum; the"
        " forked child shares the parent's pages until either writes them. `stage:` rows are"
        " tenancy's own `--timings` laps of the cold render (the process's high-water mark when"
        " the lap ended)"
    )
    result.notes.append(
        "peak tree PSS is the sum over the run's whole process tree, the forked audit child, bao"
        f" and kubectl included, pages shared copy-on-write counted once: {tree_method()}"
    )
    result.verdicts.extend(targets(result))
    return result
