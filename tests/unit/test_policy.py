"""Policy discovery: the directory listing is the registry, METADATA is the catalogue."""

from __future__ import annotations

from tenancy import files
from tenancy.policy import module_from_text
from tenancy.resources import data_dir


def test_builtin_catalogue() -> None:
    """Every built-in entry rule has a kebab-case code, a severity, a title and a description."""
    rules = files.read_policies([data_dir("policies")]).catalogue()
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
    policies = files.read_policies([data_dir("policies")])
    assert "tiers.deny" in policies.refs("input")
    assert "power_user_rbac.deny" in policies.refs("rendered")
    assert not set(policies.refs("input")) & set(policies.refs("rendered"))
