"""What `tenancy cluster` decides, apart from talking to the server. Pure.

- `objects` and `phases`: the Kubernetes objects of a rendered tree, in the order a sync
  applies them (CRDs, then Namespaces, then everything else), each with its file so that a
  rejection is reported where the object was rendered;
- `rejection`: the API server's refusal of one object as a diagnostic at the file and line
  of the field it names;
- `shadow`: bindings in the live cluster that give a person tenancy knows access tenancy did
  not render, with what they grant.

The judge of a rendered object is the API server (DESIGN.md, "Proof by the consumers"); this
module only places its answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tenancy.errors import Diagnostic, Location
from tenancy.inputs.load import Document

#: Applied one phase after another, as Argo CD and Flux order a sync: a CRD must be
#: established before its resources, a Namespace must exist before what lives in it.
PHASES = (("CustomResourceDefinition",), ("Namespace",))
_FIELD_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")
#: Server-side apply refuses a patch that does not fit the schema before validation runs, with
#: no `causes`: the field is only in the message ("... typed patch object (...): .spec.x: ...").
_PATCH_FIELD = re.compile(r"\): \.([^:\s]+): ")


@dataclass(frozen=True, slots=True)
class TreeObject:
    """One object of the rendered tree and the document it was read from."""

    document: Document

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = self.document.data
        return data

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.body.get("metadata", {}).get("namespace")
        return str(namespace) if namespace else None

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}"


def is_object(data: Any) -> bool:
    """A Kubernetes object a sync applies: apiVersion, kind and a name, and not a
    kustomization (kustomize's own file, which the sync tools read, never apply)."""
    if not isinstance(data, dict):
        return False
    api = data.get("apiVersion")
    metadata = data.get("metadata")
    return (
        isinstance(api, str)
        and isinstance(data.get("kind"), str)
        and isinstance(metadata, dict)
        and isinstance(metadata.get("name"), str)
        and not api.startswith("kustomize.config.k8s.io/")
    )


def phases(objects: Iterable[TreeObject]) -> list[list[TreeObject]]:
    """The objects in sync order: each phase after the one before; within a phase, by file."""
    ordered = sorted(objects, key=lambda o: o.document.path)
    out: list[list[TreeObject]] = [[] for _ in range(len(PHASES) + 1)]
    for item in ordered:
        rank = next((i for i, kinds in enumerate(PHASES) if item.kind in kinds), len(PHASES))
        out[rank].append(item)
    return [phase for phase in out if phase]


def field_path(field: str) -> list[str | int]:
    """The API server's field name (`spec.rules[0].verbs`, `metadata.labels[a/b]`) as a JSON
    path into the object."""
    path: list[str | int] = []
    for name, inside in _FIELD_STEP.findall(field):
        if name:
            path.append(name)
        elif inside.isdigit():
            path.append(int(inside))
        else:
            path.append(inside)
    return path


def rejection(item: TreeObject, status: int, body: Mapping[str, Any], *, code: str) -> Diagnostic:
    """The server's refusal (a `Status`) as one error at the field it names, else the object."""
    message = " ".join(str(body.get("message") or f"HTTP {status}").split())
    causes = (body.get("details") or {}).get("causes") or []
    fields = [str(c["field"]) for c in causes if isinstance(c, dict) and c.get("field")]
    if not fields and (found := _PATCH_FIELD.search(message)):
        fields = [found.group(1)]
    location = item.document.locate(field_path(fields[0]) if fields else [])
    details = body.get("details") or {}
    hint = None
    if status == 404 and details.get("kind") == "namespaces":
        hint = (
            f"namespace {details.get('name')} is neither in the cluster nor rendered: the "
            "platform creates it (with the controller that reads this object)"
        )
    return Diagnostic(
        location=location,
        severity="error",
        code=code,
        message=f"{item.describe()}: the API server refused it ({status}): {message[:600]}",
        hint=hint,
        source="cluster",
    )


def missing_kind(item: TreeObject, *, code: str) -> Diagnostic:
    return Diagnostic(
        location=item.document.locate(["apiVersion"], at="value"),
        severity="error",
        code=code,
        message=f"{item.describe()}: the cluster does not serve {item.api_version} "
        f"{item.kind} (its CustomResourceDefinition is not installed)",
        hint="install the CRD (schemas/crds/ names the upstream version tenancy renders for)",
        source="cluster",
    )


def new_namespace(namespace: TreeObject, count: int) -> Diagnostic:
    """The objects a dry run cannot reach: the server refuses any request inside a namespace
    it does not have, and a dry run never creates one."""
    return Diagnostic(
        location=namespace.document.locate(["metadata", "name"], at="value"),
        severity="info",
        code="cluster-namespace-new",
        message=f"Namespace {namespace.name} does not exist yet: its {count} object(s) were "
        "not dry-run (a sync creates the Namespace first, then applies them)",
        source="cluster",
    )


# --- shadow access ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Binding:
    """A (Cluster)RoleBinding as the API server holds it, reduced to what grants access."""

    kind: str  # RoleBinding | ClusterRoleBinding
    namespace: str | None
    name: str
    role_kind: str  # Role | ClusterRole
    role: str
    users: tuple[str, ...]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Binding:
        metadata = body.get("metadata") or {}
        ref = body.get("roleRef") or {}
        subjects = body.get("subjects") or []
        return cls(
            kind=str(body.get("kind", "")),
            namespace=metadata.get("namespace"),
            name=str(metadata.get("name", "")),
            role_kind=str(ref.get("kind", "")),
            role=str(ref.get("name", "")),
            users=tuple(
                sorted(
                    str(s.get("name"))
                    for s in subjects
                    if isinstance(s, dict) and s.get("kind") == "User"
                )
            ),
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)

    @property
    def scope(self) -> str:
        if self.kind == "ClusterRoleBinding":
            return "cluster-wide"
        return f"namespace {self.namespace}"


@dataclass(frozen=True, slots=True)
class Shadow:
    """Access a live binding gives a known person that tenancy did not render."""

    binding: Binding
    person: str
    identity: str
    grants: tuple[str, ...]  # "verbs on resources", one line per rule


def shadow(
    live: Iterable[Binding],
    rendered: Iterable[Binding],
    identities: Mapping[str, str],
    rules: Mapping[tuple[str, str | None, str], list[dict[str, Any]]],
) -> list[Shadow]:
    """Every live binding naming a known identity (username -> person) that tenancy did not
    render as it is: absent from the render, or rendered with other subjects or another role.

    `rules` maps (role kind, role namespace, role name) to the live role's rules."""
    mine = {b.key: b for b in rendered}
    out = []
    for binding in sorted(live, key=lambda b: b.key):
        expected = mine.get(binding.key)
        extra = set(binding.users)
        if expected is not None and (expected.role_kind, expected.role) == (
            binding.role_kind,
            binding.role,
        ):
            extra -= set(expected.users)
        role_ns = binding.namespace if binding.role_kind == "Role" else None
        grants = describe_rules(rules.get((binding.role_kind, role_ns, binding.role)))
        out += [
            Shadow(binding, identities[user], user, grants)
            for user in sorted(extra)
            if user in identities
        ]
    return out


def describe_rules(rules: list[dict[str, Any]] | None) -> tuple[str, ...]:
    """One readable line per rule: `get, list secrets, configmaps` (group-qualified)."""
    if rules is None:
        return ("(the role does not exist: nothing until someone creates it)",)
    lines = []
    for rule in rules:
        verbs = ", ".join(rule.get("verbs") or [])
        if rule.get("nonResourceURLs"):
            lines.append(f"{verbs} on URLs {', '.join(rule['nonResourceURLs'])}")
            continue
        groups = rule.get("apiGroups") or [""]
        resources = [
            r if g == "" else f"{r}.{g}" for g in groups for r in rule.get("resources") or []
        ]
        names = rule.get("resourceNames")
        only = f" (only {', '.join(names)})" if names else ""
        lines.append(f"{verbs} on {', '.join(resources)}{only}")
    return tuple(lines) or ("(no rules)",)


def shadow_diagnostic(found: Shadow) -> Diagnostic:
    binding = found.binding
    where = f"{binding.namespace}/" if binding.namespace else ""
    return Diagnostic(
        location=Location(f"cluster:{binding.kind}/{where}{binding.name}"),
        severity="error",
        code="cluster-shadow-access",
        message=f"{binding.kind} {where}{binding.name} gives {found.person} "
        f"({found.identity}) {binding.role_kind} {binding.role} {binding.scope}, which "
        f"tenancy did not render: {'; '.join(found.grants)}",
        hint="remove the binding, or give the access through tenants/ so it is reviewed",
        source="cluster",
    )
