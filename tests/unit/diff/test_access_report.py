"""explain and who-can text/JSON, and how who-can reads its arguments."""

from __future__ import annotations

import json

import pytest

from tenancy.diff import access_report
from tenancy.diff.kube_resources import ResourceRef
from tenancy.errors import UsageError
from tenancy.model import Permission, Person, VaultGrant


def _person(key: str, role: str, k8s: set[Permission], vault: set[VaultGrant] = set()) -> Person:  # noqa: B006
    return Person(
        id=key,
        role=role,  # type: ignore[arg-type]
        roster_tiers=(),
        os_users=(),
        email=f"{key}@example.org",
        namespaces=(key,) if role == "namespace-owner" else (),
        domains=(),
        quota=(),
        k8s=frozenset(k8s),
        vault=frozenset(vault),
    )


PEOPLE = {
    "ada": _person("ada", "admin", {Permission("cluster", "*", "*")}),
    "brin": _person("brin", "power-user", {Permission("cluster", "deployments.apps", "get")}),
    "cleo": _person(
        "cleo",
        "namespace-owner",
        {
            Permission("cleo", "deployments.apps", "get"),
            Permission("cleo", "pods/exec", "create"),
            Permission("cleo", "configmaps", "get", ("app",)),
        },
        {VaultGrant("secret/data/cleo/*", "read")},
    ),
}


def _who(verb: str, resource: str, namespace: str | None, name: str = "") -> dict[str, list[str]]:
    ref = access_report.kube_request(verb, resource)
    rows = json.loads(access_report.who_can(PEOPLE, verb, ref, namespace, "json", name=name))
    return {row["id"]: row["scopes"] for row in rows}


def test_who_can_finds_the_owner_by_any_name_of_the_resource() -> None:
    """`deployments`, `deploy` and `deployments.apps` ask the same question (apps group)."""
    expected = {"ada": ["cluster"], "brin": ["cluster"], "cleo": ["cleo"]}
    for name in ("deployments", "deploy", "deployment", "deployments.apps", "deployments.v1.apps"):
        assert _who("get", name, "cleo") == expected


def test_who_can_in_a_namespace_and_cluster_wide() -> None:
    """-n asks as a request in that namespace; without it every scope held is listed."""
    assert _who("create", "pods/exec", "other") == {"ada": ["cluster"]}
    assert _who("create", "pods/exec", None) == {"ada": ["cluster"], "cleo": ["cleo"]}
    assert _who("create", "pods", "cleo") == {"ada": ["cluster"]}  # pods/exec is not pods


def test_who_can_honours_resource_names() -> None:
    """A resourceNames grant answers for the named object only."""
    assert _who("get", "cm", "cleo", name="app") == {"ada": ["cluster"], "cleo": ["cleo"]}
    assert _who("get", "cm", "cleo", name="db") == {"ada": ["cluster"]}


@pytest.mark.parametrize(
    ("verb", "resource", "message"),
    [
        ("frobnicate", "widgets", "unknown verb 'frobnicate'"),
        ("gett", "pods", "did you mean 'get'?"),
        ("get", "secrts", "did you mean 'secrets'?"),
        ("get", "widgets", "unknown resource 'widgets'"),
    ],
)
def test_kube_request_refuses_unknown_words_with_a_hint(
    verb: str, resource: str, message: str
) -> None:
    """An unknown verb or resource is a usage error naming the closest known spelling."""
    with pytest.raises(UsageError, match=message.replace("?", r"\?")):
        access_report.kube_request(verb, resource)


def test_vault_paths_are_told_apart_from_subresources() -> None:
    """A capability with a multi-segment path is Vault; `pods/exec` stays Kubernetes."""
    assert access_report.is_vault_path("read", "secret/data/cleo/db")
    assert access_report.is_vault_path("list", "sys/policy")
    assert not access_report.is_vault_path("create", "pods/exec")
    assert not access_report.is_vault_path("get", "secret/data/x")  # get is no capability


def test_who_can_vault_matches_policy_globs() -> None:
    """Vault answers come from the person's policy paths, by Vault's glob semantics."""
    rows = json.loads(access_report.who_can_vault(PEOPLE, "read", "secret/data/cleo/db", "json"))
    assert rows == [{"id": "cleo", "role": "namespace-owner"}]
    text = access_report.who_can_vault(PEOPLE, "read", "secret/data/dara/db", "text")
    assert text == "who can read vault path secret/data/dara/db:\n  nobody\n"
    with pytest.raises(UsageError, match="did you mean 'read'"):
        access_report.vault_request("raed", "secret/x")


def test_explain_lists_resource_names() -> None:
    """explain's JSON carries a grant's resourceNames; its text shows them beside the resource."""
    cleo = PEOPLE["cleo"]
    grants = json.loads(access_report.explain(cleo, "json"))["kubernetes"]
    assert {
        "scope": "cleo",
        "resource": "configmaps",
        "verb": "get",
        "resource_names": ["app"],
    } in grants
    assert "    configmaps [app]: get\n" in access_report.explain(cleo, "text")


def test_who_can_text_names_the_canonical_resource() -> None:
    """The heading names the resource as resolved, so a short name shows what it meant."""
    ref = ResourceRef("apps", "deployments")
    text = access_report.who_can(PEOPLE, "get", ref, "cleo", "text")
    assert text.splitlines()[0] == "who can get deployments.apps in namespace cleo:"


def test_who_can_refuses_an_unknown_verb_or_resource_with_exit_2() -> None:
    """The real command (exit codes are set in `main`): a verb or resource no API has is a
    usage error with a hint, never an empty answer."""
    import subprocess
    import sys

    from tests.conftest import REPO

    for args, hint in (
        (["frobnicate", "widgets"], "frobnicate"),
        (["get", "secretz"], "did you mean 'secret'"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tenancy", "who-can", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert hint in done.stderr
        assert done.stdout == ""
