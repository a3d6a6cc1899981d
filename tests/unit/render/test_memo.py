"""The render memo: a render's file digests, keyed by exactly what the render is a function of."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.model import Config, Inventory, build
from tenancy.render import memo as render_memo
from tenancy.render.cache import Cache
from tenancy.render.plan import INDEX, Rendered, render
from tenancy.render.plan.profiles import Profiles, load
from tests.conftest import REPO
from tests.fixtures import ROSTER, SOURCES

CONFIG = Config(zones=("example.org",))
K8S = {
    "cleo": {
        "role": "namespace-owner",
        "email": "cleo98@example.org",
        "namespaces": ["cleo", "cleo-books"],
        "quota": {"pods": "20"},
    },
    "brin": {"role": "power-user", "email": "brin.k@example.org"},
}


def inputs(k8s: dict[str, object] = K8S) -> tuple[Inventory, Profiles]:
    return build(ROSTER, k8s, CONFIG), load()


def rendered(k8s: dict[str, object] = K8S) -> Rendered:
    inventory, profiles = inputs(k8s)
    tree, problems = render(inventory, profiles, sources=SOURCES, output="out")
    assert problems == []
    return tree


def test_key_is_the_same_for_the_same_inputs() -> None:
    """Two separately built, equal inventories and profiles give one key."""
    first = render_memo.render_key(*inputs(), SOURCES, "out")
    assert render_memo.render_key(*inputs(), dict(reversed(SOURCES.items())), "out") == first


def test_key_changes_with_every_argument_of_render() -> None:
    """Inventory, profiles, header sources and output path each change the key."""
    inventory, profiles = inputs()
    base = render_memo.render_key(inventory, profiles, SOURCES, "out")
    quota = {**K8S, "cleo": {**K8S["cleo"], "quota": {"pods": "21"}}}  # type: ignore[dict-item]
    other_profiles = replace(profiles, settings={**profiles.settings, "extra": 1})
    variants = [
        render_memo.render_key(inputs(quota)[0], profiles, SOURCES, "out"),
        render_memo.render_key(
            build(ROSTER, K8S, replace(CONFIG, identity_prefix="x-")), profiles, SOURCES, "out"
        ),
        render_memo.render_key(
            build(ROSTER, K8S, replace(CONFIG, oidc_mount="sso")), profiles, SOURCES, "out"
        ),
        render_memo.render_key(inventory, other_profiles, SOURCES, "out"),
        render_memo.render_key(inventory, profiles, {**SOURCES, "roster": "r.yaml"}, "out"),
        render_memo.render_key(inventory, profiles, SOURCES, "out2"),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)


PLACES = st.text(max_size=20)


@given(
    path=st.none() | PLACES,
    roster=st.none() | PLACES,
    k8s_users=st.none() | PLACES,
    output=PLACES,
    policy_dirs=st.lists(PLACES, max_size=2).map(tuple),
    waivers=st.none() | PLACES,
    render_dir=st.none() | PLACES,
)
def test_where_the_checkout_lives_changes_neither_key_nor_render(**place: Any) -> None:
    """The config fields the key leaves out (paths) change no byte of the render."""
    inventory, profiles = inputs()
    moved = replace(inventory, config=replace(inventory.config, **place))
    assert render_memo.render_key(moved, profiles, SOURCES, "out") == render_memo.render_key(
        inventory, profiles, SOURCES, "out"
    )
    here, _ = render(inventory, profiles, sources=SOURCES, output="out")
    there, _ = render(moved, profiles, sources=SOURCES, output="out")
    assert there.files == here.files


def test_key_is_the_same_in_another_process() -> None:
    """The key is built from reprs: it must not depend on the interpreter's hash seed."""
    script = (
        "from tenancy.render import memo as render_memo\n"
        "from tenancy.model import Config, build\n"
        "from tenancy.render.plan.profiles import load\n"
        "from tests.fixtures import ROSTER, SOURCES\n"
        f"k8s = {K8S!r}\n"
        "inventory = build(ROSTER, k8s, Config(zones=('example.org',)))\n"
        "print(render_memo.render_key(inventory, load(), SOURCES, 'out'))\n"
    )
    keys = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        keys.add(done.stdout.strip())
    assert keys == {render_memo.render_key(*inputs(), SOURCES, "out")}


def test_remember_then_recall(tmp_path: Path) -> None:
    """A remembered render comes back as its tree digest and every file's sha256."""
    store = Cache(tmp_path)
    tree = rendered()
    render_memo.remember(store, "entry", tree.digests)
    known = render_memo.recall(Cache(tmp_path), "entry")
    assert known is not None
    assert known.tree == tree.digests[INDEX]
    assert known.digests == tree.digests
    assert set(known.digests) == set(tree.files)
    assert render_memo.recall(store, "other") is None


def test_render_without_text_is_not_remembered(tmp_path: Path) -> None:
    """A `text=False` render has no digests to compare a disk with: nothing is stored."""
    inventory, profiles = inputs()
    tree, _ = render(inventory, profiles, sources=SOURCES, output="out", text=False)
    store = Cache(tmp_path)
    render_memo.remember(store, "entry", tree.digests)
    assert render_memo.recall(store, "entry") is None
    assert not (tmp_path / render_memo.KIND).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"tree": "t"},
        {},
        {"digests": {INDEX: 1}},
        {"digests": ["INDEX.json"]},
        {"digests": {"a.yaml": "d"}},  # no INDEX.json: not a whole render
        {"digests": {INDEX: "d", "a.yaml": 5}},
        ["digests"],
        None,
    ],
)
def test_malformed_memo_is_not_recalled(tmp_path: Path, data: object) -> None:
    """An entry that is not a whole render's digests is a miss, not an exception."""
    store = Cache(tmp_path)
    store.store(render_memo.KIND, "entry", data)
    assert render_memo.recall(store, "entry") is None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda data: data[:100],  # cut short inside the digests
        lambda data: data[: len(render_memo.HEADER)],  # nothing after the header
        lambda data: data.replace(b"python", b"pyth0n", 1),  # another interpreter's
        lambda data: render_memo.HEADER + marshal.dumps(["not", "a", "dict"]),
        lambda data: render_memo.HEADER + marshal.dumps({"a": "b"}),  # no INDEX.json
        lambda data: render_memo.HEADER + marshal.dumps({INDEX: 1}),  # not a digest
        lambda data: render_memo.HEADER + b"\xff" * 50,  # not marshal at all
    ],
)
def test_corrupt_memo_file_is_not_recalled(tmp_path: Path, spoil: Any) -> None:
    """A memo file cut short, garbled, of another interpreter or of the wrong shape is a miss."""
    store = Cache(tmp_path)
    tree = rendered()
    render_memo.remember(store, "entry", tree.digests)
    assert render_memo.recall(store, "entry") == render_memo.Known(tree.digests)
    path = tmp_path / render_memo.KIND / "entry.bin"
    path.write_bytes(spoil(path.read_bytes()))
    assert render_memo.recall(store, "entry") is None
