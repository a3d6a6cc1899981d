"""The `validate` pipeline: load -> schema -> policy, over already-read file contents. Pure.

Stages run in order and a later stage runs only on what the earlier ones accepted: the policy
stage sees only schema-valid inputs, so every policy can rely on types (DESIGN.md, data flow).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenancy.errors import Diagnostic, Location, Report, sort_diagnostics
from tenancy.inputs.load import Document, parse_bytes
from tenancy.inputs.read import InputFile
from tenancy.model import Config, InputName
from tenancy.validate import schema
from tenancy.validate.config import quantity_text
from tenancy.validate.policy import PolicyEngine, PolicySet, evaluate
from tenancy.validate.waivers import apply as apply_waivers


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """The outcome of `check`: the report plus the loaded documents, for later stages."""

    report: Report
    documents: Mapping[InputName, Document]


def load_inputs(
    files: Sequence[InputFile], config: Config
) -> tuple[dict[InputName, Document], list[Diagnostic]]:
    """Parse and schema-check each input; a document is returned only when it is schema-clean."""
    documents: dict[InputName, Document] = {}
    diagnostics: list[Diagnostic] = []
    for file in files:
        diagnostics.extend(file.problems)
        if file.raw is None:
            continue
        document, problems = parse_bytes(file.shown, file.raw, max_depth=config.max_depth)
        diagnostics.extend(problems)
        if document is None:
            continue
        schema_problems = schema.check(document, file.name)
        diagnostics.extend(schema_problems)
        if not schema_problems:
            documents[file.name] = document
    return documents, diagnostics


def check(
    files: Sequence[InputFile],
    config: Config,
    *,
    engine: PolicyEngine | None,
    policies: PolicySet | None,
    waivers: InputFile | None = None,
    today: datetime.date | None = None,
) -> Checked:
    """Run every stage that can run; `engine=None` stops after the schema stage."""
    documents, diagnostics = load_inputs(files, config)
    diagnostics += policy_stage(documents, files, config, engine=engine, policies=policies)
    return Checked(
        report=conclude(files, diagnostics, config, waivers=waivers, today=today),
        documents=documents,
    )


def policy_stage(
    documents: Mapping[InputName, Document],
    files: Sequence[InputFile],
    config: Config,
    *,
    engine: PolicyEngine | None,
    policies: PolicySet | None,
) -> list[Diagnostic]:
    """The policy findings, when every input loaded clean; else why the policies did not run.

    A stage of its own so that `render` can run it beside the work that needs only the
    schema-valid documents (its findings decide whether that work is kept)."""
    wanted = {file.name for file in files}
    found = quarantine_problems(documents, config)
    if engine is not None and policies is not None and set(documents) == wanted and documents:
        return found + evaluate(
            engine,
            policies,
            policy_input(documents, config),
            locator(documents),
            fallback=Location(files[0].shown),
        )
    if engine is not None and documents != {} and set(documents) != wanted:
        return [
            *found,
            Diagnostic(
                location=Location(files[0].shown),
                severity="info",
                code="policy-skipped",
                message="policy checks did not run: fix the errors above first",
                source="policy",
            ),
        ]
    return found


def quarantine_problems(
    documents: Mapping[InputName, Document], config: Config
) -> list[Diagnostic]:
    """tenancy.yaml `quarantine:` against the inputs, each finding at the entry: a reserved
    namespace is the platform's, and a namespace a namespace-owner owns is not quarantined
    (it would be rendered twice, once locked and once owned)."""
    if not config.quarantine:
        return []
    k8s_doc = documents.get("k8s_users")
    owners: dict[str, tuple[str, int]] = {}
    for key, entry in ((k8s_doc.data if k8s_doc else None) or {}).items():
        if isinstance(entry, dict) and entry.get("role") == "namespace-owner":
            for i, namespace in enumerate(entry.get("namespaces") or ()):
                owners.setdefault(str(namespace), (str(key), i))
    reserved = set(config.reserved_namespaces)
    found = []
    for entry in config.quarantine:
        where = entry.location or Location(config.path or "tenancy.yaml")
        if entry.namespace in reserved:
            found.append(
                Diagnostic(
                    location=where,
                    severity="error",
                    code="quarantine-reserved",
                    message=f"namespace {entry.namespace!r} is reserved for the platform and "
                    "cannot be quarantined",
                    hint="remove the entry: quarantine is for a removed tenant's namespace",
                    source="config",
                )
            )
        owner = owners.get(entry.namespace)
        if owner is not None and k8s_doc is not None:
            key, index = owner
            found.append(
                Diagnostic(
                    location=where,
                    severity="error",
                    code="quarantine-owned",
                    message=f"namespace {entry.namespace!r} is quarantined and also owned by "
                    f"{key!r} in k8s_users",
                    hint="a namespace is either a tenant's or quarantined: remove it from "
                    f"{key}'s namespaces, or retire the quarantine entry (handing a former "
                    "tenant's workloads and Secrets to someone else is a decision of its own)",
                    source="config",
                    related=(k8s_doc.locate([key, "namespaces", index]),),
                )
            )
    return found


def conclude(
    files: Sequence[InputFile],
    diagnostics: Sequence[Diagnostic],
    config: Config,
    *,
    waivers: InputFile | None = None,
    today: datetime.date | None = None,
) -> Report:
    """The report of every stage's findings (and the configuration's own), with the waivers
    applied."""
    found = [*config.notes, *diagnostics]
    shown = [file.shown for file in files]
    if waivers is not None:
        found.extend(waivers.problems)
        document = None
        if waivers.raw is not None:
            document, problems = parse_bytes(waivers.shown, waivers.raw, max_depth=config.max_depth)
            found.extend(problems)
        found = apply_waivers(found, document, today or datetime.date.today())
        shown.append(waivers.shown)
    return Report(diagnostics=tuple(sort_diagnostics(found)), files=tuple(shown))


def policy_input(documents: Mapping[InputName, Document], config: Config) -> dict[str, Any]:
    """The documented `input` of every input policy: both files, plain, plus the config view."""
    roster = documents["roster"].data if "roster" in documents else None
    users = (roster or {}).get("users") or {}
    k8s_users: dict[str, Any] = {}
    k8s_doc = documents.get("k8s_users")
    for key, entry in ((k8s_doc.data if k8s_doc else None) or {}).items():
        quota = entry.get("quota")
        if isinstance(quota, dict):  # YAML numbers become the strings the policies compare
            k8s_users[key] = {**entry, "quota": {k: quantity_text(v) for k, v in quota.items()}}
        else:
            k8s_users[key] = entry
    return {"roster": {"users": users}, "k8s_users": k8s_users, "config": config.policy_view()}


def locator(documents: Mapping[InputName, Document]) -> Any:
    """Map a policy path (`["roster", "users", "ada", "tier"]`) to the key's file position."""

    def locate(path: Sequence[str | int]) -> Location | None:
        if not path:
            return None
        head = path[0]
        if head == "roster" and "roster" in documents:
            return documents["roster"].locate(path[1:])
        if head == "k8s_users" and "k8s_users" in documents:
            return documents["k8s_users"].locate(path[1:])
        return None

    return locate
