"""render(): deterministic, complete and safe output from an inventory."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from tenancy.model import Config, build
from tenancy.render import INDEX, render
from tenancy.render.profiles import load
from tests import strategies

CONFIG = Config(zones=("example.org",))
SOURCES = {"roster": "tenants/roster.yaml", "k8s_users": "tenants/k8s_users.yaml"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

ROSTER = {
    "users": {
        "cleom": {
            "authentik_user": "cleo98",
            "k8s_user": "cleo",
            "tier": "namespace-owner",
            "namespaces": ["cleo", "cleo-books"],
        },
        "brin": {"authentik_user": "brin.k", "k8s_user": "brin", "tier": "power-user"},
    }
}
K8S = {
    "cleo": {
        "role": "namespace-owner",
        "email": "cleo98@example.org",
        "namespaces": ["cleo-books", "cleo"],
        "domains": ["cleo", "books.example.org"],
        "quota": {"memory_limits": "2Gi"},
    },
    "brin": {"role": "power-user", "email": "brin.k@example.org"},
    "ada": {"role": "admin", "email": "ada@example.org"},
}


def files(roster: Any = ROSTER, k8s: Any = K8S) -> dict[str, str]:
    rendered, problems = render(build(roster, k8s, CONFIG), load(), sources=SOURCES)
    assert problems == []
    return rendered.files


def body(path: str) -> Any:
    return yaml.safe_load(files()[path])


def test_tier_objects() -> None:
    """Each tier gets its ClusterRoleBinding; namespace-owners get their namespace objects."""
    out = files()
    assert (
        body("kubernetes/cluster/clusterrolebinding-tenancy-admin-ada.yaml")["roleRef"]["name"]
        == "cluster-admin"
    )
    brin = body("kubernetes/cluster/clusterrolebinding-tenancy-power-user-brin.yaml")
    assert brin["roleRef"]["name"] == "tenancy-power-user"
    assert brin["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "brin.k@example.org"}
    ]
    for ns in ("cleo", "cleo-books"):
        assert f"kubernetes/tenants/cleo/{ns}/namespace-{ns}.yaml" in out
        assert f"kubernetes/tenants/cleo/{ns}/rolebinding-tenancy-namespace-owner-cleo.yaml" in out
    assert not any("/brin/" in p for p in out)  # power-users own no namespaces


def test_quota_defaults_and_limit_range_clamp() -> None:
    """Absent quota keys take the defaults; LimitRange max never exceeds the namespace limit."""
    quota = body("kubernetes/tenants/cleo/cleo/resourcequota-user-quota.yaml")["spec"]["hard"]
    assert quota == {
        "limits.memory": "2Gi",
        "pods": "20",
        "requests.cpu": "2",
        "requests.memory": "4Gi",
    }
    limits = body("kubernetes/tenants/cleo/cleo/limitrange-defaults.yaml")["spec"]["limits"][0]
    assert limits["max"] == {"memory": "2Gi"}
    assert limits["default"]["memory"] == "512Mi"


def test_domains_make_a_certificate_and_ingress_policy() -> None:
    """Bare labels join the zone; the certificate lists sorted names."""
    cert = body("kubernetes/tenants/cleo/cleo/certificate-tls-cleo.yaml")
    assert cert["spec"]["dnsNames"] == ["books.example.org", "cleo.example.org"]
    assert "kubernetes/tenants/cleo/cleo/networkpolicy-allow-ingress-controller.yaml" in files()


def test_vault_policy_and_operator_resource_agree_byte_for_byte() -> None:
    """The operator Policy embeds exactly the reviewed HCL file."""
    out = files()
    hcl = out["vault/policies/namespace-owner-cleo.hcl"]
    assert 'path "secret/data/cleo/*" {' in hcl
    assert 'path "kubernetes/creds/cleo-books-deployer" {' in hcl
    assert (
        yaml.safe_load(out["vault/operator/policy-namespace-owner-cleo.yaml"])["spec"]["policy"]
        == hcl
    )


def test_workstation_policy_per_active_roster_row() -> None:
    """Every roster row gets workstation-claude-<os_user>; nothing else does."""
    out = files()
    assert sorted(p for p in out if "workstation-claude" in p and p.endswith(".hcl")) == [
        "vault/policies/workstation-claude-brin.hcl",
        "vault/policies/workstation-claude-cleom.hcl",
    ]


def test_index_lists_every_file_with_hash_and_source() -> None:
    """INDEX.json covers every other file, with its sha256 and producing input key."""
    import hashlib

    out = files()
    index = json.loads(out[INDEX])["files"]
    assert set(index) == set(out) - {INDEX}
    path = "kubernetes/tenants/cleo/cleo/namespace-cleo.yaml"
    assert index[path]["sha256"] == hashlib.sha256(out[path].encode()).hexdigest()
    assert index[path]["source"] == "k8s_users.cleo"


def test_no_timestamps_and_one_header() -> None:
    """Every YAML file starts with the generated header and holds no date or commit."""
    for path, text in files().items():
        if path.endswith((".yaml", ".hcl")):
            assert text.startswith("# Generated by tenancy from "), path
            assert not re.search(r"20\d\d-\d\d-\d\d|[0-9a-f]{40}", text), path


def test_yaml11_lookalikes_are_quoted() -> None:
    """A value YAML 1.1 would misread is quoted in the output."""
    k8s = {"on": {"role": "power-user", "email": "on@example.org"}}
    out = files({"users": {}}, k8s)
    text = out["kubernetes/cluster/clusterrolebinding-tenancy-power-user-on.yaml"]
    assert "tenancy.io/tenant: 'on'" in text


@given(strategies.valid_inputs(), st.randoms(use_true_random=False))
def test_render_is_deterministic_and_order_free(pair: tuple[Any, Any], rnd: random.Random) -> None:
    """Rendering twice, and after permuting every mapping's keys, gives identical bytes."""
    roster, k8s = pair
    first = files(roster, k8s)
    assert files(roster, k8s) == first
    assert files(strategies.shuffled(roster, rnd), strategies.shuffled(k8s, rnd)) == first


@given(strategies.valid_inputs())
def test_rendered_names_are_dns1123(pair: tuple[Any, Any]) -> None:
    """Every rendered object name is a valid DNS-1123 name for policy-clean inputs."""
    roster, k8s = pair
    rendered, _ = render(build(roster, k8s, CONFIG), load(), sources=SOURCES)
    for manifest in rendered.manifests:
        assert DNS1123.match(manifest.name), manifest.name
        assert len(manifest.name) <= 253
