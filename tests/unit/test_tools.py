"""The real external checkers on rendered output: OpenBao's policy parser and kustomize."""

from __future__ import annotations

from tenancy import tools

GOOD = '# header\n\npath "secret/data/a/*" {\n  capabilities = ["read"]\n}\n'


def test_tools_are_installed() -> None:
    """The pinned bao and kubectl are present in this environment (make install puts them)."""
    assert tools.find("bao") is not None
    assert tools.find("kubectl") is not None


def test_bao_accepts_a_good_policy_and_rejects_a_bad_capability() -> None:
    """A typo in a capability is caught by OpenBao itself, at the policy file."""
    assert tools.check_hcl({"vault/policies/a.hcl": GOOD}, "out") == []
    bad = GOOD.replace('"read"', '"reed"')
    (problem,) = tools.check_hcl(
        {"vault/policies/a.hcl": GOOD, "vault/policies/b.hcl": bad + "\n"}, "out"
    )
    assert problem.code == "vault-policy-invalid"
    assert str(problem.location) == "out/vault/policies/b.hcl:1:1"
    assert 'invalid capability "reed"' in problem.message


def test_bao_checks_one_policy_per_shape() -> None:
    """Policies differing only in path strings are one shape; another shape is checked."""
    files = {f"vault/policies/p{i}.hcl": GOOD.replace("/a/", f"/u{i}/") for i in range(50)}
    assert tools.check_hcl(files, "out") == []
    files["vault/policies/zz.hcl"] = GOOD.replace("capabilities", "capabilitiez")
    assert [p.code for p in tools.check_hcl(files, "out")] == ["vault-policy-invalid"]


def test_kustomize_builds_and_reports_a_missing_resource() -> None:
    """A kustomization naming a file that does not exist fails the build."""
    kustomization = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n"
    )
    obj = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
    good = {
        "kubernetes/cluster/kustomization.yaml": kustomization,
        "kubernetes/cluster/a.yaml": obj,
    }
    assert tools.check_kustomize(good, "out") == []
    broken = {
        "kubernetes/cluster/kustomization.yaml": kustomization.replace("a.yaml", "missing.yaml")
    }
    (problem,) = tools.check_kustomize(broken, "out")
    assert problem.code == "kustomize-build-failed"
