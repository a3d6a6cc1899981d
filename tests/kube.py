"""A real Kubernetes control plane for tests and benchmarks: etcd and kube-apiserver built from
pinned Go modules into .tools/bin (scripts/build-tools.sh), on random loopback ports, with a
data dir in a temporary folder, stopped by PID. No pytest here, so bench/ can import it too.

What runs is the API server alone: authentication by a static token file (an admin in
`system:masters`), the real RBAC authorizer, admission (Pod Security, ValidatingAdmissionPolicy,
NamespaceLifecycle, ServiceAccount, ResourceQuota), CRDs with structural schemas, the
TokenRequest and TokenReview APIs. No controller-manager or scheduler: nothing creates a
namespace's `default` ServiceAccount, no pod runs, no quota usage is counted. A test that needs
what a controller would make creates it itself and says so.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenancy.cluster.objects import TreeObject
from tests.processes import free_port, stop

if TYPE_CHECKING:
    from tenancy.cluster.client import Kube

TOOLS = Path(__file__).resolve().parent.parent / ".tools" / "bin"
#: The version scripts/build-tools.sh builds; the cluster's minor for Pod Security pins.
KUBE_VERSION = "v1.35.4"
ADMIN = "tenancy-test-admin"
SERVICE_CIDR = "10.96.0.0/16"


class ClusterError(RuntimeError):
    """The control plane did not come up; the message carries the tail of its log."""


@dataclass(frozen=True)
class Cluster:
    """Where the test API server listens and how to reach it as the admin."""

    url: str
    token: str
    ca_file: Path
    kubeconfig: Path
    folder: Path

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def request(
        self,
        method: str,
        path: str,
        body: object | None = None,
        *,
        content_type: str = "application/json",
        token: str | None = None,
    ) -> tuple[int, dict[str, object]]:
        """One API call as the admin (or as `token`): (status, decoded JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.ssl_context()) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"message": text.decode(errors="replace")}


def binary(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        raise ClusterError(
            f"{path} is missing: run `scripts/build-tools.sh etcd kube-apiserver` (make test does)"
        )
    return path


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait(process: subprocess.Popen[bytes], log: Path, ready: object, seconds: float) -> None:
    """Poll `ready()` until it is true; fail early, with the log's tail, if the process exits."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise ClusterError(f"{log.name} exited with {process.returncode}:\n{_tail(log)}")
        with suppress(OSError, ssl.SSLError, ValueError):
            if ready():  # type: ignore[operator]
                return
        if time.monotonic() > deadline:
            raise ClusterError(f"{log.name} not ready in {seconds} s:\n{_tail(log)}")
        time.sleep(0.1)


def _http_ok(url: str, *, token: str = "", context: ssl.SSLContext | None = None) -> bool:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=2, context=context) as response:
        return bool(response.status == 200)


def _spawn(args: list[str], stderr: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)  # type: ignore[arg-type]


def _start_etcd(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    client, peer = free_port(), free_port()
    log = folder / "etcd.log"
    with log.open("wb") as stderr:  # the child keeps its own descriptor
        process = _spawn(
            [
                str(binary("etcd")),
                "--name=test",
                f"--data-dir={folder / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=test=http://127.0.0.1:{peer}",
                "--listen-metrics-urls=",
                # A test cluster's data is thrown away: fsync buys nothing but seconds.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            stderr,
        )
    url = f"http://127.0.0.1:{client}"
    try:
        _wait(process, log, lambda: _http_ok(f"{url}/health"), 60)
    except BaseException:
        stop(process)
        raise
    return process, url


def _start_apiserver(folder: Path, etcd: str) -> tuple[subprocess.Popen[bytes], Cluster]:
    port = free_port()
    token = secrets.token_hex(24)
    (folder / "tokens.csv").write_text(f'{token},{ADMIN},{ADMIN},"system:masters"\n')
    key = folder / "sa.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    certs = folder / "certs"
    log = folder / "kube-apiserver.log"
    with log.open("wb") as stderr:
        process = _spawn(
            [
                str(binary("kube-apiserver")),
                f"--etcd-servers={etcd}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={certs}",
                f"--token-auth-file={folder / 'tokens.csv'}",
                "--anonymous-auth=false",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={key}",
                f"--service-account-signing-key-file={key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--endpoint-reconciler-type=none",
                # One client at a time: fairness queues cost start-up time and memory for nothing.
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=0",
            ],
            stderr,
        )
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    url = f"https://127.0.0.1:{port}"
    try:
        _wait(
            process,
            log,
            lambda: _http_ok(f"{url}/readyz", token=token, context=unverified),
            120,
        )
    except BaseException:
        stop(process)
        raise
    # The self-signed serving certificate (with its CA) that the server wrote for itself.
    ca_file = certs / "apiserver.crt"
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "test",
                        "cluster": {"server": url, "certificate-authority": str(ca_file)},
                    }
                ],
                "users": [{"name": "admin", "user": {"token": token}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
                "current-context": "test",
            },
            indent=2,
        )
    )
    kubeconfig.chmod(0o600)
    return process, Cluster(url, token, ca_file, kubeconfig, folder)


@contextmanager
def kube_cluster(folder: Path | None = None) -> Iterator[Cluster]:
    """etcd + kube-apiserver, ready, in `folder` (else a temporary one); both stopped by PID."""
    with tempfile.TemporaryDirectory(prefix="tenancy-kube-") as scratch:
        where = folder or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        os.chmod(where, 0o700)
        etcd, etcd_url = _start_etcd(where)
        try:
            apiserver, cluster = _start_apiserver(where, etcd_url)
            try:
                yield cluster
            finally:
                stop(apiserver)
        finally:
            stop(etcd)


#: What the platform runs beside tenancy, each in its own namespace, before any sync: the
#: rendered objects live in or refer to these (Argo CD, Flux, vault-config-operator, the CI
#: deployer, the ingress controller, cert-manager). A test cluster creates them as the
#: platform's own bootstrap would.
PLATFORM_NAMESPACES = (
    "argocd",
    "cert-manager",
    "flux-system",
    "ingress-nginx",
    "vault-config",
    "woodpecker",
)


def crd_objects() -> list[TreeObject]:
    """The upstream CRD facts tenancy renders for (schemas/crds/), as objects to apply."""
    from tenancy.render.checks import crd_schema

    return [_object(path) for path in sorted(crd_schema.folder().glob("*.json"))]


def tree_objects(root: Path) -> list[TreeObject]:
    """The Kubernetes objects of a rendered tree on disk (what a sync applies)."""
    from tenancy.cluster.command import read_tree

    objects, problems, _ = read_tree(root, root.name)
    assert not problems, problems
    return objects


def prepare(cluster: Cluster) -> None:
    """Make the cluster what the platform makes it before tenancy's first sync: the CRDs of
    every custom kind tenancy renders, established, and the platform's namespaces."""
    from tenancy.cluster.command import apply_tree

    kube = connect(cluster)
    try:
        namespaces = [
            _body({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            for name in PLATFORM_NAMESPACES
        ]
        problems = apply_tree(kube, [*crd_objects(), *namespaces], dry_run=False)
        if problems:
            raise ClusterError("\n".join(f"{d.location}: {d.message}" for d in problems))
    finally:
        kube.close()


def connect(cluster: Cluster) -> Kube:
    from tenancy.cluster.client import Kube

    return Kube.connect(cluster.kubeconfig, None)


def _object(path: Path) -> TreeObject:
    from tenancy.inputs.load import parse_yaml

    document, problems = parse_yaml(str(path), path.read_text(encoding="utf-8"))
    if document is None:
        raise ClusterError(f"{path}: {problems}")
    return TreeObject(document)


def _body(body: dict[str, object]) -> TreeObject:
    from tenancy.inputs.load import Document

    return TreeObject(Document("(test)", body, None, json.dumps(body)))


def restricted_pod(resources: dict[str, Any], name: str = "app") -> dict[str, Any]:
    """A Pod that Pod Security `restricted` admits: what else refuses it is the LimitRange,
    the quota or admission under test."""
    container = {
        "name": "app",
        "image": "registry.example.org/app:1",
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container]},
    }
