"""Which tier data a render uses, and how its generated files name it. Shell around a pure core.

The tier data (`profiles.yaml`, `clusterroles/`, `admission/`, `vault/`) is what each tier is
given, so it belongs to the repository that grants it: a `render/` folder beside tenancy.yaml
(or the folder in the config's `render_dir:`) is used WHOLE when it exists, and the copy built
into tenancy only when it does not. A change of privilege is then a reviewed diff of the
repository's own files, and upgrading tenancy never changes a tier behind the reviewers' back.
The generated files' headers name the path actually read (`render/profiles.yaml`, or
`tenancy:render/profiles.yaml (built in)`). Every command that renders goes through `load`;
`diff` reads the folder at each revision through `from_texts` (tenancy.diff.revision).
See DESIGN.md, "Rendering".
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

import yaml

from tenancy.errors import Diagnostic, Location
from tenancy.inputs import files
from tenancy.model import Config
from tenancy.render.plan import profiles
from tenancy.render.plan.profiles import Profiles

#: The folder's name beside tenancy.yaml when `render_dir:` is not set.
DEFAULT_FOLDER = "render"
#: How a header names a file of the built-in data (`{}` is its `render/`-relative path): not a
#: path in the repository, so no reader goes looking for it there.
BUILTIN = "tenancy:render/{} (built in)"
#: The files every tier data folder holds (the rest, clusterroles/ and admission/, may be empty).
REQUIRED = ("profiles.yaml", "vault/namespace-owner.yaml", "vault/workstation.yaml")


def folder(config: Config) -> tuple[Path | None, bool]:
    """The repository's tier data folder, and whether the config named it (`render_dir:`)."""
    if config.render_dir is not None:
        return Path(config.render_dir), True
    if config.path is None:
        return None, False
    return Path(config.path).parent / DEFAULT_FOLDER, False


def chosen(config: Config) -> Path | None:
    """The folder a render reads, or None for the built-in data (no folder of the repository's
    own). A configured folder is chosen even when missing: `load` says so."""
    root, configured = folder(config)
    if root is None or (not configured and not root.is_dir()):
        return None
    return root


def template(shown: str | None) -> str:
    """How headers name a tier data file, from the folder as the repository names it (None:
    the built-in data)."""
    return BUILTIN if shown is None else posixpath.join(shown, "{}")


def header_template(config: Config) -> str:
    """`template` for the folder a render of `config` reads (relative to the config's folder)."""
    root = chosen(config)
    if root is None:
        return BUILTIN
    base = Path(config.path).parent if config.path else Path.cwd()
    return template(Path(os.path.relpath(root.resolve(), base.resolve())).as_posix())


def load(config: Config) -> tuple[Profiles | None, list[Diagnostic]]:
    """The profiles a render of `config` uses, the config's `render:` settings applied; None
    with the reasons when the repository's folder cannot be used."""
    root = chosen(config)
    if root is None:
        return profiles.with_overrides(profiles.load(), config.render), []
    shown = files.display(root)
    repository = Path(config.path).parent if config.path else None
    refused = files.refusal(root, repository)
    if refused is not None:
        code, message, hint = refused
        return None, [_problem(shown, code, message, hint)]
    if not root.is_dir():
        return None, [
            _problem(
                shown,
                "render-data-missing",
                f"the tier data folder {shown} (render_dir) does not exist",
                "run `tenancy init` to copy the built-in data there, or remove render_dir",
            )
        ]
    texts: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in sorted(root.rglob("*.yaml")):
        relative = path.relative_to(root).as_posix()
        raw, found = files.read_input(
            path,
            posixpath.join(shown, relative),
            max_bytes=config.max_file_bytes,
            root=repository,
        )
        problems += found
        if raw is not None:
            texts[relative] = raw.decode("utf-8", "replace")
    if problems:
        return None, problems
    loaded, problems = from_texts(texts, shown)
    if loaded is None:
        return None, problems
    return profiles.with_overrides(loaded, config.render), []


def from_texts(texts: dict[str, str], shown: str) -> tuple[Profiles | None, list[Diagnostic]]:
    """Profiles from a folder's `render/`-relative texts, or why they cannot be. Pure."""
    missing = [name for name in REQUIRED if name not in texts]
    if missing:
        return None, [
            _problem(
                posixpath.join(shown, name),
                "render-data-incomplete",
                f"the tier data folder {shown} has no {name}; a repository's folder is used "
                "whole, never completed from the built-in data",
                "copy it from `tenancy init` in an empty folder, or remove the folder to use the "
                "built-in data",
            )
            for name in missing
        ]
    try:
        return profiles.from_texts(texts), []
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, [
            _problem(
                shown,
                "render-data-invalid",
                f"the tier data in {shown} cannot be read: {_reason(exc)}",
                "compare it with the built-in copy (`tenancy init` in an empty folder)",
            )
        ]


def _reason(exc: Any) -> str:
    if isinstance(exc, KeyError):
        return f"a required key is missing ({exc.args[0]!r})"
    return " ".join(str(exc).split())


def _problem(path: str, code: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(
        location=Location(path),
        severity="error",
        code=code,
        message=message,
        hint=hint,
        source="render",
    )
