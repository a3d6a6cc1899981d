"""A content-addressed memo of the checks run on rendered output. Shell: files in one folder.

The checks of a render (Kubernetes schemas, OpenBao's policy parser, `kubectl kustomize`, the
audit rules) are pure functions of what they are given: the rendered bytes, the policies, the
tool binaries, the schema files and tenancy's own code. Their findings are stored under a
sha256 of all of those, so running a check again on the same bytes is a file read, the way
mypy's and ruff's caches work. Anything that could change an answer is in the key: a byte of
any rendered file or policy, tenancy's source (every module, so an upgrade or a local edit
starts afresh), and each tool's path, size and modification time.

Where: `$TENANCY_CACHE_DIR`, else `$XDG_CACHE_HOME/tenancy`, else `~/.cache/tenancy`. Off with
`--no-cache` or `TENANCY_NO_CACHE=1`. An unreadable or corrupt entry is a miss, never an error;
a cache that cannot be written is skipped. Each kind keeps its newest `KEEP` entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tenancy.errors import Diagnostic, Location

FORMAT = 1
KEEP = 256


def default_root() -> Path | None:
    """The cache folder the environment asks for, or None when caching is off."""
    if os.environ.get("TENANCY_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("TENANCY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "tenancy"
    try:
        return Path.home() / ".cache" / "tenancy"
    except RuntimeError:  # no HOME and no passwd entry (some CI containers): no cache
        return None


#: The whole tenancy package (this module is in `tenancy/render/`): the render and its checks
#: depend on the model, the policy engine, the loader, not only on the render's own modules.
PACKAGE = Path(__file__).resolve().parents[1]


@cache
def code_digest() -> str:
    """sha256 of every module of tenancy: a changed check is never answered from the cache."""
    return digest_of(PACKAGE)


def digest_of(package: Path) -> str:
    """sha256 of the path and bytes of every Python module below `package`."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_identity(path: str | None) -> str:
    """A tool binary or data file as path, size and mtime (a reinstall changes the key)."""
    if path is None:
        return "absent"
    try:
        info = os.stat(path)
    except OSError:
        return f"{path}:unreadable"
    return f"{os.path.realpath(path)}:{info.st_size}:{info.st_mtime_ns}"


def key(*parts: str | bytes | Iterable[str]) -> str:
    """sha256 over the parts, each length-prefixed (and each item of an iterable part too), so
    no two different part lists collide."""
    digest = hashlib.sha256(f"tenancy-cache-{FORMAT}".encode())

    def add(data: bytes, tag: bytes) -> None:
        digest.update(tag + len(data).to_bytes(8, "big"))
        digest.update(data)

    for part in parts:
        if isinstance(part, str):
            add(part.encode(), b"s")
        elif isinstance(part, bytes):
            add(part, b"b")
        else:
            count = 0
            for item in part:
                add(item.encode(), b"i")
                count += 1
            add(str(count).encode(), b"n")
    return digest.hexdigest()


@dataclass(slots=True)
class Cache:
    """Findings by (kind, key). `root=None` is a cache that never hits and never writes."""

    root: Path | None
    hits: int = 0
    misses: int = 0
    _written: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(
        default_factory=threading.Lock
    )  # callers may share one cache between threads

    @classmethod
    def from_environment(cls, enabled: bool = True) -> Cache:
        return cls(default_root() if enabled else None)

    def load(self, kind: str, entry: str) -> Any | None:
        """The JSON stored under (kind, entry), or None (a miss) when there is none."""
        if self.root is None:
            return None
        try:
            return json.loads((self.root / kind / f"{entry}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # unreadable, corrupt, absurdly nested
            return None

    def load_bytes(self, kind: str, entry: str) -> bytes | None:
        """The bytes stored under (kind, entry) by `store_bytes`, or None."""
        if self.root is None:
            return None
        try:
            return (self.root / kind / f"{entry}.bin").read_bytes()
        except OSError:
            return None

    def store(self, kind: str, entry: str, data: Any, keep: int = KEEP) -> None:
        """Store JSON under (kind, entry), keeping the newest `keep` of the kind; a cache that
        cannot be written is skipped."""
        if self.root is not None:
            body = json.dumps(data, sort_keys=True).encode("utf-8")
            self._write(kind, f"{entry}.json", body, keep)

    def store_bytes(self, kind: str, entry: str, data: bytes, keep: int = KEEP) -> None:
        """Store bytes under (kind, entry), as `store` does JSON: for a large entry that has
        a faster format of its own (the render memo's 220,000 digests)."""
        if self.root is not None:
            self._write(kind, f"{entry}.bin", data, keep)

    def _write(self, kind: str, name: str, body: bytes, keep: int) -> None:
        assert self.root is not None
        folder = self.root / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Written beside the entry and renamed over it: a reader sees all of it or none.
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(body)
            os.replace(temporary, folder / name)
            with self._lock:
                first = kind not in self._written
                self._written.add(kind)
            if first:
                _prune(folder, keep)
        except OSError:
            return

    def get(self, kind: str, entry: str) -> list[Diagnostic] | None:
        """Findings stored under (kind, entry); a corrupt entry is a miss."""
        data = self.load(kind, entry)
        try:
            found = None if data is None else [diagnostic(i) for i in data["diagnostics"]]
        except (KeyError, TypeError, ValueError):
            found = None
        with self._lock:
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
        return found

    def put(self, kind: str, entry: str, diagnostics: Iterable[Diagnostic]) -> None:
        self.store(kind, entry, {"diagnostics": [plain(d) for d in diagnostics]})


def _prune(folder: Path, keep: int) -> None:
    entries = []
    for item in os.scandir(folder):
        if item.name.endswith((".json", ".bin")):
            try:
                entries.append((item.stat().st_mtime_ns, item.path))
            except OSError:
                continue
    for _, path in sorted(entries, reverse=True)[keep:]:
        try:
            os.unlink(path)
        except OSError:
            continue


def plain(diagnostic: Diagnostic) -> dict[str, Any]:
    def where(location: Location) -> list[Any]:
        return [location.path, location.line, location.column, location.rev]

    return {
        "location": where(diagnostic.location),
        "severity": diagnostic.severity,
        "code": diagnostic.code,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
        "source": diagnostic.source,
        "waived": diagnostic.waived,
        "related": [where(r) for r in diagnostic.related],
        "subject": diagnostic.subject,
    }


def diagnostic(item: dict[str, Any]) -> Diagnostic:
    def where(value: list[Any]) -> Location:
        path, line, column, rev = value
        return Location(str(path), int(line), int(column), None if rev is None else str(rev))

    severity = item["severity"]
    if severity not in ("error", "warning", "info"):
        raise ValueError(f"unknown severity {severity!r}")
    return Diagnostic(
        location=where(item["location"]),
        severity=severity,
        code=str(item["code"]),
        message=str(item["message"]),
        hint=None if item["hint"] is None else str(item["hint"]),
        source=str(item["source"]),
        waived=bool(item["waived"]),
        related=tuple(where(r) for r in item["related"]),
        subject=None if item["subject"] is None else str(item["subject"]),
    )
