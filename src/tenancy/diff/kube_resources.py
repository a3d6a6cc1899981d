"""The Kubernetes resource table, and how a resource is named on the command line. Pure.

`tenancy who-can` names resources as kubectl does: plural (`deployments`), singular
(`deployment`), short name (`deploy`), group-qualified (`deployments.apps`,
`deployments.v1.apps`), with a subresource (`pods/exec`, `deployments.apps/scale`). Which names
exist is a recorded fact, not a guess: the built-in resources of the pinned Kubernetes version
are in `schemas/kubernetes-resources.json`, written by `scripts/kube-resources.py` from the test
API server's discovery (tests/integration/test_access_matrix.py compares the two, so the table
cannot drift silently); the custom kinds are read from the CRD facts in schemas/crds/. See
docs/tier-contract.md for what the access model answers with it.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from typing import Any, NamedTuple

from tenancy.render.checks import crd_schema
from tenancy.resources import data_dir

_TABLE = data_dir("schemas") / "kubernetes-resources.json"

#: Resources the RBAC authorizer checks that no API serves (so discovery does not list them):
#: impersonation targets and certificate signers. From the Kubernetes docs "Authorization"
#: (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation,
#: .../certificate-signing-requests/#authorization).
_AUTHORIZATION_ONLY: tuple[dict[str, Any], ...] = (
    {"group": "", "name": "users", "singular": "user", "verbs": ["impersonate"]},
    {"group": "", "name": "groups", "singular": "group", "verbs": ["impersonate"]},
    {"group": "", "name": "uids", "singular": "uid", "verbs": ["impersonate"]},
    {
        "group": "authentication.k8s.io",
        "name": "userextras",
        "singular": "userextra",
        "verbs": ["impersonate"],
    },
    {
        "group": "certificates.k8s.io",
        "name": "signers",
        "singular": "signer",
        "verbs": ["approve", "attest", "sign"],
    },
)
#: Verbs that only the authorizer knows (no API endpoint is named after them): `bind` and
#: `escalate` on roles, `impersonate` on identities, `approve`/`sign`/`attest` on signers, `use`
#: on policies of admission plugins.
SPECIAL_VERBS = ("approve", "attest", "bind", "escalate", "impersonate", "sign", "use")


class ResourceType(NamedTuple):
    """One kind of resource the API server serves (or the authorizer checks)."""

    group: str
    name: str  # the plural: what RBAC rules and URLs use
    singular: str
    short_names: tuple[str, ...]
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    subresources: tuple[str, ...]
    versions: tuple[str, ...]

    @property
    def qualified(self) -> str:
        """kubectl's unambiguous name: `secrets`, `deployments.apps`."""
        return self.name if not self.group else f"{self.name}.{self.group}"


class ResourceRef(NamedTuple):
    """What a request names: the attributes a SubjectAccessReview carries."""

    group: str
    resource: str
    subresource: str = ""
    namespaced: bool = True

    def __str__(self) -> str:
        name = self.resource if not self.group else f"{self.resource}.{self.group}"
        return f"{name}/{self.subresource}" if self.subresource else name


def _entry(raw: dict[str, Any]) -> ResourceType:
    return ResourceType(
        group=raw["group"],
        name=raw["name"],
        singular=raw.get("singular") or raw["name"],
        short_names=tuple(raw.get("shortNames", ())),
        kind=raw.get("kind", ""),
        namespaced=bool(raw.get("namespaced", False)),
        verbs=tuple(raw.get("verbs", ())),
        subresources=tuple(sorted(raw.get("subresources", {}))),
        versions=tuple(raw.get("versions", ())),
    )


def builtin(text: str) -> tuple[str, tuple[ResourceType, ...]]:
    """The Kubernetes version and built-in resources of a recorded table
    (schemas/kubernetes-resources.json)."""
    data = json.loads(text)
    return data["kubernetes"], tuple(_entry(r) for r in data["resources"])


def custom(crd: dict[str, Any]) -> ResourceType:
    """A custom kind from its CRD facts: names, scope, served versions and subresources."""
    spec = crd["spec"]
    names = spec["names"]
    versions = [v for v in spec["versions"] if v.get("served", True)]
    subresources = sorted({s for v in versions for s in v.get("subresources", {})})
    return ResourceType(
        group=spec["group"],
        name=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        short_names=tuple(sorted(names.get("shortNames", ()))),
        kind=names["kind"],
        namespaced=spec["scope"] == "Namespaced",
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        subresources=tuple(subresources),
        versions=tuple(sorted(v["name"] for v in versions)),
    )


@cache
def table() -> tuple[ResourceType, ...]:
    """Every resource tenancy knows: built-in, authorization-only, then the custom kinds."""
    _, found = builtin(_TABLE.read_text(encoding="utf-8"))
    extra = tuple(_entry({**r, "namespaced": False}) for r in _AUTHORIZATION_ONLY)
    crds = tuple(
        custom(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(crd_schema.folder().glob("*.json"))
    )
    return found + extra + crds


@cache
def verbs() -> frozenset[str]:
    """Every verb the authorizer can be asked about, `*` included."""
    known = {v for r in table() for v in r.verbs} | set(SPECIAL_VERBS) | {"*"}
    # Subresources take the verbs of their endpoints, all of which are resource verbs above.
    return frozenset(known)


def _names(entry: ResourceType) -> tuple[str, ...]:
    return (entry.name, entry.singular, *entry.short_names, entry.kind.lower())


def _candidates(resources: tuple[ResourceType, ...], name: str) -> list[ResourceType]:
    # kubectl prefers the core group when a bare name is ambiguous (`events`).
    found = [r for r in resources if name in _names(r)]
    return sorted(found, key=lambda r: r.group != "")


def resolve(text: str, resources: tuple[ResourceType, ...] | None = None) -> ResourceRef | None:
    """The resource `text` names, as kubectl resolves it, or None when nothing has that name.

    `RESOURCE[.VERSION][.GROUP][/SUBRESOURCE]`; RESOURCE is a plural, singular, short name or
    kind; `*` is every resource of every group (`*.apps` of one group)."""
    resources = table() if resources is None else resources
    base, _, sub = text.strip().lower().partition("/")
    name, _, rest = base.partition(".")
    if name == "*":
        if sub:
            return None  # RBAC has `*/scale` rules, but no request names `*/scale`
        # `*.core` is the core group's wildcard, as tenancy.diff.access.resource_name writes it.
        return ResourceRef("" if rest == "core" else rest or "*", "*", "", True)
    matches = _candidates(resources, name)
    if rest:
        version, _, group = rest.partition(".")
        matches = [
            r for r in matches if r.group == rest or (group == r.group and version in r.versions)
        ]
    if not matches:
        return None
    entry = matches[0]
    if sub and sub not in entry.subresources:
        return None
    return ResourceRef(entry.group, entry.name, sub, entry.namespaced)


def suggest(text: str, resources: tuple[ResourceType, ...] | None = None) -> str | None:
    """The known resource name closest to an unknown `text`, for a hint."""
    resources = table() if resources is None else resources
    base, _, sub = text.strip().lower().partition("/")
    if sub:
        parent = resolve(base, resources)
        if parent is not None:
            subs = next(r.subresources for r in resources if (r.group, r.name) == parent[:2])
            close = difflib.get_close_matches(sub, subs, n=1)
            return f"{base}/{close[0]}" if close else None
    names = sorted({n for r in resources for n in (*_names(r), r.qualified)})
    close = difflib.get_close_matches(base, names, n=1)
    return close[0] if close else None


def suggest_verb(verb: str) -> str | None:
    close = difflib.get_close_matches(verb.lower(), sorted(verbs()), n=1)
    return close[0] if close else None
