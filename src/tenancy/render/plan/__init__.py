"""Plan the inventory into the manifests tree. Pure: every object and file decided, never
written (`plan` returns a `Plan`; `render` also makes every file's text).

The render's plan stage (`tenancy.render.command`: model -> **plan** -> write | compare).
Determinism is written down here:
one object per file at a path derived from its kind and name, objects built in canonical key
order, order-free lists sorted, one dumper (`render/yaml.py`), a generated-file header without
revision or timestamp, and an index of every file with its sha256 and the input key that
produced it. Names come only from validated input.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from json.encoder import encode_basestring_ascii
from typing import Any, Protocol

from tenancy.errors import Diagnostic, Location
from tenancy.model import Inventory, Manifest
from tenancy.render.plan import kubernetes, quarantine, sync, vault
from tenancy.render.plan.profiles import Profiles
from tenancy.render.yaml import dump

INDEX = "INDEX.json"
#: Install order for anything that lists objects (helm's InstallOrder, trimmed to our kinds).
KIND_ORDER = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "Role",
    "RoleBinding",
    "Certificate",
    "DNSEndpoint",
)


class Tree(Protocol):
    """What the checks read of a render, written (`Rendered`) or only planned (`Plan`)."""

    @property
    def manifests(self) -> tuple[Manifest, ...]: ...
    @property
    def files(self) -> Mapping[str, str]: ...
    @property
    def sources(self) -> dict[str, str]: ...
    @property
    def data(self) -> dict[str, dict[str, Any]]: ...
    def objects(self, kinds: frozenset[str] | None) -> list[Manifest]:
        """The objects of `kinds` (all when None) whose file is in the tree, in install order
        (a plan leaves out the second of two objects that collide on one path)."""
        ...

    def vault_paths(self) -> list[str]:
        """The paths of the Vault review files, sorted."""
        ...


@dataclass(frozen=True, slots=True)
class Rendered:
    files: dict[str, str]  # path -> text, sorted by path; includes INDEX.json
    manifests: tuple[Manifest, ...]  # every Kubernetes-shaped object, for the audit stage
    sources: dict[str, str]  # path -> input key that produced it
    #: Each kustomization's `resources` as rendered, by folder (what its file lists).
    kustomizations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: sha256 of every file's UTF-8 bytes, as INDEX.json lists them (and INDEX.json's own).
    digests: dict[str, str] = field(default_factory=dict)
    #: The data each YAML review file (Vault roles, entities) was dumped from by the one
    #: emitter, whose output reads back as exactly this data (tests/unit/render/test_yaml.py).
    data: dict[str, dict[str, Any]] = field(default_factory=dict)

    def objects(self, kinds: frozenset[str] | None) -> list[Manifest]:
        files = self.files
        return [m for m in self.manifests if m.path in files and (kinds is None or m.kind in kinds)]

    def vault_paths(self) -> list[str]:
        return [path for path in self.files if path.startswith("vault/")]


#: What a planned file is made from: an object, a review file, or a kustomization's listing.
Owner = Manifest | vault.Review | tuple[str, ...]


class Texts(Mapping[str, str]):
    """The text of every planned file, written on first use and kept.

    The checks of a render start from its plan in a forked child while the parent writes the
    whole tree; they need the text of only a few files (the Vault policies, which are text
    already, a few kustomizations, the files a finding points at), so they write just those,
    with the same emitter and therefore the same bytes."""

    def __init__(self, owners: dict[str, Owner], names: dict[str, str]) -> None:
        self._owners = owners
        self._names = names
        self._written: dict[str, str] = {}
        self._sorted: list[str] | None = None

    def __getitem__(self, path: str) -> str:
        text = self._written.get(path)
        if text is None:
            text = _text(self._owners[path], self._names)
            self._written[path] = text
        return text

    def __contains__(self, path: object) -> bool:
        return path in self._owners

    def __iter__(self) -> Iterator[str]:
        # By path, as a written tree's files are: what the checks build from them is the same.
        if self._sorted is None:
            self._sorted = sorted(self._owners)
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._owners)


@dataclass(frozen=True, slots=True)
class Plan:
    """A render decided but not written: every object and file, what produced each, and the
    problems found, with the file texts (`files`) written only on demand."""

    manifests: tuple[Manifest, ...]  # every Kubernetes-shaped object, in install order
    owners: dict[str, Owner]  # path -> what its file is made from (the first claim wins)
    sources: dict[str, str]  # path -> input key that produced it
    kustomizations: dict[str, tuple[str, ...]]
    data: dict[str, dict[str, Any]]  # see Rendered.data
    problems: tuple[Diagnostic, ...]
    names: dict[str, str]  # the input files headers name (`roster`, `k8s_users`)
    files: Texts
    #: Each input key's place in the inventory (users, then roster rows): the objects of one
    #: key are built together, so they lie together in memory.
    order: dict[str, int]
    #: The objects that own their path, by kind, and the Vault review files' paths: what the
    #: audit reads, found without touching the other objects (a forked child that reads an
    #: object copies the memory page it is on).
    by_kind: dict[str, list[Manifest]]
    review_paths: list[str]

    def objects(self, kinds: frozenset[str] | None) -> list[Manifest]:
        if kinds is None:
            return [m for group in self.by_kind.values() for m in group]
        return [m for kind, group in self.by_kind.items() if kind in kinds for m in group]

    def vault_paths(self) -> list[str]:
        return self.review_paths


def plan(
    inventory: Inventory,
    profiles: Profiles,
    *,
    sources: dict[str, str],
    output: str = "manifests",
    text: bool = True,
) -> Plan:
    """Every object and file of the tree, without writing the Kubernetes YAML yet.

    `text=False` plans no kustomizations (see `render`)."""
    manifests: list[Manifest] = [
        *kubernetes.cluster_roles(profiles),
        *kubernetes.admission_policies(profiles),
        *kubernetes.user_bindings(inventory, profiles),
        *kubernetes.namespaces(inventory, profiles),
        *quarantine.namespaces(inventory, profiles),
    ]
    review, operator = vault.render(inventory, profiles, sources)
    manifests += operator
    manifests += sync.render(
        profiles.settings,
        output,
        "render/profiles.yaml",
        site=inventory.config.render.get("sync"),
        manifests=manifests,
    )
    manifests.sort(key=install_order)

    owners: dict[str, Owner] = {}
    origin: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for manifest in manifests:
        _add(owners, origin, problems, manifest.path, manifest, manifest.source)
    data: dict[str, dict[str, Any]] = {}
    for path, review_file in review.items():
        added = _add(owners, origin, problems, path, review_file, review_file.source)
        if added and review_file.body is not None:
            data[path] = review_file.body
    # Kustomizations only list the objects; a diff of the objects already shows what they add.
    listed = kustomizations(manifests) if text else {}
    for folder, resources in listed.items():
        _add(owners, origin, problems, f"{folder}/kustomization.yaml", resources, "render")
    by_kind: dict[str, list[Manifest]] = {}
    for manifest in manifests:
        if owners[manifest.path] is manifest:
            by_kind.setdefault(manifest.kind, []).append(manifest)

    return Plan(
        manifests=tuple(manifests),
        owners=owners,
        sources=origin,
        kustomizations=listed,
        data=data,
        problems=tuple(problems),
        names=sources,
        files=Texts(owners, sources),
        order={
            key: index
            for index, key in enumerate(
                [
                    *(f"k8s_users.{user.key}" for user in inventory.users),
                    *(f"roster.users.{row.os_user}" for row in inventory.roster),
                ]
            )
        },
        by_kind=by_kind,
        review_paths=sorted(p for p, o in owners.items() if isinstance(o, vault.Review)),
    )


def subset(inventory: Inventory, keys: frozenset[str]) -> Inventory:
    """The inventory of only these input keys: planned, it gives exactly their files."""
    return replace(
        inventory,
        users=tuple(u for u in inventory.users if f"k8s_users.{u.key}" in keys),
        roster=tuple(r for r in inventory.roster if f"roster.users.{r.os_user}" in keys),
    )


def texts(planned: Plan, paths: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Each path's text, written now and not kept: a writer streams them to disk."""
    owners, names = planned.owners, planned.names
    for path in paths:
        yield path, _text(owners[path], names)


def _text(owner: Owner, names: dict[str, str]) -> str:
    if isinstance(owner, Manifest):
        return dump(owner.body, header_source(owner.source, names))
    if isinstance(owner, vault.Review):
        return owner.written()
    return kustomization(owner)


def emit(planned: Plan, *, text: bool = True) -> Rendered:
    """Write every planned file's text, the digests and INDEX.json.

    `text=False` writes no Kubernetes YAML (the files are the review files alone)."""
    names = planned.names
    files: dict[str, str] = {}
    for path, owner in planned.owners.items():
        if text or not isinstance(owner, Manifest):
            files[path] = _text(owner, names)
    digests: dict[str, str] = {}
    if text:
        digests = {path: hashlib.sha256(body.encode()).hexdigest() for path, body in files.items()}
        files[INDEX] = index_text(digests, planned.sources)
        digests[INDEX] = hashlib.sha256(files[INDEX].encode()).hexdigest()
    return Rendered(
        files=dict(sorted(files.items())),
        manifests=planned.manifests,
        sources=planned.sources,
        kustomizations=planned.kustomizations,
        digests=digests,
        data=planned.data,
    )


def render(
    inventory: Inventory,
    profiles: Profiles,
    *,
    sources: dict[str, str],
    output: str = "manifests",
    text: bool = True,
) -> tuple[Rendered, list[Diagnostic]]:
    """The whole tree. `sources` names the input files for headers (`roster`, `k8s_users`).

    `text=False` leaves the Kubernetes-shaped objects as data (no YAML, no INDEX.json): `diff`
    compares two revisions' objects and writes YAML only for the few that differ.
    """
    planned = plan(inventory, profiles, sources=sources, output=output, text=text)
    return emit(planned, text=text), list(planned.problems)


def index_text(digests: dict[str, str], origin: dict[str, str]) -> str:
    """INDEX.json: every file's sha256 and the input key that produced it.

    The text equals `json.dumps(index, indent=2, sort_keys=True)` (a unit test holds it to
    that), written line by line because the indenting encoder is pure Python: 0.4 s of a
    1,000-user render for 22,000 entries.
    """
    quote = encode_basestring_ascii  # what json.dumps does for a str, without its overhead
    entries = ",\n".join(
        f'    {quote(path)}: {{\n      "sha256": "{digests[path]}",'
        f'\n      "source": {quote(origin[path])}\n    }}'
        for path in sorted(digests)
    )
    listed = f"{{\n{entries}\n  }}" if entries else "{}"
    return f'{{\n  "files": {listed},\n  "generator": "tenancy",\n  "version": 1\n}}\n'


def install_order(manifest: Manifest) -> tuple[int, str, str, str]:
    """KIND_ORDER first (unknown kinds last, alphabetically), then namespace and name."""
    rank = KIND_ORDER.index(manifest.kind) if manifest.kind in KIND_ORDER else len(KIND_ORDER)
    return (rank, manifest.kind, manifest.namespace or "", manifest.name)


def header_source(source: str, sources: dict[str, str]) -> str:
    """The input file a generated file's header names. Tier data (`render/...`) is named where
    it was read: `sources["render"]` is a template (`render/{}`; see
    tenancy.render.plan.tier_data)."""
    if source.startswith("k8s_users."):
        return sources["k8s_users"]
    if source.startswith("roster."):
        return sources["roster"]
    if source.startswith("render/") and "render" in sources:
        return sources["render"].replace("{}", source.removeprefix("render/"), 1)
    return source


def _add(
    owners: dict[str, Owner],
    origin: dict[str, str],
    problems: list[Diagnostic],
    path: str,
    owner: Owner,
    source: str,
) -> bool:
    if path in owners:
        # Two inputs that differ only in `_` versus `-` map to one object name.
        problems.append(
            Diagnostic(
                location=Location(path),
                severity="error",
                code="render-name-collision",
                message=f"{source} and {origin[path]} both render {path}",
                hint="rename one of the keys: object names cannot hold '_', so a_b and a-b clash",
                source="render",
            )
        )
        return False
    owners[path] = owner
    origin[path] = source
    return True


#: Directories that are synced as one unit; kustomizations nest up to them and no further.
_UNIT_ROOTS = ("kubernetes/cluster", "kubernetes/tenants", "vault/operator")


def kustomizations(manifests: list[Manifest]) -> dict[str, tuple[str, ...]]:
    """The folders that need a kustomization.yaml, each with the files and subdirs it lists."""
    children: dict[str, set[str]] = defaultdict(set)
    for manifest in manifests:
        path = manifest.path
        if not path.startswith(("kubernetes/", "vault/operator/")):
            continue
        folder, _, name = path.rpartition("/")
        known = folder in children
        children[folder].add(name)
        if known:
            continue  # a folder seen before is linked to its ancestors already
        while "/" in folder and folder not in _UNIT_ROOTS:
            parent, _, child = folder.rpartition("/")
            entries = children[parent]
            if child + "/" in entries:
                break  # this folder's ancestors are already linked
            entries.add(child + "/")
            folder = parent
    return {
        folder: tuple(sorted(e.rstrip("/") for e in entries))
        for folder, entries in children.items()
        if folder != "kubernetes"
    }


def kustomization(resources: tuple[str, ...]) -> str:
    body: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(resources),
    }
    return dump(body, "render")
