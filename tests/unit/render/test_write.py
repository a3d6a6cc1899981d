"""The writer: whole-tree swap, only owned files deleted, drift found by --check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenancy.errors import RepoError
from tenancy.render.plan import INDEX, Rendered
from tenancy.render.write import begin, compare, end, owned, recover, write, write_part


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


def test_failure_while_staging_leaves_old_tree(tmp_path: Path) -> None:
    """If writing the new tree fails midway, the old tree is untouched and no staging remains.

    The failure is real: `a.yaml` is written as a file, then `a.yaml/b.yaml` needs it to be a
    folder, which the operating system refuses."""
    out = tmp_path / "out"
    write(out, tree({"a.yaml": "a\n", "b.yaml": "b\n"}))
    with pytest.raises(OSError, match=r"File exists|Not a directory"):
        write(out, tree({"a.yaml": "A\n", "a.yaml/b.yaml": "B\n", "b.yaml": "B\n"}))
    assert (out / "a.yaml").read_text() == "a\n"
    assert (out / "b.yaml").read_text() == "b\n"
    assert not list(tmp_path.glob("out.tenancy-*"))


def test_unchanged_files_are_linked_changed_files_are_new(tmp_path: Path) -> None:
    """A re-render links unchanged files from the old tree and gives changed ones a new inode,
    so the old tree (a backup until the swap) is never modified in place."""
    out = tmp_path / "out"
    write(out, tree({"same.yaml": "s\n", "edit.yaml": "e\n"}))
    before = {name: (out / name).stat().st_ino for name in ("same.yaml", "edit.yaml")}
    result = write(out, tree({"same.yaml": "s\n", "edit.yaml": "E\n"}))
    assert (result.written, result.unchanged) == (2, 1)  # edit.yaml and INDEX.json
    assert (out / "same.yaml").stat().st_ino == before["same.yaml"]
    assert (out / "edit.yaml").stat().st_ino != before["edit.yaml"]
    assert (out / "edit.yaml").read_text() == "E\n"


def test_symlink_in_place_of_a_rendered_file_is_replaced(tmp_path: Path) -> None:
    """A rendered file swapped for a symbolic link (even to identical bytes) is drift: the
    render writes a real file again and never writes through the link."""
    out = tmp_path / "out"
    write(out, tree({"a.yaml": "a\n"}))
    outside = tmp_path / "outside.yaml"
    outside.write_text("a\n")
    (out / "a.yaml").unlink()
    (out / "a.yaml").symlink_to(outside)
    result = write(out, tree({"a.yaml": "a\n"}))
    assert result.changed
    assert not (out / "a.yaml").is_symlink() and (out / "a.yaml").read_text() == "a\n"
    assert outside.read_text() == "a\n"


@pytest.mark.parametrize("path", ["", "a//b.yaml", "./a.yaml", "a\\..\\b", "a\0b"])
def test_refuses_odd_paths(tmp_path: Path, path: str) -> None:
    """Empty, doubled, dot, backslash and NUL path parts are refused before anything is written."""
    with pytest.raises(RepoError, match="leave the output directory"):
        write(tmp_path / "out", tree({path: "x\n"}))
    assert not (tmp_path / "out").exists()


def test_large_files_compare_whole(tmp_path: Path) -> None:
    """INDEX.json is 33 MB at 10,000 users: a file larger than any read chunk is compared and
    found unchanged in full (a bug once truncated the read at 16 MiB and rewrote it forever)."""
    out = tmp_path / "out"
    big = "x" * (17 * 1024 * 1024) + "\n"
    rendered = tree({"big.yaml": big})
    write(out, rendered)
    assert codes(out, rendered) == []
    assert not write(out, rendered).changed
    (out / "big.yaml").write_text(big[:-1] + "y")  # same size, last byte differs
    assert codes(out, rendered) == [("out/big.yaml", "render-modified")]
    assert write(out, rendered).written == 1


def test_a_share_written_twice_ends_with_the_right_tree(tmp_path: Path) -> None:
    """A writer that died half-way (half its share staged, one file cut short) and the same
    share written again in full: the right bytes, unchanged files hard links to the old tree,
    the old tree untouched, and `end` commits exactly the new tree."""
    out = tmp_path / "out"
    write(out, tree({"same.yaml": "s\n", "edit.yaml": "e\n", "a/same.yaml": "as\n"}))
    old_inodes = {p: (out / p).stat().st_ino for p in ("same.yaml", "edit.yaml", "a/same.yaml")}
    new = tree({"same.yaml": "s\n", "edit.yaml": "E!\n", "a/same.yaml": "as\n", "b/n.yaml": "n\n"})
    share = list(new.files.items())

    target = begin(out)
    half = write_part(target, share[:2])
    assert half.written + half.same == 2
    (target.staging / "edit.yaml").write_text("E")  # cut short as the writer died
    again = write_part(target, share)
    assert again == write_part(target, share)  # and a third time: the same answer
    assert (again.written, again.same) == (3, 2)  # edit.yaml, b/n.yaml, INDEX.json; 2 same
    assert set(again.digests) == set(new.files)

    staged = {p.relative_to(target.staging).as_posix() for p in target.staging.rglob("*")}
    assert {p for p in staged if (target.staging / p).is_file()} == set(new.files)
    for path, text in new.files.items():
        assert (target.staging / path).read_text() == text, path
    for path in ("same.yaml", "a/same.yaml"):
        assert (target.staging / path).stat().st_ino == old_inodes[path]  # a link, not a copy
    assert (target.staging / "edit.yaml").stat().st_ino != old_inodes["edit.yaml"]
    assert (out / "edit.yaml").read_text() == "e\n"  # the old tree is untouched
    assert (out / "same.yaml").read_text() == "s\n"

    result = end(target, [again]).commit()
    assert result.changed and (result.written, result.unchanged) == (3, 2)
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == set(new.files)
    for path, text in new.files.items():
        assert (out / path).read_text() == text, path
    assert (out / "same.yaml").stat().st_ino == old_inodes["same.yaml"]
    assert not list(tmp_path.glob("out.tenancy-*"))
    assert codes(out, new) == []


@pytest.mark.parametrize("path", ["../escape.yaml", "a/../../escape.yaml", "a/../b.yaml"])
def test_write_part_refuses_a_path_with_dot_dot(tmp_path: Path, path: str) -> None:
    """write_part refuses a `..` path with RepoError before writing it: nothing appears outside
    the staging folder, and the files before it in the share stay inside."""
    out = tmp_path / "work" / "out"
    target = begin(out)
    with pytest.raises(RepoError, match="leave the output directory"):
        write_part(target, [("a/ok.yaml", "ok\n"), (path, "x\n"), ("z.yaml", "z\n")])
    everything = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert everything == {
        "work",
        "work/out.tenancy-new",
        "work/out.tenancy-new/a",
        "work/out.tenancy-new/a/ok.yaml",
    }
    target.discard()
    assert not (tmp_path / "work" / "out.tenancy-new").exists()
    assert not out.exists()


def test_owned_reads_every_name_of_the_index(tmp_path: Path) -> None:
    """The previous render's files are exactly INDEX.json's names, odd ones included (a name
    holding NUL, which no render writes, is kept whole)."""
    names = ["a.yaml", "b/c.yaml", "odd\u0000name", 'quote"d.yaml']
    files = {name: {"sha256": "0" * 64, "source": "render"} for name in names}
    (tmp_path / INDEX).write_text(json.dumps({"files": files, "generator": "tenancy"}))
    assert owned(tmp_path) == {*names, INDEX}
    (tmp_path / INDEX).write_text(json.dumps({"files": {}, "generator": "tenancy"}))
    assert owned(tmp_path) == {INDEX}
    (tmp_path / INDEX).write_text("not json")
    assert owned(tmp_path) == set()


def test_hand_added_folder_links_and_empty_folders_are_kept(tmp_path: Path) -> None:
    """A hand-added link to a folder stays a link (never followed, its target untouched), and a
    hand-made empty folder stays, when the tree is swapped."""
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "theirs.txt").write_text("not tenancy's\n")
    write(out, tree({"a/x.yaml": "x\n"}))
    (out / "a" / "shared").symlink_to(elsewhere)
    (out / "empty").mkdir()
    result = write(out, tree({"a/x.yaml": "x2\n"}))
    assert result.kept == 2
    assert (out / "a" / "shared").is_symlink()
    assert (out / "a" / "shared").readlink() == elsewhere
    assert (out / "empty").is_dir()
    assert [p.name for p in elsewhere.iterdir()] == ["theirs.txt"]


def test_an_index_naming_paths_outside_is_ignored(tmp_path: Path) -> None:
    """Names in INDEX.json that leave the output (`../x`, `/abs`) are never owned: not orphans,
    not counted as removed, and the files they name are left alone."""
    out = tmp_path / "work" / "out"
    write(out, tree({"a.yaml": "a\n"}))
    outside = tmp_path / "x.yaml"
    outside.write_text("someone else's\n")
    index = json.loads((out / INDEX).read_text())
    index["files"]["../../x.yaml"] = {"sha256": "0", "source": "x"}
    index["files"][str(outside)] = {"sha256": "0", "source": "x"}
    (out / INDEX).write_text(json.dumps(index))
    assert owned(out) == {"a.yaml", INDEX}
    assert codes(out, tree({"a.yaml": "a\n"})) == [("out/INDEX.json", "render-modified")]
    result = write(out, tree({"a.yaml": "a\n"}))
    assert result.removed == 0
    assert outside.read_text() == "someone else's\n"
