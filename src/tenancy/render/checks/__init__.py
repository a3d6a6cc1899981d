"""Every check of the rendered output, run beside the writing and memoized. Shell: forks.

Four checks judge a render before anything is swapped in: the Rego audit rules, the Kubernetes
schemas, OpenBao's policy parser and `kubectl kustomize`. `start_checks` starts all four from
the render's plan (`tenancy.render.plan.Plan`: every object decided, no YAML written yet): the audit
and the two tools in a forked child (the tools as its own processes), the schema check in the
writers of the tree (`tenancy.render.writers`), which run meanwhile; `finish` collects it all.
The findings are memoized (`tenancy.render.cache`) under the render's own key and per tool run by
content, so a render whose inputs did not change costs no check at all.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tenancy.errors import Diagnostic
from tenancy.model import Config, Inventory
from tenancy.render import cache as memo
from tenancy.render import concurrent
from tenancy.render.checks import k8s_schema, tools
from tenancy.render.checks.audit import audit
from tenancy.render.plan import Plan
from tenancy.render.stopwatch import Stopwatch
from tenancy.validate.policy import PolicyEngine, PolicySet


def policies_digest(policies: PolicySet) -> str:
    return memo.key("policies", (f"{m.path}\0{m.text}" for m in policies.modules))


def audit_key(
    tree: str, *, policies: PolicySet, inventory: Inventory, config: Config, output: str
) -> str:
    """What the audit's findings depend on: the tree, the policies, what it is told about
    tenants and config, the output path (in every location) and tenancy's code.

    `tree` names the rendered tree by what determines it: the render memo's key
    (`memo.render_key`: the inputs, the profiles, the output and tenancy's code), so
    the checks' answers are found before a byte of YAML is written."""
    tenants = json.dumps(
        [[u.key, u.role, list(u.namespaces), config.username(u)] for u in inventory.users]
    )
    view = json.dumps(config.policy_view(), sort_keys=True, default=str)
    return memo.key(
        "audit", memo.code_digest(), tree, policies_digest(policies), tenants, view, output
    )


def checks_key(audit_entry: str) -> str:
    """The audit and the two tools together: the audit's key plus the tool binaries."""
    return memo.key(
        "checks",
        audit_entry,
        memo.file_identity(tools.find("bao")),
        memo.file_identity(tools.find("kubectl")),
    )


def schema_key(tree: str, output: str) -> str:
    """The Kubernetes schema check: the tree (as in `audit_key`), the schema files, the code."""
    return memo.key("k8s", memo.code_digest(), tree, output, k8s_schema.schemas_identity())


def known_findings(
    cache: memo.Cache, audit_entry: str, tree: str, output: str
) -> list[Diagnostic] | None:
    """All four checks' findings for this tree when the cache holds both parts, else None."""
    checked = cache.get("checks", checks_key(audit_entry))
    if checked is None:
        return None
    schema = cache.get("k8s", schema_key(tree, output))
    return None if schema is None else [*checked, *schema]


@dataclass(frozen=True)
class Checks:
    """The checks of one render under way in a child, or known from the memo (a task already
    done): `finish` waits for them.

    The schema check is the writers' (`tenancy.render.writers`), unless the cache knew its
    answer (`schema_known`); `finish` takes what they found and remembers it."""

    task: concurrent.Task[list[Diagnostic]]
    schema_known: list[Diagnostic] | None
    remember_schema: Callable[[list[Diagnostic]], None] | None = None
    #: The folder the tools' scratch copies go in, made by this process: a child killed with
    #: its tools running cannot remove what it made, this process removes it whole.
    scratch: Path | None = None

    def finish(self, stopwatch: Stopwatch, schema: list[Diagnostic] | None) -> list[Diagnostic]:
        with stopwatch.lap("checks wait"):
            try:
                found = self.task.result()
            finally:
                self._clean()
        if self.schema_known is not None:
            return [*found, *self.schema_known]
        if schema is None:
            raise ValueError("the Kubernetes schema check was wanted and did not run")
        if self.remember_schema is not None:
            self.remember_schema(schema)
        return [*found, *schema]

    def cancel(self) -> None:
        self.task.cancel()
        self._clean()

    def _clean(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def start_checks(
    planned: Plan,
    *,
    tree: str | None,
    engine: PolicyEngine,
    policies: PolicySet,
    inventory: Inventory,
    config: Config,
    output: str,
    cache: memo.Cache,
    stopwatch: Stopwatch,
    schema_known: list[Diagnostic] | None,
    audit_cacheable: bool = True,
) -> Checks:
    """Start the checks of a planned render; the caller writes the tree meanwhile.

    `tree` is the render memo's key for this plan (None: the checks as a whole are not
    memoized; each tool run still is, by content). `schema_known` is the schema check's
    answer from the cache (`schema_key`), looked up by the caller before it started the
    writers, which run the check when there is none. The audit and the two tools run in a
    forked child (`tenancy.render.concurrent`) with the embedded engine, since regorus holds
    the GIL and the parent has the tree to write meanwhile; `bao` and `kubectl` are the child's
    own subprocesses, started first so that they run beside the audit. The child writes the text
    of only the files it reads (`Plan.files`) and records what it learns in the cache itself.
    Findings are memoized per check and per tool run, and the audit and tools together under
    `checks_key`, so a repeated render reruns nothing and a changed one reruns what it touches.
    An OPA server's answers depend on its state (`audit_cacheable` false): then the audit is
    neither recalled nor remembered, and runs here (its client's connections must not be
    shared by two processes)."""
    audit_entry = schema_entry = ""
    if tree is not None:
        audit_entry = audit_key(
            tree, policies=policies, inventory=inventory, config=config, output=output
        )
        schema_entry = schema_key(tree, output)
        known = known_findings(cache, audit_entry, tree, output) if audit_cacheable else None
        if known is not None:
            return Checks(concurrent.start(lambda: known, fork=False), schema_known=[])
    scratch = Path(tempfile.mkdtemp(prefix="tenancy-checks-"))
    run = _Run(
        planned=planned,
        scratch=scratch,
        engine=engine,
        policies=policies,
        inventory=inventory,
        config=config,
        output=output,
        cache=cache,
        audit_entry=audit_entry if tree is not None and audit_cacheable else None,
    )
    with stopwatch.lap("checks start"):
        try:
            task = concurrent.start(run.checks, concurrent.FINDINGS, fork=audit_cacheable)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise

    def remember_schema(found: list[Diagnostic]) -> None:
        cache.put("k8s", schema_entry, found)

    return Checks(task, schema_known, remember_schema if tree is not None else None, scratch)


@dataclass(frozen=True, kw_only=True)
class _Run:
    """What the checks' child runs: the two tools started, the audit meanwhile, then all of
    it remembered under `audit_entry` (None: nothing is remembered as a whole)."""

    planned: Plan
    scratch: Path
    engine: PolicyEngine
    policies: PolicySet
    inventory: Inventory
    config: Config
    output: str
    cache: memo.Cache
    audit_entry: str | None

    def checks(self) -> list[Diagnostic]:
        planned, cache, output = self.planned, self.cache, self.output
        # The tools start first and run while the audit uses this CPU.
        scratch = self.scratch
        hcl = tools.start_hcl(planned.files, output, cache, planned.review_paths, scratch)
        try:
            kustomize = tools.start_kustomize(
                planned.files, output, cache, planned.kustomizations, scratch
            )
        except BaseException:
            hcl.cancel()
            raise
        try:
            audited = self._audit()
        except BaseException:
            hcl.cancel()
            kustomize.cancel()
            raise
        found = [*audited, *hcl.finish(), *kustomize.finish()]
        # A tool that timed out, was killed or could not start gave no answer to remember.
        if self.audit_entry is not None and hcl.complete and kustomize.complete:
            cache.put("checks", checks_key(self.audit_entry), found)
        return found

    def _audit(self) -> list[Diagnostic]:
        entry = self.audit_entry
        found = self.cache.get("audit", entry) if entry is not None else None
        if found is None:
            found = audit(
                self.engine, self.policies, self.planned, self.inventory, self.config, self.output
            )
            if entry is not None:
                self.cache.put("audit", entry, found)
        return found
