"""A removed tenant's namespace, quarantined, on the test API server (tests/kube.py).

hana owns hana and hana-shop; the head render drops hana-shop from her namespaces and lists it
in `quarantine:`. Both trees are applied server-side as a sync applies them, and the objects
the sync would prune (in the base render, not in the head) are deleted, as Argo CD and Flux do
(the Namespace is in both, and never pruned). Then the API server judges: the former owner is
refused everything in it, a new Pod is refused by the quota of zeros, the admission policies
still bind it, and its NetworkPolicy denies both directions with no rule.

What this cannot show: no CNI runs, so NetworkPolicies are stored, never enforced (that the
deny-all one cuts the workloads off is the NetworkPolicy API's promise); no controller-manager
runs, so the `default` ServiceAccount a Pod needs is created by the test, and quota usage is
never counted (the zero quota refuses the first Pod anyway).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tenancy.cluster.command import apply_tree
from tenancy.model import Config, Quarantined, build
from tenancy.render.plan import render
from tenancy.render.plan.profiles import load
from tests import kube
from tests.kube import Cluster

HANA = "hana@example.org"
USERS: dict[str, Any] = {
    "hana": {
        "role": "namespace-owner",
        "email": HANA,
        "namespaces": ["hana", "hana-shop"],
        "domains": ["hana"],
    }
}
SHOP = Quarantined(namespace="hana-shop", tenant="hana", since="2026-12-01", reason="OPS-12")
SOURCES = {"roster": "tenants/roster.yaml", "k8s_users": "tenants/k8s_users.yaml"}


def write_tree(folder: Path, users: dict[str, Any], config: Config) -> Path:
    rendered, problems = render(build({"users": {}}, users, config), load(), sources=SOURCES)
    assert problems == []
    for path, text in rendered.files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def apply(cluster: Cluster, root: Path) -> list[Any]:
    objects = kube.tree_objects(root)
    client = kube.connect(cluster)
    try:
        assert apply_tree(client, objects, dry_run=False) == []
    finally:
        client.close()
    return objects


def identity(item: Any) -> tuple[str, str, str, str]:
    meta = item.body["metadata"]
    return (item.body["apiVersion"], item.body["kind"], meta.get("namespace", ""), meta["name"])


def url(api: str, kind: str, namespace: str, name: str = "") -> str:
    base = "/api/v1" if api == "v1" else f"/apis/{api}"
    lower = kind.lower()
    plural = (
        lower[:-1] + "ies"
        if lower.endswith("y")
        else lower + ("es" if lower.endswith("s") else "s")
    )
    return f"{base}/namespaces/{namespace}/{plural}" + (f"/{name}" if name else "")


def review(cluster: Cluster, user: str, namespace: str, verb: str, resource: str) -> bool:
    """The RBAC authorizer's answer (SubjectAccessReview) for `user`."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:authenticated"],
            "resourceAttributes": {"namespace": namespace, "verb": verb, "resource": resource},
        },
    }
    status, answer = cluster.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body
    )
    assert status == 201, answer
    return bool(answer["status"].get("allowed", False))  # type: ignore[attr-defined]


def dry_run(cluster: Cluster, path: str, body: dict[str, Any], user: str = "") -> tuple[int, str]:
    """A dry-run create, as the admin or as `user` (impersonated): (status, message)."""
    request = urllib.request.Request(
        f"{cluster.url}{path}?dryRun=All", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Authorization", f"Bearer {cluster.token}")
    request.add_header("Content-Type", "application/json")
    if user:
        request.add_header("Impersonate-User", user)
        request.add_header("Impersonate-Group", "system:authenticated")
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, str(json.loads(error.read()).get("message", ""))


def pod() -> dict[str, Any]:
    """A Pod Pod Security `restricted` admits, with requests: only the quota can refuse it."""
    return kube.restricted_pod(
        {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "16Mi"}}
    )


@pytest.fixture(scope="module")
def quarantined(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    """hana's tree applied, then the head with hana-shop quarantined, pruned as a sync does."""
    folder = tmp_path_factory.mktemp("quarantine")
    config = Config(zones=("example.org",))
    base = apply(kube_cluster, write_tree(folder / "base", USERS, config))
    # Before: hana may run pods in hana-shop (the test below is not vacuous).
    assert review(kube_cluster, HANA, "hana-shop", "create", "pods")
    head_users = {"hana": {**USERS["hana"], "namespaces": ["hana"]}}
    head_config = Config(zones=("example.org",), quarantine=(SHOP,))
    head = apply(kube_cluster, write_tree(folder / "head", head_users, head_config))
    for api, kind, namespace, name in sorted(
        {identity(o) for o in base} - {identity(o) for o in head}
    ):
        assert namespace, f"{kind}/{name}: a cluster-scoped object would be pruned"
        status, answer = kube_cluster.request("DELETE", url(api, kind, namespace, name))
        assert status == 200, answer
    return kube_cluster


def test_the_former_owner_is_refused_everything(quarantined: Cluster) -> None:
    """No RoleBinding is left in hana-shop: hana may not read, run or exec there, and a
    dry-run create as hana is refused by RBAC; her remaining namespace is untouched."""
    for verb, resource in (
        ("create", "pods"),
        ("get", "secrets"),
        ("list", "pods"),
        ("create", "pods/exec"),
    ):
        assert not review(quarantined, HANA, "hana-shop", verb, resource), (verb, resource)
    assert review(quarantined, HANA, "hana", "create", "pods")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    status, message = dry_run(quarantined, url("v1", "ConfigMap", "hana-shop"), config_map, HANA)
    assert status == 403, message
    status, answer = quarantined.request(
        "GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/hana-shop/rolebindings"
    )
    assert status == 200 and answer["items"] == [], answer


def test_no_new_pod_starts(quarantined: Cluster) -> None:
    """The zero quota was accepted and refuses a Pod and a volume claim, even from the
    admin. No controller-manager runs here: the test creates the `default` ServiceAccount the
    ServiceAccount admission plugin requires, and the quota's status, as the controllers
    would."""
    status, answer = quarantined.request(
        "POST", "/api/v1/namespaces/hana-shop/serviceaccounts", {"metadata": {"name": "default"}}
    )
    assert status in (201, 409), answer
    status, answer = quarantined.request(
        "GET", url("v1", "ResourceQuota", "hana-shop", "user-quota")
    )
    assert status == 200, answer
    hard = answer["spec"]["hard"]  # type: ignore[index]
    assert (
        hard["pods"] == "0"
        and hard["requests.cpu"] == "0"
        and hard["persistentvolumeclaims"] == "0"
    )
    # Quota admission judges by the quota's status, which the resource-quota controller
    # writes; none runs here, so the test writes what it would: hard as specified, nothing
    # used (the namespace runs nothing here).
    status, answer = quarantined.request(
        "PATCH",
        url("v1", "ResourceQuota", "hana-shop", "user-quota") + "/status",
        {"status": {"hard": hard, "used": dict.fromkeys(hard, "0")}},
        content_type="application/merge-patch+json",
    )
    assert status == 200, answer
    status, message = dry_run(quarantined, url("v1", "Pod", "hana-shop"), pod())
    assert status == 403 and "exceeded quota: user-quota" in message, message
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    status, message = dry_run(quarantined, url("v1", "PersistentVolumeClaim", "hana-shop"), claim)
    assert status == 403 and "exceeded quota" in message, message


def test_the_network_policy_denies_both_ways_and_no_tenant_peers_with_it(
    quarantined: Cluster,
) -> None:
    """default-deny is the only NetworkPolicy left: both policy types, no rule. No namespace
    carries hana's tenant label but her remaining one, so her allow-same-tenant (which selects
    it) cannot reach hana-shop. Enforcement is the CNI's: none runs here."""
    status, answer = quarantined.request(
        "GET", url("networking.k8s.io/v1", "NetworkPolicy", "hana-shop")
    )
    assert status == 200, answer
    items: list[dict[str, Any]] = answer["items"]  # type: ignore[assignment]
    (policy,) = items
    assert policy["metadata"]["name"] == "default-deny"
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Egress", "Ingress"]}
    status, answer = quarantined.request(
        "GET", "/api/v1/namespaces?labelSelector=tenancy.io%2Ftenant%3Dhana"
    )
    assert status == 200, answer
    assert [n["metadata"]["name"] for n in answer["items"]] == ["hana"]  # type: ignore[attr-defined]
    status, answer = quarantined.request("GET", "/api/v1/namespaces/hana-shop")
    labels = answer["metadata"]["labels"]  # type: ignore[index]
    assert labels["tenancy.io/quarantined"] == "true"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_admission_policies_still_bind_it(quarantined: Cluster) -> None:
    """The bindings select `tenancy.io/tenant` (Exists): an ExternalName Service and an
    Ingress for a host are refused in hana-shop, even from the admin (it has no domains)."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "out"},
        "spec": {"type": "ExternalName", "externalName": "example.org"},
    }
    status, message = dry_run(quarantined, url("v1", "Service", "hana-shop"), service)
    assert status == 403 and "ExternalName Services are not allowed" in message, message
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    rule = {
        "host": "hana.example.org",
        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {"rules": [rule]},
    }
    status, message = dry_run(
        quarantined, url("networking.k8s.io/v1", "Ingress", "hana-shop"), ingress
    )
    assert status in (403, 422) and "ValidatingAdmissionPolicy" in message, message
    assert "hana.example.org" in message, message
