"""Domain types: configuration and the inputs' nouns. Pure; every type is frozen.

Constructors assume validated input: they run only after the schema and policy stages pass
(DESIGN.md, "Data flow"), so there are no validation branches here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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

    def policy_view(self) -> dict[str, object]:
        """The `config` object the Rego policies receive (their documented input contract)."""
        return {
            "zones": list(self.zones),
            "reserved_namespaces": sorted(self.reserved_namespaces),
            "reserved_user_keys": sorted(self.reserved_user_keys),
            "admins": None if self.admins is None else sorted(self.admins),
            "exempt_admin_tier_check": self.exempt_admin_tier_check,
            "quota": {
                "defaults": dict(self.quota_defaults),
                "ceilings": {tier: dict(q) for tier, q in self.quota_ceilings.items()},
            },
        }
