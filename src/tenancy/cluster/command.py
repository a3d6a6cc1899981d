"""What the `tenancy cluster` commands do: read the rendered tree or render it, ask the live API
server, report. Shell.

`check`: the committed rendered tree, dry-run applied server-side (strict field validation) in
the order a sync applies it; every refusal at the rendered file and line. `access`: bindings in
the live cluster that give a person tenancy knows access it did not render. `apply_tree` is
the same apply without the dry run; the tests apply rendered trees to their cluster with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tenancy.cluster import objects as cluster
from tenancy.cluster.client import Kube, in_parallel
from tenancy.cluster.objects import Binding, TreeObject
from tenancy.diff.command import current_render
from tenancy.errors import (
    BackendError,
    Diagnostic,
    ExitCode,
    Location,
    Report,
    UsageError,
    sort_diagnostics,
)
from tenancy.inputs import files
from tenancy.inputs.load import parse_yaml
from tenancy.report import emit, finish
from tenancy.validate.config import InputParams, load_config

#: How long a CRD may take to be established before its resources are applied.
ESTABLISH_SECONDS = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterParams:
    inputs: InputParams
    kubeconfig: Path | None
    context: str | None
    format: str


def read_tree(root: Path, shown: str) -> tuple[list[TreeObject], list[Diagnostic], list[str]]:
    """The Kubernetes objects of a rendered tree on disk (the Vault review files and the
    kustomizations are not objects a sync applies), problems reading it, and the files read."""
    objects: list[TreeObject] = []
    problems: list[Diagnostic] = []
    names: list[str] = []
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
    for path in paths:
        if not path.is_file() or path.name == "INDEX.json":
            continue
        name = f"{shown}/{path.relative_to(root).as_posix()}"
        names.append(name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(_read_error(name, str(error)))
            continue
        document, found = parse_yaml(name, text)
        problems += [d for d in found if d.severity == "error"]
        if document is not None and cluster.is_object(document.data):
            objects.append(TreeObject(document))
    return objects, problems, names


def apply_tree(kube: Kube, objects: Iterable[TreeObject], *, dry_run: bool) -> list[Diagnostic]:
    """Apply the objects server-side, phase by phase as a sync does; what the server refuses
    comes back as diagnostics. A dry run writes nothing; the objects in a namespace the tree
    creates but the cluster does not have yet cannot be dry-run (an info says so)."""
    items = list(objects)
    namespaces = {o.name: o for o in items if o.kind == "Namespace"}
    problems: list[Diagnostic] = []
    for phase in cluster.phases(items):
        todo = phase
        if dry_run and phase[0].kind not in ("CustomResourceDefinition", "Namespace"):
            live = {str(n["metadata"]["name"]) for n in kube.list_items("/api/v1/namespaces")}
            waiting: dict[str, int] = {}
            todo = []
            for item in phase:
                if item.namespace in namespaces and item.namespace not in live:
                    waiting[item.namespace] = waiting.get(item.namespace, 0) + 1
                else:
                    todo.append(item)
            problems += [cluster.new_namespace(namespaces[n], waiting[n]) for n in sorted(waiting)]
        answers = in_parallel(partial(_apply_one, kube, dry_run=dry_run), todo)
        problems += [d for d in answers if d is not None]
        if not dry_run and phase[0].kind == "CustomResourceDefinition":
            _wait_established(kube, [c for c, d in zip(todo, answers, strict=True) if d is None])
    return problems


def _apply_one(kube: Kube, item: TreeObject, *, dry_run: bool) -> Diagnostic | None:
    known = kube.resources(item.api_version)
    if known is None or item.kind not in known:
        return cluster.missing_kind(item, code="cluster-unknown-kind")
    answer = kube.apply(item.body, known[item.kind], dry_run=dry_run)
    if answer.ok:
        return None
    return cluster.rejection(item, answer.status, answer.body, code="cluster-rejected")


def _wait_established(kube: Kube, crds: list[TreeObject]) -> None:
    """Wait until every CRD serves its resources, then forget what discovery said of them."""
    deadline = time.monotonic() + ESTABLISH_SECONDS
    for crd in crds:
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd.name}"
        while True:
            answer = kube.request("GET", path)
            status = answer.body.get("status")
            conditions = (status.get("conditions") if isinstance(status, dict) else None) or []
            established = [c for c in conditions if c.get("type") == "Established"]
            if established and established[0].get("status") == "True":
                break
            if time.monotonic() > deadline:
                raise BackendError(f"CRD {crd.name} was not established in {ESTABLISH_SECONDS} s")
            time.sleep(0.2)
        group = crd.body["spec"]["group"]
        for version in crd.body["spec"]["versions"]:
            kube.forget(f"{group}/{version['name']}")


def run_check(params: ClusterParams) -> ExitCode:
    config, problems = load_config(params.inputs)
    if config is None:
        if problems:
            emit(Report(diagnostics=tuple(sort_diagnostics(problems))), params.format)
            return ExitCode.FINDINGS
        raise UsageError(f"no {files.CONFIG_NAME} found: pass --config")
    root = Path(config.output)
    shown = files.display(root)
    if not root.is_dir():
        raise UsageError(f"{shown} does not exist: run `tenancy render` first")
    objects, problems, names = read_tree(root, shown)
    kube = Kube.connect(params.kubeconfig, params.context)
    try:
        problems += apply_tree(kube, objects, dry_run=True)
    finally:
        kube.close()
    report = Report(diagnostics=tuple(sort_diagnostics(problems)), files=tuple(names))
    return finish(report, params.format, False)


def run_access(params: ClusterParams) -> ExitCode:
    config, inventory, rendered = current_render(params.inputs)
    identities = {config.username(u): u.key for u in inventory.users}
    mine = [Binding.of(m.body) for m in rendered.manifests if m.kind.endswith("RoleBinding")]
    kube = Kube.connect(params.kubeconfig, params.context)
    try:
        rbac = "/apis/rbac.authorization.k8s.io/v1"
        live = [
            Binding.of({"kind": kind, **item})
            for kind, path in (
                ("ClusterRoleBinding", f"{rbac}/clusterrolebindings"),
                ("RoleBinding", f"{rbac}/rolebindings"),
            )
            for item in kube.list_items(path)
        ]
        rules: dict[tuple[str, str | None, str], list[dict[str, object]]] = {}
        for item in kube.list_items(f"{rbac}/clusterroles"):
            rules[("ClusterRole", None, item["metadata"]["name"])] = item.get("rules") or []
        for item in kube.list_items(f"{rbac}/roles"):
            meta = item["metadata"]
            rules[("Role", meta["namespace"], meta["name"])] = item.get("rules") or []
    finally:
        kube.close()
    found = cluster.shadow(live, mine, identities, rules)
    diagnostics = [cluster.shadow_diagnostic(s) for s in found]
    emit(Report(diagnostics=tuple(sort_diagnostics(diagnostics))), params.format)
    return ExitCode.FINDINGS if found else ExitCode.OK


def _read_error(name: str, message: str) -> Diagnostic:
    return Diagnostic(
        location=Location(name),
        severity="error",
        code="file-unreadable",
        message=f"cannot read: {message}",
        source="cluster",
    )
