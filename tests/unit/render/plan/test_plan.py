"""render(): deterministic, complete and safe output from an inventory."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from tenancy.model import Config, build
from tenancy.render.plan import INDEX, emit, index_text, plan, render
from tenancy.render.plan.profiles import builtin_texts, from_texts, load, with_overrides
from tests import strategies
from tests.fixtures import ROSTER, SOURCES

CONFIG = Config(zones=("example.org",))
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

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
    """Absent quota keys take the defaults, storage comes from the tier profile; LimitRange max
    never exceeds the namespace limit, and the default memory limit is that max (never below
    what a container may request), with no default CPU limit."""
    quota = body("kubernetes/tenants/cleo/cleo/resourcequota-user-quota.yaml")["spec"]["hard"]
    assert quota == {
        "limits.memory": "2Gi",
        "persistentvolumeclaims": "10",
        "pods": "20",
        "requests.cpu": "2",
        "requests.ephemeral-storage": "10Gi",
        "requests.memory": "4Gi",
        "requests.storage": "20Gi",
    }
    limits = body("kubernetes/tenants/cleo/cleo/limitrange-defaults.yaml")["spec"]["limits"][0]
    assert limits["max"] == {"memory": "2Gi"}
    assert limits["default"] == {"memory": "2Gi"}
    assert limits["defaultRequest"] == {
        "cpu": "50m",
        "ephemeral-storage": "100Mi",
        "memory": "64Mi",
    }


def test_a_users_storage_quota_replaces_the_tier_default() -> None:
    """`quota.storage` of a user is their requests.storage; the other storage keys stay."""
    k8s = {
        **K8S,
        "cleo": {**K8S["cleo"], "quota": {**K8S["cleo"].get("quota", {}), "storage": "50Gi"}},
    }
    inventory = build(ROSTER, k8s, CONFIG)
    rendered, _ = render(inventory, load(), sources=SOURCES)
    quota = next(
        m.body
        for m in rendered.manifests
        if m.path == "kubernetes/tenants/cleo/cleo/resourcequota-user-quota.yaml"
    )
    assert quota["spec"]["hard"]["requests.storage"] == "50Gi"
    assert quota["spec"]["hard"]["persistentvolumeclaims"] == "10"


def test_workstation_policies_only_where_claude_auth_holds() -> None:
    """A roster row with claude_auth false, or parked, gets no workstation-claude policy (the
    seed's `claude_auth and not parked`); the others do."""
    roster = {
        "users": {
            **ROSTER["users"],
            "emil": {
                "authentik_user": "emil.s",
                "k8s_user": "brin",
                "tier": "power-user",
                "claude_auth": False,
            },
            "pia": {
                "authentik_user": "pia.p",
                "k8s_user": "brin",
                "tier": "power-user",
                "parked": True,
            },
        }
    }
    rendered, _ = render(build(roster, K8S, CONFIG), load(), sources=SOURCES)
    names = {m.name for m in rendered.manifests if m.kind == "Policy"}
    assert "workstation-claude-brin" in names
    assert "workstation-claude-emil" not in names
    assert "workstation-claude-pia" not in names


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


HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(st.dictionaries(st.text(), st.tuples(HEX, st.text())))
@example({})
@example({'a"b\\c\u00e9\n\x00\u2028\ud800.yaml': ("0" * 64, 'k8s_users."x"\\')})
def test_index_text_is_json_dumps(entries: dict[str, tuple[str, str]]) -> None:
    """INDEX.json's hand-written text is json.dumps(indent=2, sort_keys) for any path or source."""
    digests = {path: digest for path, (digest, _) in entries.items()}
    origin = {path: source for path, (_, source) in entries.items()}
    listed = {p: {"sha256": digests[p], "source": origin[p]} for p in entries}
    expected = json.dumps(
        {"version": 1, "generator": "tenancy", "files": listed}, indent=2, sort_keys=True
    )
    assert index_text(digests, origin) == expected + "\n"


@given(strategies.valid_inputs())
def test_a_plan_writes_the_same_bytes_as_the_render(pair: tuple[Any, Any]) -> None:
    """Every file of a plan, written on demand in any order, is the rendered file byte for
    byte, and the plan lists exactly the rendered files (INDEX.json is written by emit)."""
    roster, k8s = pair
    inventory = build(roster, k8s, CONFIG)
    planned = plan(inventory, load(), sources=SOURCES)
    rendered = emit(planned)
    assert list(planned.files) == sorted(set(rendered.files) - {INDEX})
    for path in reversed(list(planned.files)):
        assert planned.files[path] == rendered.files[path]
    assert len(planned.files) == len(rendered.files) - 1
    assert INDEX not in planned.files


def test_a_plan_writes_only_the_files_that_are_read() -> None:
    """The checks start from a plan and read few files: nothing else is written for them."""
    planned = plan(build(ROSTER, K8S, CONFIG), load(), sources=SOURCES)
    path = "kubernetes/tenants/cleo/cleo/namespace-cleo.yaml"
    assert planned.files[path].startswith("# Generated by tenancy")
    assert list(planned.files._written) == [path]


def test_a_name_collision_keeps_the_first_claim() -> None:
    """Two keys that render one path: one problem, and the file is the first key's."""
    k8s = {**K8S, "cl_eo": {**K8S["cleo"], "namespaces": ["cl-eo"], "domains": []}}
    k8s["cl-eo"] = {**K8S["cleo"], "namespaces": ["cl-eo2"], "domains": []}
    planned = plan(build(ROSTER, k8s, CONFIG), load(), sources=SOURCES)
    rendered, problems = render(build(ROSTER, k8s, CONFIG), load(), sources=SOURCES)
    assert [p.code for p in planned.problems] == [p.code for p in problems]
    assert problems and {p.code for p in problems} == {"render-name-collision"}
    for path in planned.files:
        assert planned.files[path] == rendered.files[path]


def test_admission_policies_are_rendered_with_a_binding_to_tenant_namespaces() -> None:
    """Each policy of render/admission/ becomes a ValidatingAdmissionPolicy and a binding that
    denies in every namespace labelled with a tenant; a tenant's domains are written on its
    namespaces, where the ingress policy reads them."""
    out = files()
    names = sorted(p for p in out if "validatingadmissionpolicy-" in p)
    assert names == [
        f"kubernetes/cluster/validatingadmissionpolicy-tenancy-{n}.yaml"
        for n in ("claim-volumes", "ingress-hosts", "service-types", "token-secrets")
    ]
    binding = yaml.safe_load(
        out["kubernetes/cluster/validatingadmissionpolicybinding-tenancy-ingress-hosts.yaml"]
    )
    assert binding["spec"] == {
        "matchResources": {
            "namespaceSelector": {
                "matchExpressions": [{"key": "tenancy.io/tenant", "operator": "Exists"}]
            }
        },
        "policyName": "tenancy-ingress-hosts",
        "validationActions": ["Deny"],
    }
    for namespace in ("cleo", "cleo-books"):
        meta = body(f"kubernetes/tenants/cleo/{namespace}/namespace-{namespace}.yaml")["metadata"]
        assert meta["annotations"]["tenancy.io/domains"] == "books.example.org,cleo.example.org"


def test_egress_profiles_default_and_opt_in() -> None:
    """Every tenant may reach the internet except the blocked ranges; `network:` opt-ins add
    the API server (only when its addresses are configured) and monitoring scrapes; a profile
    the tier does not offer is never rendered."""
    k8s = {**K8S, "cleo": {**K8S["cleo"], "network": ["api-server", "monitoring"]}}
    rendered, _ = render(build(ROSTER, k8s, CONFIG), load(), sources=SOURCES)
    policies = {
        m.path.rsplit("/", 1)[1]: m.body
        for m in rendered.manifests
        if m.namespace == "cleo" and m.kind == "NetworkPolicy"
    }
    assert "networkpolicy-allow-api-server.yaml" not in policies  # no addresses configured
    internet = policies["networkpolicy-allow-internet.yaml"]["spec"]["egress"][0]["to"][0]
    assert internet["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "169.254.0.0/16" in internet["ipBlock"]["except"]
    monitoring = policies["networkpolicy-allow-monitoring.yaml"]["spec"]
    assert monitoring["policyTypes"] == ["Ingress"]
    site = with_overrides(load(), {"egress": {"api_server": ["192.0.2.10/32"], "internet": False}})
    rendered, _ = render(build(ROSTER, k8s, CONFIG), site, sources=SOURCES)
    names = {
        m.name for m in rendered.manifests if m.namespace == "cleo" and m.kind == "NetworkPolicy"
    }
    assert names == {
        "default-deny",
        "allow-dns",
        "allow-same-tenant",
        "allow-ingress-controller",
        "allow-api-server",
        "allow-monitoring",
    }


def test_dns_endpoints_only_with_a_target() -> None:
    """No target, no records; with one, one DNSEndpoint per tenant in its first namespace, a
    CNAME for a hostname and an A record for an address."""
    assert not [p for p in files() if "dnsendpoint" in p]
    for target, record in (("lb.example.net", "CNAME"), ("192.0.2.7", "A")):
        site = with_overrides(load(), {"dns": {"target": target}})
        rendered, _ = render(build(ROSTER, K8S, CONFIG), site, sources=SOURCES)
        (endpoint,) = [m for m in rendered.manifests if m.kind == "DNSEndpoint"]
        assert endpoint.path == "kubernetes/tenants/cleo/cleo/dnsendpoint-dns-cleo.yaml"
        assert {e["recordType"] for e in endpoint.body["spec"]["endpoints"]} == {record}
        assert [e["dnsName"] for e in endpoint.body["spec"]["endpoints"]] == [
            "books.example.org",
            "cleo.example.org",
        ]


def test_each_namespace_has_its_own_ci_deployer_identity() -> None:
    """Issue 13: the auth role `<ns>-deployer` binds only the ServiceAccount `deployer` of the
    namespace itself (rendered there), with the narrow policy `deployer-<ns>`, never a shared
    service account nor the owner's whole policy: no two namespaces' roles bind one account."""
    out = files()
    bound = []
    for ns in ("cleo", "cleo-books"):
        role = yaml.safe_load(out[f"vault/kubernetes-auth/role-{ns}-deployer.yaml"])
        assert role["bound_service_account_names"] == ["deployer"]
        assert role["bound_service_account_namespaces"] == [ns]
        assert role["policies"] == [f"deployer-{ns}"]
        bound.append((ns, "deployer"))
        crd = yaml.safe_load(out[f"vault/operator/kubernetesauthenginerole-{ns}-deployer.yaml"])
        assert crd["spec"]["targetServiceAccounts"] == ["deployer"]
        assert crd["spec"]["targetNamespaces"] == {"targetNamespaces": [ns]}
        assert crd["spec"]["policies"] == [f"deployer-{ns}"]
        account = yaml.safe_load(out[f"kubernetes/tenants/cleo/{ns}/serviceaccount-deployer.yaml"])
        assert account["metadata"]["namespace"] == ns
        assert account["automountServiceAccountToken"] is False
    assert len(set(bound)) == len(bound)
    hcl = out["vault/policies/deployer-cleo-books.hcl"]
    paths = re.findall(r'path "([^"]+)" \{\n  capabilities = \[([^\]]*)\]', hcl)
    assert dict(paths) == {
        "kubernetes/creds/cleo-books-deployer": '"update"',
        "secret/data/cleo": '"read"',
        "secret/data/cleo/*": '"read"',
        "secret/metadata/cleo": '"list"',
        "secret/metadata/cleo/*": '"list"',
    }
    policy = yaml.safe_load(out["vault/operator/policy-deployer-cleo-books.yaml"])
    assert policy["spec"]["policy"] == hcl


def test_secrets_engine_role_mints_tokens_for_the_namespaced_deployer_role() -> None:
    """Each namespace gets the seed's Kubernetes secrets-engine role `<ns>-deployer` (review
    file and operator resource, TTLs as the CRD types them) and the Role it binds."""
    out = files()
    review = yaml.safe_load(out["vault/kubernetes-secrets/role-cleo-deployer.yaml"])
    assert review == {
        "allowed_kubernetes_namespaces": ["cleo"],
        "kubernetes_role_name": "cleo-deployer",
        "kubernetes_role_type": "Role",
        "name": "cleo-deployer",
        "path": "kubernetes/roles/cleo-deployer",
        "token_default_ttl": 1800,
        "token_max_ttl": 3600,
    }
    crd = yaml.safe_load(out["vault/operator/kubernetessecretenginerole-cleo-deployer.yaml"])
    assert crd["kind"] == "KubernetesSecretEngineRole"
    assert crd["metadata"]["namespace"] == "vault-config"
    spec = crd["spec"]
    assert spec["path"] == "kubernetes"
    assert spec["allowedKubernetesNamespaces"] == ["cleo"]
    assert spec["targetNamespaces"] == {"targetNamespaces": ["cleo"]}
    assert (spec["kubernetesRoleType"], spec["kubernetesRoleName"]) == ("Role", "cleo-deployer")
    assert (spec["defaultTTL"], spec["maxTTL"]) == ("1800s", "3600s")
    role = yaml.safe_load(out["kubernetes/tenants/cleo/cleo-books/role-cleo-books-deployer.yaml"])
    assert role["metadata"]["namespace"] == "cleo-books"
    assert role["rules"] == [
        {
            "apiGroups": ["apps"],
            "resources": ["deployments"],
            "verbs": ["get", "list", "patch", "update"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    ]


def test_tier_data_older_than_a_setting_takes_the_builtin_default() -> None:
    """A repository's render/ at an older revision (what `diff` reads for its base) may lack
    settings added since (egress profiles, storage, DNS, the deployer): those come from the
    built-in data, the settings it has stay its own, and the render works."""
    texts = builtin_texts()
    settings = yaml.safe_load(texts["profiles.yaml"])
    del settings["network"]["egress"], settings["storage_quota"], settings["dns"]
    settings["limit_range"]["max"] = {"memory": "1Gi"}
    old = from_texts({**texts, "profiles.yaml": yaml.safe_dump(settings)})
    assert old.settings["network"]["egress"] == load().settings["network"]["egress"]
    assert old.settings["limit_range"]["max"] == {"memory": "1Gi"}
    rendered, problems = render(build(ROSTER, K8S, CONFIG), old, sources=SOURCES)
    assert not problems
    assert any(m.name == "allow-internet" for m in rendered.manifests)
