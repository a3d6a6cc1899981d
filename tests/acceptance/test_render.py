"""`tenancy render` end to end: the committed tree is current; drift and bad input stop it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, RunCli, write

ROSTER = """
users:
  cleom: {authentik_user: cleo98, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}
"""
K8S = """
cleo: {role: namespace-owner, email: cleo98@example.org, namespaces: [cleo]}
"""


def test_committed_manifests_are_current(run: RunCli) -> None:
    """This repository's manifests/ is exactly the render of tenants/ (what CI checks)."""
    result = run("render", "--check", cwd=REPO)
    assert result.exit_code == 0, result.output


def copy_repo(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    target.mkdir()
    for name in ("tenancy.yaml", "tenants", "manifests"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy(source, target / name)
    return target


def test_check_reports_drift_as_diagnostics(run: RunCli, tmp_path: Path) -> None:
    """An edited, a deleted and an orphaned file each get a drift finding; nothing is written."""
    repo = copy_repo(tmp_path)
    manifests = repo / "manifests"
    (manifests / "kubernetes/cluster/clusterrole-tenancy-power-user.yaml").write_text("edited\n")
    (manifests / "kubernetes/tenants/gabi/gabi/namespace-gabi.yaml").unlink()
    k8s = repo / "tenants/k8s_users.yaml"
    k8s.write_text(k8s.read_text().replace("  namespaces: [dara]\n", "  namespaces: [dara2]\n"))
    roster = repo / "tenants/roster.yaml"
    roster.write_text(roster.read_text().replace("namespaces: [dara]", "namespaces: [dara2]"))
    result = run("render", "--check", "-f", "json", cwd=repo)
    assert result.exit_code == 1
    found = {(d["file"], d["code"]) for d in json.loads(result.output)["diagnostics"]}
    assert (
        "manifests/kubernetes/cluster/clusterrole-tenancy-power-user.yaml",
        "render-modified",
    ) in found
    assert ("manifests/kubernetes/tenants/gabi/gabi/namespace-gabi.yaml", "render-missing") in found
    assert ("manifests/kubernetes/tenants/dara/dara/namespace-dara.yaml", "render-orphan") in found
    assert (
        "manifests/kubernetes/tenants/dara/dara2/namespace-dara2.yaml",
        "render-missing",
    ) in found
    assert not (manifests / "kubernetes/tenants/dara/dara2").exists()


def test_render_then_check_is_clean(run: RunCli, tmp_path: Path) -> None:
    """After a render, --check passes; hand-added files in the tree survive the render."""
    repo = copy_repo(tmp_path)
    (repo / "manifests" / "README.md").write_text("hand-written notes\n")
    k8s = repo / "tenants/k8s_users.yaml"
    k8s.write_text(k8s.read_text().replace('pods: "10"', 'pods: "12"'))
    assert run("render", cwd=repo).exit_code == 0
    assert run("render", "--check", cwd=repo).exit_code == 0
    assert (repo / "manifests" / "README.md").read_text() == "hand-written notes\n"
    quota = repo / "manifests/kubernetes/tenants/dara/dara/resourcequota-user-quota.yaml"
    assert "pods: '12'" in quota.read_text()


def test_invalid_inputs_render_nothing(run: RunCli, workdir: Path) -> None:
    """render refuses inputs that do not validate and leaves the output alone."""
    write(workdir, "r.yaml", ROSTER.replace("namespace-owner", "wizard"))
    write(workdir, "k.yaml", K8S)
    result = run("render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out")
    assert result.exit_code == 1
    assert "schema-enum" in result.output
    assert not (workdir / "out").exists()


def test_render_without_config(run: RunCli, workdir: Path) -> None:
    """--roster/--k8s-users/--output work with no tenancy.yaml; output is deterministic."""
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    args = ("render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out")
    assert run(*args).exit_code == 0
    first = {p: p.read_bytes() for p in (workdir / "out").rglob("*") if p.is_file()}
    shutil.rmtree(workdir / "out")
    assert run(*args).exit_code == 0
    second = {p: p.read_bytes() for p in (workdir / "out").rglob("*") if p.is_file()}
    assert first == second
    assert (workdir / "out/kubernetes/tenants/cleo/cleo/namespace-cleo.yaml").exists()


def test_site_settings_override_the_profiles(run: RunCli, workdir: Path) -> None:
    """tenancy.yaml `render:` sets the certificate issuer and the sync source."""
    write(
        workdir,
        "tenancy.yaml",
        """
        inputs: {roster: r.yaml, k8s_users: k.yaml}
        zones: [example.org]
        render:
          issuer: {kind: Issuer, name: internal-ca}
          repo_url: https://git.corp.example/platform/tenants.git
    """,
    )
    write(workdir, "r.yaml", ROSTER)
    write(
        workdir,
        "k.yaml",
        K8S.replace("namespaces: [cleo]}", "namespaces: [cleo], domains: [cleo]}"),
    )
    assert run("render").exit_code == 0
    cert = (
        workdir / "manifests/kubernetes/tenants/cleo/cleo/certificate-tls-cleo.yaml"
    ).read_text()
    assert "kind: Issuer\n" in cert and "name: internal-ca" in cert
    appset = (workdir / "manifests/sync/argocd/applicationset-tenancy.yaml").read_text()
    assert "repoURL: 'https://git.corp.example/platform/tenants.git'" in appset


def test_inputs_a_policy_rejects_render_nothing(run: RunCli, workdir: Path) -> None:
    """Schema-valid inputs that a policy rejects (one namespace claimed by two users): the
    policy's finding is reported where it is, and neither `render` nor `--check` touches the
    tree rendered before (the policies judge beside the render; their verdict comes first)."""
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    args = ("render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out")
    assert run(*args).exit_code == 0
    before = {p: p.read_bytes() for p in (workdir / "out").rglob("*") if p.is_file()}
    entries = sorted(p.name for p in workdir.iterdir())
    k8s = write(
        workdir,
        "k.yaml",
        K8S + "dana: {role: namespace-owner, email: d@example.org, namespaces: [cleo]}\n",
    )
    lines = k8s.read_text().splitlines()
    dana = next(number for number, line in enumerate(lines, 1) if line.startswith("dana:"))
    for extra in ((), ("--check",)):
        result = run(*args, *extra, "-f", "json")
        assert result.exit_code == 1
        found = json.loads(result.stdout)["diagnostics"]
        claimed = [d for d in found if d["code"] == "namespace-claimed-twice"]
        assert [(d["file"], d["line"]) for d in claimed] == [("k.yaml", dana)]
        assert not [d for d in found if d["code"].startswith("render-")]
        assert {p: p.read_bytes() for p in (workdir / "out").rglob("*") if p.is_file()} == before
        assert sorted(p.name for p in workdir.iterdir()) == entries


def test_a_render_reports_the_policies_warnings(run: RunCli, workdir: Path) -> None:
    """A policy warning (a roster row whose cluster user is not there yet) does not stop the
    render, and is in its report."""
    write(
        workdir,
        "r.yaml",
        ROSTER + "  ivo: {authentik_user: ivo1, k8s_user: ivo, tier: namespace-owner, "
        "namespaces: [ivo]}\n",
    )
    write(workdir, "k.yaml", K8S)
    result = run("render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out")
    assert result.exit_code == 0
    assert "grant-pending" in result.output
    assert (workdir / "out/kubernetes/tenants/cleo/cleo/namespace-cleo.yaml").exists()


def test_render_with_an_opa_server(run: RunCli, workdir: Path, opa_url: str) -> None:
    """`--engine opa` renders the tree the embedded engine renders, and its policies reject
    what the embedded engine's reject (they judge in-process: a server's connections are not
    shared with a child)."""
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    inputs = ("--roster", "r.yaml", "--k8s-users", "k.yaml")
    assert run("render", *inputs, "-o", "embedded").exit_code == 0
    server = ("--engine", "opa", "--opa-url", opa_url)
    assert run("render", *inputs, *server, "-o", "served").exit_code == 0
    tree = {
        side: {
            p.relative_to(workdir / side): p.read_bytes()
            for p in (workdir / side).rglob("*")
            if p.is_file()
        }
        for side in ("embedded", "served")
    }
    index = Path("INDEX.json")
    assert tree["embedded"].keys() == tree["served"].keys()
    different = [p for p in tree["embedded"] if tree["embedded"][p] != tree["served"][p]]
    # The output path is written into the sync objects and the index; nothing else differs.
    assert all("sync" in p.parts or p == index for p in different)
    write(
        workdir,
        "k.yaml",
        K8S + "dana: {role: namespace-owner, email: d@example.org, namespaces: [cleo]}\n",
    )
    result = run("render", *inputs, *server, "-o", "served", "-f", "json")
    assert result.exit_code == 1
    codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
    assert "namespace-claimed-twice" in codes


def test_render_from_a_subfolder_writes_repository_relative_paths(
    run: RunCli, tmp_path: Path
) -> None:
    """Run from inside the repository (`cd tenants`), check is clean and render changes nothing:
    the sync objects name the output relative to the config's folder, never the host's path."""
    repo = copy_repo(tmp_path)
    shutil.copytree(REPO / "render", repo / "render")  # the tier data the tree is rendered from
    before = {p: p.read_bytes() for p in (repo / "manifests").rglob("*") if p.is_file()}
    env = {"TENANCY_NO_CACHE": "1"}
    assert run("render", "--check", cwd=repo / "tenants", env=env).exit_code == 0
    assert run("render", cwd=repo / "tenants", env=env).exit_code == 0
    after = {p: p.read_bytes() for p in (repo / "manifests").rglob("*") if p.is_file()}
    assert after == before
    assert str(tmp_path).encode() not in b"".join(after.values())


def test_files_added_to_synced_folders_are_drift(run: RunCli, tmp_path: Path) -> None:
    """A file tenancy did not render, in a folder the cluster syncs, is drift for `--check`
    (rendered afresh and answered from the memo alike), and `render` names the ones it keeps."""
    repo = copy_repo(tmp_path)
    shutil.copytree(REPO / "render", repo / "render")
    cluster = repo / "manifests/kubernetes/cluster"
    (cluster / ".argocd-source-tenancy-cluster.yaml").write_text("helm: {}\n")
    extra = "clusterrolebinding-extra.yaml"
    (cluster / extra).write_text("kind: ClusterRoleBinding\n")
    (repo / "manifests/NOTES.md").write_text("not synced\n")
    expected = {
        ("manifests/kubernetes/cluster/.argocd-source-tenancy-cluster.yaml", "render-unowned"),
        (f"manifests/kubernetes/cluster/{extra}", "render-unowned"),
    }
    for _ in ("rendered", "from the memo"):
        result = run("render", "--check", "-f", "json", cwd=repo)
        assert result.exit_code == 1
        found = {(d["file"], d["code"]) for d in json.loads(result.stdout)["diagnostics"]}
        assert {f for f in found if f[1] != "sync-placeholder-repo"} == expected
    (repo / "manifests/kubernetes/tenants/gabi/gabi/namespace-gabi.yaml").unlink()
    result = run("render", cwd=repo)
    assert result.exit_code == 0
    assert f"manifests/kubernetes/cluster/{extra}" in result.stderr
    assert "manifests/NOTES.md" in result.stderr
