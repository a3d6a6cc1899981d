"""Write (or compare) a planned render in two processes, checking its objects on the way.
Shell: forks and writes.

Writing a tree is turning every object into YAML, hashing it and putting it on disk: 1.5 s of
one CPU at 1,000 users, 9 s at 10,000. The files are independent, so they are split into two
shares (`shares`), a forked child writes one (`tenancy.forked.start_value`) while this
process writes the other, and this process then writes INDEX.json from both shares' digests.
Each share streams: a file's text is made, hashed, written and dropped, so no process holds
the whole tree's text. The Kubernetes schema check runs in the same pass over each share's
objects, where the objects are already at hand (a third process reading them all would copy
every page of them, since reading a Python object writes its reference count).

Without `fork` (or with another thread running), one share is written here; the bytes on disk
are the same either way.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenancy import forked, k8s_schema, write
from tenancy.cache import diagnostic, plain
from tenancy.errors import Diagnostic
from tenancy.model import Manifest
from tenancy.render import INDEX, Plan, index_text, texts


@dataclass(frozen=True, slots=True)
class Share:
    """What the writer of one share reports back (as JSON, from a child)."""

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


def shares(planned: Plan, count: int) -> list[list[str]]:
    """The plan's files in `count` shares of about equal work: each input key's files go to
    the share of its place in the inventory, the rest (cluster-wide files, kustomizations)
    are dealt in turn.

    By input key, because a forked writer copies every page of memory it reads from (reading
    a Python object writes its reference count), and one key's objects were built together:
    a share of whole keys copies about its own part of the plan, where files dealt in turn
    would copy nearly all of it."""
    order, sources = planned.order, planned.sources
    ranks = [order.get(sources[path]) for path in planned.owners]
    # Cut the inventory where each share holds as much of the keyed work as the other (an
    # object, which becomes YAML, costs about twice a file whose text is already made).
    per_rank: Counter[int] = Counter()
    for path, rank in zip(planned.owners, ranks, strict=True):
        if rank is not None:
            per_rank[rank] += 2 if isinstance(planned.owners[path], Manifest) else 1
    total = sum(per_rank.values())
    bounds: list[int] = []
    seen = 0
    for key in sorted(per_rank):
        seen += per_rank[key]
        while len(bounds) < count - 1 and seen * count >= total * (len(bounds) + 1):
            bounds.append(key)
    dealt: list[list[str]] = [[] for _ in range(count)]
    turn = 0
    for path, place in zip(planned.owners, ranks, strict=True):
        if place is None:
            dealt[turn].append(path)
            turn = (turn + 1) % count
        else:
            dealt[bisect_left(bounds, place)].append(path)
    return dealt


def stage(output: Path, planned: Plan, shown: str, *, schema: bool) -> Outcome:
    """Stage the planned tree beside `output` (see `tenancy.write`); swap it in with
    `Outcome.staged.commit()` once the checks pass."""
    target = write.begin(output)
    try:

        def one(paths: list[str]) -> Share:
            part = write.write_part(target, texts(planned, paths))
            found, unchecked, seconds = _schema(planned, paths, shown, schema)
            return Share(part.digests, part.written, part.same, [], found, unchecked, seconds)

        digests, done = _in_two(planned, one, schema)
        index = write.write_part(target, [(INDEX, index_text(digests, planned.sources))])
        digests[INDEX] = index.digests[INDEX]
        parts = [write.Part(s.digests, s.written, s.same) for s in done] + [index]
        staged = write.end(target, parts)
    except BaseException:
        target.discard()
        raise
    found = _schema_findings(done, shown) if schema else None
    return Outcome(digests, [], found, _seconds(done), staged)


def compare(output: Path, planned: Plan, shown: str, *, schema: bool) -> Outcome:
    """Every modified, missing and orphan file of the planned tree. Writes nothing."""

    def one(paths: list[str]) -> Share:
        digests, drift = write.compare_part(output, texts(planned, paths), shown)
        found, unchecked, seconds = _schema(planned, paths, shown, schema)
        return Share(digests, 0, 0, drift, found, unchecked, seconds)

    digests, done = _in_two(planned, one, schema)
    index_digests, index_drift = write.compare_part(
        output, [(INDEX, index_text(digests, planned.sources))], shown
    )
    digests.update(index_digests)
    drift = [d for share in done for d in share.drift]
    drift += [*index_drift, *write.orphans(output, set(digests), shown)]
    found = _schema_findings(done, shown) if schema else None
    return Outcome(digests, drift, found, _seconds(done))


def _in_two(
    planned: Plan, one: Callable[[list[str]], Share], schema: bool
) -> tuple[dict[str, str], list[Share]]:
    """Run `one` over two shares, the second in a child when a fork is usable."""
    if schema:
        k8s_schema.prepare(planned.manifests)
    if not forked.usable():
        done = [one(list(planned.owners))]
    else:
        mine, theirs = shares(planned, 2)
        child = forked.start_value(lambda: one(theirs).plain())
        try:
            done = [one(mine)]
            try:
                theirs_done = Share.from_plain(child.result())
            except (TypeError, KeyError, ValueError, AttributeError):
                # The child said something that is not a share: write that share here.
                theirs_done = one(theirs)
            done.append(theirs_done)
        except BaseException:
            child.cancel()
            raise
    digests: dict[str, str] = {}
    for share in done:
        digests.update(share.digests)
    return digests, done


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


def _seconds(done: list[Share]) -> float:
    return sum(share.schema_seconds for share in done)


def _schema_findings(done: list[Share], shown: str) -> list[Diagnostic]:
    unchecked: set[str] = set()
    found: list[Diagnostic] = []
    for share in done:
        found += share.schema
        unchecked |= share.unchecked
    return [*found, *k8s_schema.notes(unchecked, shown)]
