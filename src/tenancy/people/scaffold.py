"""The files `tenancy init` puts in a new repository, as texts. Pure: no disk, no git.

`files` returns {repository-relative path: text}; `tenancy.people.init` writes the ones that do not
exist yet. Each text is a working file, not a template to fill in: right after `init`,
`tenancy validate` and `tenancy render` pass on them, and the examples they hold in comments
pass too once uncommented (tests/unit/people/test_scaffold.py holds both). The Woodpecker
pipeline is also this project's documented example (`examples/woodpecker/tenancy.yml` is
`woodpecker()`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: The distribution on PyPI (`tenancy` there is an unrelated package); the command and the
#: import package are `tenancy`. pyproject.toml's [project] name (a test holds them equal).
DISTRIBUTION = "tenancy-gitops"
#: The project's public git repository: pre-commit fetches the hooks from it by tag.
#: pyproject.toml's [project.urls] Source (a test holds them equal).
#: What every generated file says it was made by, so a reader knows where to look.
MADE_BY = "# Written by `tenancy init`; yours to edit."


def install(version: str, extras: str = "") -> str:
    """The pip requirement that installs this version of tenancy (pinned: a pipeline must not
    change its checks when a new release appears)."""
    return f"{DISTRIBUTION}{f'[{extras}]' if extras else ''}=={version}"


def tag(version: str) -> str:
    """The git tag of a release (pre-commit's `rev:`)."""
    return f"v{version}"


def files(
    *,
    zones: tuple[str, ...],
    repo_url: str | None,
    version: str,
    render_texts: Mapping[str, str],
) -> dict[str, str]:
    """Every file of a new repository; `render_texts` is the built-in tier data, by its
    `render/`-relative path, copied so that the repository owns what its tiers grant."""
    out = {
        "tenancy.yaml": config(zones, repo_url),
        "tenants/roster.yaml": roster(),
        "tenants/k8s_users.yaml": k8s_users(zones[0] if zones else "example.org"),
        ".woodpecker.yml": woodpecker(version),
        ".pre-commit-config.yaml": pre_commit(version),
    }
    for path, text in sorted(render_texts.items()):
        out[f"render/{path}"] = text
    return out


def config(zones: tuple[str, ...], repo_url: str | None) -> str:
    """tenancy.yaml: the inputs, the output folder, the zones and where the sync fetches from."""
    zone_line = (
        f"zones: [{', '.join(zones)}]"
        if zones
        else "# zones: [example.org]  (none yet: full domain names only, ownership unchecked)"
    )
    url_line = (
        f"  repo_url: {_yaml_string(repo_url)}"
        if repo_url
        else "  # repo_url: https://git.example.org/platform/tenancy.git"
    )
    return f"""\
{MADE_BY}
# tenancy configuration. Every key is optional; `tenancy schema tenancy` documents them all.
version: 1
inputs:
  roster: tenants/roster.yaml
  k8s_users: tenants/k8s_users.yaml
# Rendered by `tenancy render` and committed; `tenancy render --check` fails when it is stale.
output: manifests
# DNS zones tenant domains must lie in; a bare label in k8s_users `domains` is relative to the
# first zone.
{zone_line}
# The only accounts allowed the admin tier (unset: any roster row and k8s_users entry may be).
# admins: [ada]
identity:
  # The OIDC claim that Kubernetes usernames and Vault aliases come from. `tenancy validate`
  # warns until you record that your identity provider never lets a user change it:
  claim: email
  # accept_mutable_claim: true
# What each tier is given is the data in render/ beside this file (profiles.yaml,
# clusterroles/, admission/, vault/): a change there is a change of privilege, reviewed as a
# diff. Delete the folder to use the data built into tenancy instead.
render:
  # Where Argo CD and Flux fetch the rendered manifests from (this repository).
{url_line}
  revision: main
"""


def roster() -> str:
    """tenants/roster.yaml: empty, with an example row per tier in comments."""
    return f"""\
{MADE_BY}
# Workstation roster: os_user -> login identity, cluster user (a k8s_users key) and tier.
# Tiers: admin, power-user, namespace-owner; a namespace-owner's namespaces equal its
# k8s_users entry's. Offboard by commenting a row out: a commented-out row is an absent row.
# Schema: `tenancy schema roster`. Uncomment and edit rows like these:
users:
  # ada:  {{authentik_user: ada.l, k8s_user: ada, tier: admin}}
  # brin: {{authentik_user: brin.k, k8s_user: brin, tier: power-user}}
  # cleo: {{authentik_user: cleo, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}}
"""


def k8s_users(zone: str) -> str:
    """tenants/k8s_users.yaml: empty, with an entry per role in comments."""
    return f"""\
{MADE_BY}
# Cluster users by user key (the Vault entity and the secret/data/<key>/ prefix). Schema:
# `tenancy schema k8s_users`. To add people, replace the {{}} below with entries like these:
{{}}
# ada:
#   role: admin
#   email: ada@{zone}
# brin:
#   role: power-user
#   email: brin@{zone}
# cleo:
#   role: namespace-owner
#   email: cleo@{zone}
#   namespaces: [cleo]
#   # A bare label is relative to the first zone: cleo.{zone}
#   domains: [cleo]
#   quota: {{cpu_requests: "2", memory_requests: "4Gi", memory_limits: "8Gi", pods: "20"}}
"""


def woodpecker(version: str) -> str:
    """.woodpecker.yml: on pull requests, validate, render --check and the access diff posted as
    one sticky comment (Forgejo/Gitea API)."""
    return f"""\
# Woodpecker pipeline for a repository that keeps tenancy inputs (tenancy.yaml, tenants/).
# On pull requests: validate, check that manifests/ is current, and post the access diff as one
# sticky comment (found again by its hidden marker and updated in place, never duplicated).
when:
  - event: pull_request

steps:
  - name: validate
    image: python:3.11-slim
    # The check cache survives between pipelines in a named volume, so `render --check` on
    # unchanged output is a hash of the committed files. Volumes need a trusted repository;
    # without one, drop these two keys: the cache then starts empty and nothing else changes.
    environment:
      TENANCY_CACHE_DIR: /cache/tenancy
    volumes:
      - tenancy-cache:/cache
    commands:
      - pip install --quiet "{install(version, "k8s,tools")}"
      - tenancy validate
      - tenancy render --check

  - name: access-diff
    image: python:3.11-slim
    environment:
      FORGEJO_TOKEN:
        from_secret: forgejo_token
    commands:
      - apt-get update -qq && apt-get install -y -qq git curl jq
      - pip install --quiet "{install(version)}"
      - git fetch --quiet origin "$CI_COMMIT_TARGET_BRANCH"
      - tenancy diff "origin/$CI_COMMIT_TARGET_BRANCH" HEAD --format markdown > diff.md
      # Update the comment that carries the marker, or create it.
      - |
        repo="$CI_FORGE_URL/api/v1/repos/$CI_REPO"
        api="$repo/issues/$CI_COMMIT_PULL_REQUEST/comments"
        auth="Authorization: token $FORGEJO_TOKEN"
        body=$(jq -Rs '{{body: .}}' diff.md)
        id=$(curl -fsS -H "$auth" "$api" \\
             | jq -r '[.[] | select(.body | startswith("<!-- tenancy-diff -->"))][0].id // empty')
        if [ -n "$id" ]; then
          curl -fsS -X PATCH -H "$auth" -H "Content-Type: application/json" \\
               -d "$body" "$repo/issues/comments/$id" > /dev/null
        else
          curl -fsS -X POST -H "$auth" -H "Content-Type: application/json" \\
               -d "$body" "$api" > /dev/null
        fi
      # Fail the check on critical changes; reviewers see why in the comment above.
      - tenancy diff "origin/$CI_COMMIT_TARGET_BRANCH" HEAD --fail-on critical > /dev/null
"""


def pre_commit(version: str) -> str:
    """.pre-commit-config.yaml: the hooks of .pre-commit-hooks.yaml, run by the tenancy the
    repository already installs (`language: system`), so they need no URL of where tenancy is
    published and check with the same version the pipeline pins."""
    return f"""\
{MADE_BY}
# pre-commit (https://pre-commit.com): run `pre-commit install` once; every commit that touches
# tenancy.yaml, tenants/, render/ or manifests/ is then validated and checked for a stale render
# by the tenancy of this environment ({install(version)}).
repos:
  - repo: local
    hooks:
      - id: tenancy-validate
        name: tenancy validate
        entry: tenancy validate
        language: system
        pass_filenames: false
        files: ^(tenancy\\.yaml|waivers\\.yaml|tenants/|render/|policies/)
      - id: tenancy-render-check
        name: tenancy render --check
        entry: tenancy render --check
        language: system
        pass_filenames: false
        files: ^(tenancy\\.yaml|tenants/|render/|manifests/)
"""


#: A plain scalar YAML reads back as the same string (no quoting needed).
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:/?=&%+@-]*")


def _yaml_string(value: str) -> str:
    """A URL as a YAML scalar: plain when it reads back unchanged, else double-quoted."""
    if _PLAIN.fullmatch(value) and ": " not in value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def public_url(remote: str) -> str:
    """A git remote's URL without the credentials an https remote may carry
    (`https://user:token@host/...`): the URL is written into a committed file."""
    match = re.fullmatch(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@(?P<rest>.*)", remote)
    if match and match["scheme"].lower() in {"http://", "https://"}:
        return match["scheme"] + match["rest"]
    return remote
