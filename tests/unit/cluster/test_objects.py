"""What `tenancy cluster` decides apart from the server: sync order, placing a refusal at its
rendered line, and shadow access."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tenancy.cluster.objects import (
    Binding,
    TreeObject,
    field_path,
    is_object,
    phases,
    rejection,
    shadow,
)
from tenancy.inputs.load import parse_yaml
from tenancy.render.yaml import dump


def tree_object(body: dict[str, Any], path: str = "m/o.yaml") -> TreeObject:
    document, _ = parse_yaml(path, dump(body, "s"))
    assert document is not None
    return TreeObject(document)


def obj(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata}


def test_field_names_of_the_api_server_become_json_paths() -> None:
    """Dots, list indexes and bracketed map keys (label names hold dots and slashes)."""
    assert field_path("spec.rules[0].verbs") == ["spec", "rules", 0, "verbs"]
    assert field_path("metadata.labels[pod-security.kubernetes.io/enforce]") == [
        "metadata",
        "labels",
        "pod-security.kubernetes.io/enforce",
    ]
    assert field_path("") == []


def test_only_objects_a_sync_applies_are_objects() -> None:
    """Kustomizations and the Vault review files are read by tools, never applied."""
    assert is_object(obj("Namespace", "a"))
    assert not is_object(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "metadata": {"name": "k"},
        }
    )
    assert not is_object({"name": "cleo-deployer", "policies": []})
    assert not is_object({"apiVersion": "v1", "kind": "Namespace"})
    assert not is_object(["a"])


@given(st.permutations(["CustomResourceDefinition", "Namespace", "RoleBinding", "ConfigMap"]))
def test_crds_then_namespaces_then_the_rest(kinds: list[str]) -> None:
    """Whatever order the files come in, a sync's order comes out."""
    items = [tree_object(obj(k, k.lower()), f"m/{k}.yaml") for k in kinds]
    order = [[o.kind for o in phase] for phase in phases(items)]
    assert order == [["CustomResourceDefinition"], ["Namespace"], ["ConfigMap", "RoleBinding"]]


def test_a_refusal_is_placed_at_the_field_it_names() -> None:
    """The first cause's field, else the field named in a server-side apply message, else the
    object's first line."""
    item = tree_object(
        {**obj("Namespace", "x"), "metadata": {"name": "x", "labels": {"a.b/c": "bad"}}}
    )
    text = item.document.text.splitlines()
    label_line = next(i for i, line in enumerate(text, 1) if "a.b/c" in line)
    caused = {"message": "bad", "details": {"causes": [{"field": "metadata.labels[a.b/c]"}]}}
    assert rejection(item, 422, caused, code="c").location.line == label_line
    name_line = next(i for i, line in enumerate(text, 1) if "name: x" in line)
    patch = {
        "message": "failed to create typed patch object (x; v1, Kind=Namespace): .metadata.name: bad"
    }
    assert rejection(item, 500, patch, code="c").location.line == name_line
    plain = rejection(item, 403, {"message": "forbidden"}, code="c")
    assert plain.location.line == 2 and "(403): forbidden" in plain.message


def binding(kind: str, name: str, role: str, *users: str, namespace: str | None = None) -> Binding:
    return Binding.of(
        {
            "kind": kind,
            "metadata": {"name": name, **({"namespace": namespace} if namespace else {})},
            "roleRef": {"kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "name": u} for u in users]
            + [{"kind": "Group", "name": "system:masters"}],
        }
    )


def test_shadow_access_is_what_the_render_does_not_hold() -> None:
    """A binding tenancy did not render, or rendered with fewer subjects or another role, is
    shadow access for each known person it adds; strangers and groups are not people."""
    people = {"cleo@x": "cleo", "dara@x": "dara"}
    mine = [binding("RoleBinding", "owner", "tenancy-namespace-owner", "cleo@x", namespace="cleo")]
    live = [
        *mine,
        binding("RoleBinding", "owner2", "edit", "cleo@x", "dara@x", "eve@y", namespace="cleo"),
        binding("ClusterRoleBinding", "readers", "view", "dara@x"),
    ]
    rules = {
        ("ClusterRole", None, "view"): [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
        ]
    }
    found = shadow(live, mine, people, rules)
    assert [(s.binding.name, s.person) for s in found] == [
        ("readers", "dara"),
        ("owner2", "cleo"),
        ("owner2", "dara"),
    ]
    assert found[0].grants == ("get on pods",)
    assert found[1].grants == ("(the role does not exist: nothing until someone creates it)",)
    changed = [binding("RoleBinding", "owner", "admin", "cleo@x", namespace="cleo")]
    assert [s.person for s in shadow(changed, mine, people, rules)] == ["cleo"]
    assert shadow(mine, mine, people, rules) == []
