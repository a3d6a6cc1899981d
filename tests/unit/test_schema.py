"""Schema diagnostics: one per problem, at the key or value, in words a person reads."""

from __future__ import annotations

from tenancy import schema
from tenancy.load import parse_yaml
from tests.conftest import dedent


def findings(text: str, name: str = "roster") -> list[tuple[str, str, str, str | None]]:
    document, problems = parse_yaml("r.yaml", dedent(text))
    assert document is not None, problems
    return [(str(d.location), d.code, d.message, d.hint) for d in schema.check(document, name)]


def test_unknown_field_points_at_the_key_and_suggests() -> None:
    """A typo like `teir:` is caught at the typo, with the likely intended name."""
    (finding, _required) = findings(
        """
        users:
          brin:
            authentik_user: brin.k
            k8s_user: brin
            teir: power-user
        """
    )
    assert finding == (
        "r.yaml:5:5",
        "schema-unknown-field",
        "unknown field 'teir' in users.brin",
        "did you mean 'tier'?",
    )


def test_required_points_at_the_owning_key() -> None:
    """A missing field is reported on the row that lacks it."""
    assert findings("users:\n  brin: {authentik_user: b, tier: admin}\n") == [
        ("r.yaml:2:3", "schema-required", "users.brin is missing required field 'k8s_user'", None)
    ]


def test_string_instead_of_list_has_a_hint() -> None:
    """`namespaces: cleo` (a string) would silently become letters in the seed system."""
    (finding,) = findings(
        "users:\n  c: {authentik_user: c, k8s_user: c, tier: namespace-owner, namespaces: cleo}\n"
    )
    assert finding[1:] == (
        "schema-type",
        'users.c.namespaces must be a list, got a string "cleo"',
        "write a list: [cleo]",
    )


def test_yaml11_boolean_has_a_hint() -> None:
    """`parked: yes` is a string in YAML 1.2; the hint says what to write."""
    (finding,) = findings(
        "users:\n  c: {authentik_user: c, k8s_user: c, tier: admin, parked: yes}\n"
    )
    assert finding[3] == "'yes' is a string in YAML 1.2; write true"


def test_pattern_errors_use_the_schema_words() -> None:
    """Patterns are explained with the schema's x-message, not a regex."""
    (finding,) = findings(
        "cleo: {role: admin, email: c@x.org, namespaces: [Cleo_B]}\n", name="k8s_users"
    )
    assert "is not a valid namespace name (RFC 1123 label)" in finding[2]
    assert "^[a-z0-9]" not in finding[2]


def test_large_values_are_not_echoed() -> None:
    """A big wrong value is abbreviated in the message."""
    (finding,) = findings(f"users: [{', '.join(['x'] * 100)}]\n")
    assert len(finding[2]) < 120


def test_every_property_is_documented() -> None:
    """Every property in every built-in schema has a description: they are the user docs."""
    from tenancy import resources

    def walk(node: object, where: str) -> list[str]:
        missing: list[str] = []
        if isinstance(node, dict):
            for name, spec in node.get("properties", {}).items():
                if isinstance(spec, dict) and "description" not in spec and "$ref" not in spec:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                missing += walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                missing += walk(item, where)
        return missing

    for name in ("roster", "k8s_users", "tenancy"):
        assert walk(resources.schema(name), name) == []
