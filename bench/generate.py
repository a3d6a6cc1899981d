"""Generate a realistic tenancy repository of N users, deterministically (seeded random.Random).

Why synthetic and why this shape: the benchmark must exercise what a real platform repository
exercises, at sizes no real repository has yet. So the files are written the way people and
Vault write them: `tenancy.yaml` like this repository's (zone example.org, the same reserved
namespaces and ceilings, an admin allow-list), `tenants/roster.yaml` with one YAML flow mapping
per row and an occasional commented-out (offboarded) row, and `tenants/k8s_users.json` as the
JSON that `secret/platform` holds in Vault. The mix: about 5 % admins, 15 % power-users and the
rest namespace-owners with 1-3 namespaces, 0-2 domains and a quota (a few common presets, some
one-off values, some absent), a few cluster-only users without a roster row, and exactly three
deliberately bad users (`BAD_USERS`), each producing exactly one error, so that the reporting
path runs (positions, messages, related locations) as on a real pull request. With `clean=True`
(`--clean`) the bad users are left out: N good users whose inputs validate with no findings, for
the suites that need `render` and `diff` to succeed. The good users are the same either way
(they are drawn first), so a clean repository is the default one minus its three bad users.

`policy_input.json` is the combined policy input document built by tenancy's own loaders and
`tenancy.check.policy_input`, so other tools (conftest, opa) evaluate exactly what tenancy does.

Standalone: `python -m bench.generate N DIR` writes one repository and prints its summary.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 20260817
ZONE = "example.org"
#: The three deliberately bad users, by the one error code each must produce.
BAD_USERS: dict[str, str] = {
    "tier-mismatch": "roster tier admin, k8s_users role power-user",
    "namespace-claimed-twice": "cluster-only owner claiming another owner's namespace",
    "quota-over-ceiling": "cpu_requests 16 over the namespace-owner ceiling 8",
}
EXPECTED_ERRORS: dict[str, int] = dict.fromkeys(BAD_USERS, 1)
MAX_USERS = 200_000


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "ada brin cleo dara emil fynn gabi hugo ines jona kira lars mila nora otto pia quin rosa "
    "sven tara uli vera wim xena yann zoe alba bo cato dina eli fee gil hana ivo juna kai "
    "lea moe nils"
)
_LAST = _words("lang kovac vogel stein berg meyer roth novak weiss hahn lind falk kern ruiz")
_WORDS = _words(
    "books notes shop blog api lab data ml web tools wiki chat maps photos music cv "
    "games forms mail docs"
)
_REPOS = _words(
    "tripit plot-notes dotfiles homelab thesis website scraper notebook budget recipes "
    "garden-log infra-notes"
)
#: Quotas as they recur in a real k8s_users map (the same few objects, many times); `None` is
#: "no quota: the defaults apply". Ints where Vault JSON often holds a bare number.
_QUOTA_PRESETS: tuple[dict[str, Any] | None, ...] = (
    None,
    None,
    {"cpu_requests": "2", "memory_requests": "4Gi", "memory_limits": "8Gi", "pods": "20"},
    {"cpu_requests": "1", "memory_requests": "2Gi", "memory_limits": "4Gi", "pods": "10"},
    {"cpu_requests": "1", "memory_requests": "2Gi", "memory_limits": "4Gi", "pods": 10},
    {"cpu": "500m", "memory": "1Gi", "memory_limits": "2Gi"},
    {"cpu_requests": "4", "memory_requests": "16Gi", "memory_limits": "32Gi", "storage": "100Gi"},
    {"cpu_requests": "8", "memory_requests": "32Gi", "memory_limits": "64Gi", "pods": "100"},
)
_CPU = ("250m", "500m", "1", "1500m", "2", "3", "4", "6")
_MEMORY_GI = (1, 2, 3, 4, 6, 8, 12, 16)
_STORAGE = ("10Gi", "20Gi", "50Gi", "100Gi", "250Gi", "500G")


@dataclass(frozen=True, slots=True, kw_only=True)
class Repo:
    """A generated repository: where its files are and what is in them."""

    root: Path
    users: int
    roster_rows: int
    k8s_entries: int
    admins: int
    power_users: int
    owners: int
    roster_bytes: int
    k8s_bytes: int
    expected_errors: dict[str, int]


@dataclass(slots=True)
class _User:
    key: str
    os_user: str | None  # None: cluster-only, no roster row
    tier: str  # roster tier
    role: str  # k8s_users role
    email: str
    authentik: str
    namespaces: list[str]
    roster_namespaces: list[str]
    domains: list[str]
    quota: dict[str, Any] | None
    repos: list[str]
    claude_auth: bool
    parked: bool


def _one_off_quota(rng: random.Random) -> dict[str, Any]:
    """A hand-tuned quota under every ceiling, with memory requests within limits."""
    requests = rng.choice(_MEMORY_GI)
    limits = rng.choice([m for m in _MEMORY_GI if m >= requests] + [requests * 2])
    quota: dict[str, Any] = {
        "cpu_requests": rng.choice(_CPU),
        "memory_requests": f"{requests}Gi",
        "memory_limits": f"{min(limits, 64)}Gi",
    }
    if rng.random() < 0.5:
        quota["pods"] = str(rng.choice((5, 10, 15, 20, 30, 50)))
    if rng.random() < 0.3:
        quota["storage"] = rng.choice(_STORAGE)
    return quota


def _person(rng: random.Random, index: int, tier: str) -> _User:
    first = _FIRST[index % len(_FIRST)]
    last = rng.choice(_LAST)
    key = f"{first}{index}"
    # Most os_users equal their k8s key; some differ (like `cleom` -> `cleo` in the example).
    os_user = key if rng.random() < 0.9 else f"{key}w"
    user = _User(
        key=key,
        os_user=os_user,
        tier=tier,
        role=tier,
        email=f"{first}.{last}{index}@{ZONE}",
        authentik=f"{first}.{last[0]}{index}",
        namespaces=[],
        roster_namespaces=[],
        domains=[],
        quota=None,
        repos=[],
        claude_auth=rng.random() >= 0.05,
        parked=rng.random() < 0.02,
    )
    if tier == "namespace-owner":
        words = rng.sample(_WORDS, 4)
        count = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
        user.namespaces = [key, *(f"{key}-{word}" for word in words[: count - 1])]
        user.roster_namespaces = list(user.namespaces)
        if count > 1 and rng.random() < 0.1:  # same set, another order: a set comparison
            user.roster_namespaces.reverse()
        domains = rng.choices((0, 1, 2), weights=(50, 35, 15))[0]
        for word in words[len(words) - domains :]:
            bare = rng.random() < 0.6
            user.domains.append(f"{word}-{key}" if bare else f"{word}.{key}.{ZONE}")
        user.quota = (
            _one_off_quota(rng) if rng.random() < 0.1 else _copy(rng.choice(_QUOTA_PRESETS))
        )
    if rng.random() < 0.4:
        user.repos = rng.sample(_REPOS, rng.randint(1, 3))
    return user


def _copy(quota: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if quota is None else dict(quota)


def _population(n: int, seed: int, *, clean: bool = False) -> list[_User]:
    """n people in roster order, the three bad users placed at seeded random positions (none
    when clean: then all n are good)."""
    if not 10 <= n <= MAX_USERS:
        raise ValueError(f"size {n} is outside 10..{MAX_USERS}")
    rng = random.Random(seed * 1_000_003 + n)
    good = n if clean else n - len(BAD_USERS)
    users: list[_User] = []
    for index in range(good):
        draw = rng.random()
        tier = "admin" if draw < 0.05 else "power-user" if draw < 0.20 else "namespace-owner"
        user = _person(rng, index, tier)
        if tier == "namespace-owner" and rng.random() < 0.03:
            user.os_user = None  # cluster-only (like gabi in the example): no workstation row
        users.append(user)
    if clean:
        return users
    owners = [u for u in users if u.role == "namespace-owner" and u.os_user is not None]
    if not owners:
        raise ValueError(f"size {n} produced no namespace-owner to build the bad users from")

    # 1. tier-mismatch: roster says admin (an allowed admin), k8s_users says power-user.
    mismatch = _person(rng, good, "admin")
    mismatch.role = "power-user"
    # 2. namespace-claimed-twice: a cluster-only owner also claims another owner's namespace
    #    (only k8s_users repeats it, so exactly one claim is reported and no roster row differs).
    victim = rng.choice(owners)
    claimer = _person(rng, good + 1, "namespace-owner")
    claimer.os_user = None
    claimer.namespaces = [claimer.key, victim.namespaces[-1]]
    # 3. quota-over-ceiling: 16 CPUs against the namespace-owner ceiling of 8.
    greedy = _person(rng, good + 2, "namespace-owner")
    greedy.quota = {"cpu_requests": "16", "memory_requests": "8Gi", "memory_limits": "16Gi"}
    for bad in (mismatch, claimer, greedy):
        users.insert(rng.randint(0, len(users)), bad)
    return users


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _roster_text(users: list[_User], rng: random.Random) -> str:
    lines = [
        "# Workstation POLICY TABLE: os_user -> login identity, cluster user and privilege tier.",
        "# Generated by bench/generate.py: synthetic people, realistic shape.",
        "users:",
    ]
    for user in users:
        if user.os_user is None:
            continue
        fields = [
            f"authentik_user: {user.authentik}",
            f"k8s_user: {user.key}",
            f"tier: {user.tier}",
        ]
        if user.tier == "namespace-owner":
            fields.append(f"namespaces: {_flow(user.roster_namespaces)}")
        if user.repos:
            fields += ["code_layout: workspace", f"repos: {_flow(user.repos)}"]
        if not user.claude_auth:
            fields.append("claude_auth: false")
        if user.parked:
            fields.append("parked: true")
        lines.append(f"  {user.os_user}: {{{', '.join(fields)}}}")
        if rng.random() < 0.002:  # an offboarded row, kept as a dated comment
            lines.append("  #  REMOVED 2026-08-17 (left T3 Users) -- reversible cut")
            lines.append(f"# x{user.os_user}: {{authentik_user: x{user.authentik}, tier: admin}}")
    return "\n".join(lines) + "\n"


def _k8s_users(users: list[_User]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for user in users:
        entry: dict[str, Any] = {"role": user.role, "email": user.email}
        if user.role == "namespace-owner":
            entry["namespaces"] = list(user.namespaces)
            entry["domains"] = list(user.domains)
            if user.quota is not None:
                entry["quota"] = dict(user.quota)
        result[user.key] = entry
    return result


def _config_text(admins: list[str]) -> str:
    listed = "\n".join(f"  - {name}" for name in admins)
    return (
        "# tenancy configuration of a generated benchmark repository (bench/generate.py).\n"
        "version: 1\n"
        "inputs:\n"
        "  roster: tenants/roster.yaml\n"
        "  k8s_users: tenants/k8s_users.json\n"
        "output: manifests\n"
        f"zones: [{ZONE}]\n"
        "reserved:\n"
        "  namespaces: [monitoring, ingress-nginx]\n"
        f"admins:\n{listed}\n"
        "quota:\n"
        "  ceilings:\n"
        '    namespace-owner: {cpu_requests: "8", memory_requests: "32Gi", '
        'memory_limits: "64Gi", storage: "500Gi", pods: "100"}\n'
    )


def generate(
    n: int, root: Path, *, seed: int = SEED, clean: bool = False, policy_input: bool = True
) -> Repo:
    """Write a repository of n users under root (created; existing files are overwritten).

    clean: no deliberately bad users, so the inputs validate with no findings. policy_input:
    also write `policy_input.json` (for conftest), which imports tenancy in this process."""
    users = _population(n, seed, clean=clean)
    rng = random.Random(seed + n)
    admins = sorted(
        {u.key for u in users if u.role == "admin" or u.tier == "admin"}
        | {u.os_user for u in users if u.tier == "admin" and u.os_user is not None}
    )
    (root / "tenants").mkdir(parents=True, exist_ok=True)
    (root / "tenancy.yaml").write_text(_config_text(admins), encoding="utf-8")
    roster = root / "tenants" / "roster.yaml"
    roster.write_text(_roster_text(users, rng), encoding="utf-8")
    k8s = root / "tenants" / "k8s_users.json"
    k8s.write_text(json.dumps(_k8s_users(users), indent=2) + "\n", encoding="utf-8")
    if policy_input:
        write_policy_input(root)
    return Repo(
        root=root,
        users=len(users),
        roster_rows=sum(u.os_user is not None for u in users),
        k8s_entries=len(users),
        admins=sum(u.role == "admin" for u in users),
        power_users=sum(u.role == "power-user" for u in users),
        owners=sum(u.role == "namespace-owner" for u in users),
        roster_bytes=roster.stat().st_size,
        k8s_bytes=k8s.stat().st_size,
        expected_errors={} if clean else dict(EXPECTED_ERRORS),
    )


def write_policy_input(root: Path) -> Path:
    """`policy_input.json`: the exact `input` tenancy's policies see, built by tenancy itself."""
    from tenancy.inputs.load import parse_bytes
    from tenancy.inputs.read import InputFile
    from tenancy.model import InputName
    from tenancy.validate.check import load_inputs, policy_input
    from tenancy.validate.config import resolve

    config_path = root / "tenancy.yaml"
    document, problems = parse_bytes(str(config_path), config_path.read_bytes())
    config, more = resolve(document, config_path)
    if config is None or problems or more:
        raise RuntimeError(f"generated {config_path} is invalid: {[*problems, *more]}")
    inputs: tuple[tuple[InputName, str | None], ...] = (
        ("roster", config.roster),
        ("k8s_users", config.k8s_users),
    )
    files = [
        InputFile(name=name, shown=path, raw=Path(path).read_bytes())
        for name, path in inputs
        if path is not None
    ]
    documents, diagnostics = load_inputs(files, config)
    if diagnostics or set(documents) != {"roster", "k8s_users"}:
        shown = "\n".join(str(d) for d in diagnostics[:5])
        raise RuntimeError(f"generated inputs under {root} are not schema-clean:\n{shown}")
    target = root / "policy_input.json"
    target.write_text(json.dumps(policy_input(documents, config)) + "\n", encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("users", type=int, help="number of users (10..200000)")
    parser.add_argument("root", type=Path, help="directory to write the repository into")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--clean", action="store_true", help="leave out the three bad users")
    args = parser.parse_args()
    repo = generate(args.users, args.root, seed=args.seed, clean=args.clean)
    print(repo)


if __name__ == "__main__":
    main()
