"""A real OPA server as the policy engine, through opa-python-client. Shell: HTTP.

tenancy uploads its own modules (policy ids `tenancy/<path>`) and then asks for the whole data
document once per input, so one round trip answers every entry rule. Imported lazily: the `opa`
extra is optional, and its absence is a clear message rather than an ImportError.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tenancy.errors import PolicyEngineError
from tenancy.validate.policy import Input, canonical, made

MISSING_SUPPORT_MESSAGE = (
    "--engine opa needs the optional dependency opa-python-client: "
    "pip install 'tenancy-gitops[opa]'"
)
#: Upload and evaluation of a 10,000-user input moves a few MiB; the client's 1.5 s is too short.
TIMEOUT_SECONDS = 60.0


def policy_id(path: str, text: str) -> str:
    """A stable id for a module on the server: its package and file name, not the path as
    shown from the working directory, so every run replaces the same modules instead of
    adding a second copy of a package (which OPA refuses: "package annotation redeclared")."""
    match = re.search(r"^package\s+([\w.]+)", text, re.MULTILINE)
    package = match.group(1) if match else "_"
    return f"tenancy/{package.replace('.', '/')}/{path.rsplit('/', 1)[-1]}"


class OpaServerEngine:
    def __init__(self, url: str, modules: Mapping[str, str], *, token: str | None = None) -> None:
        try:
            from opa_client import OpaClient
        except ImportError as exc:  # pragma: no cover - the test environment has the extra
            raise PolicyEngineError(MISSING_SUPPORT_MESSAGE) from exc
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise PolicyEngineError(f"--opa-url {url!r} is not an http(s) URL")
        self._url = url
        self._client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 80),
            ssl=parts.scheme == "https",
            token=token,
            timeout=TIMEOUT_SECONDS,
            retries=0,
        )
        self._upload(modules)

    def _upload(self, modules: Mapping[str, str]) -> None:
        import requests
        from opa_client.errors import RegoParseError

        for path in sorted(modules):
            try:
                self._client.update_policy_from_string(
                    modules[path], policy_id(path, modules[path]), rego_compat=False
                )
            except requests.RequestException as exc:
                raise PolicyEngineError(f"OPA server at {self._url} is unreachable: {exc}") from exc
            except RegoParseError as exc:
                raise PolicyEngineError(f"OPA rejected policy {path}: {exc}") from exc
            except ValueError as exc:  # a non-JSON error body: not an OPA server
                raise PolicyEngineError(f"{self._url} did not answer like OPA: {exc}") from exc
        # Writing to someone's OPA server is a side effect they must hear of, once per run (a
        # command builds one engine); on stderr, since stdout carries the findings (JSON too).
        sys.stderr.write(
            f"tenancy: uploaded {len(modules)} policy modules to the OPA server at "
            f"{self._url}, as policies tenancy/... (each run replaces them)\n"
        )

    def query(self, refs: Sequence[str], input: Input) -> dict[str, Any]:
        import requests

        packages = sorted({ref.rsplit(".", 1)[0] for ref in refs})
        document = dict(made(input))  # made once for all the packages
        results: dict[str, Any] = {}
        for package in packages:
            try:
                body = self._client.query_rule(document, package)
            except requests.RequestException as exc:
                raise PolicyEngineError(f"OPA query data.{package} failed: {exc}") from exc
            result = body.get("result")
            if not isinstance(result, dict):
                continue
            for ref in refs:
                head, _, rule = ref.rpartition(".")
                if head == package and rule in result:
                    results[ref] = canonical(result[rule])
        return results
