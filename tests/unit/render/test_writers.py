"""The two-process writer of a planned render: the same bytes, digests, schema findings and
drift as the one-process writer, written by a forked child and this process together."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenancy.errors import Diagnostic
from tenancy.model import Config, Inventory, Manifest, build
from tenancy.render import concurrent as forked
from tenancy.render import write
from tenancy.render import writers as render_write
from tenancy.render.checks import k8s_schema
from tenancy.render.plan import INDEX, Plan, Texts, emit, plan, subset
from tenancy.render.plan.profiles import load
from tests import strategies
from tests.fixtures import ROSTER, SOURCES

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the writers fork only on Linux")

CONFIG = Config(zones=("example.org",))
SHOWN = "out"
K8S: dict[str, Any] = {
    "cleo": {
        "role": "namespace-owner",
        "email": "cleo98@example.org",
        "namespaces": ["cleo", "cleo-books"],
    },
    "brin": {"role": "power-user", "email": "brin.k@example.org"},
    "dara": {"role": "namespace-owner", "email": "dara@example.org", "namespaces": ["dara"]},
}


def planned_tree(k8s: dict[str, Any] = K8S, roster: Any = ROSTER) -> Plan:
    planned = plan(build(roster, k8s, CONFIG), load(), sources=SOURCES, output=SHOWN)
    assert planned.problems == ()
    return planned


def contents(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by relative POSIX path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Inode, mtime and size of `root` and of everything under it."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = os.lstat(path)
        found[path.relative_to(root).as_posix()] = (info.st_ino, info.st_mtime_ns, info.st_size)
    return found


def inodes(root: Path) -> dict[str, int]:
    return {path: os.lstat(root / path).st_ino for path in contents(root)}


def multiset(found: Iterable[Diagnostic]) -> Counter[Diagnostic]:
    return Counter(found)


def committed(output: Path, planned: Plan, *, schema: bool = False) -> render_write.Outcome:
    outcome = render_write.stage(output, planned, SHOWN, schema=schema)
    assert outcome.staged is not None
    outcome.staged.commit()
    return outcome


@pytest.fixture
def writers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of every `write.write_part` call, one JSON line each: the writing process's pid and
    the paths it was given. The real `write_part` does the writing; the log is appended with
    O_APPEND, so a forked writer's line lands in it too."""
    log = tmp_path / "writers.log"
    real = write.write_part

    def logged(target: write.Target, files: Iterable[tuple[str, str]]) -> write.Part:
        files = list(files)
        line = json.dumps([os.getpid(), [path for path, _ in files]]) + "\n"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return real(target, files)

    monkeypatch.setattr(write, "write_part", logged)
    return log


def calls(log: Path) -> list[tuple[int, list[str]]]:
    return [(pid, paths) for pid, paths in map(json.loads, log.read_text().splitlines())]


# --- shares ----------------------------------------------------------------------------------


@given(strategies.valid_inputs(), st.integers(min_value=1, max_value=5))
def test_shares_split_the_plan_exactly(pair: tuple[Any, Any], count: int) -> None:
    """`shares` puts every planned path in exactly one of `count` shares, in plan order."""
    roster, k8s = pair
    planned = plan(build(roster, k8s, CONFIG), load(), sources=SOURCES, output=SHOWN)
    dealt = render_write.shares(planned, count)
    assert len(dealt) == count
    every = [path for share in dealt for path in share]
    assert len(every) == len(set(every))  # disjoint, and no share repeats a path
    assert set(every) == set(planned.owners)
    place = {path: index for index, path in enumerate(planned.owners)}
    for share in dealt:
        assert share == sorted(share, key=place.__getitem__)


def cost(owner: Any) -> int:
    """The work of writing one file, as `shares` documents it: an object, which becomes YAML,
    costs about twice a file whose text is already made."""
    return 2 if isinstance(owner, Manifest) else 1


@given(strategies.valid_inputs(), st.integers(min_value=1, max_value=5))
def test_shares_are_balanced_by_input_key(pair: tuple[Any, Any], count: int) -> None:
    """Each input key's files lie in one share, the shares hold the inventory's keys in
    order (a cut, not a deal), each holds its part of the keyed work to within one key's
    work, and the files of no key (cluster-wide files, kustomizations) are all in the first
    share, the one this process writes."""
    roster, k8s = pair
    planned = plan(build(roster, k8s, CONFIG), load(), sources=SOURCES, output=SHOWN)
    order, sources, owners = planned.order, planned.sources, planned.owners
    dealt = render_write.shares(planned, count)
    holder: dict[str, int] = {}
    for number, share in enumerate(dealt):
        for path in share:
            if (key := sources[path]) in order:
                assert holder.setdefault(key, number) == number, f"{key} is split between shares"
    ranks = sorted(holder, key=order.__getitem__)
    assert [holder[key] for key in ranks] == sorted(holder[key] for key in ranks)
    per_key: Counter[str] = Counter()
    for path, owner in owners.items():
        if sources[path] in order:
            per_key[sources[path]] += cost(owner)
    total, largest = sum(per_key.values()), max(per_key.values(), default=0)
    for share in dealt:
        work = sum(cost(owners[path]) for path in share if sources[path] in order)
        assert abs(work * count - total) < max(largest, 1) * count, (work, total, largest)
    keyless = [sum(1 for path in share if sources[path] not in order) for share in dealt]
    assert keyless[1:] == [0] * (count - 1)


def test_two_shares_of_a_real_plan() -> None:
    """The fixture plan's two shares are disjoint, both hold files, and together hold all."""
    planned = planned_tree()
    mine, theirs = render_write.shares(planned, 2)
    assert mine and theirs
    assert not set(mine) & set(theirs)
    assert sorted(mine + theirs) == sorted(planned.owners)


# --- stage: the same bytes as the one-process writer -----------------------------------------


@linux_only
def test_stage_writes_the_bytes_of_the_one_process_writer(tmp_path: Path, writers: Path) -> None:
    """stage + commit, with a forked child writing one share, puts on disk byte for byte what
    write.write(emit(plan)) does, INDEX.json included, and its digests are the files' sha256."""
    assert forked.usable(), "another thread is running: the fork path would not be exercised"
    planned = planned_tree()
    outcome = render_write.stage(tmp_path / "two", planned, SHOWN, schema=True)
    assert outcome.staged is not None
    result = outcome.staged.commit()
    log = calls(writers)  # before the one-process writer below adds its own call
    expected = write.write(tmp_path / "one", emit(planned))

    two, one = contents(tmp_path / "two"), contents(tmp_path / "one")
    assert INDEX in two and len(two) == len(planned.owners) + 1
    assert two == one
    assert result == expected
    assert outcome.digests == {path: hashlib.sha256(data).hexdigest() for path, data in two.items()}
    assert outcome.digests == emit(planned).digests
    assert outcome.drift == []
    assert not list(tmp_path.glob("two.tenancy-*"))

    # One child wrote its share, once; this process wrote the other share and then INDEX.json.
    mine, theirs = render_write.shares(planned, 2)
    parent = os.getpid()
    assert [paths for pid, paths in log if pid == parent] == [mine, [INDEX]]
    children = [(pid, paths) for pid, paths in log if pid != parent]
    assert len(children) == 1, log  # not written a second time here: the child's report held
    child, paths = children[0]
    assert paths == theirs
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # the child was reaped: no zombie left


@settings(max_examples=15)
@given(strategies.valid_inputs())
def test_stage_equals_write_for_any_inputs(pair: tuple[Any, Any]) -> None:
    """For any valid inputs, the two-process writer and the one-process writer agree byte for byte."""
    roster, k8s = pair
    planned = plan(build(roster, k8s, CONFIG), load(), sources=SOURCES, output=SHOWN)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        outcome = committed(root / "two", planned)
        write.write(root / "one", emit(planned))
        two = contents(root / "two")
        assert two == contents(root / "one")
        assert outcome.digests == {p: hashlib.sha256(d).hexdigest() for p, d in two.items()}


def test_without_fork_stage_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writers: Path
) -> None:
    """Where fork is not usable, this process writes every file itself, and the bytes, digests
    and schema findings are the same as with a fork."""
    planned = planned_tree()
    forked_outcome = committed(tmp_path / "forked", planned, schema=True)
    writers.unlink()
    monkeypatch.setattr(forked, "usable", lambda: False)
    outcome = committed(tmp_path / "here", planned, schema=True)
    log = calls(writers)

    assert contents(tmp_path / "here") == contents(tmp_path / "forked")
    write.write(tmp_path / "one", emit(planned))
    assert contents(tmp_path / "here") == contents(tmp_path / "one")
    assert outcome.digests == forked_outcome.digests
    assert outcome.schema is not None and forked_outcome.schema is not None
    assert multiset(outcome.schema) == multiset(forked_outcome.schema)
    # Everything was written by this process: the whole plan in one share, then INDEX.json.
    assert log == [(os.getpid(), list(planned.owners)), (os.getpid(), [INDEX])]


# --- stage: the schema check in the writers --------------------------------------------------


@linux_only
def test_schema_findings_equal_the_whole_tree_check(tmp_path: Path) -> None:
    """The writers' schema findings, gathered from both shares, are k8s_schema.check's: here
    every Policy (there are some in both shares) carries a field its CRD does not have."""
    assert forked.usable()
    planned = planned_tree()
    policies = [
        p for p, m in planned.owners.items() if isinstance(m, Manifest) and m.kind == "Policy"
    ]
    shares = [set(share) for share in render_write.shares(planned, 2)]
    assert all(share & set(policies) for share in shares), "a share has no Policy"

    def bogus(body: dict[str, Any]) -> None:
        body["spec"]["bogus"] = 1

    bad = broken(planned, dict.fromkeys(policies, bogus))
    outcome = committed(tmp_path / "out", bad, schema=True)
    assert outcome.schema is not None
    expected = k8s_schema.check(bad.manifests, bad.files, SHOWN)
    assert multiset(outcome.schema) == multiset(expected)
    assert sorted(d.location.path for d in outcome.schema) == sorted(
        f"{SHOWN}/{p}" for p in policies
    )
    assert all("CRD of redhat-cop/vault-config-operator" in d.message for d in outcome.schema)


def broken(planned: Plan, changes: dict[str, Any]) -> Plan:
    """`planned` with the bodies of some objects changed: path -> a function of a body copy."""
    owners = dict(planned.owners)
    swapped: dict[int, Manifest] = {}
    for path, change in changes.items():
        old = owners[path]
        assert isinstance(old, Manifest)
        body = copy.deepcopy(old.body)
        change(body)
        owners[path] = swapped[id(old)] = replace(old, body=body)
    manifests = tuple(swapped.get(id(m), m) for m in planned.manifests)
    return replace(planned, owners=owners, manifests=manifests, files=Texts(owners, planned.names))


def position(file: Path, needle: str) -> tuple[int, int]:
    """Line and column (1-based) of the first line of `file` that starts with `needle`."""
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if line.lstrip().startswith(needle):
            return number, len(line) - len(line.lstrip()) + 1
    raise AssertionError(f"{needle!r} is not in {file}")


#: Kinds a Kubernetes schema covers (custom resources with no CRD facts are only noted).
CHECKED_KINDS = {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "ClusterRole"}


@linux_only
def test_broken_objects_are_found_at_their_place_in_the_written_file(tmp_path: Path) -> None:
    """An unknown field in an object of each share (this process's and the child's) and a bad
    quantity are each found at their line and column in the written file, and a custom kind
    in each share is named in the one note."""
    assert forked.usable()
    planned = planned_tree()
    owners = planned.owners
    quota = "kubernetes/tenants/cleo/cleo/resourcequota-user-quota.yaml"

    def checked(share: list[str]) -> list[str]:
        return [
            path
            for path in share
            if isinstance(m := owners[path], Manifest) and m.kind in CHECKED_KINDS and path != quota
        ]

    picked = [checked(share)[:2] for share in render_write.shares(planned, 2)]
    assert all(len(two) == 2 for two in picked), "a share has fewer than two checked objects"
    unknown = [first for first, _ in picked]
    custom = [second for _, second in picked]

    def unknown_field(body: dict[str, Any]) -> None:
        body["metadata"]["labelz"] = {"x": "y"}

    def bad_quantity(body: dict[str, Any]) -> None:
        body["spec"]["hard"]["pods"] = "8 gigs"

    def custom_kind(number: int) -> Any:
        def change(body: dict[str, Any]) -> None:
            body["apiVersion"] = f"share{number}.example.org/v1"

        return change

    bad = broken(
        planned,
        {
            **dict.fromkeys(unknown, unknown_field),
            **{path: custom_kind(number) for number, path in enumerate(custom)},
            quota: bad_quantity,
        },
    )
    outcome = committed(tmp_path / "out", bad, schema=True)
    assert outcome.schema is not None
    assert multiset(outcome.schema) == multiset(k8s_schema.check(bad.manifests, bad.files, SHOWN))

    out = tmp_path / "out"
    errors = {
        (d.code, d.location.path, d.location.line, d.location.column)
        for d in outcome.schema
        if d.severity == "error"
    }
    assert errors >= {
        ("k8s-schema", f"{SHOWN}/{path}", *position(out / path, "labelz:")) for path in unknown
    }
    assert ("k8s-invalid-quantity", f"{SHOWN}/{quota}", *position(out / quota, "pods:")) in errors
    assert {path for _, path, _, _ in errors} == {f"{SHOWN}/{p}" for p in [*unknown, quota]}
    (note,) = [d for d in outcome.schema if d.severity == "info"]
    for number, path in enumerate(custom):
        owner = owners[path]
        assert isinstance(owner, Manifest)
        kind = owner.kind
        assert f"share{number}.example.org/v1/{kind}" in note.message
    # The broken bodies are what was written, by the child as well as by this process.
    assert all("labelz:" in (out / path).read_text() for path in unknown)
    assert "8 gigs" in (out / quota).read_text()
    # The untouched plan has none of these findings: they come from the changes.
    assert k8s_schema.check(planned.manifests, planned.files, SHOWN) == []


def test_no_schema_check_when_not_asked(tmp_path: Path) -> None:
    """schema=False: no findings list at all (None, not an empty list), for stage and compare."""
    planned = planned_tree()
    outcome = committed(tmp_path / "out", planned, schema=False)
    assert outcome.schema is None
    assert outcome.schema_seconds == 0.0
    assert render_write.compare(tmp_path / "out", planned, SHOWN, schema=False).schema is None


# --- stage over an earlier render ------------------------------------------------------------


def test_restaging_the_same_render_changes_nothing(tmp_path: Path) -> None:
    """Staging the render the output already holds stages no tree and touches no file."""
    output = tmp_path / "out"
    planned = planned_tree()
    committed(output, planned)
    (output / "NOTES.md").write_text("hand written\n")
    before = snapshot(output)

    outcome = render_write.stage(output, planned_tree(), SHOWN, schema=True)
    assert outcome.staged is not None
    assert outcome.staged.staging is None
    result = outcome.staged.result
    assert not result.changed
    assert (result.written, result.removed, result.unchanged) == (0, 0, len(planned.owners) + 1)
    assert not list(tmp_path.glob("out.tenancy-*"))
    assert outcome.staged.commit() == result
    assert snapshot(output) == before


def test_one_changed_input_rewrites_only_its_files(tmp_path: Path) -> None:
    """A new quota for one user writes only that user's changed files and INDEX.json; every
    other file of the new tree is a hard link to the old one (the same inode)."""
    output = tmp_path / "out"
    old = planned_tree()
    committed(output, old)
    old_inodes = inodes(output)

    k8s = copy.deepcopy(K8S)
    k8s["cleo"]["quota"] = {"pods": "7"}
    new = planned_tree(k8s)
    old_files, new_files = emit(old).files, emit(new).files
    changed = {path for path, text in new_files.items() if old_files.get(path) != text}
    assert INDEX in changed and len(changed) <= 4  # cleo's two user quotas (+ INDEX.json)
    assert all(p == INDEX or p.startswith("kubernetes/tenants/cleo/") for p in changed)
    assert set(new_files) == set(old_files)

    outcome = render_write.stage(output, new, SHOWN, schema=False)
    assert outcome.staged is not None
    assert contents(output) == {p: t.encode() for p, t in old_files.items()}  # not swapped yet
    result = outcome.staged.commit()
    assert result.changed
    assert (result.written, result.unchanged) == (len(changed), len(new_files) - len(changed))
    assert (result.removed, result.kept) == (0, 0)

    assert contents(output) == {p: t.encode() for p, t in new_files.items()}
    now = inodes(output)
    for path in new_files:
        if path in changed:
            assert now[path] != old_inodes[path], path
        else:
            assert now[path] == old_inodes[path], path
    assert not list(tmp_path.glob("out.tenancy-*"))


def test_a_dropped_user_s_files_are_removed_and_hand_added_files_kept(tmp_path: Path) -> None:
    """Staging a plan without one user removes exactly the files only that user produced and
    carries a hand-added file over."""
    output = tmp_path / "out"
    old = planned_tree()
    committed(output, old)
    (output / "kubernetes" / "NOTES.md").write_text("hand written\n")
    new = planned_tree({key: value for key, value in K8S.items() if key != "dara"})
    gone = set(old.owners) - set(new.owners)
    assert gone and all("dara" in path for path in gone)

    outcome = render_write.stage(output, new, SHOWN, schema=False)
    assert outcome.staged is not None
    result = outcome.staged.commit()
    assert (result.removed, result.kept) == (len(gone), 1)
    expected = {p: t.encode() for p, t in emit(new).files.items()}
    assert contents(output) == {**expected, "kubernetes/NOTES.md": b"hand written\n"}


# --- compare ---------------------------------------------------------------------------------


def drift_codes(found: Iterable[Diagnostic]) -> set[tuple[str, str]]:
    return {(d.location.path, d.code) for d in found}


@linux_only
def test_compare_a_clean_tree_finds_no_drift(tmp_path: Path) -> None:
    """compare on the tree stage wrote: no drift, the same digests, the same schema findings,
    and nothing under the output changed."""
    assert forked.usable()
    output = tmp_path / "out"
    planned = planned_tree()
    written = committed(output, planned, schema=True)
    before = snapshot(output)
    outcome = render_write.compare(output, planned, SHOWN, schema=True)
    assert outcome.drift == []
    assert outcome.staged is None
    assert outcome.digests == written.digests
    assert outcome.schema is not None and written.schema is not None
    assert multiset(outcome.schema) == multiset(written.schema)
    assert snapshot(output) == before


@pytest.mark.parametrize("fork", [True, False])
def test_compare_reports_each_modified_missing_and_orphan_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    """After one edit, one deletion and one user dropped from the inputs, compare reports
    exactly those files (and the files the drop changes), as write.compare does; it writes
    nothing, and ignores a hand-added file."""
    if not fork:
        monkeypatch.setattr(forked, "usable", lambda: False)
    elif not forked.usable():
        pytest.skip("fork is not usable here")
    output = tmp_path / "out"
    committed(output, planned_tree())
    edited = "kubernetes/tenants/cleo/cleo/namespace-cleo.yaml"
    deleted = "kubernetes/tenants/cleo/cleo-books/limitrange-defaults.yaml"
    with (output / edited).open("a") as file:
        file.write("# a hand edit\n")
    (output / deleted).unlink()
    (output / "NOTES.md").write_text("hand written, never listed in INDEX.json\n")
    before = snapshot(output)

    k8s = {key: value for key, value in K8S.items() if key != "dara"}
    planned = planned_tree(k8s)
    outcome = render_write.compare(output, planned, SHOWN, schema=False)

    old_files, new_files = emit(planned_tree()).files, emit(planned).files
    orphans = set(old_files) - set(new_files)
    assert orphans and all("dara" in path for path in orphans)
    assert any(path.startswith("kubernetes/tenants/dara/") for path in orphans)
    differ = {p for p in new_files if p in old_files and old_files[p] != new_files[p]}
    assert INDEX in differ and edited not in differ and deleted not in differ
    expected = {
        (f"{SHOWN}/{edited}", "render-modified"),
        (f"{SHOWN}/{deleted}", "render-missing"),
        *((f"{SHOWN}/{path}", "render-modified") for path in differ),
        *((f"{SHOWN}/{path}", "render-orphan") for path in orphans),
    }
    assert drift_codes(outcome.drift) == expected
    assert len(outcome.drift) == len(expected)  # each file reported once
    assert multiset(outcome.drift) == multiset(write.compare(output, emit(planned), SHOWN))
    assert outcome.digests == emit(planned).digests
    assert snapshot(output) == before


# --- start: a child that plans only its own keys, before the whole tree is planned ----------


def started(
    output: Path,
    inventory: Inventory,
    keys: frozenset[str],
    *,
    check: bool = False,
    schema: bool = False,
    planned_keys: frozenset[str] | None = None,
) -> render_write.Writing:
    """`render_write.start` as `render` calls it: a child that plans `planned_keys` (its
    `keys` unless told otherwise) and writes the files of `keys`."""
    wanted = keys if planned_keys is None else planned_keys
    return render_write.start(
        output,
        SHOWN,
        check=check,
        schema=schema,
        keys=keys,
        planner=lambda: plan(subset(inventory, wanted), load(), sources=SOURCES, output=SHOWN),
    )


@given(strategies.valid_inputs(), st.floats(min_value=0.0, max_value=1.0))
def test_last_takes_a_run_at_the_end_of_the_inventory(pair: tuple[Any, Any], part: float) -> None:
    """`last` picks a run of keys at the end of inventory order holding about `part` of the
    estimated work, to within one key's work."""
    inventory = build(*pair, CONFIG)
    weights = render_write.key_weights(inventory)
    keys = render_write.last(weights, part)
    chosen = [key in keys for key, _ in weights]
    assert chosen == sorted(chosen)  # a run at the end: no key chosen before an unchosen one
    total = sum(weight for _, weight in weights)
    taken = sum(weight for key, weight in weights if key in keys)
    largest = max((weight for _, weight in weights), default=0)
    assert abs(taken - part * total) <= largest


def test_a_subset_plans_exactly_the_files_of_its_keys() -> None:
    """Planning the inventory of some keys gives exactly those keys' files of the whole plan,
    byte for byte: what a child that plans for itself writes is what the whole plan holds."""
    inventory = build(ROSTER, K8S, CONFIG)
    whole = plan(inventory, load(), sources=SOURCES, output=SHOWN)
    keys = frozenset({"k8s_users.cleo", f"roster.users.{inventory.roster[0].os_user}"})
    part = plan(subset(inventory, keys), load(), sources=SOURCES, output=SHOWN)
    mine = {p for p in part.owners if part.sources[p] in keys}
    assert mine == {p for p in whole.owners if whole.sources[p] in keys}
    assert len(mine) > 10
    for path in mine:
        assert part.files[path] == whole.files[path]


@linux_only
@pytest.mark.parametrize("check", [False, True])
def test_a_child_started_before_the_plan_writes_the_same_tree(
    tmp_path: Path, writers: Path, check: bool
) -> None:
    """`start` with a child that plans only its keys, then `finish` with the whole plan: the
    tree (or, with `check`, the comparison) is what the one-process writer gives, and the
    child wrote exactly its keys' files.

    The log is emptied before `start` and its lines are told apart by pid only: the child
    runs from the fork on, so its line may land before, between or after this process's
    (once it was read as a line of the setup, and the child's write looked missing)."""
    assert forked.usable(), "another thread is running: the fork path would not be exercised"
    inventory = build(ROSTER, K8S, CONFIG)
    keys = render_write.last(render_write.key_weights(inventory), 0.6)
    assert keys
    one = tmp_path / "one"
    whole = plan(inventory, load(), sources=SOURCES, output=SHOWN)
    expected = write.write(one, emit(whole))
    output = one if check else tmp_path / "two"
    if check:  # one file edited: the comparison must say so, from either process
        edited = next(p for p in whole.owners if whole.sources[p] in keys)
        (one / edited).write_text("edited\n", encoding="utf-8")
    writers.unlink(missing_ok=True)  # the one-process writer's lines above
    writing = started(output, inventory, keys, check=check, schema=True)
    outcome = writing.finish(plan(inventory, load(), sources=SOURCES, output=SHOWN))
    assert outcome.digests == emit(whole).digests
    assert multiset(outcome.schema or []) == multiset(
        k8s_schema.check(whole.manifests, whole.files, SHOWN)
    )
    if check:
        assert [(d.code, d.location.path) for d in outcome.drift] == [
            ("render-modified", f"{SHOWN}/{edited}")
        ]
        return
    assert outcome.staged is not None
    assert outcome.staged.commit() == expected
    assert contents(tmp_path / "two") == contents(one)
    log, parent = calls(writers), os.getpid()
    theirs = [p for p in whole.owners if whole.sources[p] in keys]
    mine = [p for p in whole.owners if whole.sources[p] not in keys]
    assert [sorted(paths) for pid, paths in log if pid != parent] == [sorted(theirs)], log
    # This process wrote the rest and INDEX.json, and not the child's share a second time.
    assert [sorted(paths) for pid, paths in log if pid == parent] == [sorted(mine), [INDEX]]


@linux_only
def test_a_child_that_planned_something_else_is_refused(tmp_path: Path) -> None:
    """A child whose share is not exactly the files of its keys (here it planned one key too
    few) is not trusted, and neither is its plan: the render stops with an error, nothing is
    staged and the output is untouched."""
    inventory = build(ROSTER, K8S, CONFIG)
    keys = render_write.last(render_write.key_weights(inventory), 0.6)
    fewer = frozenset(sorted(keys)[1:])
    assert fewer != keys
    whole = plan(inventory, load(), sources=SOURCES, output=SHOWN)
    write.write(tmp_path / "out", emit(whole))
    before = snapshot(tmp_path / "out")
    writing = started(tmp_path / "out", inventory, keys, planned_keys=fewer)
    with pytest.raises(RuntimeError, match="disagree"):
        writing.finish(whole)
    assert snapshot(tmp_path / "out") == before
    assert not list(tmp_path.glob("out.tenancy-*"))


@linux_only
def test_a_child_that_died_is_written_here_from_its_own_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the child dies, this process writes the child's share from the child's plan, and
    the tree is the one-process writer's."""
    inventory = build(ROSTER, K8S, CONFIG)
    keys = render_write.last(render_write.key_weights(inventory), 0.6)
    parent = os.getpid()
    real = render_write.Writing._one

    def dies_in_child(self: render_write.Writing, planned: Plan, paths: list[str]) -> Any:
        if os.getpid() != parent:
            os._exit(3)
        return real(self, planned, paths)

    monkeypatch.setattr(render_write.Writing, "_one", dies_in_child)
    writing = started(tmp_path / "two", inventory, keys, schema=True)
    outcome = writing.finish(plan(inventory, load(), sources=SOURCES, output=SHOWN))
    assert outcome.staged is not None
    outcome.staged.commit()
    whole = plan(inventory, load(), sources=SOURCES, output=SHOWN)
    write.write(tmp_path / "one", emit(whole))
    assert contents(tmp_path / "two") == contents(tmp_path / "one")
    assert multiset(outcome.schema or []) == multiset(
        k8s_schema.check(whole.manifests, whole.files, SHOWN)
    )


def test_cancel_removes_what_was_staged(tmp_path: Path) -> None:
    """A render that stops after `start` (its checks failed, or it was interrupted) leaves no
    staging folder and no child behind."""
    inventory = build(ROSTER, K8S, CONFIG)
    keys = render_write.last(render_write.key_weights(inventory), 0.6)
    writing = started(tmp_path / "out", inventory, keys)
    writing.cancel()
    assert not list(tmp_path.glob("out*"))
    if writing.child is not None:
        assert writing.child.pid is None
