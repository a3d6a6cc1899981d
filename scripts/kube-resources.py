#!/usr/bin/env python3
"""Record the pinned Kubernetes version's built-in resources in schemas/kubernetes-resources.json.

Why: `tenancy who-can` names resources as kubectl does (plural, singular, short names,
`deployments.apps`, `deployments.v1.apps`, `pods/exec`) and refuses what the API server would not
know. That needs the API server's own table of resources, recorded once and kept in the project
(a fact, not a guess), so the core never calls a cluster. tests/integration/test_access_matrix.py
compares the recorded table with the live discovery of the test API server, so a version bump
that changes the table fails a test instead of drifting silently.

How: starts the test control plane of tests/kube.py (etcd + kube-apiserver from .tools/bin,
built by `scripts/build-tools.sh etcd kube-apiserver`), reads its discovery documents and writes
the table. Run from the repository root:

    .venv/bin/python scripts/kube-resources.py

Custom resources are not recorded here (the script skips whatever a CRD serves): the loader
(src/tenancy/diff/kube_resources.py) reads their names from schemas/crds/*.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import kube  # noqa: E402

OUTPUT = ROOT / "schemas" / "kubernetes-resources.json"


def main() -> int:
    with kube.kube_cluster() as cluster:
        table = discover(cluster)
    OUTPUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(table['resources'])} resources to {OUTPUT.relative_to(ROOT)}")
    return 0


def discover(cluster: kube.Cluster) -> dict[str, object]:
    """The built-in resources the API server serves: the same function the drift test calls."""
    _, version = cluster.request("GET", "/version")
    _, crds = cluster.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    custom = {(c["spec"]["group"], c["spec"]["names"]["plural"]) for c in crds["items"]}
    return {
        "kubernetes": version["gitVersion"],
        "resources": [r for r in resources(cluster) if (r["group"], r["name"]) not in custom],
    }


def resources(cluster: kube.Cluster) -> list[dict[str, object]]:
    """One entry per (group, resource) over every served version, subresources folded in."""
    lists: list[tuple[str, str, bool, dict[str, object]]] = []
    _, core = cluster.request("GET", "/api/v1")
    lists.append(("", "v1", True, core))
    _, groups = cluster.request("GET", "/apis")
    for group in groups["groups"]:  # type: ignore[union-attr]
        preferred = group["preferredVersion"]["version"]
        for version in group["versions"]:
            _, found = cluster.request("GET", f"/apis/{version['groupVersion']}")
            preferred_here = version["version"] == preferred
            lists.append((group["name"], version["version"], preferred_here, found))
    merged: dict[tuple[str, str], dict[str, object]] = {}
    for group, version, preferred, found in lists:
        for item in found["resources"]:  # type: ignore[union-attr]
            name, _, sub = item["name"].partition("/")
            entry = merged.setdefault(
                (group, name),
                {"group": group, "name": name, "versions": [], "subresources": {}},
            )
            if sub:
                verbs = sorted(set(entry["subresources"].get(sub, [])) | set(item["verbs"]))
                entry["subresources"][sub] = verbs
                continue
            entry["versions"].append(version)
            if preferred or "kind" not in entry:
                entry.update(
                    kind=item["kind"],
                    singular=item.get("singularName") or item["kind"].lower(),
                    namespaced=item["namespaced"],
                    shortNames=sorted(item.get("shortNames", [])),
                    verbs=sorted(item["verbs"]),
                )
    out = []
    for _, entry in sorted(merged.items()):
        if "kind" not in entry:
            continue  # a subresource whose parent this version does not list
        entry["versions"] = sorted(entry["versions"])
        out.append(entry)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
