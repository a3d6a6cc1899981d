"""The cluster suite: a rendered N-person tree on a real kube-apiserver (tests/kube.py), beside
kubectl doing the same work as a sync does.

Per size, one generated repository (bench/generate.py, clean: every input validates) rendered
once. Per repeat a fresh etcd + kube-apiserver, prepared as the platform is (the upstream CRDs,
the platform namespaces), then, as the user runs them (process start included):

1. the tree applied server-side by tenancy's own apply (what the tests do: phase by phase,
   eight requests in flight), in a process of its own (`python -m bench.cluster apply`);
2. `tenancy cluster check`: the dry run of every object of the committed tree, now that its
   namespaces exist; it must report nothing;
3. `kubectl apply --server-side --dry-run=server -k` of the three synced folders: the peer of 2
   (kustomize build, then one request at a time);
4. on a second fresh cluster, `kubectl apply --server-side -k` of the same folders, as Argo CD
   or Flux apply them: the peer of 1.

Each must exit 0; a rejection is a failure of the suite, not a number.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests import kube

from bench.generate import generate
from bench.measure import Options, Row, SuiteResult, rounds, run_measured

SUITE = "cluster"
#: The folders a sync applies, in its order (the ApplicationSet's waves, Flux's dependsOn).
SYNCED = ("kubernetes/cluster", "vault/operator", "kubernetes/tenants")


class Mismatch(Exception):
    """A run whose output is not what it must be."""


def _kubectl(kubeconfig: Path, manifests: Path, *, dry_run: bool) -> list[str]:
    kubectl = str(Path(sys.executable).parent / "kubectl")
    steps = []
    for folder in SYNCED:
        argv = [kubectl, "--kubeconfig", str(kubeconfig), "apply", "--server-side"]
        argv += ["--force-conflicts", "--field-manager=bench", "-k", str(manifests / folder)]
        if dry_run:
            argv.append("--dry-run=server")
        steps.append(" ".join(argv) + " >/dev/null")
    return ["sh", "-ec", " && ".join(steps)]


def _step(
    row: Row, argv: list[str], root: Path, options: Options, timed: bool, objects: int
) -> None:
    """One measured run that must exit 0 (and, for `cluster check`, report nothing)."""
    run = run_measured(argv, cwd=root, timeout=options.timeout)
    if run.returncode != 0 or run.timed_out:
        raise Mismatch(f"{row.tool}: exit {run.returncode}: {run.stderr[-400:]}")
    summary = run.stdout.strip().splitlines()[-1:] or [""]
    if argv[1:3] == ["cluster", "check"] and not summary[0].startswith("0 errors"):
        raise Mismatch(f"check reported: {run.stdout[-400:]}")
    row.findings = f"{objects:,} objects accepted"
    if timed:
        row.seconds.append(run.seconds)
        row.peak_rss_kib.append(run.peak_rss_kib)
        row.peak_tree_kib.append(run.peak_tree_kib)


def _measure_size(size: int, options: Options, result: SuiteResult) -> None:
    root = options.workdir / f"{SUITE}-{size}"
    print(f"  {size:,} users: generating and rendering ...", file=sys.stderr, flush=True)
    generate(size, root, clean=True)
    tenancy = str(Path(sys.executable).parent / "tenancy")
    rendered = run_measured([tenancy, "render"], cwd=root, timeout=options.timeout)
    if rendered.returncode != 0:
        result.failures.append(f"{size:,} render: exit {rendered.returncode}")
        return
    manifests = root / "manifests"
    objects = len(kube.tree_objects(manifests))
    rows = {
        "apply": Row(suite=SUITE, size=size, tool="tenancy apply (server-side, 8 in flight)"),
        "sync": Row(suite=SUITE, size=size, tool="kubectl apply --server-side -k (3 folders)"),
        "check": Row(suite=SUITE, size=size, tool="tenancy cluster check (dry run)"),
        "peer": Row(suite=SUITE, size=size, tool="kubectl apply --server-side --dry-run=server -k"),
    }
    starts: list[float] = []
    for _, timed, label in rounds(options):
        print(f"  {size:,} users: {label}", file=sys.stderr, flush=True)
        try:
            with kube.kube_cluster() as cluster:
                began = time.monotonic()
                kube.prepare(cluster)
                starts.append(time.monotonic() - began)
                config = cluster.kubeconfig
                apply = [sys.executable, "-m", "bench.cluster", "apply", str(config)]
                steps = (
                    ("apply", [*apply, str(manifests)]),
                    ("check", [tenancy, "cluster", "check", "--kubeconfig", str(config)]),
                    ("peer", _kubectl(config, manifests, dry_run=True)),
                )
                for key, argv in steps:
                    _step(rows[key], argv, root, options, timed, objects)
            with kube.kube_cluster() as cluster:
                kube.prepare(cluster)
                sync = _kubectl(cluster.kubeconfig, manifests, dry_run=False)
                _step(rows["sync"], sync, root, options, timed, objects)
        except (Mismatch, RuntimeError, OSError, ValueError) as exc:
            result.failures.append(f"{size:,} cluster: {exc}")
            for row in rows.values():
                row.findings = row.findings or "FAILED"
            break
    result.rows.extend(rows.values())
    if starts:
        result.notes.append(
            f"{size:,} users: {objects:,} objects; a fresh kube-apiserver + etcd per repeat, "
            f"CRDs and platform namespaces installed in {min(starts):.1f}-{max(starts):.1f} s "
            "(not timed in the rows)"
        )


def run(options: Options) -> SuiteResult:
    """Every size; never raises for a slow or wrong run (it reports)."""
    result = SuiteResult()
    for size in options.sizes:
        _measure_size(size, options, result)
    result.verdicts.append(
        "the API server accepts every rendered object, applied and dry-run: "
        + ("PASS" if not result.failures else "see FAILURES")
    )
    return result


def _apply(kubeconfig: str, manifests: str) -> int:
    """`python -m bench.cluster apply KUBECONFIG MANIFESTS`: tenancy's server-side apply of a
    tree, as the tests apply one; exit 1 with the refusals if the server refuses any object."""
    from tenancy.cluster.client import Kube
    from tenancy.cluster.command import apply_tree

    client = Kube.connect(Path(kubeconfig), None)
    try:
        problems = apply_tree(client, kube.tree_objects(Path(manifests)), dry_run=False)
    finally:
        client.close()
    for problem in problems:
        print(f"{problem.location}: {problem.message}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["apply"] or len(sys.argv) != 4:
        sys.exit("usage: python -m bench.cluster apply KUBECONFIG MANIFESTS")
    sys.exit(_apply(sys.argv[2], sys.argv[3]))
