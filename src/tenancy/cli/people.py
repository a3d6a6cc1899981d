"""`tenancy user ...`: onboarding and offboarding as reviewed edits of the inputs. Shell.

Each command parses its options into a people/edit.py request and calls
people/command.run_edit, which
edits the texts, validates them, prints the access diff and writes the files (all or none).

Exit codes (one enum, applied in `cli.main`): 0 done (or nothing to change); 1 the edited
inputs do not validate, or an input cannot be read or edited in place: nothing is written and
the findings are shown; 2 usage: an unknown user, a key that exists, two options that exclude
each other (or neither of two that are needed), a bad `--quota KEY=VALUE`; 3 a file cannot be
written, or changed on disk during the edit (nothing written).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tenancy.cli.options import input_options, input_params
from tenancy.errors import UsageError

if TYPE_CHECKING:
    from tenancy.people import edit as people

ROLES = ("admin", "power-user", "namespace-owner")
NETWORK = ("api-server", "monitoring")


def edit_options(function: click.decorators.FC) -> click.decorators.FC:
    """The input options of every command, and --dry-run."""
    function = click.option(
        "--dry-run",
        is_flag=True,
        help="Validate and show the access diff and the file diffs; write nothing.",
    )(function)
    return input_options(function)


def _run(
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    dry_run: bool,
    edit: Callable[[people.Inputs], people.Edited],
) -> None:
    from tenancy.people import command as app_people  # loaded only when a user command runs

    params = app_people.PeopleParams(
        inputs=input_params(config_path, roster, k8s_users),
        dry_run=dry_run,
    )
    raise SystemExit(app_people.run_edit(params, edit))


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated options, each of which may also be a comma-separated list."""
    out: list[str] = []
    for value in values:
        out += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(out))


def _quota(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str | None]:
    """`KEY=VALUE` pairs; `KEY=` (empty) removes the key."""
    from tenancy.people import edit as people  # loaded only when a user command runs

    quota: dict[str, str | None] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE (e.g. cpu_requests=2)")
        if key not in people.QUOTA_KEYS:
            raise click.BadParameter(
                f"{key!r} is not a quota key (one of: {', '.join(people.QUOTA_KEYS)})"
            )
        quota[key] = value or None
    return quota


def _date(value: datetime.datetime | None) -> str:
    return (value.date() if value else datetime.date.today()).isoformat()


def _one_of(**flags: object) -> None:
    given = [name for name, value in flags.items() if value]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} exclude each other")


quota_option = click.option(
    "--quota",
    "quota",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_quota,
    help="A quota quantity, repeatable: cpu_requests=2 memory_requests=4Gi memory_limits=8Gi "
    "pods=20 storage=100Gi (or cpu, memory). KEY= removes the key.",
)


@click.group(name="user")
def user() -> None:
    """Onboard and offboard people by editing the roster and k8s_users as a person would.

    Every edit keeps the files as people wrote them (comments, key order, quoting, flow or
    block style, blank lines: only the edited rows change), is validated as `tenancy
    validate` would before anything is written, and prints the access diff it causes, as
    `tenancy diff` would show it. Files are written all or none; then run `tenancy render`.

    Exit codes: 0 done, 1 the edit does not validate (nothing written), 2 usage, 3 a file
    cannot be written.
    """


@user.command(name="add")
@click.argument("key")
@click.option("--role", "--tier", "role", type=click.Choice(ROLES), help="The privilege tier.")
@click.option("--email", help="The OIDC email: the person's Kubernetes and Vault identity.")
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="A namespace to create and grant (namespace-owner), repeatable or comma-separated.",
)
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="NAME",
    help="A domain routed to the person's workloads (namespace-owner), repeatable.",
)
@quota_option
@click.option("--network", multiple=True, type=click.Choice(NETWORK), help="Extra network access.")
@click.option("--os-user", help="Add a roster row: the workstation account (os_user).")
@click.option("--authentik-user", help="The roster row's login identity (with --os-user).")
@click.option("--code-layout", type=click.Choice(["single", "workspace"]), help="Roster row.")
@click.option("--repo", "repos", multiple=True, help="Roster row: a repo of the workspace.")
@click.option("--roster-only", is_flag=True, help="Only the roster row (a workstation).")
@click.option("--k8s-only", is_flag=True, help="Only the k8s_users entry (cluster access).")
@edit_options
def add_command(
    key: str,
    role: str | None,
    email: str | None,
    namespaces: tuple[str, ...],
    domains: tuple[str, ...],
    quota: dict[str, str | None],
    network: tuple[str, ...],
    os_user: str | None,
    authentik_user: str | None,
    code_layout: str | None,
    repos: tuple[str, ...],
    roster_only: bool,
    k8s_only: bool,
    dry_run: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
) -> None:
    """Add a person: the k8s_users entry KEY, and a roster row with --os-user (tier = role).

    Without --os-user only the k8s_users entry is added (cluster access, no workstation);
    --roster-only adds only the row, to an existing entry (its role and namespaces are the
    row's by default) or ahead of one (a pending grant, a warning). A namespace-owner needs
    at least one --namespace; an admin must be on tenancy.yaml's `admins:` allow-list.

    \b
    Examples:
      tenancy user add hana --role namespace-owner --email hana@example.org \\
          --namespace hana --namespace hana-lab --domain hana --quota cpu_requests=2 \\
          --quota memory_requests=4Gi --quota memory_limits=8Gi --quota pods=20 \\
          --os-user hana --authentik-user hana.m
      tenancy user add ivo --role power-user --email ivo@example.org --k8s-only
      tenancy user add gabi --roster-only --os-user gabi --authentik-user gabi.r
    """
    from tenancy.people import edit as people  # loaded only when a user command runs

    _one_of(**{"--roster-only": roster_only, "--k8s-only": k8s_only})
    if k8s_only and (os_user or authentik_user):
        raise UsageError("--k8s-only adds no roster row: leave out --os-user and --authentik-user")
    if roster_only and not (os_user and authentik_user):
        raise UsageError("--roster-only needs --os-user and --authentik-user")
    if bool(os_user) != bool(authentik_user):
        raise UsageError("--os-user and --authentik-user go together (the roster row needs both)")
    if roster_only and (email or domains or quota or network):
        raise UsageError(
            "--roster-only adds no k8s_users entry: --email, --domain, --quota "
            "and --network belong to it"
        )
    if any(v is None for v in quota.values()):
        raise UsageError("--quota KEY= removes a key: a new person has none (use `user set`)")
    request = people.NewUser(
        key=key,
        role=role,
        email=email,
        namespaces=_names(namespaces),
        domains=_names(domains),
        quota={k: v for k, v in quota.items() if v is not None},
        network=network,
        os_user=os_user,
        authentik_user=authentik_user,
        code_layout=code_layout,
        repos=_names(repos),
        k8s=not roster_only,
    )
    _run(config_path, roster, k8s_users, dry_run, lambda inputs: people.add(inputs, request))


@user.command(name="set")
@click.argument("key")
@click.option(
    "--role",
    "--tier",
    "role",
    type=click.Choice(ROLES),
    help="A new tier, in k8s_users and every roster row of KEY.",
)
@click.option("--email", help="A new OIDC email (the person's identity).")
@quota_option
@click.option(
    "--namespaces",
    "namespaces",
    multiple=True,
    metavar="NS[,NS...]",
    help="The whole list of namespaces (replaces it).",
)
@click.option("--add-namespace", multiple=True, metavar="NS", help="Add a namespace.")
@click.option(
    "--remove-namespace",
    multiple=True,
    metavar="NS",
    help="Remove a namespace (it is quarantined, unless --no-quarantine).",
)
@click.option(
    "--domains",
    "domains",
    multiple=True,
    metavar="NAME[,NAME...]",
    help="The whole list of domains (replaces it).",
)
@click.option("--add-domain", multiple=True, metavar="NAME", help="Add a domain.")
@click.option("--remove-domain", multiple=True, metavar="NAME", help="Remove a domain.")
@click.option(
    "--network",
    multiple=True,
    type=click.Choice(NETWORK),
    help="The whole list of extra network access (replaces it).",
)
@click.option("--no-network", is_flag=True, help="Remove all extra network access.")
@click.option(
    "--no-quarantine",
    is_flag=True,
    help="Do not quarantine the namespaces KEY "
    "loses (the sync then keeps them, workloads and all, with no guardrails).",
)
@edit_options
def set_command(
    key: str,
    role: str | None,
    email: str | None,
    quota: dict[str, str | None],
    namespaces: tuple[str, ...],
    add_namespace: tuple[str, ...],
    remove_namespace: tuple[str, ...],
    domains: tuple[str, ...],
    add_domain: tuple[str, ...],
    remove_domain: tuple[str, ...],
    network: tuple[str, ...],
    no_network: bool,
    no_quarantine: bool,
    dry_run: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
) -> None:
    """Change a person's role, email, quota, namespaces, domains or network access.

    KEY is a k8s_users key. The roster rows joined to KEY follow: their tier is the role,
    their namespaces those of the k8s_users entry. Leaving namespace-owner removes the
    namespaces, domains, quota and network, which only owners have. A namespace KEY loses is
    quarantined in tenancy.yaml (locked: no network, no new pods, no access) unless
    --no-quarantine. A list is changed as a set: kept entries stay where they are written.

    \b
    Examples:
      tenancy user set cleo --quota cpu_requests=4 --quota pods=
      tenancy user set cleo --add-namespace cleo-shop --add-domain shop-cleo
      tenancy user set dara --remove-namespace dara
      tenancy user set brin --role namespace-owner --namespaces brin
    """
    from tenancy.people import edit as people  # loaded only when a user command runs

    _one_of(
        **{
            "--namespaces": namespaces,
            "--add/--remove-namespace": add_namespace or remove_namespace,
        }
    )
    _one_of(**{"--domains": domains, "--add/--remove-domain": add_domain or remove_domain})
    _one_of(**{"--network": network, "--no-network": no_network})
    change = people.Change(
        role=role,
        email=email,
        quota=quota,
        namespaces=_names(namespaces) if namespaces else None,
        add_namespaces=_names(add_namespace),
        remove_namespaces=_names(remove_namespace),
        domains=_names(domains) if domains else None,
        add_domains=_names(add_domain),
        remove_domains=_names(remove_domain),
        network=() if no_network else (network or None),
        quarantine=not no_quarantine,
        today=_date(None),
    )
    _run(
        config_path, roster, k8s_users, dry_run, lambda inputs: people.set_user(inputs, key, change)
    )


@user.command(name="park")
@click.argument("os_user")
@edit_options
def park_command(
    os_user: str,
    dry_run: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
) -> None:
    """Park a workstation account: `parked: true` on its roster row (OS_USER).

    The account and its disk stay; its services stop. Cluster access is not changed.
    """
    from tenancy.people import edit as people  # loaded only when a user command runs

    _run(
        config_path,
        roster,
        k8s_users,
        dry_run,
        lambda inputs: people.park(inputs, os_user, parked=True),
    )


@user.command(name="unpark")
@click.argument("os_user")
@edit_options
def unpark_command(
    os_user: str,
    dry_run: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
) -> None:
    """Unpark a workstation account: remove `parked` from its roster row (OS_USER)."""
    from tenancy.people import edit as people  # loaded only when a user command runs

    _run(
        config_path,
        roster,
        k8s_users,
        dry_run,
        lambda inputs: people.park(inputs, os_user, parked=False),
    )


@user.command(name="offboard")
@click.argument("key")
@click.option(
    "--note",
    help="Why, for the roster's dated note and the quarantine reason (e.g. 'left T3 Users').",
)
@click.option(
    "--date",
    "date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day, YYYY-MM-DD (default: today).",
)
@click.option(
    "--no-quarantine",
    is_flag=True,
    help="Do not quarantine the person's namespaces "
    "(the sync then keeps them, workloads and all, with no guardrails).",
)
@edit_options
def offboard_command(
    key: str,
    note: str | None,
    date: datetime.datetime | None,
    no_quarantine: bool,
    dry_run: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
) -> None:
    """Offboard a person (KEY: a k8s_users key, or an os_user).

    \b
    - every roster row of KEY is commented out in place, under a dated note, as the
      roster's own offboarded rows are (reversible: uncomment it):
          #  REMOVED 2026-08-17 (left T3 Users) -- reversible cut
        # fynn:   {authentik_user: fynn.o, ...}
    - the k8s_users entry is removed;
    - each namespace KEY owned is quarantined in tenancy.yaml `quarantine:` ({tenant,
      since, reason}): it is rendered locked (deny-all network, a quota of zeros, no
      RoleBinding) instead of kept by the sync with its guardrails pruned. Retire it later
      by deleting the namespace by hand, then its entry.

    Not done: Vault secrets under secret/data/KEY/ are not deleted, nor is a tenancy.yaml
    `admins:` entry (a note says so).

    \b
    Example:
      tenancy user offboard cleo --note 'left T3 Users' --date 2026-08-17
    """
    from tenancy.people import edit as people  # loaded only when a user command runs

    day = _date(date)
    _run(
        config_path,
        roster,
        k8s_users,
        dry_run,
        lambda inputs: people.offboard(
            inputs, key, date=day, note=note, quarantine=not no_quarantine
        ),
    )


@user.command(name="rename")
@click.argument("old")
@click.argument("new")
@edit_options
def rename_command(
    old: str,
    new: str,
    dry_run: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
) -> None:
    """Rename a person's k8s_users key OLD to NEW, and the k8s_user of their roster rows.

    The key names the person's Vault entity, policies and secret paths (secret/data/KEY/),
    so the rendered Vault layer changes with it.

    \b
    Not done (each printed as a note):
    - Vault secrets under secret/data/OLD/ are not moved to secret/data/NEW/: copy them
      before `tenancy vault apply`, which follows the rendered tree;
    - the roster's os_users (Linux accounts) and the email (the identity) keep their values;
    - tenancy.yaml `admins:`, waivers naming k8s_users.OLD and quarantine entries with
      tenant OLD are not edited.

    \b
    Example:
      tenancy user rename cleo cleo-m
    """
    from tenancy.people import edit as people  # loaded only when a user command runs

    _run(config_path, roster, k8s_users, dry_run, lambda inputs: people.rename(inputs, old, new))
