"""render/sync.py: the Argo CD and Flux wiring of the rendered tree, as the tools read it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy.inputs.load import parse_yaml
from tenancy.model import Config, build
from tenancy.render.checks import k8s_schema
from tenancy.render.plan import render
from tenancy.render.plan.profiles import load, with_overrides
from tenancy.validate.config import resolve
from tests.conftest import dedent
from tests.fixtures import ROSTER, SOURCES

K8S: dict[str, Any] = {
    "cleo": {
        "role": "namespace-owner",
        "email": "cleo98@example.org",
        "namespaces": ["cleo", "cleo-books"],
        "domains": ["cleo.example.org"],
    },
    "brin": {"role": "power-user", "email": "brin@example.org"},
}
CONFIG = Config(zones=("example.org",), render={"dns": {"target": "ingress.example.org"}})


def sync_objects(
    sync: dict[str, Any] | None = None, k8s: dict[str, Any] = K8S
) -> dict[str, dict[str, Any]]:
    """The rendered files under sync/, parsed, by path."""
    render_settings = {**CONFIG.render, **({"sync": sync} if sync is not None else {})}
    config = replace(CONFIG, render=render_settings)
    site = with_overrides(load(), config.render)
    tree, problems = render(build(ROSTER, k8s, config), site, sources=SOURCES)
    assert problems == []
    return {
        path: yaml.safe_load(text) for path, text in tree.files.items() if path.startswith("sync/")
    }


def test_the_app_project_allows_only_what_tenancy_renders() -> None:
    """One repository, the in-cluster destination with exactly the namespaces the units write
    into, the five cluster-scoped kinds and the namespaced kinds rendered; no wildcard."""
    project = sync_objects()["sync/argocd/appproject-tenancy.yaml"]
    spec = project["spec"]
    assert project["metadata"] == {
        "name": "tenancy",
        "namespace": "argocd",
        "labels": {"app.kubernetes.io/managed-by": "tenancy"},
    }
    assert spec["sourceRepos"] == ["https://git.example.org/platform/tenancy.git"]
    server = "https://kubernetes.default.svc"
    assert spec["destinations"] == [
        {"server": server},
        *({"namespace": ns, "server": server} for ns in ("cleo", "cleo-books", "vault-config")),
    ]
    assert {(k["group"], k["kind"]) for k in spec["clusterResourceWhitelist"]} == {
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("", "Namespace"),
    }
    namespaced = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    assert {
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("cert-manager.io", "Certificate"),
        ("externaldns.k8s.io", "DNSEndpoint"),
        ("redhatcop.redhat.io", "Policy"),
        ("redhatcop.redhat.io", "KubernetesAuthEngineRole"),
    } <= namespaced
    assert ("", "Secret") not in namespaced
    assert "*" not in yaml.safe_dump(spec)


def test_a_kind_nothing_renders_is_not_allowed() -> None:
    """Without domains there is no Certificate nor DNSEndpoint, and the project does not allow
    them; the tenants unit then holds no custom resource and needs no CRD."""
    k8s = {"cleo": {**K8S["cleo"], "domains": []}, "brin": K8S["brin"]}
    found = sync_objects(k8s=k8s)
    spec = found["sync/argocd/appproject-tenancy.yaml"]["spec"]
    kinds = {k["kind"] for k in spec["namespaceResourceWhitelist"]}
    assert "Certificate" not in kinds and "DNSEndpoint" not in kinds
    elements = found["sync/argocd/applicationset-tenancy.yaml"]["spec"]["generators"][0]
    tenants = elements["list"]["elements"][2]
    assert tenants["unit"] == "tenants"
    assert (tenants["crds"], tenants["skipDryRun"]) == ("", "false")


def test_the_application_set_syncs_unit_after_unit_with_rolling_sync() -> None:
    """Argo CD ignores sync waves on generated Applications: RollingSync steps select each
    unit by its label, cluster then vault then tenants; no sync-wave annotation is left."""
    appset = sync_objects()["sync/argocd/applicationset-tenancy.yaml"]
    spec = appset["spec"]
    assert spec["strategy"]["type"] == "RollingSync"
    steps = spec["strategy"]["rollingSync"]["steps"]
    assert [s["matchExpressions"] for s in steps] == [
        [{"key": "tenancy.io/sync-unit", "operator": "In", "values": [unit]}]
        for unit in ("cluster", "vault", "tenants")
    ]
    template = spec["template"]
    assert template["metadata"]["labels"] == {"tenancy.io/sync-unit": "{{.unit}}"}
    assert "argocd.argoproj.io/sync-wave" not in yaml.safe_dump(appset)
    # RollingSync takes `prune` from `automated` (and turns autosync off itself).
    assert template["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert template["spec"]["project"] == "tenancy"


def test_units_of_custom_resources_skip_the_dry_run_of_kinds_not_yet_installed() -> None:
    """The vault and tenants units hold custom resources: their Applications carry
    SkipDryRunOnMissingResource=true and name the CRD groups they need; the cluster unit not."""
    appset = sync_objects()["sync/argocd/applicationset-tenancy.yaml"]
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert [(e["unit"], e["crds"], e["skipDryRun"]) for e in elements] == [
        ("cluster", "", "false"),
        ("vault", "redhatcop.redhat.io", "true"),
        ("tenants", "cert-manager.io,externaldns.k8s.io", "true"),
    ]
    policy = appset["spec"]["template"]["spec"]["syncPolicy"]
    assert "SkipDryRunOnMissingResource={{.skipDryRun}}" in policy["syncOptions"]
    annotations = appset["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"tenancy.io/requires-crds": "{{.crds}}"}


def test_flux_units_wait_for_the_one_before_and_the_sites_operators() -> None:
    """cluster -> vault -> tenants by dependsOn; a unit others depend on waits for its objects
    to be ready; the site's operator Kustomizations are dependencies of the custom-resource
    units only; the GitRepository they name is rendered."""
    found = sync_objects({"depends_on": ["cert-manager", "infra/vault-config-operator"]})
    spec = {
        unit: found[f"sync/flux/kustomization-tenancy-{unit}.yaml"]["spec"]
        for unit in ("cluster", "vault", "tenants")
    }
    operators = [
        {"name": "cert-manager"},
        {"name": "vault-config-operator", "namespace": "infra"},
    ]
    assert "dependsOn" not in spec["cluster"]
    assert spec["vault"]["dependsOn"] == [{"name": "tenancy-cluster"}, *operators]
    assert spec["tenants"]["dependsOn"] == [{"name": "tenancy-vault"}, *operators]
    assert spec["cluster"]["wait"] is True and spec["vault"]["wait"] is True
    assert "wait" not in spec["tenants"]
    source = found["sync/flux/gitrepository-tenancy.yaml"]
    assert source["metadata"]["namespace"] == "flux-system"
    assert source["spec"] == {
        "interval": "1m",
        "ref": {"branch": "main"},
        "url": "https://git.example.org/platform/tenancy.git",
    }
    assert {s["sourceRef"]["name"] for s in spec.values()} == {source["metadata"]["name"]}


@pytest.mark.parametrize(
    ("sync", "expected"),
    [
        ({"tool": "argocd"}, {"appproject-tenancy", "applicationset-tenancy"}),
        (
            {"tool": "flux", "git_repository": False},
            {f"kustomization-tenancy-{u}" for u in ("cluster", "vault", "tenants")},
        ),
        ({"app_project": False}, {"applicationset-tenancy", "gitrepository-tenancy"}),
    ],
)
def test_the_site_chooses_what_sync_wiring_is_rendered(
    sync: dict[str, Any], expected: set[str]
) -> None:
    """`render.sync.tool` picks Argo CD, Flux or both; the AppProject and the GitRepository
    can each be left to the site."""
    names = {Path(p).stem for p in sync_objects(sync)}
    assert expected <= names
    if sync.get("tool") == "argocd":
        assert names == expected
    if sync.get("tool") == "flux":
        assert not any(n.startswith(("app", "gitrepository")) for n in names)
    if sync.get("app_project") is False:
        assert "appproject-tenancy" not in names


def test_every_sync_object_passes_the_strict_crd_check() -> None:
    """The upstream CRD facts (schemas/crds/) accept each object as rendered: no unknown
    field, no wrong type (the check `render` runs)."""
    config = replace(CONFIG, render={**CONFIG.render, "sync": {"depends_on": ["a/b"]}})
    tree, _ = render(build(ROSTER, K8S, config), load(), sources=SOURCES)
    objects = [m for m in tree.manifests if m.path.startswith("sync/")]
    assert {m.kind for m in objects} == {
        "AppProject",
        "ApplicationSet",
        "GitRepository",
        "Kustomization",
    }
    problems = k8s_schema.check(objects, tree.files, "manifests")
    assert [p for p in problems if p.severity == "error"] == []


def test_the_placeholder_repository_is_a_warning_at_its_key() -> None:
    """The built-in `https://git.example.org/...` URL wires Argo CD and Flux to nowhere: a
    warning of render (not of every command) at `render.repo_url` (or at the file when the
    default is used), none for a real URL."""
    for text, line in [
        ("render:\n  repo_url: https://git.example.org/x.git\n", 2),
        ("zones: [example.org]\n", 1),
    ]:
        document, _ = parse_yaml("tenancy.yaml", text)
        config, problems = resolve(document, Path("/repo/tenancy.yaml"))
        assert problems == [] and config is not None
        assert not [n for n in config.notes if n.code == "sync-placeholder-repo"]
        [note] = [n for n in config.render_notes if n.code == "sync-placeholder-repo"]
        assert note.severity == "warning"
        assert (note.location.path, note.location.line) == ("tenancy.yaml", line)
    real = dedent(
        """
        render:
          repo_url: https://git.corp.example/platform/tenants.git
        """
    )
    document, _ = parse_yaml("tenancy.yaml", real)
    config, _ = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is not None
    assert not [n for n in config.render_notes if n.code == "sync-placeholder-repo"]
