"""The real external checkers on rendered output: OpenBao's policy parser and kustomize."""

from __future__ import annotations

import pytest

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


HEAD = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"


def namespace(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def test_kustomize_builds_and_reports_a_missing_resource() -> None:
    """A kustomization naming a file that does not exist fails, structurally and in kustomize."""
    good = {
        "kubernetes/cluster/kustomization.yaml": HEAD + "- a.yaml\n",
        "kubernetes/cluster/a.yaml": namespace("a"),
    }
    assert tools.check_kustomize(good, "out") == []
    broken = {"kubernetes/cluster/kustomization.yaml": HEAD + "- missing.yaml\n"}
    problems = tools.check_kustomize(broken, "out")
    assert [p.code for p in problems] == ["kustomize-build-failed", "kustomize-build-failed"]
    assert "lists missing.yaml, which does not exist" in problems[0].message
    assert "kubectl kustomize failed" in problems[1].message


def test_unlisted_object_file_is_reported() -> None:
    """An object file its folder's kustomization does not list would never be synced."""
    files = {
        "kubernetes/cluster/kustomization.yaml": HEAD.replace("resources:\n", "resources: []\n"),
        "kubernetes/cluster/a.yaml": namespace("a"),
    }
    (problem,) = tools.check_kustomize(files, "out")
    assert problem.message == "does not list a.yaml, so it is never synced"


def test_large_trees_build_one_kustomization_per_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the whole-build limit, one representative per shape is built, and it says so."""
    monkeypatch.setattr(tools, "WHOLE_BUILD_LIMIT", 3)
    files = {"kubernetes/tenants/kustomization.yaml": HEAD + "".join(f"- u{i}\n" for i in range(5))}
    for i in range(5):
        files[f"kubernetes/tenants/u{i}/kustomization.yaml"] = HEAD + f"- namespace-u{i}.yaml\n"
        files[f"kubernetes/tenants/u{i}/namespace-u{i}.yaml"] = namespace(f"u{i}")
    (note,) = tools.check_kustomize(files, "out")
    assert note.severity == "info"
    assert "built 1 representative kustomizations (one per shape) of 6" in note.message
