"""Write (or compare) a planned render in two processes, checking its objects on the way.
Shell: forks and writes.

Writing a tree is turning every object into YAML, hashing it and putting it on disk: 1.5 s of
one CPU at 1,000 users, 9 s at 10,000. The files are independent, so they are split by input
key: a forked child (`tenancy.render.concurrent`) writes the files of a run of keys, this
process the rest, then INDEX.json from both shares' digests. `render` starts the child before
it plans the tree (`start`): the child plans only its own keys (`plan.subset`), on the other CPU,
while this process plans the whole tree for the checks and its own share. Each share streams:
a file's text is made, hashed, written and dropped, so no process holds the whole tree's text.
The Kubernetes schema check runs in the same pass over each share's objects, where the objects
are already at hand (a third process reading them all would copy every page of them, since
reading a Python object writes its reference count).

Without `fork` (or with another thread running), this process writes it all; the bytes on disk
are the same either way.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenancy.errors import Diagnostic
from tenancy.model import Inventory, Manifest
from tenancy.render import concurrent, write
from tenancy.render.cache import diagnostic, plain
from tenancy.render.checks import k8s_schema
from tenancy.render.plan import INDEX, Plan, index_text, texts
from tenancy.render.stopwatch import Stopwatch


@dataclass(frozen=True, slots=True)
class Share:
    """What the writer of one share reports back (as plain values, from a child)."""

    digests: dict[str, str]
    written: int
    same: int
    drift: list[Diagnostic]
    schema: list[Diagnostic]
    unchecked: set[str]
    schema_seconds: float

    def plain(self) -> dict[str, Any]:
        return {
            "digests": self.digests,
            "written": self.written,
            "same": self.same,
            "drift": [plain(d) for d in self.drift],
            "schema": [plain(d) for d in self.schema],
            "unchecked": sorted(self.unchecked),
            "schema_seconds": self.schema_seconds,
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Share:
        return cls(
            digests=dict(data["digests"]),
            written=int(data["written"]),
            same=int(data["same"]),
            drift=[diagnostic(d) for d in data["drift"]],
            schema=[diagnostic(d) for d in data["schema"]],
            unchecked=set(data["unchecked"]),
            schema_seconds=float(data["schema_seconds"]),
        )


#: A share's report crosses the pipe from a writer child as plain values.
SHARE = concurrent.Codec(Share.plain, Share.from_plain)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A written or compared tree: every file's digest (INDEX.json's included), the drift
    (`--check`), and the schema findings when they were asked for."""

    digests: dict[str, str]
    drift: list[Diagnostic]
    schema: list[Diagnostic] | None
    #: The schema check's time, summed over the writers (the work one CPU would do).
    schema_seconds: float
    staged: write.Staged | None = None


def key_weights(inventory: Inventory) -> list[tuple[str, int]]:
    """Each input key's share of a render's work, estimated from the inventory, in inventory
    order: an object costs about twice a file whose text is already made (see `plan_weights`),
    and a namespace-owner's namespace holds about nine objects and a review file."""
    weights = []
    for user in inventory.users:
        own = 2 * (1 + 3 + 9 * len(user.namespaces)) if user.role == "namespace-owner" else 2
        weights.append((f"k8s_users.{user.key}", own))
    weights += [(f"roster.users.{row.os_user}", 3) for row in inventory.roster]
    return weights


def plan_weights(planned: Plan) -> list[tuple[str, int]]:
    """Each input key's share of writing the plan, exactly: 2 per object, 1 per other file."""
    per_key: Counter[str] = Counter()
    sources = planned.sources
    for path, owner in planned.owners.items():
        per_key[sources[path]] += 2 if isinstance(owner, Manifest) else 1
    return [(key, per_key[key]) for key in planned.order if key in per_key]


def cut(weights: list[tuple[str, int]], count: int) -> list[frozenset[str]]:
    """The keys in `count` runs of inventory order holding about equal work each.

    Whole keys in runs, because a forked writer copies every page of memory it reads from
    (reading a Python object writes its reference count), and one key's objects were built
    together: a run of keys copies about its own part of a plan."""
    total = sum(weight for _, weight in weights)
    groups: list[set[str]] = [set() for _ in range(count)]
    seen = 0
    for key, weight in weights:
        # The run a key's middle falls in: each run gets total / count of the work, give or
        # take half a key.
        place = min(count - 1, (2 * seen + weight) * count // max(2 * total, 1))
        groups[place].add(key)
        seen += weight
    return [frozenset(group) for group in groups]


def last(weights: list[tuple[str, int]], fraction: float) -> frozenset[str]:
    """The keys at the end of inventory order that hold about `fraction` of the work."""
    total = sum(weight for _, weight in weights)
    keys = set()
    seen = 0
    for key, weight in weights:
        if 2 * seen + weight >= 2 * total * (1 - fraction):
            keys.add(key)
        seen += weight
    return frozenset(keys)


def shares(planned: Plan, count: int) -> list[list[str]]:
    """The plan's files in `count` shares: the files of each run of input keys (`cut`), the
    files of no key (cluster-wide files, kustomizations) in the first share."""
    groups = cut(plan_weights(planned), count)
    where = {key: index for index, group in enumerate(groups) for key in group}
    sources = planned.sources
    dealt: list[list[str]] = [[] for _ in range(count)]
    for path in planned.owners:
        dealt[where.get(sources[path], 0)].append(path)
    return dealt


@dataclass
class Writing:
    """A tree being written (or compared) by this process and, for the files of `keys`, a
    forked child, which may have started before the plan was made (`start`)."""

    output: Path
    shown: str
    check: bool
    schema: bool
    keys: frozenset[str]
    target: write.Target | None
    child: concurrent.Task[Share] | None
    #: What the previous render wrote (its INDEX.json), read before the plan: at 10,000
    #: users reading it costs 100 MB for a moment, better spent before the plan is built.
    previous: frozenset[str] = frozenset()
    #: The plan the child writes from (of `keys`), made again here if the child fails.
    planner: Callable[[], Plan] | None = None

    def finish(self, planned: Plan, stopwatch: Stopwatch | None = None) -> Outcome:
        """Write this process's files (all but the child's), take the child's, and finish
        the tree with INDEX.json: staged (see `tenancy.render.write`) or compared. The stopwatch
        gets a lap for this process's share and one for the wait for the child's."""
        try:
            return self._finish(planned, stopwatch or Stopwatch())
        except BaseException:
            self.cancel()
            raise

    def _finish(self, planned: Plan, stopwatch: Stopwatch) -> Outcome:
        # One pass over the sources, in plan order (reading the objects themselves would copy
        # their pages from the checks' child).
        theirs: list[str] = []
        mine: list[str] = []
        keys = self.keys
        for path, key in planned.sources.items():
            (theirs if key in keys else mine).append(path)
        with stopwatch.lap("write here"):
            done = [self._one(planned, mine)]
        if theirs:
            with stopwatch.lap("write wait"):
                done.append(self._take(planned, theirs))
        digests: dict[str, str] = {}
        for share in done:
            digests.update(share.digests)
        index = [(INDEX, index_text(digests, planned.sources))]
        found = _schema_findings(done, self.shown) if self.schema else None
        seconds = sum(share.schema_seconds for share in done)
        if self.target is None:
            index_digests, index_drift = write.compare_part(self.output, index, self.shown)
            digests.update(index_digests)
            drift = [d for share in done for d in share.drift]
            gone = write.orphans(self.output, set(digests), self.shown, self.previous)
            extra = write.unowned(self.output, digests, self.previous, self.shown)
            drift += [*index_drift, *gone, *extra]
            return Outcome(digests, drift, found, seconds)
        part = write.write_part(self.target, index)
        digests[INDEX] = part.digests[INDEX]
        parts = [write.Part(share.digests, share.written, share.same) for share in done]
        staged = write.end(self.target, [*parts, part])
        return Outcome(digests, [], found, seconds, staged)

    def _take(self, planned: Plan, theirs: list[str]) -> Share:
        """The child's share; written here instead when there was no child, or it said
        something else than exactly these files (it died, or its answer is not a share)."""
        if self.child is not None:
            share = self.child.result()
            if share.digests.keys() == set(theirs):
                return share
        # From the child's own plan (`planner`), as the child would have written it.
        own = self.planner() if self.planner is not None else planned
        paths = [path for path, key in own.sources.items() if key in self.keys]
        if set(paths) != set(theirs):
            raise RuntimeError("the writer's plan and the whole plan disagree on its files")
        return self._one(own, paths)

    def _one(self, planned: Plan, paths: list[str]) -> Share:
        if self.target is None:
            digests, drift = write.compare_part(self.output, texts(planned, paths), self.shown)
            found, unchecked, seconds = _schema(planned, paths, self.shown, self.schema)
            return Share(digests, 0, 0, drift, found, unchecked, seconds)
        part = write.write_part(self.target, texts(planned, paths))
        found, unchecked, seconds = _schema(planned, paths, self.shown, self.schema)
        return Share(part.digests, part.written, part.same, [], found, unchecked, seconds)

    def cancel(self) -> None:
        """Stop the child and remove what was staged."""
        if self.child is not None:
            self.child.cancel()
        if self.target is not None:
            self.target.discard()


def start(
    output: Path,
    shown: str,
    *,
    check: bool,
    schema: bool,
    keys: frozenset[str],
    planner: Callable[[], Plan],
) -> Writing:
    """Get ready to write (`check`: compare) a tree, and start a child that writes the files
    of `keys` from the plan `planner` makes for it; `Writing.finish` does the rest.

    Started before the whole tree is planned, the child plans only its keys (`plan.subset`) on the
    other CPU while this process plans the whole tree, and its plan is its own memory rather
    than pages it shares with this process. Without a usable fork, `finish` writes it all."""
    target = None if check else write.begin(output)
    previous = target.previous if target is not None else frozenset(write.owned(output))
    writing = Writing(output, shown, check, schema, frozenset(), target, None, previous, planner)
    if not keys or not concurrent.usable():
        return writing

    def work() -> Share:
        planned = planner()
        sources = planned.sources
        paths = [path for path in planned.owners if sources[path] in keys]
        return writing._one(planned, paths)

    try:
        writing.keys = keys
        writing.child = concurrent.start(work, SHARE)
    except BaseException:
        writing.cancel()
        raise
    return writing


def stage(output: Path, planned: Plan, shown: str, *, schema: bool) -> Outcome:
    """Stage the planned tree beside `output`, in two processes when a fork is usable; swap
    it in with `Outcome.staged.commit()` once the checks pass."""
    return _planned(output, planned, shown, check=False, schema=schema)


def compare(output: Path, planned: Plan, shown: str, *, schema: bool) -> Outcome:
    """Every modified, missing and orphan file of the planned tree. Writes nothing."""
    return _planned(output, planned, shown, check=True, schema=schema)


def _planned(output: Path, planned: Plan, shown: str, *, check: bool, schema: bool) -> Outcome:
    if schema:
        k8s_schema.prepare(planned.manifests)
    _, theirs = cut(plan_weights(planned), 2)
    writing = start(output, shown, check=check, schema=schema, keys=theirs, planner=lambda: planned)
    return writing.finish(planned)


def _schema(
    planned: Plan, paths: list[str], shown: str, wanted: bool
) -> tuple[list[Diagnostic], set[str], float]:
    if not wanted:
        return [], set(), 0.0
    begin = time.perf_counter()
    owners = planned.owners
    objects = [owner for path in paths if isinstance(owner := owners[path], Manifest)]
    found, unchecked = k8s_schema.violations(objects, planned.files, shown)
    return found, unchecked, time.perf_counter() - begin


def _schema_findings(done: list[Share], shown: str) -> list[Diagnostic]:
    unchecked: set[str] = set()
    found: list[Diagnostic] = []
    for share in done:
        found += share.schema
        unchecked |= share.unchecked
    return [*found, *k8s_schema.notes(unchecked, shown)]
