"""`tenancy render --sync`: the sync wiring a site chooses, end to end."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCli, write

ROSTER = """
users:
  cleom: {authentik_user: cleo98, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}
"""
K8S = """
cleo: {role: namespace-owner, email: cleo98@example.org, namespaces: [cleo]}
"""


def synced(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / "sync").rglob("*.yaml")}


def test_the_sync_option_and_setting_choose_the_wiring(run: RunCli, workdir: Path) -> None:
    """`--sync argocd` renders the AppProject and ApplicationSet alone; the config's
    `render.sync.tool` decides otherwise (here flux, without its GitRepository), and the
    files of the tool left out are removed; `render --check` agrees with the same choice."""
    write(
        workdir,
        "tenancy.yaml",
        """
        inputs: {roster: r.yaml, k8s_users: k.yaml}
        render:
          repo_url: https://git.corp.example/platform/tenants.git
          sync: {tool: flux, git_repository: false, depends_on: [flux-system/cert-manager]}
        """,
    )
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    root = workdir / "manifests"
    result = run("render", "--sync", "argocd")
    assert result.exit_code == 0, result.output
    assert synced(root) == {
        "sync/argocd/appproject-tenancy.yaml",
        "sync/argocd/applicationset-tenancy.yaml",
    }
    assert "sync-placeholder-repo" not in result.output
    assert run("render", "--check", "--sync", "argocd").exit_code == 0
    assert run("render", "--check").exit_code == 1  # the config says flux
    assert run("render").exit_code == 0
    assert synced(root) == {
        f"sync/flux/kustomization-tenancy-{unit}.yaml" for unit in ("cluster", "vault", "tenants")
    }
    # The vault unit holds custom resources (the tenants unit none: no one has domains).
    vault = (root / "sync/flux/kustomization-tenancy-vault.yaml").read_text()
    assert "  - name: cert-manager\n    namespace: flux-system\n" in vault
    tenants = (root / "sync/flux/kustomization-tenancy-tenants.yaml").read_text()
    assert "cert-manager" not in tenants


def test_an_unknown_sync_tool_is_a_usage_error(run: RunCli, workdir: Path) -> None:
    """`--sync` takes argocd, flux or both."""
    result = run("render", "--sync", "jenkins")
    assert result.exit_code == 2
    assert "'jenkins' is not one of" in result.output


def test_the_placeholder_repository_is_a_render_warning(run: RunCli, workdir: Path) -> None:
    """Rendering sync wiring for the built-in placeholder URL warns at the config (exit 0);
    `validate` does not: the inputs are fine, the wiring is what points nowhere."""
    write(workdir, "tenancy.yaml", "inputs: {roster: r.yaml, k8s_users: k.yaml}\n")
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    result = run("render")
    assert result.exit_code == 0
    assert "tenancy.yaml:1:1: [warning]" in result.output
    assert "(sync-placeholder-repo)" in result.output
    assert "sync-placeholder-repo" not in run("validate").output
