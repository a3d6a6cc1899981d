"""Kubernetes objects per namespace, per user and cluster-wide. Pure: Inventory -> Manifests.

Object names and the seed system's names: RoleBinding and ClusterRoleBinding names carry the
user key; the ResourceQuota keeps the seed's `user-quota` so existing tooling finds it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tenancy import quantity
from tenancy.model import Config, Inventory, K8sUser, Manifest
from tenancy.render.plan.profiles import Profiles
from tenancy.render.yaml import Shared

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


def cluster_roles(profiles: Profiles) -> list[Manifest]:
    out = []
    for name, rules in sorted(profiles.cluster_roles.items()):
        body = obj(f"{RBAC}/v1", "ClusterRole", metadata(name), rules=[_rule(r) for r in rules])
        out.append(cluster_manifest(body, f"render/clusterroles/{name}.yaml"))
    return out


ADMISSION = "admissionregistration.k8s.io/v1"
#: Tenant namespaces, as every admission policy binding selects them.
TENANT_NAMESPACES = {"matchExpressions": [{"key": "tenancy.io/tenant", "operator": "Exists"}]}


def admission_policies(profiles: Profiles) -> list[Manifest]:
    """Each ValidatingAdmissionPolicy of render/admission/, and its binding to every tenant
    namespace (deny, and say why in the API server's answer)."""
    out = []
    for name, spec in sorted(profiles.admission.items()):
        source = f"render/admission/{name}.yaml"
        policy = obj(ADMISSION, "ValidatingAdmissionPolicy", metadata(name), spec=spec)
        binding = obj(
            ADMISSION,
            "ValidatingAdmissionPolicyBinding",
            metadata(name),
            spec={
                "matchResources": {"namespaceSelector": TENANT_NAMESPACES},
                "policyName": name,
                "validationActions": ["Deny"],
            },
        )
        out += [cluster_manifest(policy, source), cluster_manifest(binding, source)]
    return out


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiGroups": sorted(rule["apiGroups"]),
        "resources": sorted(rule["resources"]),
        "verbs": sorted(rule["verbs"]),
    }


def subject(user: K8sUser, config: Config) -> dict[str, str]:
    return {"apiGroup": RBAC, "kind": "User", "name": config.username(user)}


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
            subjects=[subject(user, inventory.config)],
        )
        out.append(cluster_manifest(body, f"k8s_users.{user.key}"))
    return out


#: The network policies of every namespace, and the one added when the user has domains.
NETWORK_POLICIES = ("default-deny", "allow-dns", "allow-same-tenant")
INGRESS_POLICY = "allow-ingress-controller"
#: Egress profiles (render/profiles.yaml network.egress) and the policy each renders.
EGRESS_POLICIES = {
    "internet": "allow-internet",
    "api-server": "allow-api-server",
    "monitoring": "allow-monitoring",
}


def network_profiles(user: K8sUser, settings: dict[str, Any]) -> list[str]:
    """The tier's default egress profiles and the tenant's allowed opt-ins; `api-server` only
    when the site named the API server's addresses (an empty rule would open everything)."""
    egress = settings["network"]["egress"]
    wanted = [*egress["default"], *(p for p in user.network if p in egress["optional"])]
    if not egress.get("api_server"):
        wanted = [p for p in wanted if p != "api-server"]
    return sorted(set(wanted))


def _dns_target(settings: dict[str, Any]) -> str | None:
    target = settings.get("dns", {}).get("target")
    return str(target) if target else None


def namespaces(inventory: Inventory, profiles: Profiles) -> list[Manifest]:
    """Everything inside each namespace a namespace-owner owns.

    What does not depend on the namespace is built once per user (the labels, the quota, the
    policies' specs) and what depends on neither once per render, and shared by the objects:
    nothing changes a body once it is built, and 10,000 users' 160,000 objects fit in a third
    less memory this way (every process that reads them copies the pages they are on)."""
    out: list[Manifest] = []
    settings = profiles.settings
    shared = _shared_specs(settings)
    deployer = settings["vault"]["deployer"]["service_account"]
    for user in inventory.users:
        if user.role != "namespace-owner" or user.quota is None:
            continue
        out += _tenant_objects(user, inventory, settings, shared, deployer)
    return out


def _tenant_objects(
    user: K8sUser, inventory: Inventory, settings: dict[str, Any], shared: _Shared, deployer: str
) -> list[Manifest]:
    """Every object of one tenant's namespaces, in each namespace in install order."""
    out: list[Manifest] = []
    folder = f"kubernetes/tenants/{slug(user.key)}"
    source = f"k8s_users.{user.key}"
    binding = f"tenancy-namespace-owner-{slug(user.key)}"
    parts = _user_parts(user, inventory, settings, shared)
    for namespace in user.namespaces:
        bodies = [
            obj("v1", "Namespace", parts.namespace_meta(namespace)),
            parts.body("v1", "ResourceQuota", "user-quota", namespace, spec=parts.quota),
            parts.body("v1", "ResourceQuota", "object-quota", namespace, spec=shared.objects),
            parts.body("v1", "LimitRange", "defaults", namespace, spec=parts.limits),
            *(
                parts.body(NETWORKING, "NetworkPolicy", name, namespace, spec=spec)
                for name, spec in parts.network
            ),
            parts.body(
                f"{RBAC}/v1",
                "RoleBinding",
                binding,
                namespace,
                roleRef=parts.role_ref,
                subjects=parts.subjects,
            ),
            *_deployer_objects(namespace, parts.labels, shared, deployer).values(),
        ]
        if user.domains:
            # In every namespace of the tenant: an Ingress can only use a TLS Secret of
            # its own namespace, and any of them may serve any of the tenant's hosts.
            bodies.append(_certificate(user, namespace, settings))
            target = _dns_target(settings)
            if target and namespace == user.namespaces[0]:
                bodies.append(_dns_endpoint(user, namespace, target, settings))
        for body in bodies:
            kind, name = body["kind"], body["metadata"]["name"]
            out.append(_placed(folder, namespace, kind, name, body, source))
    return out


def _deployer_objects(
    namespace: str, labels: dict[str, str], shared: _Shared, account: str
) -> dict[str, dict[str, Any]]:
    """The namespace's CI identity: the ServiceAccount its Vault auth role binds (its pods'
    token is asked for with the role's audience, so none is mounted by default), and the Role
    `<ns>-deployer` that Vault's Kubernetes secrets engine binds the tokens it mints to."""
    return {
        "ServiceAccount": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": account, "namespace": namespace, "labels": labels},
            "automountServiceAccountToken": False,
        },
        "Role": {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": f"{namespace}-deployer", "namespace": namespace, "labels": labels},
            "rules": shared.deployer_rules,
        },
    }


def _placed(
    folder: str, namespace: str, kind: str, name: str, body: dict[str, Any], source: str
) -> Manifest:
    return Manifest(
        path=f"{folder}/{namespace}/{kind.lower()}-{name}.yaml",
        kind=kind,
        name=name,
        namespace=None if kind == "Namespace" else namespace,
        body=body,
        source=source,
    )


NETWORKING = "networking.k8s.io/v1"


class _Shared(NamedTuple):
    """Specs that depend only on the profiles."""

    objects: dict[str, Any]  # the object-quota spec
    deny: dict[str, Any]
    dns: dict[str, Any]
    ingress: dict[str, Any]
    optional: dict[str, dict[str, Any]]  # egress policy name -> spec
    deployer_rules: list[dict[str, Any]]  # the Role <ns>-deployer's rules


def _shared_specs(settings: dict[str, Any]) -> _Shared:
    net = settings["network"]
    hard = {str(k): str(v) for k, v in sorted(settings["object_quota"].items())}
    dns = _dns_spec(net)
    ingress = _ingress_spec(net)
    deny = {"podSelector": {}, "policyTypes": ["Egress", "Ingress"]}
    optional = _egress_specs(net["egress"])
    rules = [_rule(r) for r in settings["vault"]["deployer"]["role_rules"]]
    return _Shared(
        Shared({"hard": hard}),
        Shared(deny),
        Shared(dns),
        Shared(ingress),
        optional,
        rules,  # in the data's order, as the ClusterRoles' rules are
    )


def _dns_spec(net: dict[str, Any]) -> dict[str, Any]:
    """Egress to the cluster's DNS pods only."""
    return {
        "egress": [
            {
                "ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": net["dns_namespace"]}
                        },
                        "podSelector": {"matchLabels": dict(sorted(net["dns_labels"].items()))},
                    }
                ],
            }
        ],
        "podSelector": {},
        "policyTypes": ["Egress"],
    }


def _ingress_spec(net: dict[str, Any]) -> dict[str, Any]:
    """Ingress from the ingress controller's namespace (tenants with domains)."""
    return {
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": net["ingress_namespace"]}
                        }
                    }
                ]
            }
        ],
        "podSelector": {},
        "policyTypes": ["Ingress"],
    }


def _egress_specs(egress: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The opt-in policies of the egress profiles, by policy name (`EGRESS_POLICIES`)."""
    internet = {
        "egress": [
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": sorted(egress["blocked"])}}]}
        ],
        "podSelector": {},
        "policyTypes": ["Egress"],
    }
    api_server = {
        "egress": [
            {
                "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in sorted(egress["api_server"])],
            }
        ],
        "podSelector": {},
        "policyTypes": ["Egress"],
    }
    monitoring = {
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {
                                "kubernetes.io/metadata.name": egress["monitoring_namespace"]
                            }
                        }
                    }
                ]
            }
        ],
        "podSelector": {},
        "policyTypes": ["Ingress"],
    }
    return {
        EGRESS_POLICIES["internet"]: Shared(internet),
        EGRESS_POLICIES["api-server"]: Shared(api_server),
        EGRESS_POLICIES["monitoring"]: Shared(monitoring),
    }


class _UserParts(NamedTuple):
    """What every namespace of one user shares."""

    labels: dict[str, str]  # managed-by and tenant labels, as `metadata` orders them
    namespace_labels: dict[str, str]
    annotations: dict[str, str]
    quota: dict[str, Any]
    limits: dict[str, Any]
    network: list[tuple[str, dict[str, Any]]]
    role_ref: dict[str, str]
    subjects: list[dict[str, str]]

    def body(self, api: str, kind: str, name: str, namespace: str, **rest: Any) -> dict[str, Any]:
        meta = {"name": name, "namespace": namespace, "labels": self.labels}
        return {"apiVersion": api, "kind": kind, "metadata": meta, **rest}

    def namespace_meta(self, namespace: str) -> dict[str, Any]:
        return {
            "name": namespace,
            "labels": self.namespace_labels,
            "annotations": self.annotations,
        }


def _user_parts(
    user: K8sUser, inventory: Inventory, settings: dict[str, Any], shared: _Shared
) -> _UserParts:
    tenant = _tenant_labels(user)
    namespace_labels = dict(tenant)
    level = settings["namespace"]["pod_security"]
    version = settings["namespace"]["pod_security_version"]
    for mode in ("audit", "enforce", "warn"):
        namespace_labels[f"pod-security.kubernetes.io/{mode}"] = level
        namespace_labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    same_tenant = {"namespaceSelector": {"matchLabels": {"tenancy.io/tenant": slug(user.key)}}}
    deny, dns, same = NETWORK_POLICIES
    network = [
        (deny, shared.deny),
        (dns, shared.dns),
        (
            same,
            Shared(
                {
                    "egress": [{"to": [same_tenant]}],
                    "ingress": [{"from": [same_tenant]}],
                    "podSelector": {},
                    "policyTypes": ["Egress", "Ingress"],
                }
            ),
        ),
    ]
    if user.domains:
        network.append((INGRESS_POLICY, shared.ingress))
    network += [
        (EGRESS_POLICIES[p], shared.optional[EGRESS_POLICIES[p]])
        for p in network_profiles(user, settings)
    ]
    role = settings["tiers"]["namespace-owner"]["namespace_role"]
    return _UserParts(
        labels=Shared(metadata("", **tenant)["labels"]),
        namespace_labels=Shared(metadata("", **namespace_labels)["labels"]),
        annotations=Shared(
            {
                # Never pruned: removing a namespace deletes its workloads and volumes (seed
                # hole 4).
                "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
                "kustomize.toolkit.fluxcd.io/prune": "disabled",
                # The hostnames the tenant may publish: read by the ingress admission policy
                # (render/admission/tenancy-ingress-hosts.yaml); tenants cannot edit it.
                **({"tenancy.io/domains": ",".join(user.domains)} if user.domains else {}),
                "tenancy.io/owner": user.email,
            }
        ),
        quota=Shared(_quota_spec(user, settings)),
        limits=Shared(_limit_range_spec(user, settings)),
        network=network,
        role_ref=Shared({"apiGroup": RBAC, "kind": "ClusterRole", "name": role}),
        subjects=[subject(user, inventory.config)],
    )


def _tenant_labels(user: K8sUser) -> dict[str, str]:
    return {"tenancy.io/tenant": slug(user.key), "tenancy.io/tier": user.role}


def _quota_spec(user: K8sUser, settings: dict[str, Any]) -> dict[str, Any]:
    quota = user.quota
    assert quota is not None
    hard = {str(k): str(v) for k, v in settings.get("storage_quota", {}).items()}
    hard |= {
        "limits.memory": quota.memory_limits,
        "pods": quota.pods,
        "requests.cpu": quota.cpu_requests,
        "requests.memory": quota.memory_requests,
    }
    if quota.storage is not None:
        hard["requests.storage"] = quota.storage
    return {"hard": dict(sorted(hard.items()))}


def _limit_range_spec(user: K8sUser, settings: dict[str, Any]) -> dict[str, Any]:
    quota = user.quota
    assert quota is not None
    limits = settings["limit_range"]
    # No container may be granted more than the namespace's whole memory limit; one without a
    # limit gets that most (any smaller default would refuse a container requesting more).
    max_memory = quantity.smaller(str(limits["max"]["memory"]), quota.memory_limits)
    requests = {str(k): str(v) for k, v in limits["default_request"].items()}
    requests["memory"] = quantity.smaller(requests["memory"], max_memory)
    requests["cpu"] = quantity.smaller(requests["cpu"], quota.cpu_requests)
    item = {
        "default": {"memory": max_memory},
        "defaultRequest": dict(sorted(requests.items())),
        "max": {"memory": max_memory},
        "type": "Container",
    }
    return {"limits": [item]}


def _dns_endpoint(
    user: K8sUser, namespace: str, target: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """The tenant's DNS records for external-dns: each domain at the site's target, a CNAME
    to a hostname or an A record of an IPv4 address. One object per tenant, in its first
    namespace (the records are the tenant's, not a namespace's)."""
    record = "A" if target.replace(".", "").isdigit() else "CNAME"
    ttl = int(settings["dns"].get("ttl", 300))
    return obj(
        "externaldns.k8s.io/v1alpha1",
        "DNSEndpoint",
        metadata(f"dns-{slug(user.key)}", namespace, **_tenant_labels(user)),
        spec={
            "endpoints": [
                {"dnsName": d, "recordTTL": ttl, "recordType": record, "targets": [target]}
                for d in user.domains
            ]
        },
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
