"""Config resolution: defaults, overrides, and paths relative to the config file."""

from __future__ import annotations

from pathlib import Path

from tenancy.inputs.load import parse_yaml
from tenancy.model import BUILTIN_RESERVED_NAMESPACES, DEFAULT_QUOTA, Config, K8sUser
from tenancy.resources import platform_namespaces
from tenancy.validate.config import resolve
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
    assert set(config.reserved_namespaces) == {
        *BUILTIN_RESERVED_NAMESPACES,
        *platform_namespaces({}),
        "monitoring",
    }
    assert config.quota_defaults["pods"] == "30"
    assert config.admins == ("ada",)


def test_invalid_config_gives_positioned_findings() -> None:
    """A wrong type in the config is a schema finding, and no Config is built."""
    document, _ = parse_yaml("tenancy.yaml", "zones: example.org\n")
    config, problems = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is None
    assert [(str(p.location), p.code) for p in problems] == [("tenancy.yaml:1:8", "schema-type")]


def test_every_namespace_the_render_data_uses_is_reserved() -> None:
    """The operator's, the ingress controller's (as the site overrides it), the CI
    deployer's, cert-manager's, Argo CD's, Flux's and DNS's namespaces are reserved without
    being listed: a tenant owning vault-config would run pods as the account the operator
    authenticates to Vault with."""
    document, _ = parse_yaml("tenancy.yaml", "render: {ingress_namespace: traefik}\n")
    config, _ = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is not None
    assert {
        "vault-config",
        "traefik",
        "woodpecker",
        "cert-manager",
        "argocd",
        "flux-system",
        "kube-system",
    } <= set(config.reserved_namespaces)


def test_reserved_hostnames_extend_the_builtins() -> None:
    """A site's platform hostnames are added to the built-in list."""
    document, _ = parse_yaml("tenancy.yaml", "reserved: {hostnames: [status, grafana]}\n")
    config, _ = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is not None
    assert {"status", "grafana", "vault", "argocd"} <= set(config.reserved_hostnames)
    assert config.policy_view()["reserved_hostnames"] == sorted(config.reserved_hostnames)


def test_a_mutable_claim_is_a_warning_until_accepted() -> None:
    """The default claim (email) draws a located warning; accepting it silences it; and the
    claim decides the username the bindings carry."""
    for text, where in (
        ("zones: [example.org]\n", (1, 1)),
        ("identity: {claim: email}\n", (1, 12)),
    ):
        document, _ = parse_yaml("tenancy.yaml", text)
        config, problems = resolve(document, Path("/repo/tenancy.yaml"))
        assert problems == [] and config is not None
        (note,) = config.notes
        assert (note.severity, note.code) == ("warning", "identity-mutable-claim")
        assert (note.location.line, note.location.column) == where
    document, _ = parse_yaml(
        "tenancy.yaml",
        "identity: {claim: preferred_username, prefix: 'oidc:', accept_mutable_claim: true}\n",
    )
    config, _ = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is not None and config.notes == ()
    user = K8sUser(key="cleo", role="namespace-owner", email="cleo@example.org")
    assert config.username(user) == "oidc:cleo"
    assert Config().username(user) == "cleo@example.org"


def test_quarantine_entries_are_read_sorted_with_their_place() -> None:
    """`quarantine:` becomes the Config's quarantined namespaces, sorted, each located at its
    entry; a bad date or a missing reason is a schema finding at the entry."""
    text = dedent(
        """
        quarantine:
          zeta-shop: {tenant: eve_x, since: 2026-12-01, reason: eve left (OPS-12)}
          alpha: {tenant: eve_x, since: 2026-11-30, reason: legal hold}
        """
    )
    document, _ = parse_yaml("tenancy.yaml", text)
    config, problems = resolve(document, Path("/repo/tenancy.yaml"))
    assert problems == [] and config is not None
    assert [(q.namespace, q.tenant, q.since) for q in config.quarantine] == [
        ("alpha", "eve_x", "2026-11-30"),
        ("zeta-shop", "eve_x", "2026-12-01"),
    ]
    assert [str(q.location) for q in config.quarantine] == ["tenancy.yaml:3:3", "tenancy.yaml:2:3"]
    assert "quarantine" in config.reserved_user_keys  # its folder is kubernetes/tenants/quarantine
    bad = "quarantine:\n  shop: {tenant: eve, since: 2026-13-01}\n"
    document, _ = parse_yaml("tenancy.yaml", bad)
    config, problems = resolve(document, Path("/repo/tenancy.yaml"))
    assert config is None
    assert sorted((str(p.location), p.code) for p in problems) == [
        ("tenancy.yaml:2:3", "schema-required"),
        ("tenancy.yaml:2:30", "schema-format"),
    ]
