"""Resolve `tenancy.yaml` into a `Config`: schema-checked, defaults applied. Pure.

Paths inside the file are relative to the file's folder; paths given on the command line are
relative to the working directory, and they win over the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from tenancy import resources
from tenancy.errors import Diagnostic, UsageError
from tenancy.inputs import files
from tenancy.inputs.load import Document, parse_bytes
from tenancy.model import (
    BUILTIN_RESERVED_HOSTNAMES,
    BUILTIN_RESERVED_NAMESPACES,
    BUILTIN_RESERVED_USER_KEYS,
    DEFAULT_CEILINGS,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_QUOTA,
    Config,
    Quarantined,
)
from tenancy.validate import schema

if TYPE_CHECKING:
    from tenancy.inputs.load import Document


DEFAULT_ROSTER = "tenants/roster.yaml"
#: `vault.index.path`'s default (sync/settings.py reads the same key with the same default).
DEFAULT_INDEX_PATH = "tenancy/managed"
DEFAULT_K8S_USERS = "tenants/k8s_users.yaml"


def resolve(
    document: Document | None, path: PurePath | None
) -> tuple[Config | None, list[Diagnostic]]:
    """Build a Config from a parsed `tenancy.yaml` (or the defaults when there is none)."""
    if document is None or path is None:
        return Config(), []
    problems = schema.check(document, "tenancy")
    if problems:
        return None, problems
    data: dict[str, Any] = document.data or {}
    base = path.parent

    def rel(value: str) -> str:
        return str(base / value)

    inputs = data.get("inputs", {})
    reserved = data.get("reserved", {})
    quota = data.get("quota", {})
    identity = data.get("identity", {})
    limits = data.get("limits", {})
    admins = data.get("admins")
    waivers = base / data.get("waivers", "waivers.yaml")
    render = dict(data.get("render", {}))
    platform = resources.platform_namespaces(render)
    return (
        Config(
            path=str(path),
            roster=rel(inputs.get("roster", DEFAULT_ROSTER)),
            k8s_users=rel(inputs.get("k8s_users", DEFAULT_K8S_USERS)),
            output=rel(data.get("output", "manifests")),
            zones=tuple(data.get("zones", ())),
            reserved_namespaces=_merge(
                (*BUILTIN_RESERVED_NAMESPACES, *platform), reserved.get("namespaces")
            ),
            reserved_hostnames=_merge(BUILTIN_RESERVED_HOSTNAMES, reserved.get("hostnames")),
            reserved_user_keys=_merge(
                (*BUILTIN_RESERVED_USER_KEYS, _index_key(data)), reserved.get("user_keys")
            ),
            admins=None if admins is None else tuple(admins),
            exempt_admin_tier_check=bool(data.get("exempt_admin_tier_check", False)),
            quota_defaults={**DEFAULT_QUOTA, **_quantities(quota.get("defaults", {}))},
            quota_ceilings={
                tier: _quantities(values)
                for tier, values in quota.get("ceilings", DEFAULT_CEILINGS).items()
            },
            identity_claim=identity.get("claim", "email"),
            identity_prefix=identity.get("prefix", ""),
            oidc_mount=identity.get("oidc_mount", "oidc"),
            max_file_bytes=limits.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES),
            max_depth=limits.get("max_depth", DEFAULT_MAX_DEPTH),
            policy_dirs=tuple(rel(p) for p in data.get("policies", ())),
            waivers=str(waivers),
            render=render,
            render_dir=rel(data["render_dir"]) if "render_dir" in data else None,
            notes=tuple(_identity_notes(document, identity)),
            render_notes=tuple(_sync_notes(document, render)),
            quarantine=_quarantine(document, data.get("quarantine", {})),
        ),
        [],
    )


def _quarantine(document: Document, entries: dict[str, Any]) -> tuple[Quarantined, ...]:
    """The quarantined namespaces, each with where its entry is (its findings point there)."""
    return tuple(
        Quarantined(
            namespace=namespace,
            tenant=str(entry["tenant"]),
            since=str(entry["since"]),
            reason=str(entry["reason"]),
            location=document.locate(["quarantine", namespace]),
        )
        for namespace, entry in sorted(entries.items())
    )


def _identity_notes(document: Document, identity: dict[str, Any]) -> list[Diagnostic]:
    """The warning a mutable username claim deserves, unless the site accepted it."""
    if identity.get("accept_mutable_claim", False):
        return []
    claim = identity.get("claim", "email")
    return [
        Diagnostic(
            location=document.locate(["identity", "claim"] if "claim" in identity else []),
            severity="warning",
            code="identity-mutable-claim",
            message=f"Kubernetes usernames and Vault aliases come from the OIDC claim {claim!r}, "
            "which the identity provider lets be changed: whoever is later given a person's "
            f"{claim} gets their access",
            hint="use an identity provider that keeps the claim immutable (or verified and "
            "never reassigned), and set identity.accept_mutable_claim: true to record that",
            source="config",
        )
    ]


#: The repository URL render/profiles.yaml ships with: an example, not a place to sync from.
PLACEHOLDER_REPO = "https://git.example.org/"


def _sync_notes(document: Document, render: dict[str, Any]) -> list[Diagnostic]:
    """The warning a placeholder sync repository deserves (Argo CD and Flux would be wired to
    a repository that does not exist): at `render.repo_url` when it is the placeholder, at the
    config when the tier data's URL is used, which `render` alone knows (it keeps the warning
    only when that URL is the placeholder: `render.command.run_render`)."""
    url = render.get("repo_url")
    if isinstance(url, str) and not url.startswith(PLACEHOLDER_REPO):
        return []
    return [
        Diagnostic(
            location=document.locate(
                ["render", "repo_url"] if "repo_url" in render else ["render"] if render else []
            ),
            severity="warning",
            code="sync-placeholder-repo",
            message=f"the rendered Argo CD and Flux objects sync from the placeholder repository "
            f"{PLACEHOLDER_REPO}..., which no cluster can sync from",
            hint="set render.repo_url in tenancy.yaml to the URL of this repository",
            source="config",
        )
    ]


def _index_key(data: dict[str, Any]) -> str:
    """The user key whose Vault paths (secret/data/<key>/*) would hold tenancy's ownership
    index (`vault.index.path`): `vault plan` refuses to run with such a user, so it is reserved."""
    index = data.get("vault", {}).get("index", {})
    return str(index.get("path", DEFAULT_INDEX_PATH)).strip("/").split("/")[0]


def _merge(builtin: tuple[str, ...], extra: list[str] | None) -> tuple[str, ...]:
    return tuple(sorted({*builtin, *(extra or ())}))


def _quantities(values: dict[str, Any]) -> dict[str, str]:
    """Quantities may be written as YAML numbers; the policies compare them as strings."""
    return {key: quantity_text(value) for key, value in values.items()}


def quantity_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputParams:
    config: Path | None
    roster: Path | None
    k8s_users: Path | None
    zones: tuple[str, ...] = ()  # --zone: replaces the config's zones


def load_config(params: InputParams) -> tuple[Config | None, list[Diagnostic]]:
    """Find, read and resolve tenancy.yaml; command-line paths override its inputs."""
    if params.config is not None and not params.config.exists():
        # Named on the command line, a missing file is a mistake in the command, not a finding.
        raise UsageError(f"--config {params.config}: no such file")
    path = params.config or files.find_config(Path.cwd())
    if params.config is None and path is None and not (params.roster or params.k8s_users):
        raise UsageError(
            f"no {files.CONFIG_NAME} found in {Path.cwd()} or its parents; "
            "pass --config PATH, or --roster PATH and --k8s-users PATH"
        )
    config = Config()
    if path is not None:
        shown = files.display(path.resolve())
        raw, problems = files.read_input(path, shown, max_bytes=config.max_file_bytes)
        if raw is None:
            return None, problems
        document, problems = parse_bytes(shown, raw)
        if document is None:
            return None, problems
        resolved, problems = resolve(document, path.resolve())
        if resolved is None:
            return None, problems
        config = resolved
    if params.roster or params.k8s_users:
        # Naming one input on the command line means: check exactly what was named.
        config = replace(
            config,
            roster=str(params.roster) if params.roster else None,
            k8s_users=str(params.k8s_users) if params.k8s_users else None,
        )
    if params.zones:
        config = replace(config, zones=params.zones)
    return config, []
