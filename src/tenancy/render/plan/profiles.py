"""The render profiles: tier profiles, ClusterRole bodies, admission policies and Vault path
sets, from the `render/` data directory (built in, or a repository's own at a git revision for
`diff`). Pure given the texts; `load` reads the built-in directory once."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import yaml

from tenancy.resources import data_dir


@dataclass(frozen=True, slots=True)
class Profiles:
    settings: dict[str, Any]
    cluster_roles: dict[str, list[dict[str, Any]]]  # name -> rules
    admission: dict[str, dict[str, Any]]  # name -> ValidatingAdmissionPolicy spec
    namespace_owner_policy: dict[str, Any]
    workstation_policy: dict[str, Any]
    deployer_policy: dict[str, Any]


def from_texts(texts: Mapping[str, str]) -> Profiles:
    """Profiles from `render/`-relative paths (`profiles.yaml`, `clusterroles/x.yaml`, ...)."""
    roles = {}
    admission = {}
    for path in sorted(texts):
        if path.startswith("clusterroles/") and path.endswith(".yaml"):
            body = yaml.safe_load(texts[path])
            roles[str(body["name"])] = list(body["rules"])
        elif path.startswith("admission/") and path.endswith(".yaml"):
            body = yaml.safe_load(texts[path])
            admission[str(body["name"])] = dict(body["policy"])
    # A repository's render/ at an older revision (`diff`) may predate a setting or file:
    # what it lacks is the built-in's, so the same code renders both sides. A setting it has
    # is its own, whole where it is not a mapping.
    settings = _defaults_under(_builtin_settings(), yaml.safe_load(texts["profiles.yaml"]))
    deployer = texts.get("vault/deployer.yaml") or builtin_texts()["vault/deployer.yaml"]
    return Profiles(
        settings=settings,
        cluster_roles=roles,
        admission=admission,
        namespace_owner_policy=yaml.safe_load(texts["vault/namespace-owner.yaml"]),
        workstation_policy=yaml.safe_load(texts["vault/workstation.yaml"]),
        deployer_policy=yaml.safe_load(deployer),
    )


def _defaults_under(defaults: Any, own: Any) -> Any:
    """`own` with every mapping key it lacks taken from `defaults`, recursively."""
    if not isinstance(defaults, dict) or not isinstance(own, dict):
        return copy.deepcopy(own)
    merged = {k: copy.deepcopy(v) for k, v in defaults.items() if k not in own}
    merged.update({k: _defaults_under(defaults.get(k), v) for k, v in own.items()})
    return merged


@cache
def _builtin_settings() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(builtin_texts()["profiles.yaml"])
    return loaded


def with_overrides(profiles: Profiles, render: Mapping[str, Any]) -> Profiles:
    """The profiles with a site's `render:` settings from tenancy.yaml applied."""
    if not render:
        return profiles
    settings = copy.deepcopy(profiles.settings)
    if "issuer" in render:
        settings["certificates"]["issuer"] = {"kind": "ClusterIssuer", **render["issuer"]}
    if "ingress_namespace" in render:
        settings["network"]["ingress_namespace"] = render["ingress_namespace"]
    if "repo_url" in render:
        settings["sync"]["repo_url"] = render["repo_url"]
    if "revision" in render:
        settings["sync"]["revision"] = render["revision"]
    if "pod_security" in render:
        settings["namespace"]["pod_security"] = render["pod_security"]
    if "kubernetes_version" in render:
        settings["namespace"]["pod_security_version"] = render["kubernetes_version"]
    if "dns" in render:
        settings["dns"] = {**settings.get("dns", {}), **render["dns"]}
    if "egress" in render:
        egress = settings["network"]["egress"]
        egress.update({k: v for k, v in render["egress"].items() if k != "internet"})
        if "internet" in render["egress"]:
            without = [p for p in egress["default"] if p != "internet"]
            egress["default"] = ["internet", *without] if render["egress"]["internet"] else without
    return replace(profiles, settings=settings)


def builtin_texts() -> dict[str, str]:
    root = data_dir("render")
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.yaml"))
    }


@cache
def load() -> Profiles:
    return from_texts(builtin_texts())
