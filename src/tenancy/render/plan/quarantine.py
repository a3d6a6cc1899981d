"""Quarantined namespaces: a removed tenant's kept namespace, locked. Pure: Inventory -> Manifests.

A tenant Namespace is never pruned (its workloads and volumes would go with it), so when its
owner leaves k8s_users the sync keeps it and prunes everything else tenancy rendered in it:
its workloads would run on with no network policy, quota or limits. A namespace listed in
tenancy.yaml `quarantine:` is rendered instead as a locked one, until someone deletes it by
hand and removes the entry (retires it):

- the Namespace, still protected from pruning and still under Pod Security and the admission
  policies (they select the label `tenancy.io/tenant`), with the tenant label set to
  `quarantine`, a value no tenant can hold (the user key is reserved): no tenant's
  `allow-same-tenant` policy selects it, the former owner's remaining namespaces included;
- `default-deny` alone: no ingress and no egress, not even DNS;
- `user-quota` with every quantity zero (pods, requests, memory limits, storage, volume claims):
  what runs keeps running, nothing new starts; and the object-count quota;
- no RoleBinding: the former owner has no access.

The objects keep the names a tenant's have, so moving a namespace into quarantine changes
them in place (the same synced unit, kubernetes/tenants, holds both), with no moment
without a deny policy or a quota.
"""

from __future__ import annotations

from typing import Any

from tenancy.model import Inventory, Manifest, Quarantined
from tenancy.render.plan.kubernetes import NETWORKING, metadata, obj, slug
from tenancy.render.plan.profiles import Profiles

#: Inside the tenants' synced unit (render/plan/sync.py), beside the tenants' folders.
FOLDER = "kubernetes/tenants/quarantine"
#: The `tenancy.io/tenant` of every quarantined namespace: a reserved user key, so it is no
#: tenant's and no same-tenant NetworkPolicy selects it.
TENANT = "quarantine"
#: What a quota of zeros must hold beyond the tier's storage keys: no pod, request or volume.
ZERO = ("limits.memory", "persistentvolumeclaims", "pods", "requests.cpu", "requests.memory")
#: Annotations that keep the sync from deleting the namespace, as on every tenant namespace.
PRUNE_PROTECTION = {
    "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}


def source(namespace: str) -> str:
    """The input key an object of a quarantined namespace comes from (INDEX.json, headers)."""
    return f"tenancy.yaml:quarantine.{namespace}"


def namespaces(inventory: Inventory, profiles: Profiles) -> list[Manifest]:
    """The objects of every quarantined namespace."""
    settings = profiles.settings
    hard = {str(key): "0" for key in settings.get("storage_quota", {})}
    hard |= dict.fromkeys((*ZERO, "requests.storage"), "0")
    zero = {"hard": dict(sorted(hard.items()))}
    objects = {"hard": {str(k): str(v) for k, v in sorted(settings["object_quota"].items())}}
    deny = {"podSelector": {}, "policyTypes": ["Egress", "Ingress"]}
    out: list[Manifest] = []
    for entry in inventory.config.quarantine:
        ns = entry.namespace
        labels = _labels(entry)
        bodies = [
            obj("v1", "Namespace", _namespace_meta(entry, settings)),
            obj("v1", "ResourceQuota", metadata("user-quota", ns, **labels), spec=zero),
            obj("v1", "ResourceQuota", metadata("object-quota", ns, **labels), spec=objects),
            obj(NETWORKING, "NetworkPolicy", metadata("default-deny", ns, **labels), spec=deny),
        ]
        for body in bodies:
            kind, name = body["kind"], body["metadata"]["name"]
            out.append(
                Manifest(
                    path=f"{FOLDER}/{ns}/{kind.lower()}-{name}.yaml",
                    kind=kind,
                    name=name,
                    namespace=None if kind == "Namespace" else ns,
                    body=body,
                    source=source(ns),
                )
            )
    return out


def _labels(entry: Quarantined) -> dict[str, str]:
    return {
        "tenancy.io/former-tenant": slug(entry.tenant),
        "tenancy.io/quarantined": "true",
        "tenancy.io/tenant": TENANT,
    }


def _namespace_meta(entry: Quarantined, settings: dict[str, Any]) -> dict[str, Any]:
    labels = _labels(entry)
    level = settings["namespace"]["pod_security"]
    version = settings["namespace"]["pod_security_version"]
    for mode in ("audit", "enforce", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    meta = metadata(entry.namespace, **labels)
    # No tenancy.io/domains: the ingress admission policy then refuses every host.
    meta["annotations"] = {
        **PRUNE_PROTECTION,
        "tenancy.io/quarantine-reason": entry.reason,
        "tenancy.io/quarantined-since": entry.since,
    }
    return meta
