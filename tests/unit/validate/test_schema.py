"""Schema diagnostics: one per problem, at the key or value, in words a person reads."""

from __future__ import annotations

import pytest

from tenancy.inputs.load import parse_yaml
from tenancy.validate import schema
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


def test_a_trailing_newline_never_matches_a_pattern() -> None:
    """Python's `$` matches before a final newline; the schemas mean the whole string, as
    jsonschema-rs does. `"platform\\n"` must not slip past the key pattern (and so past the
    reserved-name rules), nor `"kube-system\\n"` or an email nobody has."""
    found = findings(
        '"platform\\n": {role: namespace-owner, email: "p@example.org\\n",'
        ' namespaces: ["kube-system\\n"]}\n',
        name="k8s_users",
    )
    assert sorted((location, code) for location, code, _, _ in found) == [
        ("r.yaml:1:1", "schema-key-name"),
        ("r.yaml:1:46", "schema-pattern"),
        ("r.yaml:1:78", "schema-pattern"),
    ]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('users:\n  ada: {authentik_user: "ada\\t", k8s_user: ada, tier: admin}\n', "roster"),
        ('users:\n  ada: {authentik_user: ada, k8s_user: "ada\\r", tier: admin}\n', "roster"),
        ('reserved: {namespaces: ["ops\\n"], user_keys: [ok]}\n', "tenancy"),
        ('reserved: {user_keys: ["ops\\u0085"]}\n', "tenancy"),
        ('admins: ["ada\\n"]\n', "tenancy"),
        ('inputs: {roster: "tenants/r.yaml\\n"}\n', "tenancy"),
    ],
)
def test_control_characters_are_refused_in_every_identifier(text: str, name: str) -> None:
    """No identifier (key, name, path, address) may hold a control character."""
    assert [code for _, code, _, _ in findings(text, name=name)] == ["schema-pattern"]


def test_the_detailed_pass_never_silently_disagrees() -> None:
    """When the fast validator rejects a document the detailed pass finds nothing wrong in, the
    disagreement is itself an error: never a silent pass."""
    import jsonschema

    document, _ = parse_yaml("r.yaml", "users: {}\n")
    assert document is not None
    (finding,) = schema.explain(document, jsonschema.Draft202012Validator({}))
    assert (str(finding.location), finding.severity, finding.code) == (
        "r.yaml:1:1",
        "error",
        "schema-engines-disagree",
    )


def _owner_with(namespaces: list[str]) -> str:
    import json

    user = {"role": "namespace-owner", "email": "o@example.org", "namespaces": namespaces}
    return json.dumps({"owner": user}, indent=1)


class _Counted(str):
    """A name that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _Counted.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_a_duplicate_in_a_long_list_is_found_in_linear_time() -> None:
    """A duplicate among many namespaces is found with a few comparisons, not one per pair
    (the quadratic search made ~n²/2 and took 18 s at 50,000; counted, not timed: `python -m
    bench --only inputs` measures the whole command)."""
    from tenancy.inputs.load import parse_json

    names = [f"ns-{i}" for i in range(50_000)]
    assert schema._first_duplicate([*names, "ns-7"]) == "ns-7"
    counted = [_Counted(f"ns-{i}") for i in range(2_000)]
    _Counted.comparisons = 0
    assert schema._first_duplicate([*counted, _Counted("ns-7")]) == "ns-7"
    assert _Counted.comparisons < len(counted)  # a pairwise search makes about 2,000,000
    assert schema._first_duplicate([{"a": [1]}, 1, True, 1.0]) == 1.0  # JSON equality
    document, _ = parse_json("k.json", _owner_with([*names[:2_000], "ns-7"]))
    assert document is not None
    (finding,) = schema.check(document, "k8s_users")
    assert (finding.code, finding.message) == (
        "schema-unique-items",
        "owner.namespaces lists 'ns-7' more than once",
    )


def test_many_errors_are_capped_with_one_summary() -> None:
    """Thousands of errors are not thousands of lines: the first few of each kind, then one
    summary with the count (175,000 errors took 28 s to report one by one)."""
    from tenancy.inputs.load import parse_json

    document, _ = parse_json("k.json", _owner_with([f"NS_{i}" for i in range(3_000)]))
    assert document is not None
    found = schema.check(document, "k8s_users")
    codes = [d.code for d in found]
    assert codes.count("schema-pattern") == schema.SHOWN_PER_CODE
    (summary,) = [d for d in found if d.code == "schema-truncated"]
    assert summary.severity == "error"
    assert str(summary.location) == "k.json:1:1"
    assert f"{schema.SHOWN_PER_CODE} of 3,000 schema errors" in summary.message
