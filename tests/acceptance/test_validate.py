"""`tenancy validate` end to end: config discovery, formats, exit codes and bad input files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import REPO, RunCli, write

GOOD_ROSTER = """
users:
  ada:  {authentik_user: ada.l, k8s_user: ada, tier: admin}
  cleo: {authentik_user: cleo98, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}
"""
GOOD_K8S = """
ada: {role: admin, email: ada@example.org}
cleo: {role: namespace-owner, email: cleo98@example.org, namespaces: [cleo]}
"""
BAD_ROSTER = """
users:
  ada:  {authentik_user: ada.l, k8s_user: ada, tier: wizard}
"""

#: The configs of tests about other findings accept the default OIDC claim (email), which
#: otherwise draws the identity-mutable-claim warning (tests/unit/validate/test_config.py tests it).
ACCEPT_CLAIM = "identity: {accept_mutable_claim: true}\n"


def test_repo_example_validates(run: RunCli) -> None:
    """The bundled example repository is clean (README's first command)."""
    result = run("validate", cwd=REPO)
    assert result.exit_code == 0
    assert "0 errors" in result.output


def test_config_found_from_a_subdirectory(run: RunCli) -> None:
    """tenancy.yaml is found by walking up from the working directory."""
    result = run("validate", "-f", "json", cwd=REPO / "tenants")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["summary"]["files"] == 2


def test_paths_without_any_config(run: RunCli, workdir: Path) -> None:
    """--roster and --k8s-users work with no tenancy.yaml anywhere."""
    write(workdir, "r.yaml", GOOD_ROSTER)
    write(workdir, "k.yaml", GOOD_K8S)
    result = run("validate", "--roster", "r.yaml", "--k8s-users", "k.yaml")
    assert result.exit_code == 0, result.output


def test_no_config_and_no_paths_is_a_usage_error(run: RunCli, workdir: Path) -> None:
    """With nothing to check, tenancy says how to name the inputs and exits 2."""
    result = run("validate")
    assert result.exit_code == 2
    assert "--roster PATH" in result.output


def test_findings_exit_1_with_position(run: RunCli, workdir: Path) -> None:
    """A schema violation is printed as file:line:col with its code, and exits 1."""
    write(workdir, "r.yaml", BAD_ROSTER)
    result = run("validate", "--roster", "r.yaml", "--no-policies", "-f", "text")
    assert result.exit_code == 1
    assert 'r.yaml:2:54: [error] users.ada.tier "wizard" is not one of' in result.output
    assert "(schema-enum)" in result.output


def test_json_contract(run: RunCli, workdir: Path) -> None:
    """--format json follows the documented contract."""
    write(workdir, "r.yaml", BAD_ROSTER)
    result = run("validate", "--roster", "r.yaml", "--no-policies", "-f", "json")
    report = json.loads(result.output)
    assert report["version"] == 1
    assert report["ok"] is False
    assert report["summary"]["errors"] == 1
    (diagnostic,) = report["diagnostics"]
    assert set(diagnostic) >= {"file", "line", "column", "severity", "code", "message"}
    assert (diagnostic["file"], diagnostic["line"], diagnostic["column"]) == ("r.yaml", 2, 54)
    assert "hint" not in diagnostic  # optional, and no tier resembles "wizard"


def test_github_format(run: RunCli, workdir: Path) -> None:
    """GitHub annotations carry file, line, col and the code as title."""
    write(workdir, "r.yaml", BAD_ROSTER)
    result = run("validate", "--roster", "r.yaml", "--no-policies", "-f", "github")
    assert result.output.startswith("::error file=r.yaml,line=2,col=54,title=schema-enum::")


def test_junit_and_sarif_formats(run: RunCli, workdir: Path) -> None:
    """JUnit is well-formed XML with one failing case; SARIF has the result and its region."""
    write(workdir, "r.yaml", BAD_ROSTER)
    junit = run("validate", "--roster", "r.yaml", "--no-policies", "-f", "junit").output
    suite = ElementTree.fromstring(junit).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    sarif = json.loads(run("validate", "--roster", "r.yaml", "--no-policies", "-f", "sarif").output)
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "schema-enum"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 54)


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda d: None, "input-missing"),
        (lambda d: (d / "r.yaml").mkdir(), "input-not-a-file"),
        (lambda d: (d / "r.yaml").write_bytes(b"\x00\x01binary"), "yaml-nul-byte"),
        (lambda d: (d / "r.yaml").write_text("users: [1\n"), "yaml-syntax"),
    ],
)
def test_unreadable_inputs(run: RunCli, workdir: Path, setup: object, code: str) -> None:
    """Missing files, directories, binary and broken files are diagnostics, never tracebacks."""
    setup(workdir)  # type: ignore[operator]
    result = run("validate", "--roster", "r.yaml", "--no-policies", "-f", "json")
    assert result.exit_code == 1
    assert [d["code"] for d in json.loads(result.output)["diagnostics"]] == [code]


def test_size_cap_from_config(run: RunCli, workdir: Path) -> None:
    """A file over limits.max_file_bytes is refused, and the cap is configurable."""
    write(
        workdir,
        "tenancy.yaml",
        "limits: {max_file_bytes: 64}\ninputs: {roster: r.yaml}\n" + ACCEPT_CLAIM,
    )
    write(workdir, "r.yaml", GOOD_ROSTER)
    write(workdir, "tenants/k8s_users.yaml", GOOD_K8S)
    result = run("validate", "--no-policies", "-f", "json")
    codes = [d["code"] for d in json.loads(result.output)["diagnostics"]]
    assert codes == ["input-too-large", "input-too-large"]


def test_empty_roster_file_is_a_warning(run: RunCli, workdir: Path) -> None:
    """An empty file is read as an empty roster, with a warning; --strict makes it fail."""
    write(workdir, "r.yaml", "")
    assert run("validate", "--roster", "r.yaml", "--no-policies").exit_code == 0
    assert run("validate", "--roster", "r.yaml", "--no-policies", "--strict").exit_code == 1


def test_invalid_config_is_reported_at_its_position(run: RunCli, workdir: Path) -> None:
    """A typo in tenancy.yaml is a positioned finding too."""
    write(workdir, "tenancy.yaml", "version: 1\nzonez: [example.org]\n")
    result = run("validate", "-f", "json")
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.output)["diagnostics"]
    assert (diagnostic["line"], diagnostic["code"]) == (2, "schema-unknown-field")
    assert diagnostic["hint"] == "did you mean 'zones'?"


def test_schema_command_prints_json_schema(run: RunCli) -> None:
    """`tenancy schema NAME` prints a draft 2020-12 schema with descriptions."""
    result = run("schema", "roster")
    schema = json.loads(result.output)
    assert schema["$schema"].endswith("2020-12/schema")
    user = schema["$defs"]["user"]["properties"]
    assert all("description" in spec for spec in user.values())


def test_console_script_runs(tmp_path: Path) -> None:
    """The installed entry point runs as a process and exits with the documented code."""
    result = subprocess.run(
        [sys.executable, "-m", "tenancy", "validate", "--no-policies"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_opa_server_engine_end_to_end(run: RunCli, opa_url: str) -> None:
    """--engine opa against a real OPA server reports what the embedded engine reports."""
    case = REPO / "tests/examples/policy/namespace-claimed-twice"
    embedded = json.loads(run("validate", "-f", "json", cwd=case).output)
    served = json.loads(
        run("validate", "-f", "json", "--engine", "opa", "--opa-url", opa_url, cwd=case).stdout
    )
    assert served["diagnostics"] == embedded["diagnostics"]
    assert [d["code"] for d in served["diagnostics"]] == ["namespace-claimed-twice"]


def test_unreachable_opa_server_is_exit_3() -> None:
    """An OPA server that does not answer is an environment failure, exit 3, with a message."""
    from tests.servers import free_port

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenancy",
            "validate",
            "--engine",
            "opa",
            "--opa-url",
            f"http://127.0.0.1:{free_port()}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "unreachable" in result.stderr


SECRET = "hvs.CAESIJ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the repository that must never be printed (a Vault token)."""
    path = tmp_path / "outside" / "token"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


def _repo(workdir: Path, inputs: str) -> Path:
    repo = workdir / "repo"
    write(repo, "tenancy.yaml", f"inputs: {{{inputs}}}\n{ACCEPT_CLAIM}")
    write(repo, "tenants/roster.yaml", GOOD_ROSTER)
    write(repo, "tenants/k8s_users.yaml", GOOD_K8S)
    return repo


@pytest.mark.parametrize("how", ["absolute", "relative", "symlink"])
def test_inputs_outside_the_repository_are_refused_unread(
    run: RunCli, workdir: Path, secret: Path, how: str
) -> None:
    """`k8s_users: /some/file`, `roster: ../../x` or a committed symlink would print a file's
    content in the findings (and in the PR comment); an input must lie inside the config's
    folder, and `--allow-outside` says otherwise."""
    if how == "absolute":
        repo = _repo(workdir, f"k8s_users: {secret}")
    elif how == "relative":
        repo = _repo(workdir, "k8s_users: ../outside/token")
    else:
        repo = _repo(workdir, "k8s_users: tenants/k.yaml")
        (repo / "tenants/k.yaml").symlink_to(secret)
    result = run("validate", "-f", "json", cwd=repo)
    assert result.exit_code == 1
    assert "hvs." not in result.output
    codes = [d["code"] for d in json.loads(result.output)["diagnostics"]]
    assert codes[0] == "input-outside-repository"
    allowed = run("validate", "--allow-outside", "--no-policies", "-f", "json", cwd=repo)
    assert [d["code"] for d in json.loads(allowed.output)["diagnostics"]] == ["schema-type"]
    assert SECRET not in allowed.output  # and even then only a clipped excerpt


@pytest.mark.parametrize("kind", ["stdin", "fifo"])
def test_a_symlink_to_stdin_or_a_pipe_does_not_hang(workdir: Path, kind: str) -> None:
    """An input committed as a symlink to /dev/stdin, or a named pipe, is refused, not read:
    reading it would wait for ever (stdin is held open here, as a CI runner may hold it)."""
    import os

    repo = _repo(workdir, "roster: tenants/r.yaml")
    if kind == "stdin":
        (repo / "tenants/r.yaml").symlink_to("/dev/stdin")
    else:
        os.mkfifo(repo / "tenants/r.yaml")
    argv = [sys.executable, "-m", "tenancy", "validate", "-f", "json"]
    with subprocess.Popen(
        argv, cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as process:
        try:
            returncode = process.wait(timeout=20)
        finally:
            process.kill()
        assert process.stdout is not None
        output = process.stdout.read()
    assert returncode == 1
    codes = [d["code"] for d in json.loads(output)["diagnostics"]]
    assert codes[0] == {"stdin": "input-outside-repository", "fifo": "input-not-a-file"}[kind]


def test_a_long_wrong_value_is_quoted_as_a_short_excerpt(run: RunCli, workdir: Path) -> None:
    """A diagnostic quotes at most ~40 characters of a value, ending in an ellipsis."""
    write(workdir, "k.yaml", f"{SECRET}\n")
    result = run("validate", "--k8s-users", "k.yaml", "--no-policies", "-f", "json")
    (diagnostic,) = json.loads(result.output)["diagnostics"]
    assert SECRET not in diagnostic["message"] + (diagnostic.get("hint") or "")
    assert '"hvs.CAESIJ0123456789abcdefghijklmnopqr…' in diagnostic["message"]


def test_what_render_refuses_validate_refuses_at_its_key(run: RunCli, workdir: Path) -> None:
    """`a_b` beside `a-b` render one object name (names cannot hold `_`): `render` refuses the
    clash, so `validate` must, at the second row's key."""
    write(
        workdir,
        "r.yaml",
        """
        users:
          a_b: {authentik_user: ab1, k8s_user: ada, tier: admin}
          a-b: {authentik_user: ab2, k8s_user: bob, tier: admin}
        """,
    )
    write(
        workdir,
        "k.yaml",
        "ada: {role: admin, email: ada@example.org}\nbob: {role: admin, email: bob@example.org}\n",
    )
    result = run("validate", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-f", "json")
    assert result.exit_code == 1
    found = [
        (d["file"], d["line"], d["column"], d["code"])
        for d in json.loads(result.output)["diagnostics"]
    ]
    assert found == [("r.yaml", 2, 3, "os-user-name-clash")]


def test_the_user_key_of_the_vault_index_is_reserved(run: RunCli, workdir: Path) -> None:
    """User key `tenancy` would get secret/data/tenancy/*, where tenancy keeps its ownership
    index (vault.index.path): `vault plan` refuses it, so `validate` does (user-key-reserved),
    and a moved index reserves its own first segment instead."""
    write(
        workdir,
        "r.yaml",
        "users:\n  tenancy: {authentik_user: t, k8s_user: tenancy, tier: admin}\n",
    )
    write(workdir, "k.yaml", "tenancy: {role: admin, email: t@example.org}\n")
    result = run("validate", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-f", "json")
    assert result.exit_code == 1
    codes = {d["code"] for d in json.loads(result.output)["diagnostics"]}
    assert codes == {"user-key-reserved"}
    write(
        workdir,
        "tenancy.yaml",
        "inputs: {roster: r.yaml, k8s_users: k.yaml}\nvault: {index: {path: owned/by-tenancy}}\n"
        + ACCEPT_CLAIM,
    )
    write(workdir, "r.yaml", "users:\n  owned: {authentik_user: t, k8s_user: owned, tier: admin}\n")
    write(workdir, "k.yaml", "owned: {role: admin, email: t@example.org}\n")
    result = run("validate", "-f", "json")
    assert {d["code"] for d in json.loads(result.output)["diagnostics"]} == {"user-key-reserved"}
