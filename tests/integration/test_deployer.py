"""The CI deployer end to end (issue 13): each tenant namespace's pipeline logs in to Vault as
its own identity and gets only its own tenant's credentials and secrets.

Real on both sides: OpenBao's Kubernetes auth method reviews tokens with the test API
server's TokenReview API (a `vault-reviewer` service account bound to
`system:auth-delegator`), and its Kubernetes secrets engine mints tokens there with a
`vault-secrets` service account. The Vault layer is applied by `tenancy vault apply`, the
Kubernetes tree by `tenancy.cluster.command.apply_tree`, both from a fresh render of the example.
What stands in for a pipeline is a token of the `deployer` ServiceAccount from the
TokenRequest API, which is the token a pod running as that account would be given (no pod
runs: the test cluster has no kubelet, see tests/kube.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest

from tenancy.cluster.command import apply_tree
from tests import kube
from tests.conftest import RunCli
from tests.integration.test_vault import copy_example
from tests.kube import Cluster

#: Where the platform runs OpenBao's own service accounts in this test.
PLATFORM = "vault-config"
RBAC = "rbac.authorization.k8s.io"

#: What the secrets engine's service account needs to mint a token for `<ns>-deployer`: make
#: a service account, its token and a RoleBinding to the Role, and delete them at lease end.
#: Binding a Role needs `bind` on it (or every permission it grants): the platform grants
#: `bind` on roles, never the rules themselves.
TOKEN_CREATOR_RULES = [
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["create", "delete", "get"]},
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    {"apiGroups": [RBAC], "resources": ["rolebindings"], "verbs": ["create", "delete", "get"]},
    {"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["bind", "get"]},
]


def _ok(answer: tuple[int, dict[str, Any]], *codes: int) -> dict[str, Any]:
    status, body = answer
    assert status in (codes or (200, 201)), (status, body)
    return body


def _apply(cluster: Cluster, path: str, body: dict[str, Any]) -> None:
    """Create, or leave as it is when it exists (the session cluster is shared)."""
    _ok(cluster.request("POST", path, body), 200, 201, 409)


def service_account_token(cluster: Cluster, namespace: str, name: str, *audiences: str) -> str:
    """A token of the service account from the TokenRequest API (a pod's projected token)."""
    spec: dict[str, Any] = {"expirationSeconds": 3600}
    if audiences:
        spec["audiences"] = list(audiences)
    body = _ok(
        cluster.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
        )
    )
    return str(body["status"]["token"])


def platform_account(cluster: Cluster, name: str, cluster_role: str) -> str:
    """A platform service account bound cluster-wide to a ClusterRole; its token."""
    _apply(
        cluster,
        f"/api/v1/namespaces/{PLATFORM}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
    )
    _apply(
        cluster,
        f"/apis/{RBAC}/v1/clusterrolebindings",
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"test-{name}"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": PLATFORM}],
        },
    )
    return service_account_token(cluster, PLATFORM, name)


@pytest.fixture
def deployed(
    kube_cluster: Cluster, fresh_openbao: tuple[str, str], run: RunCli, tmp_path: Path
) -> tuple[Cluster, str, str]:
    """OpenBao wired to the test cluster as the platform wires it, the example's Vault layer
    applied by `tenancy vault apply` and its Kubernetes tree applied to the cluster."""
    cluster = kube_cluster
    url, token = fresh_openbao
    root = hvac.Client(url=url, token=token)
    ca = cluster.ca_file.read_text(encoding="utf-8")

    reviewer = platform_account(cluster, "vault-reviewer", "system:auth-delegator")
    root.sys.enable_auth_method("kubernetes", path="kubernetes")
    root.write_data(
        "auth/kubernetes/config",
        data={
            "kubernetes_host": cluster.url,
            "kubernetes_ca_cert": ca,
            "token_reviewer_jwt": reviewer,
        },
    )
    _apply(
        cluster,
        f"/apis/{RBAC}/v1/clusterroles",
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "test-vault-token-creator"},
            "rules": TOKEN_CREATOR_RULES,
        },
    )
    minter = platform_account(cluster, "vault-secrets", "test-vault-token-creator")
    root.sys.enable_secrets_engine("kubernetes", path="kubernetes")
    root.write_data(
        "kubernetes/config",
        data={
            "kubernetes_host": cluster.url,
            "kubernetes_ca_cert": ca,
            "service_account_jwt": minter,
        },
    )
    root.sys.enable_auth_method("oidc", path="oidc")

    config = copy_example(tmp_path / "example")
    applied = run(
        "vault", "apply", "--config", str(config), env={"VAULT_ADDR": url, "VAULT_TOKEN": token}
    )
    assert applied.exit_code == 0, applied.output
    client = kube.connect(cluster)
    try:
        problems = apply_tree(client, kube.tree_objects(config.parent / "manifests"), dry_run=False)
    finally:
        client.close()
    assert problems == []
    for tenant in ("cleo", "dara"):
        root.secrets.kv.v2.create_or_update_secret(
            path=f"{tenant}/app", secret={"password": f"{tenant}-secret"}, mount_point="secret"
        )
    return cluster, url, token


def login(url: str, role: str, jwt: str) -> hvac.Client:
    client = hvac.Client(url=url)
    client.auth.kubernetes.login(role, jwt)
    return client


def test_a_tenants_pipeline_gets_its_own_secrets_and_no_one_elses(
    deployed: tuple[Cluster, str, str],
) -> None:
    """cleo's deployer token (audience `vault`) logs in with `cleo-deployer` and reads cleo's
    secret; dara's secret and dara's deployer credentials are refused (403); the same token
    cannot log in with `dara-deployer`, nor can a token of the API server's default audience,
    nor a service account the role does not bind."""
    cluster, url, _ = deployed
    jwt = service_account_token(cluster, "cleo", "deployer", "vault")
    cleo = login(url, "cleo-deployer", jwt)
    secret = cleo.secrets.kv.v2.read_secret_version(
        path="cleo/app", mount_point="secret", raise_on_deleted_version=True
    )
    assert secret["data"]["data"] == {"password": "cleo-secret"}
    with pytest.raises(hvac.exceptions.Forbidden):
        cleo.secrets.kv.v2.read_secret_version(
            path="dara/app", mount_point="secret", raise_on_deleted_version=True
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        cleo.secrets.kv.v2.create_or_update_secret(
            path="cleo/app", secret={"password": "changed"}, mount_point="secret"
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        cleo.write_data("kubernetes/creds/dara-deployer", data={"kubernetes_namespace": "dara"})
    with pytest.raises(hvac.exceptions.VaultError, match="namespace not authorized"):
        login(url, "dara-deployer", jwt)
    default_audience = service_account_token(cluster, "cleo", "deployer")
    with pytest.raises(hvac.exceptions.VaultError, match="audience"):
        login(url, "cleo-deployer", default_audience)
    _apply(
        cluster,
        "/api/v1/namespaces/cleo/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "other"}},
    )
    other = service_account_token(cluster, "cleo", "other", "vault")
    with pytest.raises(hvac.exceptions.VaultError, match="service account name not authorized"):
        login(url, "cleo-deployer", other)


def test_the_minted_credentials_reach_the_tenants_namespace_alone(
    deployed: tuple[Cluster, str, str],
) -> None:
    """`kubernetes/creds/cleo-deployer`, read with cleo's deployer login, mints a token (of
    a service account OpenBao makes in `cleo`, bound to the rendered Role `cleo-deployer`)
    that lists and patches deployments and lists pods in cleo, and is refused in dara, in
    cleo's other namespace, and for Secrets."""
    cluster, url, _ = deployed
    cleo = login(url, "cleo-deployer", service_account_token(cluster, "cleo", "deployer", "vault"))
    creds = cleo.write_data("kubernetes/creds/cleo-deployer", data={"kubernetes_namespace": "cleo"})
    minted = str(creds["data"]["service_account_token"])
    assert creds["data"]["service_account_namespace"] == "cleo"
    assert 0 < creds["lease_duration"] <= 1800
    assert cluster.request("GET", "/api/v1/namespaces/cleo/pods", token=minted)[0] == 200
    assert (
        cluster.request("GET", "/apis/apps/v1/namespaces/cleo/deployments", token=minted)[0] == 200
    )
    for path in (
        "/api/v1/namespaces/dara/pods",
        "/api/v1/namespaces/cleo-books/pods",
        "/api/v1/namespaces/cleo/secrets",
    ):
        assert cluster.request("GET", path, token=minted)[0] == 403, path
    with pytest.raises(hvac.exceptions.VaultError):
        cleo.write_data("kubernetes/creds/cleo-deployer", data={"kubernetes_namespace": "dara"})
