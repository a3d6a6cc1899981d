"""Talk to a live Kubernetes API server: discovery, server-side apply (or its dry run) and
reading RBAC objects. Shell: the only module that opens a connection to Kubernetes.

The connection comes from a kubeconfig through the `kubernetes` client (`--kubeconfig`,
`--context`, else `$KUBECONFIG` or `~/.kube/config`, else the in-cluster service account), so
every authentication a kubeconfig can name works. Requests go through that client's REST layer
as plain JSON: tenancy sends its rendered objects as they are, never through the client's
models, so what the server judges is exactly the committed text.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from tenancy.errors import BackendError

#: Who owns the fields tenancy applies (server-side apply's field manager).
FIELD_MANAGER = "tenancy"
#: Requests in flight at once: an API server answers applies concurrently; more than a few per
#: core of a small control plane only queues.
PARALLEL = 8

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Resource:
    """What discovery says of one kind: its REST name and whether it lives in a namespace."""

    plural: str
    namespaced: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer to one request: the HTTP status and the decoded JSON body."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Kube:
    """A connection to one API server (a `kubernetes.client.ApiClient` underneath)."""

    def __init__(self, api_client: Any, where: str) -> None:
        self._client = api_client
        self.where = where  # the server URL, for messages
        self._discovered: dict[str, dict[str, Resource] | None] = {}

    @classmethod
    def connect(cls, kubeconfig: Path | None, context: str | None) -> Kube:
        """Load the kubeconfig (or the in-cluster account); exit 3 with a message if neither."""
        try:
            from kubernetes import client, config
        except ImportError as error:
            raise BackendError(
                "the kubernetes client is not installed (pip install 'tenancy-gitops[cluster]')"
            ) from error
        try:
            if kubeconfig is None and context is None and _in_cluster():
                config.load_incluster_config()  # type: ignore[no-untyped-call]
                api_client = client.ApiClient()
            else:
                api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=str(kubeconfig) if kubeconfig else None,
                    context=context,
                    persist_config=False,
                )
        except (config.ConfigException, OSError, ValueError, TypeError) as error:
            raise BackendError(f"cannot load the kubeconfig: {_short(str(error))}") from error
        return cls(api_client, str(api_client.configuration.host))

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> Answer:
        """One call; a status the server gives back is an Answer, no answer at all exits 3."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            serialized = self._client.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._client.call_api(*serialized, _request_timeout=60)
            raw = response.read()
        except Exception as error:  # urllib3, ssl and socket errors alike: no answer
            status = getattr(error, "status", None)
            if type(error).__name__ == "ApiException" and isinstance(status, int):
                return Answer(status, _json(getattr(error, "body", b"")))
            raise BackendError(
                f"cannot reach the Kubernetes API at {self.where}: {_short(str(error))}"
            ) from error
        return Answer(int(response.status), _json(raw))

    def resources(self, api_version: str) -> dict[str, Resource] | None:
        """Kind -> Resource for one group/version, or None when the server does not serve it
        (a CRD that is not installed)."""
        if api_version not in self._discovered:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            answer = self.request("GET", path)
            if answer.status == 404:
                self._discovered[api_version] = None
            elif not answer.ok:
                raise BackendError(
                    f"discovery of {api_version} failed: {answer.status} {_message(answer)}"
                )
            else:
                self._discovered[api_version] = {
                    r["kind"]: Resource(r["name"], bool(r.get("namespaced")))
                    for r in answer.body.get("resources", [])
                    if "/" not in r.get("name", "")
                }
        return self._discovered[api_version]

    def forget(self, api_version: str) -> None:
        """Discover `api_version` again next time (after its CRD was installed)."""
        self._discovered.pop(api_version, None)

    def object_path(self, body: dict[str, Any], resource: Resource) -> str:
        api_version = str(body["apiVersion"])
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        namespace = body.get("metadata", {}).get("namespace")
        if resource.namespaced:
            base += f"/namespaces/{quote(str(namespace or 'default'), safe='')}"
        return f"{base}/{resource.plural}/{quote(str(body['metadata']['name']), safe='')}"

    def apply(self, body: dict[str, Any], resource: Resource, *, dry_run: bool) -> Answer:
        """Server-side apply of one object as tenancy, strict about unknown fields."""
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        query.append(("fieldValidation", "Strict"))
        if dry_run:
            query.append(("dryRun", "All"))
        return self.request(
            "PATCH",
            self.object_path(body, resource),
            query=query,
            body=body,
            content_type="application/apply-patch+yaml",
        )

    def list_items(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list, page by page."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", "500")] + ([("continue", token)] if token else [])
            answer = self.request("GET", path, query=query)
            if not answer.ok:
                raise BackendError(f"cannot list {path}: {answer.status} {_message(answer)}")
            items += answer.body.get("items", [])
            token = str(answer.body.get("metadata", {}).get("continue") or "")
            if not token:
                return items


def in_parallel(work: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """`work` over `items` with a few requests in flight; results in the items' order.

    The cyclic garbage collector is off while the threads run: it collects in whichever thread
    happens to allocate, and an extension object that must be freed on the thread that made it
    (the embedded Rego engine's) would then be freed on a worker and fail. The command line
    runs with the collector off anyway (`cli._run`); this matters in a long-lived process."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            return list(pool.map(work, items))
    finally:
        if enabled:
            gc.enable()


def _in_cluster() -> bool:
    import os

    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not (
        os.environ.get("KUBECONFIG") or (Path.home() / ".kube" / "config").exists()
    )


def _json(raw: bytes | str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        return {"message": _short(text)}
    return value if isinstance(value, dict) else {"message": _short(str(value))}


def _message(answer: Answer) -> str:
    return _short(str(answer.body.get("message", "")))


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
