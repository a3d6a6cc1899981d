"""The checks' cache: stable keys, faithful entries, and a broken cache is a miss, never an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import tenancy
from tenancy.errors import Diagnostic, Location
from tenancy.render.cache import Cache, code_digest, default_root, digest_of, file_identity, key

FULL = Diagnostic(
    location=Location("out/vault/policies/a.hcl", 3, 7, rev="abc123"),
    severity="warning",
    code="some-code",
    message='says "this" \\ and ünïcode',
    hint="do the other thing",
    source="policy",
    waived=True,
    related=(Location("tenants/roster.yaml", 2, 4), Location("k.yaml", 9, 1, rev="HEAD~1")),
    subject="k8s_users.cleo.namespaces",
)
BARE = Diagnostic(location=Location("out"), severity="info", code="check-skipped", message="m")


def entry_file(root: Path, kind: str, entry: str) -> Path:
    return root / kind / f"{entry}.json"


def test_key_is_stable_and_length_prefixed() -> None:
    """The same parts give the same hex digest; moving a boundary between parts changes it."""
    assert key("ab", "c") == key("ab", "c")
    assert len(key("ab", "c")) == 64 and int(key("ab", "c"), 16) >= 0
    assert key("ab", "c") != key("a", "bc")
    assert key("abc") != key("ab", "c")
    assert key("a", "") != key("a")
    assert key(["x", "y"]) == key(iter(["x", "y"]))  # any iterable of strings: its items


def test_key_of_iterable_parts_is_unambiguous() -> None:
    """Different item lists in an iterable part give different keys, NUL inside items or not."""
    assert key(["a\0b"]) != key(["a", "b"])


def test_disabled_cache_never_hits_and_never_writes(tmp_path: Path) -> None:
    """Cache(None) stores nothing and answers every lookup with a miss."""
    store = Cache(None)
    store.put("kind", "e", [FULL])
    store.store("kind", "raw", {"a": 1})
    assert store.get("kind", "e") is None
    assert store.load("kind", "raw") is None
    assert (store.hits, store.misses) == (0, 1)
    assert list(tmp_path.iterdir()) == []


def test_put_then_get_round_trips_every_field(tmp_path: Path) -> None:
    """Every Diagnostic field (rev, related, subject, waived, a None hint) survives the disk."""
    store = Cache(tmp_path / "c")
    store.put("audit", "e1", [FULL, BARE])
    assert entry_file(tmp_path / "c", "audit", "e1").is_file()
    again = Cache(tmp_path / "c")  # a later run: only the disk is shared
    assert again.get("audit", "e1") == [FULL, BARE]
    assert (again.hits, again.misses) == (1, 0)
    store.put("audit", "empty", [])
    assert again.get("audit", "empty") == []  # no findings is an answer, not a miss
    assert again.hits == 2


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"diagnostics": [{"location": ["a", 1',  # truncated mid-write
        b"\xff\xfe not utf-8",
        b"[1, 2, 3]",
        b'"a string"',
        b"{}",
        b'{"diagnostics": 5}',
        b'{"diagnostics": [{"location": ["a", 1, 1]}]}',
        b'{"diagnostics": [{"location": ["a", "x", 1, null]}]}',
    ],
)
def test_corrupt_entry_is_a_counted_miss(tmp_path: Path, body: bytes) -> None:
    """A truncated, garbled or wrongly shaped entry reads as a miss, counted, never raised."""
    store = Cache(tmp_path)
    store.put("k8s", "e", [FULL])
    entry_file(tmp_path, "k8s", "e").write_bytes(body)
    assert store.get("k8s", "e") is None
    assert (store.hits, store.misses) == (0, 1)


def test_deeply_nested_entry_is_a_miss(tmp_path: Path) -> None:
    """Even an entry corrupted into deeply nested brackets is a miss, not an exception."""
    store = Cache(tmp_path)
    store.put("k8s", "e", [FULL])
    entry_file(tmp_path, "k8s", "e").write_text("[" * 100_000)
    assert store.get("k8s", "e") is None


def test_entry_with_an_unknown_severity_is_a_miss(tmp_path: Path) -> None:
    """An entry whose severity is not error/warning/info is refused rather than trusted."""
    store = Cache(tmp_path)
    store.put("k8s", "e", [BARE])
    path = entry_file(tmp_path, "k8s", "e")
    path.write_text(path.read_text().replace('"info"', '"fatal"'))
    assert store.get("k8s", "e") is None
    assert store.misses == 1


def test_entry_is_visible_only_under_its_kind(tmp_path: Path) -> None:
    """The same entry name stored by one kind is not an answer for another kind."""
    store = Cache(tmp_path)
    store.put("hcl", "same", [FULL])
    assert store.get("kustomize", "same") is None
    assert store.get("hcl", "same") == [FULL]
    assert (store.hits, store.misses) == (1, 1)


def test_store_prunes_to_the_newest_entries_of_its_kind(tmp_path: Path) -> None:
    """A run's first store of a kind keeps only the newest `keep` entries of that kind."""
    earlier = Cache(tmp_path)
    for i, name in enumerate(("oldest", "older", "newer")):
        earlier.store("render", name, {"n": i})
        os.utime(entry_file(tmp_path, "render", name), (1_000_000 + i, 1_000_000 + i))
    earlier.store("other", "kept", {"n": 0})
    os.utime(entry_file(tmp_path, "other", "kept"), (1, 1))
    Cache(tmp_path).store("render", "newest", {"n": 3}, keep=2)
    assert sorted(p.name for p in (tmp_path / "render").iterdir()) == [
        "newer.json",
        "newest.json",
    ]
    assert (tmp_path / "other" / "kept.json").exists()  # other kinds are not touched
    assert Cache(tmp_path).load("render", "newest") == {"n": 3}


def test_store_leaves_no_temporary_file(tmp_path: Path) -> None:
    """An entry is written beside itself and renamed: nothing but the entry remains."""
    Cache(tmp_path).store("k", "e", {"a": [1, "b"]})
    assert [p.name for p in (tmp_path / "k").iterdir()] == ["e.json"]
    assert json.loads(entry_file(tmp_path, "k", "e").read_text()) == {"a": [1, "b"]}


def test_unwritable_root_is_skipped(tmp_path: Path) -> None:
    """A file where the cache folder should be: storing is silently skipped, lookups miss."""
    root = tmp_path / "cache"
    root.write_text("not a folder\n")
    store = Cache(root)
    store.put("audit", "e", [FULL])
    store.store("render", "e", {"a": 1})
    assert store.get("audit", "e") is None
    assert store.load("render", "e") is None
    assert root.read_text() == "not a folder\n"


def test_default_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TENANCY_NO_CACHE turns it off; TENANCY_CACHE_DIR wins over XDG_CACHE_HOME and ~/.cache."""
    monkeypatch.delenv("TENANCY_NO_CACHE", raising=False)
    monkeypatch.setenv("TENANCY_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "explicit"
    monkeypatch.delenv("TENANCY_CACHE_DIR")
    assert default_root() == tmp_path / "xdg" / "tenancy"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert default_root() == tmp_path / "home" / ".cache" / "tenancy"
    monkeypatch.setenv("TENANCY_NO_CACHE", "0")
    assert default_root() == tmp_path / "home" / ".cache" / "tenancy"
    monkeypatch.setenv("TENANCY_NO_CACHE", "1")
    monkeypatch.setenv("TENANCY_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_root() is None
    assert Cache.from_environment().root is None
    monkeypatch.delenv("TENANCY_NO_CACHE")
    assert Cache.from_environment().root == tmp_path / "explicit"
    assert Cache.from_environment(enabled=False).root is None


def test_file_identity_follows_size_and_mtime(tmp_path: Path) -> None:
    """A tool rewritten with other bytes or touched gets a new identity; None is `absent`."""
    tool = tmp_path / "tool"
    tool.write_bytes(b"one")
    os.utime(tool, ns=(10**18, 10**18))
    first = file_identity(str(tool))
    assert file_identity(str(tool)) == first
    tool.write_bytes(b"three")
    os.utime(tool, ns=(10**18, 10**18))
    resized = file_identity(str(tool))
    assert resized != first
    os.utime(tool, ns=(10**18 + 1, 10**18 + 1))
    assert file_identity(str(tool)) not in (first, resized)
    assert file_identity(None) == "absent"
    assert file_identity(str(tmp_path / "missing")).endswith(":unreadable")


def test_no_home_means_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without HOME, a passwd entry or any cache variable, caching is off instead of failing."""
    for name in ("TENANCY_NO_CACHE", "TENANCY_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def nowhere() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(nowhere))
    assert default_root() is None


def test_bytes_entries_are_stored_whole_and_pruned_with_the_rest(tmp_path: Path) -> None:
    """store_bytes writes a file that load_bytes reads back as it was; a kind keeps its
    newest entries whichever way they were written; a disabled cache stores nothing."""
    cache = Cache(tmp_path)
    cache.store_bytes("render", "a", b"\x00\x01 first", keep=2)
    assert cache.load_bytes("render", "a") == b"\x00\x01 first"
    assert cache.load_bytes("render", "missing") is None
    assert not list((tmp_path / "render").glob(".*.tmp"))
    os.utime(tmp_path / "render" / "a.bin", ns=(1, 1))  # the oldest
    Cache(tmp_path).store("render", "b", {"json": True}, keep=2)
    Cache(tmp_path).store_bytes("render", "c", b"c", keep=2)
    assert cache.load_bytes("render", "a") is None  # pruned: the oldest of three
    assert Cache(tmp_path).load("render", "b") == {"json": True}
    assert Cache(tmp_path).load_bytes("render", "c") == b"c"
    off = Cache(None)
    off.store_bytes("render", "x", b"y")
    assert off.load_bytes("render", "x") is None


def test_the_code_digest_covers_every_module_of_tenancy(tmp_path: Path) -> None:
    """The key's code part is the whole package, so an edit outside `render/` (the model, the
    policy engine) is never answered with findings made by the code before it."""
    package = Path(tenancy.__file__).resolve().parent
    assert code_digest() == digest_of(package)
    copy = tmp_path / "tenancy"
    for source in package.rglob("*.py"):
        target = copy / source.relative_to(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    before = digest_of(copy)
    with (copy / "model.py").open("a") as model:
        model.write("# a local edit\n")
    assert digest_of(copy) != before
