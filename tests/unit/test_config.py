"""Config resolution: defaults, overrides, and paths relative to the config file."""

from __future__ import annotations

from pathlib import Path

from tenancy.config import resolve
from tenancy.load import parse_yaml
from tenancy.model import BUILTIN_RESERVED_NAMESPACES, DEFAULT_QUOTA, Config
from tests.conftest import dedent


def test_no_file_means_builtin_defaults() -> None:
    """Without tenancy.yaml every setting has its documented default."""
    config, problems = resolve(None, None)
    assert problems == [] and config == Config()
    assert config.quota_defaults == DEFAULT_QUOTA
    assert config.quota_ceilings["namespace-owner"]["cpu_requests"] == "8"
    assert config.admins is None


def test_paths_are_relative_to_the_file_and_lists_extend_builtins() -> None:
    """Input paths resolve against the config's folder; reserved names add to the built-ins."""
    text = dedent(
        """
        inputs: {roster: people/roster.yaml}
        reserved: {namespaces: [monitoring]}
        quota: {defaults: {pods: 30}}
        admins: [ada]
        """
    )
    document, _ = parse_yaml("tenancy.yaml", text)
    config, problems = resolve(document, Path("/repo/tenancy.yaml"))
    assert problems == [] and config is not None
    assert config.roster == "/repo/people/roster.yaml"
    assert config.k8s_users == "/repo/tenants/k8s_users.yaml"
    assert set(config.reserved_namespaces) == {*BUILTIN_RESERVED_NAMESPACES, "monitoring"}
    assert config.quota_defaults["pods"] == "30"
    assert config.admins == ("ada",)


def test_invalid_config_gives_positioned_findings() -> None:
    """A wrong type in the config is a schema finding, and no Config is built."""
    document, _ = parse_yaml("tenancy.yaml", "zones: example.org\n")
    config, problems = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is None
    assert [(str(p.location), p.code) for p in problems] == [("tenancy.yaml:1:8", "schema-type")]
