"""Zones on the command line, and domains with no zone configured."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCli, write

ROSTER = """
users:
  cleom: {authentik_user: cleo98, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}
"""


def repo(workdir: Path, domains: str) -> Path:
    write(workdir, "tenancy.yaml", "identity: {accept_mutable_claim: true}\n")
    write(workdir, "tenants/roster.yaml", ROSTER)
    write(
        workdir,
        "tenants/k8s_users.yaml",
        f"cleo: {{role: namespace-owner, email: cleo98@example.org, namespaces: [cleo], "
        f"domains: {domains}}}\n",
    )
    return workdir


def codes(run: RunCli, *args: str) -> tuple[int, list[tuple[str, str]]]:
    result = run("validate", "-f", "json", *args)
    found = [(d["code"], d["severity"]) for d in json.loads(result.output)["diagnostics"]]
    return result.exit_code, found


def test_without_zones_full_names_pass_with_one_warning(run: RunCli, workdir: Path) -> None:
    """No zone configured: two full names are accepted with one warning, not an error each."""
    repo(workdir, "[cleo.example.net, books.example.net]")
    assert codes(run) == (0, [("zones-not-configured", "warning")])


def test_without_zones_a_bare_label_is_an_error(run: RunCli, workdir: Path) -> None:
    """A bare label has no zone to be placed in."""
    repo(workdir, "[cleo]")
    assert codes(run) == (1, [("domain-outside-zone", "error")])


def test_zone_on_the_command_line_places_labels_and_checks_names(
    run: RunCli, workdir: Path
) -> None:
    """`--zone` replaces the config's zones: a label is placed in it, a name outside it is an
    error, and a malformed zone is a usage error."""
    repo(workdir, "[cleo, cleo.example.net]")
    assert codes(run, "--zone", "example.org") == (1, [("domain-outside-zone", "error")])
    assert codes(run, "--zone", "example.org", "--zone", "example.net") == (0, [])
    bad = run("validate", "--zone", "Not A Zone")
    assert bad.exit_code == 2 and "is not a DNS zone" in bad.output
