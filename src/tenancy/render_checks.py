"""Every check of the rendered output, run beside the writing and memoized. Shell: forks.

Four checks judge a render before anything is swapped in: the Rego audit rules, the Kubernetes
schemas, OpenBao's policy parser and `kubectl kustomize`. `start_checks` starts the audit and
the two tools in a forked child (the tools as the child's own processes, started before the
audit), the caller stages the new tree meanwhile, and `finish` runs the schema check here and
collects the child's findings. Each check's findings are memoized by content (`tenancy.cache`),
so a render whose output did not change costs no check at all, and a render that changed one
tenant reruns only what that touches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from tenancy import cache as memo
from tenancy import forked, k8s_schema, tools
from tenancy.audit import audit
from tenancy.errors import Diagnostic
from tenancy.model import Config, Inventory
from tenancy.policy import PolicyEngine, PolicySet
from tenancy.render import INDEX, Rendered
from tenancy.stopwatch import Stopwatch


def tree_digest(rendered: Rendered) -> str:
    """sha256 of the whole rendered tree: INDEX.json lists every file's sha256 and source."""
    if INDEX in rendered.digests:
        return rendered.digests[INDEX]
    return memo.key("tree", (f"{p}\0{t}" for p, t in sorted(rendered.files.items())))


def policies_digest(policies: PolicySet) -> str:
    return memo.key("policies", (f"{m.path}\0{m.text}" for m in policies.modules))


def audit_key(
    tree: str, *, policies: PolicySet, inventory: Inventory, config: Config, output: str
) -> str:
    """What the audit's findings depend on: the tree, the policies, what it is told about
    tenants and config, the output path (in every location) and tenancy's code."""
    prefix = config.identity_prefix
    tenants = json.dumps(
        [[u.key, u.role, list(u.namespaces), u.identity(prefix)] for u in inventory.users]
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
    """The Kubernetes schema check: the tree, the schema files and tenancy's code."""
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

    def finish(self, stopwatch: Stopwatch) -> list[Diagnostic]:
        return list(self.found)

    def cancel(self) -> None:
        return None


@dataclass(frozen=True)
class Started:
    """The checks of one render under way: the audit and the tools in a child (or done), the
    schema check still to run here. `finish` runs it, then waits for the child."""

    child: forked.Forked
    schema: Callable[[], list[Diagnostic]]

    def finish(self, stopwatch: Stopwatch) -> list[Diagnostic]:
        try:
            with stopwatch.lap("k8s schema"):
                schema_found = self.schema()
            with stopwatch.lap("checks wait"):
                (found,) = self.child.result()
        except BaseException:
            self.cancel()
            raise
        return [*found, *schema_found]

    def cancel(self) -> None:
        self.child.cancel()


Running = Known | Started


def start_checks(
    rendered: Rendered,
    *,
    engine: PolicyEngine,
    policies: PolicySet,
    inventory: Inventory,
    config: Config,
    output: str,
    cache: memo.Cache,
    stopwatch: Stopwatch,
    audit_cacheable: bool = True,
) -> Running:
    """Start the four checks; the caller may write or compare files before `finish`.

    What runs where: the audit and the two tools run in a forked child (`tenancy.forked`) with
    the embedded engine, since regorus holds the GIL and the parent has files to write
    meanwhile; `bao` and `kubectl` are the child's own subprocesses, started before the audit
    so that they run beside it, and the child writes what it learns to the cache itself. The
    schema check runs here at `finish`, after the files (it balances the two CPUs). Findings
    are memoized per check and per tool run, and the audit and tools together under
    `checks_key`, so a changed tree reruns only what its change touches."""
    tree = tree_digest(rendered)
    audit_entry = audit_key(
        tree, policies=policies, inventory=inventory, config=config, output=output
    )
    if audit_cacheable:
        known = known_findings(cache, audit_entry, tree, output)
        if known is not None:
            return Known(known)
    whole = checks_key(audit_entry)
    schema_entry = schema_key(tree, output)

    def schema() -> list[Diagnostic]:
        found = cache.get("k8s", schema_entry)
        if found is None:
            found = k8s_schema.check(rendered.manifests, rendered.files, output)
            cache.put("k8s", schema_entry, found)
        return found

    def audit_and_tools() -> list[Diagnostic]:
        # The tools start first and run while the audit uses this CPU.
        hcl = tools.start_hcl(rendered.files, output, cache)
        try:
            kustomize = tools.start_kustomize(
                rendered.files, output, cache, rendered.kustomizations
            )
        except BaseException:
            hcl.cancel()
            raise
        try:
            audit_found = cache.get("audit", audit_entry) if audit_cacheable else None
            if audit_found is None:
                audit_found = audit(engine, policies, rendered, inventory, config, output)
                if audit_cacheable:
                    cache.put("audit", audit_entry, audit_found)
        except BaseException:
            hcl.cancel()
            kustomize.cancel()
            raise
        found = [*audit_found, *hcl.finish(), *kustomize.finish()]
        # A tool that timed out, was killed or could not start gave no answer to remember.
        if audit_cacheable and hcl.complete and kustomize.complete:
            cache.put("checks", whole, found)
        return found

    with stopwatch.lap("checks start"):
        # Only the embedded engine is forked: an OPA server client's connections must not be
        # shared between two processes.
        work = [audit_and_tools]
        child = forked.start(work) if audit_cacheable else forked.here(work)
    return Started(child, schema)
