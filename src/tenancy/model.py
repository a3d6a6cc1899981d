"""Domain types: configuration and the inputs' nouns. Pure; every type is frozen.

Constructors assume validated input: they run only after the schema and policy stages pass
(DESIGN.md, "Data flow"), so there are no validation branches here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from tenancy.errors import Diagnostic, Location

Tier = Literal["admin", "power-user", "namespace-owner"]
TIERS: tuple[Tier, ...] = ("admin", "power-user", "namespace-owner")
InputName = Literal["roster", "k8s_users", "waivers"]

#: The quota keys the live Terraform module reads, in the order they are rendered.
QUOTA_KEYS = ("cpu_requests", "memory_requests", "memory_limits", "storage", "pods")
#: The architecture doc's names for the same quantities; the live code silently drops them,
#: tenancy accepts them as synonyms (but never a key together with its synonym).
QUOTA_SYNONYMS = {"cpu": "cpu_requests", "memory": "memory_requests"}

BUILTIN_RESERVED_NAMESPACES = (
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "default",
    # Platform namespaces of the seed system: listing one would grant a tenant admin there.
    "vault",
    "woodpecker",
    "k8s-portal",
    "kyverno",
    "cert-manager",
    "argocd",
    "flux-system",
)
#: Keys that would collide with service paths under secret/: a namespace-owner key gets CRUD on
#: secret/data/<key>/*, so `platform` would hand out k8s_users itself and `workstation` every
#: workstation credential.
BUILTIN_RESERVED_USER_KEYS = (
    "tenancy",  # the first segment of vault.index.path's default, tenancy/managed
    "platform",
    "ci",
    "vault",
    "woodpecker",
    "workstation",
    "admin",
    "root",
    "sys",
    "auth",
    "identity",
    "secret",
    "transit",
    "kubernetes",
    "quarantine",  # kubernetes/tenants/quarantine/ holds the quarantined namespaces
)
#: Platform hostnames: a tenant domain named so would get the platform's certificate and DNS
#: name (`domains: [vault]` -> a Certificate for vault.<zone> in a tenant namespace).
BUILTIN_RESERVED_HOSTNAMES = (
    "admin",
    "alertmanager",
    "api",
    "argocd",
    "auth",
    "ci",
    "dashboard",
    "flux",
    "git",
    "grafana",
    "id",
    "k8s",
    "kubernetes",
    "login",
    "mail",
    "prometheus",
    "registry",
    "sso",
    "vault",
    "woodpecker",
    "www",
)
DEFAULT_QUOTA: dict[str, str] = {
    "cpu_requests": "2",
    "memory_requests": "4Gi",
    "memory_limits": "8Gi",
    "pods": "20",
}
DEFAULT_CEILINGS: dict[str, dict[str, str]] = {
    "namespace-owner": {
        "cpu_requests": "8",
        "memory_requests": "32Gi",
        "memory_limits": "64Gi",
        "storage": "500Gi",
        "pods": "100",
    }
}
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantined:
    """A namespace kept after its tenant was removed: isolated, frozen and owned by no one
    until it is retired (deleted by hand, and its entry removed)."""

    namespace: str
    tenant: str  # the former owner's k8s_users key
    since: str  # YYYY-MM-DD
    reason: str
    #: Where the entry is in tenancy.yaml (findings point at it); not part of what is rendered.
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A resolved `tenancy.yaml`: defaults applied, paths made absolute-or-cwd-relative.

    `path` is None when no config file was found and only command-line paths are used.
    """

    path: str | None = None
    roster: str | None = None
    k8s_users: str | None = None
    output: str = "manifests"
    zones: tuple[str, ...] = ()
    reserved_namespaces: tuple[str, ...] = BUILTIN_RESERVED_NAMESPACES
    reserved_user_keys: tuple[str, ...] = BUILTIN_RESERVED_USER_KEYS
    reserved_hostnames: tuple[str, ...] = BUILTIN_RESERVED_HOSTNAMES
    admins: tuple[str, ...] | None = None
    exempt_admin_tier_check: bool = False
    quota_defaults: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_QUOTA))
    quota_ceilings: dict[str, dict[str, str]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_CEILINGS.items()}
    )
    identity_claim: str = "email"
    identity_prefix: str = ""
    oidc_mount: str = "oidc"
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    policy_dirs: tuple[str, ...] = ()
    waivers: str | None = None
    #: tenancy.yaml `render:` settings (issuer, ingress namespace, sync source, Pod Security).
    render: dict[str, Any] = field(default_factory=dict)
    #: tenancy.yaml `render_dir:`, the tier data folder as configured (None: `render` beside the
    #: config, used when it exists; `tenancy.render.plan.tier_data` decides).
    render_dir: str | None = None
    #: Warnings about the configuration itself (reported by every command that checks inputs).
    notes: tuple[Diagnostic, ...] = ()
    #: Warnings about what `render` makes of the configuration (the sync wiring's placeholder
    #: repository), reported by render alone; not part of what is rendered.
    render_notes: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)
    #: tenancy.yaml `quarantine:`, a removed tenant's kept namespaces, sorted by namespace.
    quarantine: tuple[Quarantined, ...] = ()

    def username(self, user: K8sUser) -> str:
        """The Kubernetes username of a person: the configured claim with its prefix."""
        return user.identity(self.identity_prefix, self.identity_claim)

    def policy_view(self) -> dict[str, object]:
        """The `config` object the Rego policies receive (their documented input contract)."""
        return {
            "zones": list(self.zones),
            "reserved_namespaces": sorted(self.reserved_namespaces),
            "reserved_user_keys": sorted(self.reserved_user_keys),
            "reserved_hostnames": sorted(self.reserved_hostnames),
            "admins": None if self.admins is None else sorted(self.admins),
            "exempt_admin_tier_check": self.exempt_admin_tier_check,
            "quota": {
                "defaults": dict(self.quota_defaults),
                "ceilings": {tier: dict(q) for tier, q in self.quota_ceilings.items()},
            },
        }


CodeLayout = Literal["single", "workspace"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """A namespace-owner's per-namespace quota, defaults applied, quantities as text."""

    cpu_requests: str
    memory_requests: str
    memory_limits: str
    pods: str
    storage: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class K8sUser:
    """One k8s_users entry. `domains` are fully qualified (labels joined to the first zone)."""

    key: str
    role: Tier
    email: str
    namespaces: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    quota: Quota | None = None  # namespace-owners only
    network: tuple[str, ...] = ()  # opt-ins beyond the tier's default egress

    def identity(self, prefix: str, claim: str = "email") -> str:
        """The Kubernetes username the API server derives from the OIDC claim (`email`, or
        `preferred_username`: the k8s_users key), with its username prefix."""
        return f"{prefix}{self.claim_value(claim)}"

    def claim_value(self, claim: str = "email") -> str:
        """What the identity provider's claim holds for this person (the Vault alias name)."""
        return self.key if claim == "preferred_username" else self.email


@dataclass(frozen=True, slots=True, kw_only=True)
class RosterUser:
    os_user: str
    authentik_user: str
    k8s_user: str
    tier: Tier
    namespaces: tuple[str, ...] = ()
    code_layout: CodeLayout = "single"
    repos: tuple[str, ...] = ()
    claude_auth: bool = True
    parked: bool = False

    @property
    def gets_claude_policy(self) -> bool:
        """Whether the row's workstation gets its Claude credentials policy: the seed's own
        derivation, `claude_auth and not parked` (a parked row keeps its account, not its
        access)."""
        return self.claude_auth and not self.parked


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """Everything render needs, sorted by key so that input order never matters."""

    users: tuple[K8sUser, ...]
    roster: tuple[RosterUser, ...]
    config: Config

    def user(self, key: str) -> K8sUser | None:
        return next((u for u in self.users if u.key == key), None)


def build(roster: object, k8s_users: object, config: Config) -> Inventory:
    """Build the inventory from schema- and policy-valid plain data (no validation here)."""
    rows = ((roster or {}).get("users") or {}) if isinstance(roster, dict) else {}
    entries = k8s_users if isinstance(k8s_users, dict) else {}
    return Inventory(
        users=tuple(_k8s_user(key, entries[key], config) for key in sorted(entries)),
        roster=tuple(_roster_user(name, rows[name]) for name in sorted(rows)),
        config=config,
    )


def _k8s_user(key: str, entry: dict[str, object], config: Config) -> K8sUser:
    role: Tier = entry["role"]  # type: ignore[assignment]
    namespaces = tuple(sorted(_strings(entry.get("namespaces"))))
    quota = None
    if role == "namespace-owner":
        raw = {QUOTA_SYNONYMS.get(k, k): _quantity(v) for k, v in _mapping(entry.get("quota"))}
        merged = {**config.quota_defaults, **raw}
        quota = Quota(
            cpu_requests=merged["cpu_requests"],
            memory_requests=merged["memory_requests"],
            memory_limits=merged["memory_limits"],
            pods=merged["pods"],
            storage=merged.get("storage"),
        )
    zone = config.zones[0] if config.zones else None
    domains = tuple(
        sorted(
            d if "." in d or zone is None else f"{d}.{zone}" for d in _strings(entry.get("domains"))
        )
    )
    return K8sUser(
        key=key,
        role=role,
        email=str(entry["email"]),
        namespaces=namespaces if role == "namespace-owner" else (),
        domains=domains if role == "namespace-owner" else (),
        quota=quota,
        network=tuple(sorted(_strings(entry.get("network")))) if role == "namespace-owner" else (),
    )


def _roster_user(name: str, row: dict[str, object]) -> RosterUser:
    return RosterUser(
        os_user=name,
        authentik_user=str(row["authentik_user"]),
        k8s_user=str(row["k8s_user"]),
        tier=row["tier"],  # type: ignore[arg-type]
        namespaces=tuple(sorted(_strings(row.get("namespaces")))),
        code_layout=row.get("code_layout", "single"),  # type: ignore[arg-type]
        repos=tuple(sorted(_strings(row.get("repos")))),
        claude_auth=bool(row.get("claude_auth", True)),
        parked=bool(row.get("parked", False)),
    )


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _mapping(value: object) -> list[tuple[str, object]]:
    return list(value.items()) if isinstance(value, dict) else []


def _quantity(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """One rendered object: where it goes, what produced it, and its body (canonical order)."""

    path: str  # relative to the output directory, POSIX
    kind: str
    name: str
    namespace: str | None
    body: dict[str, Any]
    source: str  # the input key that produced it, e.g. k8s_users.cleo or roster.users.ada


class Permission(NamedTuple):
    """One Kubernetes grant: a verb on a resource, in a scope (`cluster` or a namespace), as
    an RBAC rule states it. The resource is named as kubectl does: `secrets`, `pods/exec`,
    `deployments.apps`, `deployments.apps/scale`; a bare name is the core group. A `*` is the
    rule's own wildcard: `*` every resource of every group, `*.apps` every resource of apps,
    `*.core` every core resource, `*.apps/scale` that subresource of every apps resource
    (tenancy.diff.access.resource_name); `*` as verb is every verb. `names` are the rule's
    resourceNames (empty: any object). A tuple, not a frozen dataclass: a thousand people hold
    ~300,000 of them, and tuples are built 5x faster."""

    scope: str
    resource: str
    verb: str
    names: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = "cluster-wide" if self.scope == "cluster" else f"in namespace {self.scope}"
        named = f" named {', '.join(self.names)}" if self.names else ""
        return f"{self.verb} {self.resource}{named} {where}"


class VaultGrant(NamedTuple):
    """One Vault capability on one path."""

    path: str
    capability: str

    def __str__(self) -> str:
        return f"{self.capability} {self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Everything one person can do, joined from roster rows, k8s_users and rendered objects.

    `id` is the k8s_users key (the roster joins on it through `k8s_user`).
    """

    id: str
    role: Tier | None
    roster_tiers: tuple[str, ...]
    os_users: tuple[str, ...]
    email: str | None
    namespaces: tuple[str, ...]
    domains: tuple[str, ...]
    quota: tuple[tuple[str, str], ...]
    k8s: frozenset[Permission]
    vault: frozenset[VaultGrant]
