"""`tenancy init`: write the files of a new tenancy repository. Shell (reads git, writes files).

The texts are `tenancy.people.scaffold`'s; this module only decides what to write. It never
overwrites: a file that exists is kept and named, the tier data folder is kept whole when it
exists (a repository's `render/` is used whole, so adding a file to it would change a tier),
and a second run writes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenancy import __version__, resources
from tenancy.errors import ExitCode, UsageError
from tenancy.inputs import git
from tenancy.people import scaffold
from tenancy.report import say


@dataclass(frozen=True, slots=True, kw_only=True)
class InitParams:
    folder: Path
    zones: tuple[str, ...]
    repo_url: str | None


def builtin_render_texts() -> dict[str, str]:
    """Every file of the built-in tier data, by its `render/`-relative path."""
    root = resources.data_dir("render")
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def detected_url(folder: Path) -> str | None:
    """The repository's `origin` URL (credentials removed), when `folder` is in a git repository
    that has one."""
    probe = folder if folder.is_dir() else folder.parent
    url = git.remote_url(probe) if probe.is_dir() else None
    return scaffold.public_url(url) if url else None


def run_init(params: InitParams) -> ExitCode:
    folder = params.folder
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    repo_url = params.repo_url or detected_url(folder)
    wanted = scaffold.files(
        zones=params.zones,
        repo_url=repo_url,
        version=__version__,
        render_texts=builtin_render_texts(),
    )
    render_kept = (folder / "render").exists()
    written: list[str] = []
    kept: list[str] = []
    for path, text in wanted.items():
        if path.startswith("render/"):
            if render_kept:
                continue
        elif (folder / path).exists() or (folder / path).is_symlink():
            kept.append(path)
            continue
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": never replace a file, not even one that appeared since the check above.
        with target.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        if not path.startswith("render/"):
            written.append(path)
    if not render_kept:
        written.append("render/ (the built-in tier data, now yours)")
    else:
        kept.append("render/")
    for path in kept:
        say(f"kept {path} (exists)")
    for path in written:
        say(f"created {path}")
    if not written:
        say("nothing to do")
        return ExitCode.OK
    if repo_url is None:
        say(
            "note: no git remote `origin` found: set render.repo_url in tenancy.yaml to where "
            "Argo CD and Flux fetch this repository",
            err=True,
        )
    say(
        "next: add people to tenants/k8s_users.yaml and tenants/roster.yaml, then "
        "`tenancy validate`, `tenancy render` and commit (manifests/ included)"
    )
    return ExitCode.OK
