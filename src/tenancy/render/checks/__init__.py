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
from collections.abc import Callable
from dataclasses import dataclass

from tenancy.errors import Diagnostic
from tenancy.model import Config, Inventory
from tenancy.render import cache as memo
from tenancy.render import concurrent as forked
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
    (`render_memo.render_key`: the inputs, the profiles, the output and tenancy's code), so
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
class Known:
    """The checks' findings for this exact tree, from the memo: nothing runs."""

    found: list[Diagnostic]

    def finish(self, stopwatch: Stopwatch, schema: list[Diagnostic] | None) -> list[Diagnostic]:
        return list(self.found)

    def cancel(self) -> None:
        return None


@dataclass(frozen=True)
class Started:
    """The checks of one render under way in a child (or done): `finish` waits for them.

    The schema check is the writers' (`tenancy.render.writers`), unless the cache knew its
    answer (`schema_known`); `finish` takes what they found and remembers it."""

    child: forked.Forked
    schema_known: list[Diagnostic] | None
    remember_schema: Callable[[list[Diagnostic]], None]

    def finish(self, stopwatch: Stopwatch, schema: list[Diagnostic] | None) -> list[Diagnostic]:
        try:
            with stopwatch.lap("checks wait"):
                (found,) = self.child.result()
        except BaseException:
            self.cancel()
            raise
        if self.schema_known is not None:
            return [*found, *self.schema_known]
        if schema is None:
            raise ValueError("the Kubernetes schema check was wanted and did not run")
        self.remember_schema(schema)
        return [*found, *schema]

    def cancel(self) -> None:
        self.child.cancel()


Running = Known | Started


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
) -> Running:
    """Start the checks of a planned render; the caller writes the tree meanwhile.

    `tree` is the render memo's key for this plan (None: the checks as a whole are not
    memoized; each tool run still is, by content). `schema_known` is the schema check's
    answer from the cache (`schema_key`), looked up by the caller before it started the
    writers, which run the check when there is none. The audit and the two tools run in a
    forked child (`tenancy.render.concurrent`) with the embedded engine, since regorus holds
    the GIL and
    the parent has the tree to write meanwhile; `bao` and `kubectl` are the child's own
    subprocesses, started first so that they run beside the audit. The child writes the text
    of only the files it reads (`Plan.files`) and records what it learns in the cache itself.
    The Kubernetes schema check is run by the writers, over the objects they write. Findings
    are memoized per check and per tool run, and the audit and tools together under
    `checks_key`, so a repeated render reruns nothing and a changed one reruns what it touches."""
    keyed = tree is not None
    audit_entry = schema_entry = ""
    if tree is not None:
        audit_entry = audit_key(
            tree, policies=policies, inventory=inventory, config=config, output=output
        )
        schema_entry = schema_key(tree, output)
        if audit_cacheable:
            known = known_findings(cache, audit_entry, tree, output)
            if known is not None:
                return Known(known)
    remember_audit = keyed and audit_cacheable

    def remember_schema(found: list[Diagnostic]) -> None:
        if keyed:
            cache.put("k8s", schema_entry, found)

    def checks() -> list[Diagnostic]:
        # The tools start first and run while the audit uses this CPU.
        hcl = tools.start_hcl(planned.files, output, cache, planned.review_paths)
        try:
            kustomize = tools.start_kustomize(planned.files, output, cache, planned.kustomizations)
        except BaseException:
            hcl.cancel()
            raise
        try:
            audit_found = cache.get("audit", audit_entry) if remember_audit else None
            if audit_found is None:
                audit_found = audit(engine, policies, planned, inventory, config, output)
                if remember_audit:
                    cache.put("audit", audit_entry, audit_found)
        except BaseException:
            hcl.cancel()
            kustomize.cancel()
            raise
        found = [*audit_found, *hcl.finish(), *kustomize.finish()]
        # A tool that timed out, was killed or could not start gave no answer to remember.
        if remember_audit and hcl.complete and kustomize.complete:
            cache.put("checks", checks_key(audit_entry), found)
        return found

    with stopwatch.lap("checks start"):
        # Only the embedded engine is forked: an OPA server client's connections must not be
        # shared between two processes.
        work = [checks]
        child = forked.start(work) if audit_cacheable else forked.here(work)
    return Started(child, schema_known, remember_schema)
