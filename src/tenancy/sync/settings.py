"""The optional `vault:` section of tenancy.yaml, defaults applied. Pure.

The section is schema-checked with the rest of the file (`schemas/tenancy.schema.json`); this
module only reads it from the raw config document and applies command-line overrides, so
`model.Config` stays the same for commands that never talk to Vault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
LoginMethod = Literal["token", "kubernetes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VaultSettings:
    #: Where k8s_users lives today (seed §a2): KV v2 `secret/platform`, a JSON-encoded string.
    kv_mount: str = "secret"
    kv_path: str = "platform"
    kv_field: str = "k8s_users"
    #: tenancy's managed-objects index (KV v2). It decides what tenancy may change or delete,
    #: so no tenant policy may write it: `plan` refuses to run when a rendered policy could.
    index_mount: str = "secret"
    index_path: str = "tenancy/managed"
    login: LoginMethod = "token"
    login_mount: str = "kubernetes"
    login_role: str | None = None
    jwt_path: str = SA_TOKEN

    @property
    def index_data_path(self) -> str:
        """The index as an ACL path (`<mount>/data/<path>`), for the exposure check."""
        return f"{self.index_mount}/data/{self.index_path}"


def from_document(data: Mapping[str, Any] | None) -> VaultSettings:
    """Settings from a parsed tenancy.yaml (None or no `vault:` key: all defaults)."""
    section = (data or {}).get("vault") or {}
    kv = section.get("kv") or {}
    index = section.get("index") or {}
    login = section.get("login") or {}
    defaults = VaultSettings()
    return VaultSettings(
        kv_mount=kv.get("mount", defaults.kv_mount),
        kv_path=kv.get("path", defaults.kv_path),
        kv_field=kv.get("field", defaults.kv_field),
        index_mount=index.get("mount", defaults.index_mount),
        index_path=index.get("path", defaults.index_path),
        login=login.get("method", defaults.login),
        login_mount=login.get("mount", defaults.login_mount),
        login_role=login.get("role", defaults.login_role),
        jwt_path=login.get("jwt_path", defaults.jwt_path),
    )


def override(settings: VaultSettings, **values: str | None) -> VaultSettings:
    """Command-line options win over the file; an option left unset (None) changes nothing."""
    given = {name: value for name, value in values.items() if value is not None}
    if given.get("login_role"):
        given["login"] = "kubernetes"  # naming a role means: log in with Kubernetes auth
    return replace(settings, **given)  # type: ignore[arg-type]
