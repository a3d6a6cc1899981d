"""Where the Rego policies come from: the built-in folder and the config's folders, read in a
stable order. Shell: reads files."""

from __future__ import annotations

from pathlib import Path

from tenancy import resources
from tenancy.errors import ConfigError
from tenancy.inputs.files import display
from tenancy.model import Config
from tenancy.validate.policy import PolicySet, module_from_text


def policy_dirs(config: Config) -> list[Path]:
    return [resources.data_dir("policies"), *(Path(p) for p in config.policy_dirs)]


def read_policies(dirs: list[Path]) -> PolicySet:
    """Every `.rego` file below the given directories, in a stable order."""
    modules = []
    for folder in dirs:
        if not folder.is_dir():
            raise ConfigError(f"policy directory {folder} does not exist")
        for path in sorted(folder.rglob("*.rego")):
            text = path.read_text(encoding="utf-8")
            modules.append(module_from_text(display(path), text))
    return PolicySet(tuple(modules))
