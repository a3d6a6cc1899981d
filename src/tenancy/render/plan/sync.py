"""Sync wiring for the rendered tree: Argo CD (an AppProject and an ApplicationSet) and Flux (a
GitRepository and Kustomizations). Pure: a function of the profile data, the site's
`render.sync` settings and the objects of the synced units (render stage, see DESIGN.md).

The units sync in the order a cluster needs them (cluster RBAC and admission policies first, then
the Vault operator's resources, then the tenants) and each waits for the one before to be
healthy. The AppProject allows exactly what tenancy renders: the one repository, the one
cluster, the namespaces the units write into and the kinds they hold; no wildcard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tenancy.model import Manifest
from tenancy.render.plan.kubernetes import metadata, obj

#: What each synced unit is, in the order a cluster needs them: cluster RBAC first, then the
#: Vault operator resources, then the tenants.
UNITS = (
    ("cluster", "kubernetes/cluster"),
    ("vault", "vault/operator"),
    ("tenants", "kubernetes/tenants"),
)

#: Every folder a cluster applies as it is: the units and the sync wiring itself. A file in one
#: that tenancy did not render is drift (`write.unowned`).
SYNCED = (*(path for _, path in UNITS), "sync")

Tool = Literal["argocd", "flux", "both"]
TOOLS: tuple[Tool, ...] = ("argocd", "flux", "both")

#: The label the generated Applications carry, which the RollingSync steps select on.
UNIT_LABEL = "tenancy.io/sync-unit"

#: The API group of every kind the units hold. The kind alone decides it, so a plan and a
#: written tree give the same AppProject.
GROUPS = {
    "Namespace": "",
    "ResourceQuota": "",
    "LimitRange": "",
    "ServiceAccount": "",
    "ConfigMap": "",
    "NetworkPolicy": "networking.k8s.io",
    "ClusterRole": "rbac.authorization.k8s.io",
    "ClusterRoleBinding": "rbac.authorization.k8s.io",
    "Role": "rbac.authorization.k8s.io",
    "RoleBinding": "rbac.authorization.k8s.io",
    "ValidatingAdmissionPolicy": "admissionregistration.k8s.io",
    "ValidatingAdmissionPolicyBinding": "admissionregistration.k8s.io",
    "Certificate": "cert-manager.io",
    "DNSEndpoint": "externaldns.k8s.io",
    "Policy": "redhatcop.redhat.io",
    "KubernetesAuthEngineRole": "redhatcop.redhat.io",
    "KubernetesSecretEngineRole": "redhatcop.redhat.io",
    "Entity": "redhatcop.redhat.io",
    "EntityAlias": "redhatcop.redhat.io",
}

#: The custom groups, each served by the CRDs of an operator the site installs (cert-manager,
#: external-dns, vault-config-operator): a unit holding them cannot sync before those CRDs exist.
CUSTOM_GROUPS = frozenset({"cert-manager.io", "externaldns.k8s.io", "redhatcop.redhat.io"})

#: Where Argo CD's Applications and tenancy's own objects go: the cluster Argo CD runs in.
IN_CLUSTER = "https://kubernetes.default.svc"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """What one synced unit holds: its kinds (group, kind) by scope, its namespaces."""

    name: str
    path: str
    cluster_kinds: frozenset[tuple[str, str]] = frozenset()
    namespaced_kinds: frozenset[tuple[str, str]] = frozenset()
    namespaces: frozenset[str] = frozenset()

    @property
    def custom(self) -> list[str]:
        """The custom API groups whose CRDs must exist before this unit can sync."""
        kinds = self.cluster_kinds | self.namespaced_kinds
        return sorted({group for group, _ in kinds} & CUSTOM_GROUPS)


def options(site: Mapping[str, Any] | None) -> dict[str, Any]:
    """The site's `render.sync` settings with their defaults (schemas/tenancy.schema.json)."""
    site = site or {}
    return {
        "tool": site.get("tool", "both"),
        "app_project": bool(site.get("app_project", True)),
        "git_repository": bool(site.get("git_repository", True)),
        "depends_on": sorted(set(site.get("depends_on", ()))),
    }


def units(manifests: Iterable[Manifest]) -> list[Unit]:
    """Each unit with what the rendered objects put in it (the sync wiring is not in one)."""
    cluster: dict[str, set[tuple[str, str]]] = {name: set() for name, _ in UNITS}
    namespaced: dict[str, set[tuple[str, str]]] = {name: set() for name, _ in UNITS}
    namespaces: dict[str, set[str]] = {name: set() for name, _ in UNITS}
    roots = [(f"{path}/", name) for name, path in UNITS]
    for manifest in manifests:
        unit = next((name for prefix, name in roots if manifest.path.startswith(prefix)), None)
        if unit is None:
            continue
        kind = (_group(manifest), manifest.kind)
        if manifest.namespace is None:
            cluster[unit].add(kind)
        else:
            namespaced[unit].add(kind)
            namespaces[unit].add(manifest.namespace)
        if manifest.kind == "Namespace":
            namespaces[unit].add(manifest.name)
    return [
        Unit(
            name=name,
            path=path,
            cluster_kinds=frozenset(cluster[name]),
            namespaced_kinds=frozenset(namespaced[name]),
            namespaces=frozenset(namespaces[name]),
        )
        for name, path in UNITS
    ]


def _group(manifest: Manifest) -> str:
    if manifest.kind in GROUPS:
        return GROUPS[manifest.kind]
    api = manifest.body.get("apiVersion")
    if not isinstance(api, str):
        raise ValueError(f"{manifest.path}: the API group of {manifest.kind} is not known")
    return api.rpartition("/")[0]


def render(
    settings: dict[str, Any],
    output: str,
    source: str,
    *,
    site: Mapping[str, Any] | None = None,
    manifests: Iterable[Manifest] = (),
) -> list[Manifest]:
    """The sync wiring of the tool(s) the site chose (`render.sync.tool`, `render --sync`)."""
    chosen = options(site)
    found = units(manifests)
    base = output.strip("/")
    out: list[Manifest] = []
    if chosen["tool"] in ("argocd", "both"):
        if chosen["app_project"]:
            out.append(_manifest(app_project(settings["sync"], found), source))
        out.append(_manifest(application_set(settings["sync"], base, found), source))
    if chosen["tool"] in ("flux", "both"):
        if chosen["git_repository"]:
            out.append(_manifest(git_repository(settings["sync"]), source))
        out += [
            _manifest(body, source)
            for body in kustomizations(settings["sync"], base, found, chosen["depends_on"])
        ]
    return out


def app_project(sync: dict[str, Any], found: list[Unit]) -> dict[str, Any]:
    """The Argo CD project of the units: this repository, this cluster, the namespaces and kinds
    tenancy renders, nothing else (Argo CD refuses any other object the tree might gain)."""
    namespaces = sorted({ns for unit in found for ns in unit.namespaces})
    # A destination naming no namespace admits the Applications themselves (theirs names none:
    # every object of the tree names its own) and no namespaced object.
    destinations = [
        {"server": IN_CLUSTER},
        *({"namespace": ns, "server": IN_CLUSTER} for ns in namespaces),
    ]
    cluster = sorted({k for unit in found for k in unit.cluster_kinds})
    namespaced = sorted({k for unit in found for k in unit.namespaced_kinds})
    return obj(
        "argoproj.io/v1alpha1",
        "AppProject",
        metadata(sync["argocd_project"], sync["argocd_namespace"]),
        spec={
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in cluster],
            "description": "tenancy: the rendered tenants, their guardrails and Vault objects",
            "destinations": destinations,
            "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in namespaced],
            "sourceRepos": [sync["repo_url"]],
        },
    )


def application_set(sync: dict[str, Any], base: str, found: list[Unit]) -> dict[str, Any]:
    """One Application per unit, synced unit after unit by RollingSync steps.

    Argo CD ignores `sync-wave` on the Applications an ApplicationSet generates; its
    Progressive Syncs order them instead, step by step, each step synced only once the one
    before is Healthy. That is a feature the ApplicationSet controller runs only when enabled
    (`applicationsetcontroller.enable.progressive.syncs: "true"` in argocd-cmd-params-cm, or
    `--enable-progressive-syncs`); without it the three sync at once.
    https://argo-cd.readthedocs.io/en/release-3.3/operator-manual/applicationset/Progressive-Syncs/
    Under RollingSync the controller turns the generated Applications' automated sync off and
    triggers each sync itself, pruning as `automated.prune` says (Argo CD v3.5 reads it from
    there), and re-syncs an Application that drifts OutOfSync: so `automated` stays, and also
    keeps a controller without the feature syncing.
    """
    elements = [
        {
            "crds": ",".join(unit.custom),
            "name": f"tenancy-{unit.name}",
            "path": f"{base}/{unit.path}",
            # Argo CD matches the exact option `SkipDryRunOnMissingResource=true`: a unit of
            # custom resources must not fail its first dry run before their CRDs exist.
            "skipDryRun": "true" if unit.custom else "false",
            "unit": unit.name,
        }
        for unit in found
    ]
    steps = [
        {"matchExpressions": [{"key": UNIT_LABEL, "operator": "In", "values": [unit.name]}]}
        for unit in found
    ]
    return obj(
        "argoproj.io/v1alpha1",
        "ApplicationSet",
        metadata("tenancy", sync["argocd_namespace"]),
        spec={
            "generators": [{"list": {"elements": elements}}],
            "goTemplate": True,
            "strategy": {"rollingSync": {"steps": steps}, "type": "RollingSync"},
            "template": {
                "metadata": {
                    # The CRD groups the unit's objects need (their operators: cert-manager,
                    # external-dns, vault-config-operator), installed by the site beforehand.
                    "annotations": {"tenancy.io/requires-crds": "{{.crds}}"},
                    "labels": {UNIT_LABEL: "{{.unit}}"},
                    "name": "{{.name}}",
                },
                "spec": {
                    "destination": {"server": IN_CLUSTER},
                    "project": sync["argocd_project"],
                    "source": {
                        "path": "{{.path}}",
                        "repoURL": sync["repo_url"],
                        "targetRevision": sync["revision"],
                    },
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        # A first sync can still race an operator's CRDs: retry it.
                        "retry": {
                            "backoff": {"duration": "30s", "factor": 2, "maxDuration": "10m"},
                            "limit": 10,
                        },
                        "syncOptions": [
                            "PruneLast=true",
                            "SkipDryRunOnMissingResource={{.skipDryRun}}",
                        ],
                    },
                },
            },
        },
    )


def git_repository(sync: dict[str, Any]) -> dict[str, Any]:
    """The Flux source the Kustomizations name: the repository at the followed branch."""
    return obj(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        metadata(sync["flux_source"], sync["flux_namespace"]),
        spec={
            "interval": "1m",
            "ref": {"branch": sync["revision"]},
            "url": sync["repo_url"],
        },
    )


def kustomizations(
    sync: dict[str, Any], base: str, found: list[Unit], depends_on: list[str]
) -> list[dict[str, Any]]:
    """One Flux Kustomization per unit, each depending on the one before.

    `dependsOn` waits for the dependency to be Ready, and a Kustomization is Ready once applied
    unless it `wait`s: so a unit that others depend on waits for every object it applied to be
    ready. The units of custom resources also depend on the site's own Kustomizations
    (`render.sync.depends_on`: the ones installing cert-manager, external-dns and
    vault-config-operator, whose CRDs they need)."""
    out = []
    previous: str | None = None
    for index, unit in enumerate(found):
        name = f"tenancy-{unit.name}"
        needs = [_reference(previous)] if previous is not None else []
        if unit.custom:
            needs += [_reference(entry) for entry in depends_on]
        spec: dict[str, Any] = {
            "interval": "10m",
            "path": f"./{base}/{unit.path}",
            "prune": True,
            "retryInterval": "1m",
            "sourceRef": {"kind": "GitRepository", "name": sync["flux_source"]},
        }
        if needs:
            spec["dependsOn"] = needs
        if index < len(found) - 1:
            spec["timeout"] = "5m"
            spec["wait"] = True
        out.append(
            obj(
                "kustomize.toolkit.fluxcd.io/v1",
                "Kustomization",
                metadata(name, sync["flux_namespace"]),
                spec=dict(sorted(spec.items())),
            )
        )
        previous = name
    return out


def _reference(entry: str) -> dict[str, str]:
    """`name` or `namespace/name` as a Flux dependsOn entry."""
    namespace, _, name = entry.rpartition("/")
    return {"name": name, "namespace": namespace} if namespace else {"name": name}


_FILES = {
    "AppProject": "sync/argocd/appproject-{name}.yaml",
    "ApplicationSet": "sync/argocd/applicationset-{name}.yaml",
    "GitRepository": "sync/flux/gitrepository-{name}.yaml",
    "Kustomization": "sync/flux/kustomization-{name}.yaml",
}


def _manifest(body: dict[str, Any], source: str) -> Manifest:
    meta = body["metadata"]
    return Manifest(
        path=_FILES[body["kind"]].format(name=meta["name"]),
        kind=body["kind"],
        name=meta["name"],
        namespace=meta.get("namespace"),
        body=body,
        source=source,
    )
