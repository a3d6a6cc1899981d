"""The writer: whole-tree swap, only owned files deleted, drift found by --check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.errors import RepoError
from tenancy.render import INDEX, Rendered
from tenancy.write import compare, recover, write


def tree(files: dict[str, str]) -> Rendered:
    import hashlib
    import json

    index = {
        p: {"sha256": hashlib.sha256(t.encode()).hexdigest(), "source": "x"}
        for p, t in files.items()
    }
    all_files = {**files, INDEX: json.dumps({"version": 1, "files": index})}
    return Rendered(files=all_files, manifests=(), sources={})


def codes(output: Path, rendered: Rendered) -> list[tuple[str, str]]:
    return sorted((d.location.path, d.code) for d in compare(output, rendered, "out"))


def test_first_write_and_idempotence(tmp_path: Path) -> None:
    """A fresh directory gets every file; writing the same tree again changes nothing."""
    out = tmp_path / "out"
    first = write(out, tree({"a/x.yaml": "x\n", "b.yaml": "b\n"}))
    assert first.changed and first.written == 3
    assert (out / "a" / "x.yaml").read_text() == "x\n"
    assert not write(out, tree({"a/x.yaml": "x\n", "b.yaml": "b\n"})).changed


def test_hand_added_files_survive_and_orphans_go(tmp_path: Path) -> None:
    """Files the previous index lists are removed when no longer rendered; others are kept."""
    out = tmp_path / "out"
    write(out, tree({"a/x.yaml": "x\n", "gone.yaml": "g\n"}))
    (out / "README.md").write_text("hand written\n")
    (out / "a" / "notes.txt").write_text("mine\n")
    result = write(out, tree({"a/x.yaml": "x2\n"}))
    assert result.removed == 1 and result.kept == 2
    assert not (out / "gone.yaml").exists()
    assert (out / "README.md").read_text() == "hand written\n"
    assert (out / "a" / "notes.txt").read_text() == "mine\n"
    assert (out / "a" / "x.yaml").read_text() == "x2\n"
    assert not list(tmp_path.glob("out.tenancy-*"))  # no staging or backup left behind


def test_check_lists_modified_missing_and_orphan(tmp_path: Path) -> None:
    """--check reports every kind of drift and writes nothing."""
    out = tmp_path / "out"
    write(out, tree({"keep.yaml": "k\n", "edit.yaml": "e\n", "old.yaml": "o\n"}))
    (out / "edit.yaml").write_text("hand edit\n")
    before = sorted(p.name for p in out.rglob("*"))
    rendered = tree({"keep.yaml": "k\n", "edit.yaml": "e\n", "new.yaml": "n\n"})
    assert codes(out, rendered) == [
        ("out/INDEX.json", "render-modified"),
        ("out/edit.yaml", "render-modified"),
        ("out/new.yaml", "render-missing"),
        ("out/old.yaml", "render-orphan"),
    ]
    assert sorted(p.name for p in out.rglob("*")) == before
    write(out, rendered)
    assert codes(out, rendered) == []  # a render clears all drift


def test_refuses_a_directory_it_does_not_own(tmp_path: Path) -> None:
    """A non-empty directory without INDEX.json is never swapped out."""
    (tmp_path / "precious.txt").write_text("data")
    with pytest.raises(RepoError, match="not written by tenancy"):
        write(tmp_path, tree({"a.yaml": "a\n"}))
    assert (tmp_path / "precious.txt").read_text() == "data"


@pytest.mark.parametrize("path", ["../escape.yaml", "/etc/passwd", "a/../../b.yaml"])
def test_refuses_paths_outside_the_output(tmp_path: Path, path: str) -> None:
    """Path tricks in rendered names cannot write outside the output directory."""
    with pytest.raises(RepoError, match="leave the output directory"):
        write(tmp_path / "out", tree({path: "x\n"}))
    assert not (tmp_path / "escape.yaml").exists()


def test_interrupted_swap_is_recovered(tmp_path: Path) -> None:
    """A crash between the two renames leaves a backup; the next run restores it first."""
    out = tmp_path / "out"
    write(out, tree({"a.yaml": "a\n"}))
    out.rename(tmp_path / "out.tenancy-old")  # as if the crash came after the first rename
    (tmp_path / "out.tenancy-new").mkdir()  # and a half-written staging tree
    recover(out)
    assert (out / "a.yaml").read_text() == "a\n"
    assert not (tmp_path / "out.tenancy-new").exists()


def test_failure_while_staging_leaves_old_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing the new tree fails midway, the old tree is untouched and no staging remains."""
    out = tmp_path / "out"
    write(out, tree({"a.yaml": "a\n", "b.yaml": "b\n"}))
    calls = {"n": 0}
    original = Path.write_text

    def flaky(self: Path, *args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", flaky)
    with pytest.raises(OSError, match="disk full"):
        write(out, tree({"a.yaml": "A\n", "b.yaml": "B\n"}))
    monkeypatch.undo()
    assert (out / "a.yaml").read_text() == "a\n"
    assert (out / "b.yaml").read_text() == "b\n"
    assert not list(tmp_path.glob("out.tenancy-*"))
