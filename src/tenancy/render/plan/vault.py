"""The Vault layer, twice: review files (HCL policies, auth roles, identities as data) and the
same objects as vault-config-operator resources, whose embedded HCL is the review file byte for
byte. Pure: Inventory -> (path, text) files and Manifests.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from tenancy.model import Inventory, K8sUser, Manifest, RosterUser
from tenancy.quantity import seconds
from tenancy.render.plan.kubernetes import metadata, obj, slug
from tenancy.render.plan.profiles import Profiles
from tenancy.render.yaml import dump, header

VCO = "redhatcop.redhat.io/v1alpha1"


_POLICY = re.compile(r'^path ("(?:[^"\\]|\\.)*") \{\n  capabilities = \[(.*)\]\n\}$', re.MULTILINE)


def parse_hcl(text: str) -> dict[str, tuple[str, ...]]:
    """Paths and capabilities of a policy in tenancy's canonical HCL form (the inverse of `hcl`).

    The quoted strings are JSON strings; all of a policy's are decoded in one `json.loads`
    (one call per string was most of the audit's input building at 10,000 users)."""
    blocks = _POLICY.findall(text)
    if not blocks:
        return {}
    decoded = json.loads("[" + ",".join(f"[{path},[{caps}]]" for path, caps in blocks) + "]")
    return {path: tuple(caps) for path, caps in decoded}


def hcl(paths: dict[str, list[str]], source: str) -> str:
    """A Vault policy in canonical form: paths sorted, capabilities sorted, strings JSON-quoted."""
    blocks = []
    quote = encode_basestring_ascii  # json.dumps of a str, without its per-call overhead
    for path in sorted(paths):
        capabilities = ", ".join(map(quote, sorted(set(paths[path]))))
        blocks.append(f"path {quote(path)} {{\n  capabilities = [{capabilities}]\n}}\n")
    return header(source) + "\n" + "\n".join(blocks)


def owner_policy(user: K8sUser, profiles: Profiles) -> tuple[str, dict[str, list[str]]]:
    spec = profiles.namespace_owner_policy
    mount = profiles.settings["vault"]["kubernetes_secrets_mount"]
    paths: dict[str, list[str]] = {}
    for item in spec["paths"]:
        paths[item["path"].format(user=user.key, secrets_mount=mount)] = list(item["capabilities"])
    for namespace in user.namespaces:
        for item in spec["per_namespace"]:
            path = item["path"].format(user=user.key, namespace=namespace, secrets_mount=mount)
            paths[path] = list(item["capabilities"])
    return spec["name"].format(user=user.key), paths


def deployer_policy(
    user: K8sUser, namespace: str, profiles: Profiles
) -> tuple[str, dict[str, list[str]]]:
    """The policy of one namespace's CI deployer (render/vault/deployer.yaml)."""
    spec = profiles.deployer_policy
    values = {
        "user": user.key,
        "namespace": namespace,
        "secrets_mount": profiles.settings["vault"]["kubernetes_secrets_mount"],
    }
    paths = {item["path"].format(**values): list(item["capabilities"]) for item in spec["paths"]}
    return spec["name"].format(**values), paths


def workstation_policy(row: RosterUser, profiles: Profiles) -> tuple[str, dict[str, list[str]]]:
    spec = profiles.workstation_policy
    paths = {
        item["path"].format(os_user=row.os_user): list(item["capabilities"])
        for item in spec["paths"]
    }
    return spec["name"].format(os_user=row.os_user), paths


class Review(NamedTuple):
    """A review file: its text (an HCL policy) or the data its YAML is written from (a role,
    an entity), and the input key that produced it. The audit reads a YAML file's data rather
    than parsing 20,000 files back, and the YAML itself is written only by the writers of the
    tree (`written`), not when the render is planned."""

    text: str  # the HCL text; "" for a YAML file
    source: str
    body: dict[str, Any] | None = None
    header: str = ""  # the input file a YAML file's header names

    def written(self) -> str:
        return self.text if self.body is None else dump(self.body, self.header)


class _Site(NamedTuple):
    """What every Vault object of a render shares, read once from the profile's `vault`."""

    auth: dict[str, str]  # how the operator logs in: in every resource, the same dict
    namespace: str  # the operator's namespace, where its resources live
    auth_mount: str
    secrets_mount: str
    account: str  # each tenant namespace's deployer service account
    audience: str
    ttl: int
    max_ttl: int
    creds_ttl: int
    creds_max_ttl: int


def _site(settings: dict[str, Any]) -> _Site:
    deployer = settings["deployer"]
    return _Site(
        auth={"path": settings["kubernetes_mount"], "role": settings["operator_role"]},
        namespace=settings["operator_namespace"],
        auth_mount=settings["kubernetes_mount"],
        secrets_mount=settings["kubernetes_secrets_mount"],
        account=deployer["service_account"],
        audience=deployer["audience"],
        # Seconds: vault-config-operator's CRD types tokenTTL and tokenMaxTTL as integers, and
        # Vault takes integers too; the profile may say `1h`.
        ttl=seconds(deployer["token_ttl"]),
        max_ttl=seconds(deployer["token_max_ttl"]),
        creds_ttl=seconds(deployer["credentials_ttl"]),
        creds_max_ttl=seconds(deployer["credentials_max_ttl"]),
    )


def render(
    inventory: Inventory, profiles: Profiles, sources: dict[str, str]
) -> tuple[dict[str, Review], list[Manifest]]:
    """Review files by path, and operator manifests."""
    site = _site(profiles.settings["vault"])
    k8s_source, roster_source = sources["k8s_users"], sources["roster"]
    files, manifests = _tenants(inventory, profiles, site, k8s_source)
    for row in inventory.roster:
        if not row.gets_claude_policy:
            continue
        name, paths = workstation_policy(row, profiles)
        path, review, manifest = _policy(
            name, paths, f"roster.users.{row.os_user}", roster_source, site
        )
        files[path] = review
        manifests.append(manifest)
    return files, manifests


def _tenants(
    inventory: Inventory, profiles: Profiles, site: _Site, k8s_source: str
) -> tuple[dict[str, Review], list[Manifest]]:
    """Each namespace-owner's policy, identity, and per namespace the CI deployer's policy,
    auth role and secrets-engine role: review files by path, and operator manifests."""
    files: dict[str, Review] = {}
    manifests: list[Manifest] = []
    config = inventory.config
    for user in inventory.users:
        if user.role != "namespace-owner":
            continue
        key = f"k8s_users.{user.key}"
        name, paths = owner_policy(user, profiles)
        path, review, manifest = _policy(name, paths, key, k8s_source, site)
        files[path] = review
        manifests.append(manifest)
        for ns in user.namespaces:
            role_name = f"{ns}-deployer"
            ci_policy, ci_paths = deployer_policy(user, ns, profiles)
            path, review, manifest = _policy(ci_policy, ci_paths, key, k8s_source, site)
            files[path] = review
            manifests.append(manifest)
            role, body = _auth_role(ns, role_name, ci_policy, site)
            path = f"vault/kubernetes-auth/role-{role_name}.yaml"
            files[path] = Review("", key, role, k8s_source)
            manifests.append(_operator(body, key))
            engine, body = _engine_role(ns, role_name, site)
            path = f"vault/kubernetes-secrets/role-{role_name}.yaml"
            files[path] = Review("", key, engine, k8s_source)
            manifests.append(_operator(body, key))
        # The OIDC role's user_claim: the email by default (seed §b.1).
        alias = user.claim_value(config.identity_claim)
        entity, entity_body, alias_body = _identity(user, alias, name, config.oidc_mount, site)
        path = f"vault/identity/entity-{slug(user.key)}.yaml"
        files[path] = Review("", key, entity, k8s_source)
        manifests.append(_operator(entity_body, key))
        manifests.append(_operator(alias_body, key))
    return files, manifests


def _operator(body: dict[str, Any], source: str) -> Manifest:
    """A vault-config-operator resource, placed by its kind and name."""
    kind, name = body["kind"], body["metadata"]["name"]
    return Manifest(
        path=f"vault/operator/{kind.lower()}-{name}.yaml",
        kind=kind,
        name=name,
        namespace=body["metadata"]["namespace"],
        body=body,
        source=source,
    )


def _policy(
    name: str, paths: dict[str, list[str]], key: str, file_source: str, site: _Site
) -> tuple[str, Review, Manifest]:
    """A policy's review file (path and content) and its operator resource, whose embedded
    HCL is the review file's text."""
    text = hcl(paths, file_source)
    body = obj(
        VCO,
        "Policy",
        metadata(slug(name), site.namespace),
        # `type: acl`: the operator's CRD (v0.8.52) also writes other policy types.
        spec={"authentication": site.auth, "policy": text, "type": "acl"},
    )
    return f"vault/policies/{name}.hcl", Review(text, key), _operator(body, key)


def _auth_role(
    ns: str, role_name: str, ci_policy: str, site: _Site
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deployer's Kubernetes auth role of one namespace: its review data and its operator
    resource. The namespace's own service account: a role shared by tenants would let any of
    their pipelines log in as every tenant (the client picks the role)."""
    role = {
        "audience": site.audience,
        "bound_service_account_names": [site.account],
        "bound_service_account_namespaces": [ns],
        "name": role_name,
        "path": f"auth/{site.auth_mount}/role/{role_name}",
        "policies": [ci_policy],
        "token_max_ttl": site.max_ttl,
        "token_ttl": site.ttl,
    }
    body = obj(
        VCO,
        "KubernetesAuthEngineRole",
        metadata(role_name, site.namespace),
        spec={
            "audience": site.audience,
            "authentication": site.auth,
            "path": site.auth_mount,
            "policies": [ci_policy],
            "targetNamespaces": {"targetNamespaces": [ns]},
            "targetServiceAccounts": [site.account],
            "tokenMaxTTL": site.max_ttl,
            "tokenTTL": site.ttl,
        },
    )
    return role, body


def _engine_role(ns: str, role_name: str, site: _Site) -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed's secrets-engine role (b.2) of one namespace, its review data and operator
    resource: kubernetes/creds/<ns>-deployer mints a token bound to the Role <ns>-deployer of
    this namespace alone."""
    engine = {
        "allowed_kubernetes_namespaces": [ns],
        "kubernetes_role_name": role_name,
        "kubernetes_role_type": "Role",
        "name": role_name,
        "path": f"{site.secrets_mount}/roles/{role_name}",
        "token_default_ttl": site.creds_ttl,
        "token_max_ttl": site.creds_max_ttl,
    }
    body = obj(
        VCO,
        "KubernetesSecretEngineRole",
        metadata(role_name, site.namespace),
        spec={
            "allowedKubernetesNamespaces": [ns],
            "authentication": site.auth,
            # Durations: this CRD types its TTLs as strings (metav1.Duration),
            # unlike the auth role's integers.
            "defaultTTL": f"{site.creds_ttl}s",
            "kubernetesRoleName": role_name,
            "kubernetesRoleType": "Role",
            "maxTTL": f"{site.creds_max_ttl}s",
            "path": site.secrets_mount,
            "targetNamespaces": {"targetNamespaces": [ns]},
        },
    )
    return engine, body


def _identity(
    user: K8sUser, alias: str, policy: str, mount: str, site: _Site
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A tenant's entity (review data) and its operator resources: the Entity, granted the
    owner policy, and its alias on the OIDC mount."""
    entity = {
        "aliases": [{"mount": mount, "name": alias}],
        "metadata": {"k8s_user": user.key, "tier": user.role},
        "name": user.key,
        "policies": [policy],
    }
    entity_body = obj(
        VCO,
        "Entity",
        metadata(slug(user.key), site.namespace),
        spec={
            "authentication": site.auth,
            "metadata": entity["metadata"],
            "name": user.key,
            "policies": [policy],
        },
    )
    alias_body = obj(
        VCO,
        "EntityAlias",
        metadata(f"{slug(user.key)}-{mount}", site.namespace),
        spec={
            "authEngineMountPath": mount,
            "authentication": site.auth,
            "entityName": user.key,
            "name": alias,
        },
    )
    return entity, entity_body, alias_body
