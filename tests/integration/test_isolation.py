"""Tenant isolation and the guardrails, proven on the test API server (tests/kube.py): requests
are made as the tenant (the admin impersonates the username the rendered bindings carry, with
`system:authenticated`), as dry runs, so RBAC, admission and the LimitRange all judge them and
nothing is stored.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from tenancy.cluster.command import apply_tree
from tests import kube
from tests.conftest import REPO
from tests.kube import Cluster

CLEO = "cleo98@example.org"
DARA = "dara.v@example.org"


@pytest.fixture(scope="module")
def platform(kube_cluster: Cluster) -> Cluster:
    """The committed example tree applied, as a sync leaves it."""
    client = kube.connect(kube_cluster)
    try:
        assert apply_tree(client, kube.tree_objects(REPO / "manifests"), dry_run=False) == []
    finally:
        client.close()
    return kube_cluster


def as_user(cluster: Cluster, user: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
    """A dry-run create by `user` (impersonated by the admin): (status, the server's message)."""
    request = urllib.request.Request(
        f"{cluster.url}{path}?dryRun=All", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Authorization", f"Bearer {cluster.token}")
    request.add_header("Content-Type", "application/json")
    request.add_header("Impersonate-User", user)
    request.add_header("Impersonate-Group", "system:authenticated")
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, str(json.loads(error.read()).get("message", ""))


def ingress(*hosts: str, tls: tuple[str, ...] = (), host: bool = True) -> dict[str, Any]:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    rules = [{**({"host": h} if host else {}), "http": {"paths": [path]}} for h in hosts]
    spec: dict[str, Any] = {"rules": rules}
    if tls:
        spec["tls"] = [{"hosts": list(tls), "secretName": "tls-cleo"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": spec,
    }


INGRESSES = "/apis/networking.k8s.io/v1/namespaces/{}/ingresses"


def test_a_tenant_publishes_its_own_hostnames(platform: Cluster) -> None:
    """cleo's own domain, a name under it and its TLS host are accepted."""
    path = INGRESSES.format("cleo")
    assert as_user(platform, CLEO, path, ingress("cleo.example.org")) == (201, "")
    assert as_user(
        platform, CLEO, path, ingress("api.cleo.example.org", tls=("books-cleo.example.org",))
    ) == (201, "")
    # The same domains in cleo's other namespace: they are the tenant's, not the namespace's.
    assert (
        as_user(platform, CLEO, INGRESSES.format("cleo-books"), ingress("cleo.example.org"))[0]
        == 201
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (ingress("dara.example.org"), "dara.example.org are not within this tenant's domains"),
        (ingress("cleo.example.org", tls=("vault.example.org",)), "vault.example.org are not"),
        (ingress("evilcleo.example.org"), "evilcleo.example.org are not"),
        (ingress("x", host=False), "names its host"),
    ],
)
def test_a_tenant_cannot_take_another_hostname(
    platform: Cluster, body: dict[str, Any], says: str
) -> None:
    """A foreign host, a foreign TLS host, a look-alike name and a rule for every host are
    refused by the admission policy, with its message."""
    status, message = as_user(platform, CLEO, INGRESSES.format("cleo"), body)
    assert status == 403
    assert "tenancy-ingress-hosts" in message and says in message


def test_a_tenant_without_domains_publishes_nothing(platform: Cluster) -> None:
    """dara has no domains: any host is refused, and the message says there are none."""
    status, message = as_user(platform, DARA, INGRESSES.format("dara"), ingress("dara.example.org"))
    assert status == 403 and "(none)" in message


def test_default_backend_is_refused(platform: Cluster) -> None:
    """A default backend would serve every hostname the controller sees."""
    body = ingress("cleo.example.org")
    body["spec"]["defaultBackend"] = {"service": {"name": "web", "port": {"number": 80}}}
    status, message = as_user(platform, CLEO, INGRESSES.format("cleo"), body)
    assert status == 403 and "default backend" in message


def test_externalname_services_and_endpoints_are_refused(platform: Cluster) -> None:
    """An ExternalName Service is refused by admission; a hand-written Endpoints object by
    RBAC (the role no longer writes endpoints); an ordinary Service is accepted."""
    services = "/api/v1/namespaces/cleo/services"
    external = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"type": "ExternalName", "externalName": "web.dara.svc.cluster.local"},
    }
    status, message = as_user(platform, CLEO, services, external)
    assert status == 403 and "ExternalName Services are not allowed" in message
    plain = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}]},
    }
    assert as_user(platform, CLEO, services, plain) == (201, "")
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "x"},
        "subsets": [{"addresses": [{"ip": "10.0.0.7"}], "ports": [{"port": 80}]}],
    }
    status, message = as_user(platform, CLEO, "/api/v1/namespaces/cleo/endpoints", endpoints)
    assert status == 403 and 'cannot create resource "endpoints"' in message


def test_claims_cannot_name_a_volume_and_token_secrets_are_refused(platform: Cluster) -> None:
    """A claim naming a PersistentVolume, and a long-lived token Secret, are refused; a claim
    without a volume name is accepted."""
    claims = "/api/v1/namespaces/cleo/persistentvolumeclaims"
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    assert as_user(platform, CLEO, claims, claim) == (201, "")
    named = {**claim, "spec": {**claim["spec"], "volumeName": "pv-of-dara"}}
    status, message = as_user(platform, CLEO, claims, named)
    assert status == 403 and "may not name a PersistentVolume" in message
    token = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "t", "annotations": {"kubernetes.io/service-account.name": "default"}},
        "type": "kubernetes.io/service-account-token",
    }
    status, message = as_user(platform, CLEO, "/api/v1/namespaces/cleo/secrets", token)
    assert status == 403 and "TokenRequest API" in message


def test_a_pod_without_limits_that_requests_more_than_a_small_default_is_admitted(
    platform: Cluster,
) -> None:
    """The LimitRange never defaults a limit below what a container may request: a container
    asking 1 CPU and 1Gi with no limits is admitted (it was refused with the old 500m/512Mi
    defaults), and one asking more memory than the namespace's limit is refused. No
    controller-manager runs here, so the `default` ServiceAccount that the ServiceAccount
    admission plugin requires is created by the test, as the controller would."""
    status, answer = platform.request(
        "POST", "/api/v1/namespaces/cleo/serviceaccounts", {"metadata": {"name": "default"}}
    )
    assert status in (201, 409), answer
    pods = "/api/v1/namespaces/cleo/pods"

    pod = kube.restricted_pod
    assert as_user(platform, CLEO, pods, pod({"requests": {"cpu": "1", "memory": "1Gi"}})) == (
        201,
        "",
    )
    assert as_user(platform, CLEO, pods, pod({}))[0] == 201
    status, message = as_user(platform, CLEO, pods, pod({"requests": {"memory": "16Gi"}}))
    # The LimitRange makes the default limit the namespace's most (4Gi): below the request.
    assert status == 422 and "must be less than or equal to memory limit" in message
