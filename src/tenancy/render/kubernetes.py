"""Kubernetes objects per namespace, per user and cluster-wide. Pure: Inventory -> Manifests.

Object names and the seed system's names: RoleBinding and ClusterRoleBinding names carry the
user key; the ResourceQuota keeps the seed's `user-quota` so existing tooling finds it.
"""

from __future__ import annotations

from typing import Any

from tenancy import quantity
from tenancy.model import Inventory, K8sUser, Manifest
from tenancy.render.profiles import Profiles

MANAGED = {"app.kubernetes.io/managed-by": "tenancy"}
RBAC = "rbac.authorization.k8s.io"


def slug(key: str) -> str:
    """Object-name form of a user key: k8s_users keys may hold `_`, object names may not."""
    return key.replace("_", "-")


def metadata(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {**MANAGED, **dict(sorted(labels.items()))}
    return meta


def obj(api: str, kind: str, meta: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": meta, **rest}


def cluster_manifest(body: dict[str, Any], source: str) -> Manifest:
    kind, name = body["kind"], body["metadata"]["name"]
    return Manifest(
        path=f"kubernetes/cluster/{kind.lower()}-{name}.yaml",
        kind=kind,
        name=name,
        namespace=None,
        body=body,
        source=source,
    )


def tenant_manifest(user: K8sUser, namespace: str, body: dict[str, Any]) -> Manifest:
    kind, name = body["kind"], body["metadata"]["name"]
    return Manifest(
        path=f"kubernetes/tenants/{slug(user.key)}/{namespace}/{kind.lower()}-{name}.yaml",
        kind=kind,
        name=name,
        namespace=None if kind == "Namespace" else namespace,
        body=body,
        source=f"k8s_users.{user.key}",
    )


def cluster_roles(profiles: Profiles) -> list[Manifest]:
    out = []
    for name, rules in sorted(profiles.cluster_roles.items()):
        body = obj(f"{RBAC}/v1", "ClusterRole", metadata(name), rules=[_rule(r) for r in rules])
        out.append(cluster_manifest(body, f"render/clusterroles/{name}.yaml"))
    return out


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiGroups": sorted(rule["apiGroups"]),
        "resources": sorted(rule["resources"]),
        "verbs": sorted(rule["verbs"]),
    }


def subject(user: K8sUser, prefix: str) -> dict[str, str]:
    return {"apiGroup": RBAC, "kind": "User", "name": user.identity(prefix)}


def user_bindings(inventory: Inventory, profiles: Profiles) -> list[Manifest]:
    """One ClusterRoleBinding per user, to their tier's cluster role."""
    out = []
    tiers = profiles.settings["tiers"]
    for user in inventory.users:
        role = tiers[user.role]["cluster_role"]
        name = f"tenancy-{user.role}-{slug(user.key)}"
        body = obj(
            f"{RBAC}/v1",
            "ClusterRoleBinding",
            metadata(name, **{"tenancy.io/tenant": slug(user.key), "tenancy.io/tier": user.role}),
            roleRef={"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            subjects=[subject(user, inventory.config.identity_prefix)],
        )
        out.append(cluster_manifest(body, f"k8s_users.{user.key}"))
    return out


def namespaces(inventory: Inventory, profiles: Profiles) -> list[Manifest]:
    """Everything inside each namespace a namespace-owner owns."""
    out: list[Manifest] = []
    settings = profiles.settings
    for user in inventory.users:
        if user.role != "namespace-owner" or user.quota is None:
            continue
        for index, namespace in enumerate(user.namespaces):
            bodies = [
                _namespace(user, namespace, settings),
                _quota(user, namespace),
                _object_quota(user, namespace, settings),
                _limit_range(user, namespace, settings),
                *_network_policies(user, namespace, settings),
                _role_binding(user, namespace, inventory, settings),
            ]
            if user.domains and index == 0:
                # One Certificate per user, in their first namespace: one ACME order per name.
                bodies.append(_certificate(user, namespace, settings))
            out.extend(tenant_manifest(user, namespace, body) for body in bodies)
    return out


def _tenant_labels(user: K8sUser) -> dict[str, str]:
    return {"tenancy.io/tenant": slug(user.key), "tenancy.io/tier": user.role}


def _namespace(user: K8sUser, namespace: str, settings: dict[str, Any]) -> dict[str, Any]:
    level = settings["namespace"]["pod_security"]
    version = settings["namespace"]["pod_security_version"]
    labels = _tenant_labels(user)
    for mode in ("audit", "enforce", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    meta = metadata(namespace, **labels)
    meta["annotations"] = {
        # Never pruned: removing a namespace deletes its workloads and volumes (seed hole 4).
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
        "kustomize.toolkit.fluxcd.io/prune": "disabled",
        "tenancy.io/owner": user.email,
    }
    return obj("v1", "Namespace", meta)


def _quota(user: K8sUser, namespace: str) -> dict[str, Any]:
    quota = user.quota
    assert quota is not None
    hard = {
        "limits.memory": quota.memory_limits,
        "pods": quota.pods,
        "requests.cpu": quota.cpu_requests,
        "requests.memory": quota.memory_requests,
    }
    if quota.storage is not None:
        hard["requests.storage"] = quota.storage
    return obj(
        "v1",
        "ResourceQuota",
        metadata("user-quota", namespace, **_tenant_labels(user)),
        spec={"hard": dict(sorted(hard.items()))},
    )


def _object_quota(user: K8sUser, namespace: str, settings: dict[str, Any]) -> dict[str, Any]:
    hard = {str(k): str(v) for k, v in sorted(settings["object_quota"].items())}
    return obj(
        "v1",
        "ResourceQuota",
        metadata("object-quota", namespace, **_tenant_labels(user)),
        spec={"hard": hard},
    )


def _limit_range(user: K8sUser, namespace: str, settings: dict[str, Any]) -> dict[str, Any]:
    quota = user.quota
    assert quota is not None
    limits = settings["limit_range"]
    # No container may be granted more than the namespace's whole memory limit.
    max_memory = quantity.smaller(str(limits["max"]["memory"]), quota.memory_limits)
    default_memory = quantity.smaller(str(limits["default"]["memory"]), max_memory)
    request_memory = quantity.smaller(str(limits["default_request"]["memory"]), default_memory)
    request_cpu = quantity.smaller(str(limits["default_request"]["cpu"]), quota.cpu_requests)
    item = {
        "default": {"cpu": str(limits["default"]["cpu"]), "memory": default_memory},
        "defaultRequest": {"cpu": request_cpu, "memory": request_memory},
        "max": {"memory": max_memory},
        "type": "Container",
    }
    return obj(
        "v1",
        "LimitRange",
        metadata("defaults", namespace, **_tenant_labels(user)),
        spec={"limits": [item]},
    )


def _network_policies(
    user: K8sUser, namespace: str, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    net = settings["network"]
    labels = _tenant_labels(user)
    same_tenant = {"namespaceSelector": {"matchLabels": {"tenancy.io/tenant": slug(user.key)}}}

    def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return obj(
            "networking.k8s.io/v1", "NetworkPolicy", metadata(name, namespace, **labels), spec=spec
        )

    out = [
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Egress", "Ingress"]}),
        policy(
            "allow-dns",
            {
                "egress": [
                    {
                        "ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": net["dns_namespace"]
                                    }
                                },
                                "podSelector": {
                                    "matchLabels": dict(sorted(net["dns_labels"].items()))
                                },
                            }
                        ],
                    }
                ],
                "podSelector": {},
                "policyTypes": ["Egress"],
            },
        ),
        policy(
            "allow-same-tenant",
            {
                "egress": [{"to": [same_tenant]}],
                "ingress": [{"from": [same_tenant]}],
                "podSelector": {},
                "policyTypes": ["Egress", "Ingress"],
            },
        ),
    ]
    if user.domains:
        out.append(
            policy(
                "allow-ingress-controller",
                {
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {
                                            "kubernetes.io/metadata.name": net["ingress_namespace"]
                                        }
                                    }
                                }
                            ]
                        }
                    ],
                    "podSelector": {},
                    "policyTypes": ["Ingress"],
                },
            )
        )
    return out


def _role_binding(
    user: K8sUser, namespace: str, inventory: Inventory, settings: dict[str, Any]
) -> dict[str, Any]:
    role = settings["tiers"]["namespace-owner"]["namespace_role"]
    return obj(
        f"{RBAC}/v1",
        "RoleBinding",
        metadata(f"tenancy-namespace-owner-{slug(user.key)}", namespace, **_tenant_labels(user)),
        roleRef={"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
        subjects=[subject(user, inventory.config.identity_prefix)],
    )


def _certificate(user: K8sUser, namespace: str, settings: dict[str, Any]) -> dict[str, Any]:
    issuer = settings["certificates"]["issuer"]
    name = f"tls-{slug(user.key)}"
    return obj(
        "cert-manager.io/v1",
        "Certificate",
        metadata(name, namespace, **_tenant_labels(user)),
        spec={
            "dnsNames": list(user.domains),
            "issuerRef": {
                "group": "cert-manager.io",
                "kind": issuer["kind"],
                "name": issuer["name"],
            },
            "secretName": name,
        },
    )
