"""check.quarantine_problems: tenancy.yaml `quarantine:` against the inputs."""

from __future__ import annotations

from pathlib import Path

from tenancy.inputs.load import parse_yaml
from tenancy.inputs.read import InputFile
from tenancy.model import Config
from tenancy.validate.check import check
from tenancy.validate.config import resolve
from tests.conftest import dedent

K8S_USERS = dedent(
    """
    cleo:
      role: namespace-owner
      email: cleo@example.org
      namespaces: [cleo, cleo-books]
    brin:
      role: power-user
      email: brin@example.org
      namespaces: [attic]
    """
)


def config(text: str) -> Config:
    document, _ = parse_yaml("tenancy.yaml", dedent(text))
    resolved, problems = resolve(document, Path("tenancy.yaml"))
    assert problems == [] and resolved is not None
    return resolved


def findings(cfg: Config) -> list[tuple[str, str, str]]:
    files = [InputFile(name="k8s_users", shown="k8s_users.yaml", raw=K8S_USERS.encode())]
    report = check(files, cfg, engine=None, policies=None).report
    return [
        (str(d.location), d.code, d.severity)
        for d in report.diagnostics
        if d.code.startswith("quarantine-")
    ]


def test_an_owned_or_reserved_namespace_cannot_be_quarantined() -> None:
    """A namespace a namespace-owner owns, or a reserved one, is an error at its entry; the
    owner's claim is named as related. A power-user's ignored `namespaces` claims nothing."""
    cfg = config(
        """
        quarantine:
          cleo-books: {tenant: cleo, since: 2026-12-01, reason: moved out}
          kube-system: {tenant: cleo, since: 2026-12-01, reason: mistake}
          attic: {tenant: brin, since: 2026-12-01, reason: was an owner once}
          old-shop: {tenant: gone, since: 2026-12-01, reason: left}
        """
    )
    assert findings(cfg) == [
        ("tenancy.yaml:2:3", "quarantine-owned", "error"),
        ("tenancy.yaml:3:3", "quarantine-reserved", "error"),
    ]
    files = [InputFile(name="k8s_users", shown="k8s_users.yaml", raw=K8S_USERS.encode())]
    (owned,) = [
        d
        for d in check(files, cfg, engine=None, policies=None).report.diagnostics
        if d.code == "quarantine-owned"
    ]
    assert [str(r) for r in owned.related] == ["k8s_users.yaml:4:22"]
    assert "owned by 'cleo'" in owned.message
    assert findings(Config()) == []  # without entries the check says nothing
