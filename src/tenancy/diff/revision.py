"""Validate and render one revision from its file contents, for `diff`. Pure: the shell
passes in functions that read a file or list a folder at that revision."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

import yaml

from tenancy.diff import access
from tenancy.diff.changes import Snapshot
from tenancy.errors import Diagnostic, Location
from tenancy.inputs.load import parse_bytes
from tenancy.inputs.read import InputFile
from tenancy.model import Config, InputName, Person, build
from tenancy.render.plan import header_source, render, tier_data
from tenancy.render.plan import profiles as render_profiles
from tenancy.render.plan.sync import SYNCED
from tenancy.report import lines
from tenancy.validate.check import check
from tenancy.validate.config import resolve
from tenancy.validate.policy import PolicyEngine, PolicySet

Reader = Callable[[str], bytes | None]
Lister = Callable[[str], list[str]]
#: Whether a repository-relative path leaves the repository (the working tree's symlinks).
Escapes = Callable[[str], bool]
#: Folders whose files are compared as "other" changes when the repository holds them.
TRACKED_FOLDERS = ("render", "policies", "schemas")


def snapshot(
    label: str,
    read: Reader,
    listing: Lister,
    *,
    config_path: str | None,
    roster: str | None,
    k8s_users: str | None,
    engine: PolicyEngine,
    policies: PolicySet,
    escapes: Escapes | None = None,
    zones: tuple[str, ...] = (),
) -> tuple[Snapshot, Config | None]:
    """Validate and render one revision; an input outside the config's folder is not read."""
    config, broken = _config_at(label, read, config_path)
    if config is None:
        return _broken(label, broken), None
    if roster or k8s_users:
        config = replace(config, roster=roster, k8s_users=k8s_users)
    if zones:
        config = replace(config, zones=zones)
    inputs = _inputs_at(label, read, config, config_path, escapes)
    waivers_path = str(PurePosixPath(config.waivers)) if config.waivers else None
    waivers_raw = read(waivers_path) if waivers_path else None
    waivers = (
        InputFile(name="waivers", shown=waivers_path, raw=waivers_raw)
        if waivers_raw and waivers_path
        else None
    )
    checked = check(inputs, config, engine=engine, policies=policies, waivers=waivers)
    errors = [d for d in checked.report.diagnostics if d.severity == "error" and not d.waived]
    problems = lines(errors)
    named = (config_path, config.roster, config.k8s_users, waivers_path)
    sources = _sources_at(read, listing, named)
    (profiles, data_files, template), data_problems = _tier_data(config, config_path, read, listing)
    sources.update(data_files)
    problems += lines(data_problems)
    people: dict[str, Person] | None = None
    files: dict[str, str | tuple[dict[str, Any], str]] = {}
    docs = checked.documents
    if "roster" in docs and "k8s_users" in docs and profiles is not None:
        roster_data, users_data = docs["roster"].data, docs["k8s_users"].data
        people, files = _rendered(roster_data, users_data, config, profiles, template)
    return (
        Snapshot(
            label=label,
            people=people,
            files=files,
            sources=sources,
            waivers=_waivers(waivers_raw),
            problems=tuple(problems),
            quarantined={entry.namespace: entry.tenant for entry in config.quarantine},
            unowned=_unowned(config, config_path, listing, files) if people is not None else (),
        ),
        config,
    )


def _config_at(
    label: str, read: Reader, config_path: str | None
) -> tuple[Config | None, list[str]]:
    """The revision's tenancy.yaml resolved (the defaults without one), or why it cannot be."""
    if config_path is None:
        return Config(), []
    raw = read(config_path)
    if raw is None:
        return None, [f"{config_path}@{label}: no such file at this revision"]
    document, found = parse_bytes(config_path, raw)
    resolved, more = resolve(document, PurePosixPath(config_path)) if document else (None, [])
    if resolved is None:
        return None, lines([*found, *more])
    return resolved, []


def _inputs_at(
    label: str, read: Reader, config: Config, config_path: str | None, escapes: Escapes | None
) -> list[InputFile]:
    """The roster and k8s_users at the revision; one that leaves the config's folder is not
    read, and one that is missing is a finding, as `validate` reports them."""
    inputs = []
    wanted: tuple[tuple[InputName, str | None], ...] = (
        ("roster", config.roster),
        ("k8s_users", config.k8s_users),
    )
    for name, value in wanted:
        if value is None:
            continue
        path = str(PurePosixPath(value))
        root = posixpath.dirname(config_path) if config_path else ""
        if _leaves(path, root) or (escapes is not None and escapes(path)):
            inputs.append(InputFile(name=name, shown=path, raw=None, problems=(_outside(path),)))
            continue
        raw = read(path)
        missing = () if raw is not None else (_missing(path, label),)
        inputs.append(InputFile(name=name, shown=path, raw=raw, problems=missing))
    return inputs


def _sources_at(read: Reader, listing: Lister, named: tuple[str | None, ...]) -> dict[str, str]:
    """The texts the diff compares as "other" changes: the named input files, then every file
    of the tracked folders."""
    sources: dict[str, str] = {}
    for name in named:
        if name:
            raw = read(str(PurePosixPath(name)))
            if raw is not None:
                sources[str(PurePosixPath(name))] = raw.decode("utf-8", "replace")
    for folder in TRACKED_FOLDERS:
        for path in listing(folder):
            raw = read(path)
            if raw is not None:
                sources[path] = raw.decode("utf-8", "replace")
    return sources


def _rendered(
    roster: Any,
    k8s_users: Any,
    config: Config,
    profiles: render_profiles.Profiles,
    template: str,
) -> tuple[dict[str, Person], dict[str, str | tuple[dict[str, Any], str]]]:
    """Each person's access and the rendered files of a revision that validated; objects are
    left as data (written out only where the two revisions differ, see manifest_diff)."""
    inventory = build(roster, k8s_users, config)
    site = render_profiles.with_overrides(profiles, config.render)
    names = {
        "roster": str(config.roster),
        "k8s_users": str(config.k8s_users),
        "render": template,
    }
    rendered, _ = render(inventory, site, sources=names, output=config.output, text=False)
    people = access.people(inventory, rendered)
    files: dict[str, str | tuple[dict[str, Any], str]] = dict(rendered.files)
    for manifest in rendered.manifests:
        files[manifest.path] = (manifest.body, header_source(manifest.source, names))
    return people, files


def _unowned(
    config: Config, config_path: str | None, listing: Lister, files: Mapping[str, object]
) -> tuple[str, ...]:
    """Committed files under the synced folders of the output that the render does not make:
    what `render --check` calls render-unowned. (The diff renders without kustomizations,
    which tenancy writes in every folder it renders.)"""
    output = posixpath.normpath(config.output)
    found = []
    for folder in SYNCED:
        for path in listing(posixpath.join(output, folder)):
            inside = posixpath.relpath(path, output)
            if inside not in files and posixpath.basename(inside) != "kustomization.yaml":
                found.append(path)
    return tuple(sorted(found))


def _tier_data(
    config: Config, config_path: str | None, read: Reader, listing: Lister
) -> tuple[tuple[render_profiles.Profiles | None, dict[str, str], str], list[Diagnostic]]:
    """The revision's tier data (tenancy.render.plan.tier_data): the profiles, the folder's files by
    repository path, and the header template; the repository's folder whole when it has one
    at this revision, else the built-in data."""
    root = posixpath.dirname(config_path) if config_path else ""
    folder = posixpath.normpath(config.render_dir or posixpath.join(root, tier_data.DEFAULT_FOLDER))
    outside = _leaves(folder + "/profiles.yaml", root)
    paths = [] if outside else listing(folder)
    if not paths and config.render_dir is None:
        return (render_profiles.load(), {}, tier_data.BUILTIN), []
    if outside:
        return (None, {}, ""), [_outside(folder)]
    found = {}
    for path in paths:
        raw = read(path)
        if raw is not None and path.endswith(".yaml"):
            found[path] = raw.decode("utf-8", "replace")
    texts = {path.removeprefix(folder + "/"): text for path, text in found.items()}
    loaded, problems = tier_data.from_texts(texts, folder)
    shown = posixpath.relpath(folder, root or ".")
    return (loaded, found, tier_data.template(shown)), problems


def _leaves(path: str, root: str) -> bool:
    """Whether a path, as written, lies outside the folder `root` (both repository-relative)."""
    normal = posixpath.normpath(path)
    base = posixpath.normpath(root) if root else "."
    if posixpath.isabs(normal):
        return True
    return (base != "." and not normal.startswith(base + "/")) or normal.startswith("../")


def _outside(path: str) -> Diagnostic:
    return Diagnostic(
        location=Location(path),
        severity="error",
        code="input-outside-repository",
        message=f"{path} is outside the repository (or the config's folder); it was not read",
        hint="inputs are regular files inside the config's folder",
        source="input",
    )


def _missing(path: str, label: str) -> Diagnostic:
    return Diagnostic(
        location=Location(path, rev=label),
        severity="error",
        code="input-missing",
        message=f"{path} does not exist at {label}",
        source="input",
    )


def _broken(label: str, problems: list[str]) -> Snapshot:
    return Snapshot(label=label, people=None, files={}, sources={}, problems=tuple(problems))


def _waivers(raw: bytes | None) -> tuple[tuple[str, str], ...]:
    if not raw:
        return ()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError:
        return ()
    entries = (data or {}).get("waivers") or [] if isinstance(data, dict) else []
    return tuple(
        sorted((str(w.get("code")), str(w.get("target"))) for w in entries if isinstance(w, dict))
    )
