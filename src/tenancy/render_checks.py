"""Every check of the rendered output, run side by side and memoized. Shell: runs tools.

Four checks judge a render before anything is written: the Rego audit rules, the Kubernetes
schemas, OpenBao's policy parser and `kubectl kustomize`. The last two are separate processes:
they are started first and collected last, so they use the other CPU while this process runs
the audit and the schemas. Each check's
findings are memoized by content (`tenancy.cache`), so a render whose output did not change
costs no check at all, and a render that changed one tenant reruns only what that touches.
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
    """All four checks: the audit's key, plus the tool binaries and the schema files."""
    return memo.key(
        "checks",
        audit_entry,
        memo.file_identity(tools.find("bao")),
        memo.file_identity(tools.find("kubectl")),
        k8s_schema.schemas_identity(),
    )


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
    """The checks of one render, under way: `finish` completes them, `cancel` stops them."""

    hcl: tools.Pending
    kustomize: tools.Pending
    child: forked.Forked  # the audit and the schema check, those the cache did not answer
    collect: Callable[[forked.Results], tuple[list[Diagnostic], list[Diagnostic]]]
    store: Callable[[list[Diagnostic], list[Diagnostic], list[Diagnostic], bool], None]

    def finish(self, stopwatch: Stopwatch) -> list[Diagnostic]:
        try:
            with stopwatch.lap("checks wait"):
                audited, schema = self.collect(self.child.result())
        except BaseException:
            self.cancel()
            raise
        with stopwatch.lap("tools wait"):
            tools_found = self.hcl.finish() + self.kustomize.finish()
        # A tool that timed out, was killed or could not start gave no answer to remember.
        self.store(audited, schema, tools_found, self.hcl.complete and self.kustomize.complete)
        return [*audited, *schema, *tools_found]

    def cancel(self) -> None:
        self.hcl.cancel()
        self.kustomize.cancel()
        self.child.cancel()


Running = Known | Started


def check_rendered(
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
) -> list[Diagnostic]:
    """The findings of all four checks, run to the end (order does not matter: callers sort)."""
    running = start_checks(
        rendered,
        engine=engine,
        policies=policies,
        inventory=inventory,
        config=config,
        output=output,
        cache=cache,
        stopwatch=stopwatch,
        audit_cacheable=audit_cacheable,
    )
    return running.finish(stopwatch)


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

    What runs where: `bao` and `kubectl` are their own processes; the audit and the schema
    check run in a forked child (`tenancy.forked`) with the embedded engine, since regorus
    holds the GIL and the parent has files to write meanwhile. The answer is memoized whole
    under `checks_key`, and each check again under its own key, so a changed tree reruns only
    what its change touches."""
    tree = tree_digest(rendered)
    audit_entry = audit_key(
        tree, policies=policies, inventory=inventory, config=config, output=output
    )
    whole = checks_key(audit_entry)
    if audit_cacheable:
        whole_known = cache.get("checks", whole)
        if whole_known is not None:
            return Known(whole_known)
    schema_entry = memo.key("k8s", memo.code_digest(), tree, output, k8s_schema.schemas_identity())

    def schema() -> list[Diagnostic]:
        return k8s_schema.check(rendered.manifests, rendered.files, output)

    def audited() -> list[Diagnostic]:
        return audit(engine, policies, rendered, inventory, config, output)

    audit_known = cache.get("audit", audit_entry) if audit_cacheable else None
    schema_known = cache.get("k8s", schema_entry)
    works = [w for w, known in ((audited, audit_known), (schema, schema_known)) if known is None]

    def collect(results: forked.Results) -> tuple[list[Diagnostic], list[Diagnostic]]:
        answers = iter(results)
        audit_found = next(answers) if audit_known is None else audit_known
        schema_found = next(answers) if schema_known is None else schema_known
        return audit_found, schema_found

    def store(
        audit_found: list[Diagnostic],
        schema_found: list[Diagnostic],
        others: list[Diagnostic],
        complete: bool,
    ) -> None:
        cache.put("k8s", schema_entry, schema_found)
        if audit_cacheable:
            cache.put("audit", audit_entry, audit_found)
            if complete:
                cache.put("checks", whole, [*audit_found, *schema_found, *others])

    with stopwatch.lap("tools start"):
        hcl = tools.start_hcl(rendered.files, output, cache)
        try:
            kustomize = tools.start_kustomize(
                rendered.files, output, cache, rendered.kustomizations
            )
        except BaseException:
            hcl.cancel()
            raise
    try:
        with stopwatch.lap("checks start"):
            # Only the embedded engine is forked: an OPA server client's connections must not
            # be shared between two processes. The schema check goes along: it is the other
            # CPU-bound check, and the parent is busy writing files meanwhile.
            child = forked.start(works) if audit_cacheable else forked.here(works)
    except BaseException:
        hcl.cancel()
        kustomize.cancel()
        raise
    return Started(hcl, kustomize, child, collect, store)
