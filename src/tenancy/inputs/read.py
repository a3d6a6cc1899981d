"""Read the inputs a config names: each as bytes with its display path, or the reason it
could not be read. Shell: reads files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenancy.errors import Diagnostic
from tenancy.inputs import files
from tenancy.model import Config, InputName


@dataclass(frozen=True, slots=True, kw_only=True)
class InputFile:
    """One input as read by the shell: its display path and bytes, or why it could not be read."""

    name: InputName
    shown: str
    raw: bytes | None
    problems: tuple[Diagnostic, ...] = ()


def repository(config: Config) -> Path | None:
    """The folder inputs must lie in: the config's (None without a config file)."""
    return Path(config.path).parent if config.path else None


def tree_path(output: Path, config: Config) -> str:
    """The output folder as the rendered sync objects name it: relative to the repository root
    (the config file's folder, else the working directory), wherever the command runs, so the
    same inputs render the same bytes from any folder. An output outside it keeps its path."""
    root = repository(config) or Path.cwd()
    try:
        return output.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return files.display(output)


def read_inputs(config: Config) -> list[InputFile]:
    inputs: list[InputFile] = []
    for name, value in (("roster", config.roster), ("k8s_users", config.k8s_users)):
        if value is None:
            continue
        path = Path(value)
        shown = files.display(path)
        raw, problems = files.read_input(
            path, shown, max_bytes=config.max_file_bytes, root=repository(config)
        )
        inputs.append(
            InputFile(name=name, shown=shown, raw=raw, problems=tuple(problems))  # type: ignore[arg-type]
        )
    return inputs


def read_waivers(explicit: Path | None, config: Config) -> InputFile | None:
    """The waivers file: named on the command line, or the config's (absent is fine then)."""
    path = explicit or (Path(config.waivers) if config.waivers else None)
    if path is None or (explicit is None and not path.exists()):
        return None
    shown = files.display(path)
    root = None if explicit else repository(config)
    raw, problems = files.read_input(path, shown, max_bytes=config.max_file_bytes, root=root)
    return InputFile(name="waivers", shown=shown, raw=raw, problems=tuple(problems))
