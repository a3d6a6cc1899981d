"""The access matrix: the tier contract (docs/tier-contract.yaml), the real RBAC authorizer and
tenancy's own answers (`explain`, `who-can`) agree on every cell.

The example repository's inputs are rendered and the tree applied server-side to a real
kube-apiserver; then, for every person, every action of the contract and every scope (a
namespace they own, another tenant's, platform namespaces, cluster-wide), a
SubjectAccessReview asks the authorizer with the username the rendered bindings carry. Each
answer must equal the contract, `tenancy explain USER --format json` and `tenancy who-can`.
Mismatches are collected and reported all at once. A Hypothesis property then does the same for
generated inputs, and a last test holds the recorded resource table equal to live discovery.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tenancy.cli import cli
from tenancy.cluster.command import apply_tree
from tenancy.cluster.objects import TreeObject
from tenancy.diff import access, access_report, kube_resources
from tenancy.inputs.load import Document
from tenancy.model import Config, Permission, build
from tenancy.render.plan import render
from tenancy.render.plan.profiles import load
from tests import kube, strategies
from tests.conftest import REPO
from tests.fixtures import SOURCES
from tests.kube import Cluster

CONTRACT = REPO / "docs" / "tier-contract.yaml"
CONTRACT_DOC = REPO / "docs" / "tier-contract.md"
SCOPES = ("own", "other", "platform", "cluster")
PLATFORM = ("kube-system", "vault-config", "argocd")
#: The group every authenticated request carries, as the API server adds it.
GROUPS = ["system:authenticated"]
#: The markers between which docs/tier-contract.md holds the tables rendered from the YAML.
BEGIN, END = "<!-- contract:begin -->", "<!-- contract:end -->"


@dataclass(frozen=True)
class Action:
    ask: str  # `VERB RESOURCE` as who-can takes it
    verb: str
    ref: kube_resources.ResourceRef
    allowed: dict[str, tuple[str, ...]]  # tier -> scopes where allowed
    note: str

    @property
    def scopes(self) -> tuple[str, ...]:
        """Where the action is asked: a cluster-scoped resource only cluster-wide; namespaces
        are both (a request on one namespace carries its name as namespace)."""
        if self.ref.resource == "namespaces" and self.ref.group == "":
            return SCOPES
        return SCOPES if self.ref.namespaced else ("cluster",)


def contract() -> list[Action]:
    """The contract's actions, each resolved as who-can resolves it."""
    data = YAML(typ="safe").load(CONTRACT.read_text(encoding="utf-8"))
    out = []
    for row in data["actions"]:
        verb, resource = row["ask"].split()
        ref = access_report.kube_request(verb, resource)
        action = Action(row["ask"], verb, ref, {}, row.get("note", ""))
        for tier in ("admin", "power-user", "namespace-owner"):
            where = row.get(tier, [])
            action.allowed[tier] = action.scopes if where == "all" else tuple(where)
        out.append(action)
    return out


def contract_markdown(actions: list[Action]) -> str:
    """The tables docs/tier-contract.md shows: one per tier, a row per action, a column per
    scope (`yes`, `no`, `-` where the action is not asked in that scope)."""
    out = []
    for tier in ("admin", "power-user", "namespace-owner"):
        out += [
            f"#### {tier}",
            "",
            "| action | own namespaces | another tenant's | platform | cluster-wide |",
            "|---|---|---|---|---|",
        ]
        for action in actions:
            cells = [
                "-"
                if scope not in action.scopes or (scope == "own" and tier != "namespace-owner")
                else ("yes" if scope in action.allowed[tier] else "no")
                for scope in SCOPES
            ]
            note = " (to be removed, issue 13)" if action.note and "yes" in cells else ""
            out.append(f"| `{action.ask}`{note} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


@dataclass(frozen=True)
class Cell:
    person: str
    tier: str
    scope: str
    namespace: str  # "" cluster-wide
    action: Action

    def __str__(self) -> str:
        where = self.namespace or "cluster-wide"
        return f"{self.person} ({self.tier}) {self.action.ask} in {self.scope}:{where}"

    @property
    def name(self) -> str:
        """The object a request names: only a request on a namespace object names one here."""
        return self.namespace if self.action.ref.resource == "namespaces" else ""


def review(cluster: Cluster, user: str, cell: Cell) -> bool:
    """The real authorizer's answer (SubjectAccessReview) for one cell."""
    ref = cell.action.ref
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": GROUPS,
            "resourceAttributes": {
                "namespace": cell.namespace,
                "verb": cell.action.verb,
                "group": ref.group,
                "resource": ref.resource,
                "subresource": ref.subresource,
                "name": cell.name,
            },
        },
    }
    status, answer = cluster.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body
    )
    assert status == 201, answer
    return bool(answer["status"].get("allowed", False))  # type: ignore[attr-defined]


def explained(grants: list[dict[str, Any]], cell: Cell) -> bool:
    """The answer the explain JSON's grants give, through the access model's RBAC matching."""
    ref = cell.action.ref
    return any(
        access.allows(
            Permission(g["scope"], g["resource"], g["verb"], tuple(g.get("resource_names", ()))),
            verb=cell.action.verb,
            group=ref.group,
            resource=ref.resource,
            subresource=ref.subresource,
            name=cell.name,
            namespace=cell.namespace,
        )
        for g in grants
    )


# -- the example repository ---------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    root: Path
    people: dict[str, dict[str, Any]]  # explain --format json, by person
    identities: dict[str, str]  # person -> Kubernetes username


def _cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli, [*args, "--config", str(root / "tenancy.yaml")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def example(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The example repository's inputs rendered in a scratch copy and applied to the cluster."""
    root = tmp_path_factory.mktemp("matrix")
    shutil.copy(REPO / "tenancy.yaml", root / "tenancy.yaml")
    shutil.copytree(REPO / "tenants", root / "tenants")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        _cli(root, "render")
        client = kube.connect(kube_cluster)
        try:
            problems = apply_tree(client, kube.tree_objects(root / "manifests"), dry_run=False)
        finally:
            client.close()
        assert problems == []
        k8s = YAML(typ="safe").load((root / "tenants" / "k8s_users.yaml").read_text())
        people = {key: json.loads(_cli(root, "explain", key, "-f", "json")) for key in k8s}
        # The username the rendered bindings carry: read from the bindings themselves.
        identities = {}
        for path in (root / "manifests" / "kubernetes" / "cluster").glob("clusterrolebinding-*"):
            body = YAML(typ="safe").load(path.read_text())
            key = body["metadata"]["labels"]["tenancy.io/tenant"]
            identities[key] = body["subjects"][0]["name"]
        yield Example(root, people, identities)


def cells(example: Example, actions: list[Action]) -> list[Cell]:
    owners = {ns: key for key, p in example.people.items() for ns in p["namespaces"]}
    out = []
    for key, person in sorted(example.people.items()):
        tier = person["role"]
        own = tuple(person["namespaces"])
        other = next(ns for ns, owner in sorted(owners.items()) if owner != key)
        where = {"own": own, "other": (other,), "platform": PLATFORM, "cluster": ("",)}
        for action in actions:
            for scope in action.scopes:
                out += [Cell(key, tier, scope, ns, action) for ns in where[scope]]
    return out


def test_contract_doc_shows_the_contract() -> None:
    """docs/tier-contract.md's tables are the rendering of docs/tier-contract.yaml."""
    text = CONTRACT_DOC.read_text(encoding="utf-8")
    shown = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert shown == contract_markdown(contract()).strip()


def test_the_authorizer_explain_and_who_can_answer_as_the_contract(
    kube_cluster: Cluster, example: Example
) -> None:
    """Every cell: SubjectAccessReview == contract == explain == who-can (all mismatches)."""
    actions = contract()
    checked = cells(example, actions)
    who_can: dict[tuple[str, str], dict[str, list[str]]] = {}
    wrong: list[str] = []
    for cell in checked:
        expected = cell.scope in cell.action.allowed[cell.tier]
        authorizer = review(kube_cluster, example.identities[cell.person], cell)
        explain = explained(example.people[cell.person]["kubernetes"], cell)
        key = (cell.action.ask, cell.namespace)
        if key not in who_can:
            args = ["who-can", *cell.action.ask.split(), "-f", "json"]
            args += ["-n", cell.namespace] if cell.namespace else []
            args += ["--name", cell.name] if cell.name else []
            rows = json.loads(_cli(example.root, *args))
            who_can[key] = {row["id"]: row["scopes"] for row in rows}
        scopes = who_can[key].get(cell.person, [])
        said = bool(scopes) if cell.namespace else "cluster" in scopes
        answers = {"authorizer": authorizer, "explain": explain, "who-can": said}
        if set(answers.values()) != {expected}:
            wrong.append(
                f"{cell}: contract {expected}, " + ", ".join(f"{k} {v}" for k, v in answers.items())
            )
    print(f"{len(checked)} cells checked", file=sys.stderr)
    assert len(checked) > 500
    assert wrong == []


# -- generated inputs ---------------------------------------------------------------------

RBAC_KINDS = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "RoleBinding"})
PROBES = (
    ("get", "secrets"),
    ("create", "pods/exec"),
    ("create", "deployments.apps"),
    ("get", "pods"),
    ("update", "rolebindings"),
    ("list", "namespaces"),
    ("impersonate", "users"),
    ("create", "endpoints"),
)
#: Each example's identities carry a prefix of their own, so that the bindings an earlier
#: example left in the cluster never answer for a later one.
_EXAMPLES = count()


def _tree_object(body: dict[str, Any]) -> TreeObject:
    return TreeObject(Document("(generated)", body, None, json.dumps(body)))


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pair=strategies.valid_inputs(), data=st.data())
def test_generated_inputs_answer_alike(kube_cluster: Cluster, pair: Any, data: Any) -> None:
    """For generated inputs, rendered and applied: SubjectAccessReview == explain == who-can
    on a sample of (person, namespace, verb, resource) cells."""
    roster, k8s = pair
    namespaces = {ns for entry in k8s.values() for ns in entry.get("namespaces", ())}
    assume(not any(ns.startswith("kube") or ns == "default" for ns in namespaces))
    prefix = f"p{next(_EXAMPLES)}:"
    inventory = build(roster, k8s, Config(identity_prefix=prefix))
    rendered, _ = render(inventory, load(), sources=SOURCES)
    objects = [_tree_object(m.body) for m in rendered.manifests if m.kind in RBAC_KINDS]
    client = kube.connect(kube_cluster)
    try:
        assert apply_tree(client, objects, dry_run=False) == []
    finally:
        client.close()
    people = access.people(inventory, rendered)
    places = [*sorted(namespaces), "kube-system", ""]
    for _ in range(6):
        key = data.draw(st.sampled_from(sorted(k8s)))
        namespace = data.draw(st.sampled_from(places))
        verb, resource = data.draw(st.sampled_from(PROBES))
        ref = access_report.kube_request(verb, resource)
        action = Action(f"{verb} {resource}", verb, ref, {}, "")
        cell = Cell(key, k8s[key]["role"], "", namespace, action)
        authorizer = review(kube_cluster, f"{prefix}{k8s[key]['email']}", cell)
        explain = json.loads(access_report.explain(people[key], "json"))["kubernetes"]
        rows = json.loads(access_report.who_can(people, verb, ref, namespace or None, "json"))
        scopes = next((r["scopes"] for r in rows if r["id"] == key), [])
        said = bool(scopes) if namespace else "cluster" in scopes
        assert (authorizer, explained(explain, cell), said) == (authorizer,) * 3, str(cell)


# -- the recorded resource table ----------------------------------------------------------


def test_recorded_resource_table_is_the_live_discovery(kube_cluster: Cluster) -> None:
    """schemas/kubernetes-resources.json equals what the test API server's discovery serves (built-in
    resources), so a Kubernetes bump that changes names fails here, not silently."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import importlib

        script = importlib.import_module("kube-resources")
    finally:
        sys.path.remove(str(REPO / "scripts"))
    live = script.discover(kube_cluster)
    recorded = json.loads((REPO / "schemas" / "kubernetes-resources.json").read_text())
    assert recorded["kubernetes"] == live["kubernetes"]
    by_name = {(r["group"], r["name"]): r for r in recorded["resources"]}
    seen = {(r["group"], r["name"]): r for r in live["resources"]}
    assert sorted(set(by_name) ^ set(seen)) == []
    assert [k for k in sorted(seen) if seen[k] != by_name[k]] == []


def test_custom_kinds_are_the_installed_crds(kube_cluster: Cluster) -> None:
    """The loader's custom kinds (from schemas/crds/) are what the cluster's CRDs serve, with
    the same names, scope and short names."""
    _, crds = kube_cluster.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    live = {
        (c["spec"]["group"], c["spec"]["names"]["plural"]): (
            c["spec"]["names"]["singular"],
            tuple(sorted(c["spec"]["names"].get("shortNames", ()))),
            c["spec"]["scope"] == "Namespaced",
        )
        for c in crds["items"]  # type: ignore[union-attr]
    }
    known = {
        (r.group, r.name): (r.singular, r.short_names, r.namespaced)
        for r in kube_resources.table()
        if (r.group, r.name) in live
    }
    assert known == live
