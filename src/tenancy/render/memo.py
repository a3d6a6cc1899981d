"""Recognise a render that was done before: its files' digests, by what it was rendered from.

`tenancy.render.plan.render` is pure: the tree is a function of the inventory (which holds the
resolved config), the profiles, the input file names for the headers, the output path and
tenancy's own code. A render stores, under a sha256 of exactly those, the sha256 of every file
it produced. The next run with identical inputs can then answer `render --check` (and a
`render` with nothing to do) by hashing the files on disk against those digests, without
rendering again; everything it says is still checked byte for byte against the disk. The
findings of the checks of that tree are memoized apart (`checks.checks_key`), since
they also depend on the policies and the tool binaries.

The inputs are still loaded and validated on every run: the memo starts after validation.
"""

from __future__ import annotations

import json
import marshal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tenancy.errors import Diagnostic
from tenancy.model import Config, Inventory
from tenancy.render import cache as memo
from tenancy.render import checks, write
from tenancy.render.plan import INDEX
from tenancy.render.plan.profiles import Profiles
from tenancy.validate.policy import PolicySet

KIND = "render"
#: Renders remembered: each is every file's digest (2.8 MB at 1,000 users, 28 MB at 10,000).
KEEP = 8


@dataclass(frozen=True, slots=True)
class Known:
    digests: dict[str, str]  # path -> sha256 of every file, INDEX.json included

    @property
    def tree(self) -> str:
        """sha256 of the tree's INDEX.json (which lists every other file's)."""
        return self.digests[INDEX]


def render_key(
    inventory: Inventory, profiles: Profiles, sources: dict[str, str], output: str
) -> str:
    """The arguments of `plan.render`, written out. The model is frozen dataclasses of
    tuples, strings and dicts built in a fixed order, so its repr is the same in every run."""
    # Where the config and inputs live is not rendered (render reads only identity and OIDC
    # settings from the config: tests/unit/render/test_memo.py holds it to that), so two
    # checkouts of one repository share their renders.
    placeless = replace(
        inventory,
        config=replace(
            inventory.config,
            path=None,
            roster=None,
            k8s_users=None,
            output="",
            policy_dirs=(),
            waivers=None,
            render_dir=None,
            notes=(),
        ),
    )
    return memo.key(
        KIND,
        memo.code_digest(),
        repr(placeless),
        repr(profiles),
        json.dumps(sources, sort_keys=True),
        output,
    )


#: What a memo file starts with: its format and the interpreter that wrote it (marshal's format
#: belongs to the interpreter; another one misses rather than misreads).
HEADER = f"tenancy-render-memo 2 python {sys.version_info[0]}.{sys.version_info[1]}\n".encode()


def recall(store: memo.Cache, entry: str) -> Known | None:
    data = store.load_bytes(KIND, entry)
    if data is None or not data.startswith(HEADER):
        return None
    try:
        digests: Any = marshal.loads(data[len(HEADER) :])
    except (ValueError, EOFError, TypeError):  # cut short or corrupt: a miss
        return None
    if not isinstance(digests, dict) or INDEX not in digests:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items()):
        return None
    return Known(digests=digests)


def remember(store: memo.Cache, entry: str, digests: dict[str, str]) -> None:
    """Store a render's file digests (INDEX.json's included) under its key. In marshal, the
    interpreter's own format: 220,000 digests take 0.02 s to write, where JSON takes 0.25 s."""
    if INDEX not in digests:
        return  # rendered without text (`diff`): nothing a later run could compare against
    store.store_bytes(KIND, entry, HEADER + marshal.dumps(digests), keep=KEEP)


@dataclass(frozen=True, slots=True)
class Checked:
    """An identical render checked before: its checks' findings and the disk's drift from it."""

    findings: list[Diagnostic]
    drift: list[Diagnostic]


def recall_checked(
    store: memo.Cache,
    entry: str,
    *,
    policies: PolicySet,
    inventory: Inventory,
    config: Config,
    shown: str,
    output: Path,
    check: bool,
) -> Checked | None:
    """The findings of an identical render done before and the drift of the disk from it, or
    None when this render is new (or a part of its memo is missing). For a plain render
    (`check` false) a disk whose INDEX.json differs needs rendering anyway: None at once."""
    known = recall(store, entry)
    if known is None:
        return None
    if not check and write.file_digest(output / INDEX) != known.tree:
        return None
    audit_entry = checks.audit_key(
        entry, policies=policies, inventory=inventory, config=config, output=shown
    )
    findings = checks.known_findings(store, audit_entry, entry, shown)
    if findings is None:
        return None
    return Checked(findings, write.compare_digests(output, known.digests, shown))
