"""Sync wiring: an Argo CD ApplicationSet and Flux Kustomizations for the rendered tree. Pure."""

from __future__ import annotations

from typing import Any

from tenancy.model import Manifest
from tenancy.render.kubernetes import metadata, obj

#: What each synced unit is, in the order a cluster needs them: cluster RBAC first, then the
#: Vault operator resources, then the tenants.
UNITS = (
    ("cluster", "kubernetes/cluster"),
    ("vault", "vault/operator"),
    ("tenants", "kubernetes/tenants"),
)


def render(settings: dict[str, Any], output: str, source: str) -> list[Manifest]:
    sync = settings["sync"]
    base = output.strip("/")
    out = []
    elements = [
        {"name": f"tenancy-{unit}", "path": f"{base}/{path}", "wave": str(i)}
        for i, (unit, path) in enumerate(UNITS)
    ]
    appset = obj(
        "argoproj.io/v1alpha1",
        "ApplicationSet",
        metadata("tenancy", sync["argocd_namespace"]),
        spec={
            "generators": [{"list": {"elements": elements}}],
            "goTemplate": True,
            "template": {
                "metadata": {
                    "annotations": {"argocd.argoproj.io/sync-wave": "{{.wave}}"},
                    "name": "{{.name}}",
                },
                "spec": {
                    "destination": {"server": "https://kubernetes.default.svc"},
                    "project": sync["argocd_project"],
                    "source": {
                        "path": "{{.path}}",
                        "repoURL": sync["repo_url"],
                        "targetRevision": sync["revision"],
                    },
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["PruneLast=true"],
                    },
                },
            },
        },
    )
    out.append(_manifest("sync/argocd/applicationset-tenancy.yaml", appset, source))
    previous = None
    for unit, path in UNITS:
        spec: dict[str, Any] = {
            "interval": "10m",
            "path": f"./{base}/{path}",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": sync["flux_source"]},
        }
        if previous is not None:
            spec["dependsOn"] = [{"name": previous}]
        name = f"tenancy-{unit}"
        body = obj(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            metadata(name, sync["flux_namespace"]),
            spec=dict(sorted(spec.items())),
        )
        out.append(_manifest(f"sync/flux/kustomization-{name}.yaml", body, source))
        previous = name
    return out


def _manifest(path: str, body: dict[str, Any], source: str) -> Manifest:
    meta = body["metadata"]
    return Manifest(
        path=path,
        kind=body["kind"],
        name=meta["name"],
        namespace=meta.get("namespace"),
        body=body,
        source=source,
    )
