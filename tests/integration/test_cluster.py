"""Rendered trees judged by a real kube-apiserver (tests/kube.py): applied server-side as a sync
would, CRDs first, and `tenancy cluster check|access` against the same server.

The cluster is shared by the session; each test applies into namespaces of its own or reads
only what it created, so the order tests run in does not matter. No controller-manager runs:
nothing here needs one (server-side apply, admission and RBAC are the API server's own).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench import generate

from tenancy.cluster.command import apply_tree
from tests import kube
from tests.conftest import REPO, RunCli
from tests.kube import Cluster


def render_copy(run: RunCli, tmp_path: Path, source: Path = REPO) -> Path:
    """A copy of a repository's inputs, rendered afresh: its manifests/ folder."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(source / "tenancy.yaml", repo / "tenancy.yaml")
    shutil.copytree(source / "tenants", repo / "tenants")
    result = run("render", cwd=repo)
    assert result.exit_code == 0, result.output
    return repo / "manifests"


def applied(cluster: Cluster, root: Path, *, dry_run: bool = False) -> list[str]:
    client = kube.connect(cluster)
    try:
        problems = apply_tree(client, kube.tree_objects(root), dry_run=dry_run)
    finally:
        client.close()
    return [f"{d.location}: [{d.severity}] {d.message} ({d.code})" for d in problems]


def test_the_example_tree_is_accepted_whole(kube_cluster: Cluster, run: RunCli) -> None:
    """The committed example render applies with zero rejections, and the objects are there
    as rendered (the CRs' integer TTLs, the Namespace's Pod Security label)."""
    assert applied(kube_cluster, REPO / "manifests") == []
    status, role = kube_cluster.request(
        "GET",
        "/apis/redhatcop.redhat.io/v1alpha1/namespaces/vault-config/"
        "kubernetesauthengineroles/cleo-deployer",
    )
    assert status == 200
    assert role["spec"]["tokenTTL"] == 3600  # type: ignore[index]
    status, namespace = kube_cluster.request("GET", "/api/v1/namespaces/cleo")
    assert status == 200
    labels = namespace["metadata"]["labels"]  # type: ignore[index]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # A second apply of the same tree is a no-op for the server, as a re-sync is.
    assert applied(kube_cluster, REPO / "manifests") == []


def test_a_generated_platform_is_accepted_whole(run: RunCli, tmp_path: Path) -> None:
    """A few hundred generated people (every tier, parked rows, owners of several
    namespaces, domains) render to a tree the API server accepts without one rejection.
    A cluster of its own: the generated people must not bind into the shared cluster's."""
    source = tmp_path / "source"
    repo = generate.generate(300, source, seed=12, clean=True)
    assert repo.owners > 200 and repo.power_users and repo.admins
    inputs = (source / "tenants" / "k8s_users.json").read_text()
    assert '"domains": [' in inputs
    assert "parked: true" in (source / "tenants" / "roster.yaml").read_text()
    (source / "tenancy.yaml").write_text(
        (source / "tenancy.yaml").read_text().replace("manifests", "generated")
    )
    manifests = render_copy(run, tmp_path, source).parent / "generated"
    objects = kube.tree_objects(manifests)
    assert len(objects) > 2000
    with kube.kube_cluster(tmp_path / "kube") as cluster:
        kube.prepare(cluster)
        assert applied(cluster, manifests) == []


def test_a_wrong_typed_cr_field_is_refused_at_its_line(
    kube_cluster: Cluster, tmp_path: Path
) -> None:
    """The judge can fail: a TTL written as '1h' (what tenancy once rendered) is refused by
    the CRD's schema, reported at the rendered file and line of the field."""
    tree = tmp_path / "manifests" / "vault"
    tree.mkdir(parents=True)
    source = REPO / "manifests/vault/operator/kubernetesauthenginerole-cleo-deployer.yaml"
    text = source.read_text()
    broken = text.replace("tokenTTL: 3600", "tokenTTL: '1h'").replace(
        "name: cleo-deployer", "name: broken-ttl"
    )
    assert broken != text
    (tree / "role.yaml").write_text(broken)
    line = broken.splitlines().index("  tokenTTL: '1h'") + 1
    problems = applied(kube_cluster, tree)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"vault/role.yaml:{line}:3: [error] KubernetesAuthEngineRole")
    assert "spec.tokenTTL: expected numeric" in problems[0]
    assert "(cluster-rejected)" in problems[0]


def test_a_bad_pod_security_level_is_refused(kube_cluster: Cluster, tmp_path: Path) -> None:
    """A Namespace whose Pod Security label is not a level is refused by the API server's
    admission, at the label's line."""
    tree = tmp_path / "manifests"
    tree.mkdir()
    (tree / "namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bad-level\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: strictest\n"
    )
    problems = applied(kube_cluster, tree)
    assert len(problems) == 1, problems
    assert problems[0].startswith("manifests/namespace.yaml:")
    assert "strictest" in problems[0]


def test_cluster_check_passes_the_committed_tree(
    kube_cluster: Cluster, run: RunCli, tmp_path: Path
) -> None:
    """`tenancy cluster check` dry-runs the committed tree: exit 0, nothing written (a new
    namespace's objects are reported as not dry-run, as info)."""
    repo = render_copy(run, tmp_path).parent
    k8s = repo / "tenants/k8s_users.yaml"
    k8s.write_text(k8s.read_text().replace("[gabi]", "[gabi-fresh]"))
    roster = repo / "tenants/roster.yaml"
    roster.write_text(roster.read_text().replace("[gabi]", "[gabi-fresh]"))
    assert run("render", cwd=repo).exit_code == 0
    result = run(
        "cluster", "check", "--kubeconfig", str(kube_cluster.kubeconfig), "-f", "json", cwd=repo
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    infos = [d for d in report["diagnostics"] if d["code"] == "cluster-namespace-new"]
    assert [d["file"] for d in infos] == [
        "manifests/kubernetes/tenants/gabi/gabi-fresh/namespace-gabi-fresh.yaml"
    ]
    status, _ = kube_cluster.request("GET", "/api/v1/namespaces/gabi-fresh")
    assert status == 404  # a dry run creates nothing


def test_cluster_check_reports_each_rejection_at_its_file(
    kube_cluster: Cluster, run: RunCli, tmp_path: Path
) -> None:
    """A hand-edited committed file the server refuses, and a kind whose CRD the cluster
    lacks: exit 1, each at its file and line, in text and in json."""
    repo = render_copy(run, tmp_path).parent
    edited = repo / "manifests/kubernetes/cluster/clusterrole-tenancy-power-user.yaml"
    edited.write_text(edited.read_text().replace("- get\n", "- 17\n", 1))
    extra = repo / "manifests/kubernetes/cluster/widget.yaml"
    extra.write_text("apiVersion: example.org/v1\nkind: Widget\nmetadata:\n  name: w\n")
    args = ("cluster", "check", "--kubeconfig", str(kube_cluster.kubeconfig))
    text = run(*args, cwd=repo)
    assert text.exit_code == 1
    assert "manifests/kubernetes/cluster/widget.yaml:1:13: [error]" in text.output
    assert "does not serve example.org/v1 Widget" in text.output
    result = run(*args, "-f", "json", cwd=repo)
    assert result.exit_code == 1
    found = {(d["file"], d["code"]) for d in json.loads(result.output)["diagnostics"]}
    assert found == {
        (
            "manifests/kubernetes/cluster/clusterrole-tenancy-power-user.yaml",
            "cluster-rejected",
        ),
        ("manifests/kubernetes/cluster/widget.yaml", "cluster-unknown-kind"),
    }


def test_cluster_check_exits_3_when_the_cluster_is_unreachable(tmp_path: Path) -> None:
    """No API server at the kubeconfig's address, or no kubeconfig: exit 3 with a message on
    stderr, no traceback (the real command, as a process: exit codes are set in `main`)."""
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    for kubeconfig, expected in (
        (config, "cannot reach the Kubernetes API at https://127.0.0.1:9"),
        (tmp_path / "nope", "cannot load the kubeconfig"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tenancy", "cluster", "check", "--kubeconfig", str(kubeconfig)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 3, done.stderr
        assert expected in done.stderr
        assert "Traceback" not in done.stderr


@pytest.fixture
def shadow_bindings(kube_cluster: Cluster) -> list[tuple[str, str]]:
    """Hand-made bindings an auditor must see (and one that must stay quiet), created in
    the live cluster beside the applied example tree; removed afterwards."""
    assert applied(kube_cluster, REPO / "manifests") == []
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    made = [
        (
            f"{rbac}/namespaces/gabi/rolebindings",
            {
                "metadata": {"name": "sneaky-edit", "namespace": "gabi"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "edit",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "User",
                        "name": "dara.v@example.org",
                    }
                ],
            },
        ),
        (
            f"{rbac}/clusterrolebindings",
            {
                "metadata": {"name": "brin-secrets"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "secret-reader",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "User",
                        "name": "brin.k@example.org",
                    }
                ],
            },
        ),
        (
            f"{rbac}/clusterroles",
            {
                "metadata": {"name": "secret-reader"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
            },
        ),
        (
            f"{rbac}/clusterrolebindings",
            {
                "metadata": {"name": "a-stranger"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "view",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "User",
                        "name": "nobody@example.com",
                    }
                ],
            },
        ),
    ]
    for path, body in made:
        status, answer = kube_cluster.request("POST", path, body)
        assert status == 201, answer
    yield [(p, b["metadata"]["name"]) for p, b in made]  # type: ignore[index]
    for path, name in [(p, b["metadata"]["name"]) for p, b in made]:  # type: ignore[index]
        kube_cluster.request("DELETE", f"{path}/{name}")


def test_cluster_access_finds_shadow_bindings(
    kube_cluster: Cluster, run: RunCli, shadow_bindings: list[tuple[str, str]]
) -> None:
    """Bindings tenancy did not render that name a person it knows are findings, with what
    they grant; a binding of someone tenancy does not know, and the rendered ones, are not."""
    result = run(
        "cluster", "access", "--kubeconfig", str(kube_cluster.kubeconfig), "-f", "json", cwd=REPO
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    by_file = {d["file"]: d for d in report["diagnostics"]}
    assert set(by_file) == {
        "cluster:ClusterRoleBinding/brin-secrets",
        "cluster:RoleBinding/gabi/sneaky-edit",
    }
    assert all(d["code"] == "cluster-shadow-access" for d in by_file.values())
    secrets = by_file["cluster:ClusterRoleBinding/brin-secrets"]["message"]
    assert "brin (brin.k@example.org)" in secrets and "get, list on secrets" in secrets
    assert "cluster-wide" in secrets
    edit = by_file["cluster:RoleBinding/gabi/sneaky-edit"]["message"]
    assert "dara" in edit and "namespace gabi" in edit and "ClusterRole edit" in edit


def test_cluster_access_is_clean_on_the_rendered_tree_alone(
    kube_cluster: Cluster, run: RunCli
) -> None:
    """With only what tenancy rendered (and bindings of strangers), nothing is reported."""
    assert applied(kube_cluster, REPO / "manifests") == []
    result = run("cluster", "access", "--kubeconfig", str(kube_cluster.kubeconfig), cwd=REPO)
    assert result.exit_code == 0, result.output


def _mutants(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The object with an unknown spec field, and with each spec field of the wrong type."""
    spec = body.get("spec") or {}
    out = [("spec.bogus", {**body, "spec": {**spec, "bogus": 1}})]
    for key, value in spec.items():
        wrong = "seven" if isinstance(value, int) and not isinstance(value, bool) else 7
        out.append((f"spec.{key}", {**body, "spec": {**spec, key: wrong}}))
    return out


def test_the_offline_crd_check_agrees_with_the_api_server(kube_cluster: Cluster) -> None:
    """For every custom object of the committed tree and its mutants, `render`'s offline
    check (the upstream CRD facts) says what the API server, given the same CRDs, says: the
    fast first pass never passes what the judge refuses, nor refuses what it accepts."""
    from tenancy.cluster.objects import TreeObject
    from tenancy.inputs.load import parse_yaml
    from tenancy.model import Manifest
    from tenancy.render.checks.k8s_schema import check
    from tenancy.render.yaml import dump

    assert applied(kube_cluster, REPO / "manifests") == []  # their namespaces exist
    custom = [
        o
        for o in kube.tree_objects(REPO / "manifests")
        if "." in o.api_version.split("/")[0]
        and not o.api_version.startswith("rbac.")
        and not o.api_version.startswith("networking.")
    ]
    assert {o.kind for o in custom} >= {
        "ApplicationSet",
        "Certificate",
        "Entity",
        "EntityAlias",
        "KubernetesAuthEngineRole",
        "Kustomization",
        "Policy",
    }
    client = kube.connect(kube_cluster)
    disagree = []
    checked = 0
    try:
        for item in custom:
            for what, body in [("as rendered", item.body), *_mutants(item.body)]:
                text = dump(body, "s")
                manifest = Manifest(
                    path="o.yaml",
                    kind=item.kind,
                    name=item.name,
                    namespace=item.namespace,
                    body=body,
                    source="s",
                )
                offline = [
                    d for d in check([manifest], {"o.yaml": text}, "x") if d.severity == "error"
                ]
                document, _ = parse_yaml("o.yaml", text)
                assert document is not None
                server = apply_tree(client, [TreeObject(document)], dry_run=True)
                if bool(offline) != bool(server):
                    disagree.append((item.kind, what, [d.message for d in offline + server]))
                checked += 1
    finally:
        client.close()
    assert disagree == []
    assert checked > 100
