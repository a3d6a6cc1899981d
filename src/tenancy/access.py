"""Effective access per person, computed from the rendered objects. Pure.

Kubernetes: every (Cluster)RoleBinding whose subject is the person's identity, resolved through
the rendered ClusterRoles (built-in roles by their documented meaning), expanded to verb x
resource x scope. Vault: the HCL of every policy the person's identity entity carries, plus the
workstation policy of each roster row that joins to them. The committed manifests are not read.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from tenancy.model import Inventory, Manifest, Permission, Person, VaultGrant
from tenancy.render import Rendered

#: Built-in ClusterRoles a binding may name that tenancy does not render.
BUILTIN_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
}
_POLICY = re.compile(r'^path ("(?:[^"\\]|\\.)*") \{\n  capabilities = \[(.*)\]\n\}$', re.MULTILINE)


def parse_hcl(text: str) -> dict[str, tuple[str, ...]]:
    """Paths and capabilities of a policy in tenancy's canonical HCL form.

    The quoted strings are JSON strings; all of a policy's are decoded in one `json.loads`
    (one call per string was most of the audit's input building at 10,000 users)."""
    blocks = _POLICY.findall(text)
    if not blocks:
        return {}
    decoded = json.loads("[" + ",".join(f"[{path},[{caps}]]" for path, caps in blocks) + "]")
    return {path: tuple(caps) for path, caps in decoded}


def _resource(group: str, resource: str) -> str:
    """kubectl's naming: `secrets`, `deployments.apps`; `*` for everything in every group."""
    if group == "" or (group == "*" and resource == "*"):
        return resource
    return f"{resource}.{group}"


def expand(rules: list[dict[str, Any]], scope: str) -> set[Permission]:
    grants = set()
    for rule in rules:
        for group in rule.get("apiGroups", [""]):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    grants.add(Permission(scope, _resource(group, resource), verb))
    return grants


def people(inventory: Inventory, rendered: Rendered) -> dict[str, Person]:
    roles: dict[str, list[dict[str, Any]]] = dict(BUILTIN_ROLES)
    bindings: list[Manifest] = []
    policies: dict[str, dict[str, tuple[str, ...]]] = {}
    entities: dict[str, list[str]] = {}
    for manifest in rendered.manifests:
        body = manifest.body
        if manifest.kind == "ClusterRole":
            roles[manifest.name] = body.get("rules", [])
        elif manifest.kind in ("ClusterRoleBinding", "RoleBinding"):
            bindings.append(manifest)
        elif manifest.kind == "Policy" and manifest.path.startswith("vault/"):
            policies[manifest.name] = parse_hcl(body["spec"]["policy"])
        elif manifest.kind == "Entity" and manifest.path.startswith("vault/"):
            entities[body["spec"]["name"]] = list(body["spec"].get("policies", []))

    by_identity: dict[str, set[Permission]] = defaultdict(set)
    pairs: dict[str, list[tuple[str, str]]] = {}  # thousands of bindings, a few roles
    for binding in bindings:
        name = binding.body["roleRef"]["name"]
        scope = "cluster" if binding.kind == "ClusterRoleBinding" else str(binding.namespace)
        if name not in pairs:
            pairs[name] = [(g.resource, g.verb) for g in expand(roles.get(name, []), "")]
        grants = {Permission(scope, resource, verb) for resource, verb in pairs[name]}
        for subject in binding.body.get("subjects", []):
            if subject.get("kind") == "User":
                by_identity[subject["name"]] |= grants

    rows_by_user: dict[str, list[Any]] = defaultdict(list)
    for row in inventory.roster:
        rows_by_user[row.k8s_user].append(row)
    prefix = inventory.config.identity_prefix
    out: dict[str, Person] = {}
    ids = sorted({u.key for u in inventory.users} | set(rows_by_user))
    for person_id in ids:
        user = inventory.user(person_id)
        rows = rows_by_user.get(person_id, [])
        vault: set[VaultGrant] = set()
        policy_names = list(entities.get(person_id, []))
        policy_names += [f"workstation-claude-{row.os_user}" for row in rows]
        for name in policy_names:
            # Policy resources carry the object-name form of the policy name.
            for path, capabilities in policies.get(name.replace("_", "-"), {}).items():
                vault |= {VaultGrant(path, c) for c in capabilities}
        quota: tuple[tuple[str, str], ...] = ()
        if user is not None and user.quota is not None:
            q = user.quota
            items = [
                ("cpu_requests", q.cpu_requests),
                ("memory_requests", q.memory_requests),
                ("memory_limits", q.memory_limits),
                ("pods", q.pods),
            ]
            if q.storage is not None:
                items.append(("storage", q.storage))
            quota = tuple(sorted(items))
        out[person_id] = Person(
            id=person_id,
            role=user.role if user else None,
            roster_tiers=tuple(sorted({row.tier for row in rows})),
            os_users=tuple(sorted(row.os_user for row in rows)),
            email=user.email if user else None,
            namespaces=user.namespaces if user else (),
            domains=user.domains if user else (),
            quota=quota,
            k8s=frozenset(by_identity.get(user.identity(prefix), set()) if user else set()),
            vault=frozenset(vault),
        )
    return out
