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
    return Profiles(
        settings=yaml.safe_load(texts["profiles.yaml"]),
        cluster_roles=roles,
        admission=admission,
        namespace_owner_policy=yaml.safe_load(texts["vault/namespace-owner.yaml"]),
        workstation_policy=yaml.safe_load(texts["vault/workstation.yaml"]),
    )


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
