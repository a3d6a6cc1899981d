"""Effective access per person, computed from the rendered objects. Pure.

Kubernetes: every (Cluster)RoleBinding whose subject is the person's identity, resolved through
the rendered ClusterRoles (built-in roles by their documented meaning), expanded to verb x
resource x scope. Vault: the HCL of every policy the person's identity entity carries, plus the
workstation policy of each roster row that joins to them. The committed manifests are not read.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tenancy.model import Inventory, K8sUser, Manifest, Permission, Person, VaultGrant
from tenancy.render.plan import Rendered
from tenancy.render.plan.vault import parse_hcl

#: Built-in ClusterRoles a binding may name that tenancy does not render.
BUILTIN_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
}


#: How the core group's own wildcard is written: a bare `*` is every resource of every group
#: (what cluster-admin holds, and what `tenancy diff` has always shown), so the rarer "every
#: core resource" needs a group name; Kubernetes calls the core group `core` in its docs.
CORE_WILDCARD = "*.core"


def resource_name(group: str, resource: str) -> str:
    """A rule's (apiGroup, resource) in kubectl's naming: `secrets`, `pods/exec`,
    `deployments.apps`, `deployments.apps/scale`. Wildcards stay the rule's: `*` every resource
    of every group, `*.apps` every resource of apps, `pods.*` pods of every group, `*.core`
    every core resource, `*/scale` that subresource of every resource of every group."""
    base, _, sub = resource.partition("/")
    if base == "*" and group in ("", "*"):
        name = CORE_WILDCARD if group == "" else "*"
    else:
        name = base if group == "" else f"{base}.{group}"
    return f"{name}/{sub}" if sub else name


def split_resource(name: str) -> tuple[str, str, str]:
    """The inverse of `resource_name`: (group, resource, subresource). Plural resource names
    never hold a dot, so the group is everything after the first one."""
    base, _, sub = name.partition("/")
    if base == "*":
        return "*", "*", sub
    if base == CORE_WILDCARD:
        return "", "*", sub
    resource, _, group = base.partition(".")
    return group, resource, sub


def expand(rules: list[dict[str, Any]], scope: str) -> set[Permission]:
    grants = set()
    for rule in rules:
        names = tuple(sorted(rule.get("resourceNames", ())))
        for group in rule.get("apiGroups", [""]):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    grants.add(Permission(scope, resource_name(group, resource), verb, names))
    return grants


def allows(
    grant: Permission,
    *,
    verb: str,
    group: str,
    resource: str,
    subresource: str = "",
    name: str = "",
    namespace: str = "",
) -> bool:
    """Whether one grant allows a request, by the RBAC authorizer's rule matching
    (k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go: VerbMatches, APIGroupMatches,
    ResourceMatches, ResourceNameMatches). A request without a namespace (cluster-scoped, or
    across all namespaces) is allowed only by a cluster-wide grant; a RoleBinding's grant
    applies in its own namespace only."""
    if grant.scope not in ("cluster", namespace):
        return False
    if grant.verb not in ("*", verb):
        return False
    rule_group, rule_resource, rule_sub = split_resource(grant.resource)
    if rule_group not in ("*", group):
        return False
    wanted = f"{resource}/{subresource}" if subresource else resource
    held = f"{rule_resource}/{rule_sub}" if rule_sub else rule_resource
    # `*` is every resource and every subresource; `*/scale` one subresource of every resource.
    if held not in ("*", wanted) and not (subresource and held == f"*/{subresource}"):
        return False
    # resourceNames restrict to named objects: a request without a name (list, create) is
    # never allowed by such a rule.
    return not grant.names or name in grant.names


def vault_priority(pattern: str) -> tuple[int, int, int, int, str]:
    """A Vault policy path's priority among the paths that match one request: higher wins.

    Vault's rules, from https://developer.hashicorp.com/vault/docs/concepts/policies ("Priority
    matching"): for matching paths P1 and P2, P1 is lower priority (1) if its first `+` or `*`
    occurs earlier, (2) if it ends in `*` and P2 does not, (3) if it has more `+` segments,
    (4) if it is shorter, (5) if it is smaller lexicographically. A path without any wildcard
    (an exact match) outranks every pattern."""
    first = min((i for i in (pattern.find("+"), pattern.find("*")) if i >= 0), default=-1)
    return (
        first if first >= 0 else 1 << 30,
        0 if pattern.endswith("*") else 1,
        -pattern.count("+"),
        len(pattern),
        pattern,
    )


def vault_matches(pattern: str, path: str) -> bool:
    """Vault's ACL glob: a trailing `*` matches any suffix (a prefix match, across `/`), a `+`
    one whole path segment; everything else matches itself (same doc page as above)."""
    glob = pattern.endswith("*")
    parts = (pattern[:-1] if glob else pattern).split("/")
    given = path.split("/")
    if len(given) < len(parts) or (not glob and len(given) != len(parts)):
        return False
    head = parts[:-1] if glob else parts
    if not all(p == g or (p == "+" and g != "") for p, g in zip(head, given, strict=False)):
        return False
    if not glob:
        return True
    # The glob's own segment is a prefix of the rest of the path, `/` included.
    last, rest = parts[-1], "/".join(given[len(head) :])
    return rest != "" if last == "+" else rest.startswith(last)


def vault_capabilities(grants: frozenset[VaultGrant], path: str) -> frozenset[str]:
    """What a token with these grants may do on `path`: the capabilities of the
    highest-priority matching policy path (capabilities of one path are merged across
    policies); `deny` on it takes everything away."""
    by_path: dict[str, set[str]] = defaultdict(set)
    for grant in grants:
        by_path[grant.path].add(grant.capability)
    matching = [p for p in by_path if vault_matches(p, path)]
    if not matching:
        return frozenset()
    capabilities = by_path[max(matching, key=vault_priority)]
    return frozenset() if "deny" in capabilities else frozenset(capabilities)


def people(inventory: Inventory, rendered: Rendered) -> dict[str, Person]:
    roles: dict[str, list[dict[str, Any]]] = dict(BUILTIN_ROLES)
    bindings: list[Manifest] = []
    policies: dict[str, dict[str, tuple[str, ...]]] = {}
    entities: dict[str, list[str]] = {}
    rendered_storage: dict[str, str] = {}
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
        elif manifest.kind == "ResourceQuota" and manifest.name == "user-quota":
            # What the cluster enforces: a storage quota left unset is the tier's default.
            storage = body["spec"]["hard"].get("requests.storage")
            if storage is not None:
                rendered_storage[str(manifest.namespace)] = str(storage)

    by_identity: dict[str, set[Permission]] = defaultdict(set)
    # Thousands of bindings, a few roles: each role is expanded once.
    pairs: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for binding in bindings:
        name = binding.body["roleRef"]["name"]
        scope = "cluster" if binding.kind == "ClusterRoleBinding" else str(binding.namespace)
        if name not in pairs:
            pairs[name] = [(g.resource, g.verb, g.names) for g in expand(roles.get(name, []), "")]
        grants = {Permission(scope, r, verb, names) for r, verb, names in pairs[name]}
        for subject in binding.body.get("subjects", []):
            if subject.get("kind") == "User":
                by_identity[subject["name"]] |= grants

    rows_by_user: dict[str, list[Any]] = defaultdict(list)
    for row in inventory.roster:
        rows_by_user[row.k8s_user].append(row)
    out: dict[str, Person] = {}
    users = {u.key: u for u in inventory.users}  # one lookup per person, not a scan
    ids = sorted(set(users) | set(rows_by_user))
    for person_id in ids:
        user = users.get(person_id)
        rows = rows_by_user.get(person_id, [])
        vault: set[VaultGrant] = set()
        policy_names = list(entities.get(person_id, []))
        policy_names += [
            f"workstation-claude-{row.os_user}" for row in rows if row.gets_claude_policy
        ]
        for name in policy_names:
            # Policy resources carry the object-name form of the policy name.
            for path, capabilities in policies.get(name.replace("_", "-"), {}).items():
                vault |= {VaultGrant(path, c) for c in capabilities}
        out[person_id] = Person(
            id=person_id,
            role=user.role if user else None,
            roster_tiers=tuple(sorted({row.tier for row in rows})),
            os_users=tuple(sorted(row.os_user for row in rows)),
            email=user.email if user else None,
            namespaces=user.namespaces if user else (),
            domains=user.domains if user else (),
            quota=_quota(user, rendered_storage),
            k8s=frozenset(
                by_identity.get(inventory.config.username(user), set()) if user else set()
            ),
            vault=frozenset(vault),
        )
    return out


def _quota(user: K8sUser | None, rendered_storage: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A namespace-owner's quota by input key. Storage is what the rendered quota holds (the
    user's own, else the tier's default), so going back to the default is a change too."""
    if user is None or user.quota is None:
        return ()
    q = user.quota
    items = [
        ("cpu_requests", q.cpu_requests),
        ("memory_requests", q.memory_requests),
        ("memory_limits", q.memory_limits),
        ("pods", q.pods),
    ]
    storage = q.storage
    if storage is None and user.namespaces:
        storage = rendered_storage.get(user.namespaces[0])
    if storage is not None:
        items.append(("storage", storage))
    return tuple(sorted(items))
