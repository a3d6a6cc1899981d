"""Policy discovery: the directory listing is the registry, METADATA is the catalogue."""

from __future__ import annotations

from tenancy.resources import data_dir
from tenancy.validate.policy import PolicySet, module_from_text
from tenancy.validate.policy.source import read_policies


def test_builtin_catalogue() -> None:
    """Every built-in entry rule has a kebab-case code, a severity, a title and a description."""
    rules = read_policies([data_dir("policies")]).catalogue()
    assert len(rules) >= 28
    for rule in rules:
        assert rule.code.replace("-", "").isalnum() and rule.code == rule.code.lower()
        assert rule.severity in ("error", "warning")
        assert rule.title and rule.description


def test_stage_from_package_metadata() -> None:
    """A package whose METADATA says custom.stage: rendered is an audit of rendered output."""
    text = "# METADATA\n# title: x\n# custom:\n#   stage: rendered\npackage x\n\ndeny contains 1 if true\n"
    module = module_from_text("x/x.rego", text)
    assert (module.package, module.stage, module.entries, module.is_test) == (
        "x",
        "rendered",
        ("deny",),
        False,
    )
    assert module_from_text("y/y_test.rego", "package y_test\n").is_test


def test_input_and_rendered_refs_are_separate() -> None:
    """validate queries input rules only; render's audit queries the rendered ones."""
    policies = read_policies([data_dir("policies")])
    assert "tiers.deny" in policies.refs("input")
    assert "power_user_rbac.deny" in policies.refs("rendered")
    assert not set(policies.refs("input")) & set(policies.refs("rendered"))


def rendered_module(name: str, kinds: str | None, *, test: bool = False) -> str:
    listed = f"#   kinds: {kinds}\n" if kinds is not None else ""
    return (
        f"# METADATA\n# title: {name}\n# custom:\n#   stage: rendered\n{listed}"
        f"package {name}\n\ndeny contains 1 if false\n"
    )


INPUT_MODULE = "# METADATA\n# title: i\n# custom:\n#   kinds: [Secret]\npackage i\n"


def test_rendered_module_declares_its_kinds() -> None:
    """`custom.kinds` in the package METADATA is read, sorted, as the kinds it audits."""
    module = module_from_text("a/a.rego", rendered_module("a", "[B, A]"))
    assert (module.stage, module.kinds) == ("rendered", ("A", "B"))
    assert PolicySet((module,)).kinds("rendered") == frozenset({"A", "B"})
    assert module_from_text("n/n.rego", rendered_module("n", None)).kinds is None


def test_kinds_of_several_rendered_modules_are_their_union() -> None:
    """Two rendered packages read the union of their kinds; input and test modules do not."""
    policies = PolicySet(
        (
            module_from_text("a/a.rego", rendered_module("a", "[A, B]")),
            module_from_text("b/b.rego", rendered_module("b", "[B, C]")),
            module_from_text("i/i.rego", INPUT_MODULE),
            module_from_text("t/t_test.rego", rendered_module("t", None)),
            module_from_text("u/u_test.rego", rendered_module("u", "[Test]")),
        )
    )
    assert policies.kinds("rendered") == frozenset({"A", "B", "C"})  # no Secret, no Test


def test_one_rendered_module_without_kinds_reads_everything() -> None:
    """A rendered package that does not say which kinds it reads gets every object."""
    policies = PolicySet(
        (
            module_from_text("a/a.rego", rendered_module("a", "[A]")),
            module_from_text("n/n.rego", rendered_module("n", None)),
        )
    )
    assert policies.kinds("rendered") is None


def test_malformed_kinds_mean_all_kinds() -> None:
    """A `kinds` that is not a list of strings is not trusted to narrow the input."""
    for listed in ("Role", "[1, 2]", "{a: b}"):
        module = module_from_text("a/a.rego", rendered_module("a", listed))
        assert module.kinds is None, listed
    assert PolicySet((module,)).kinds("rendered") is None


def test_builtin_rendered_policies_declare_their_kinds() -> None:
    """The shipped rendered-stage packages narrow the audit input to the RBAC kinds."""
    policies = read_policies([data_dir("policies")])
    kinds = policies.kinds("rendered")
    assert kinds is not None
    assert {"ClusterRole", "ClusterRoleBinding", "RoleBinding"} <= kinds
    assert "Namespace" not in kinds
