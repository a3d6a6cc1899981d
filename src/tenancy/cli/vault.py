"""`tenancy vault ...`: parse options into Params and call `app_vault`. Shell.

Exit codes (one enum, applied in `cli.main`):

- 0: done, or nothing to do. `plan` also exits 0 when every change it shows can be applied:
  a plan is a review, and pending changes are its normal content (`--exit-code` makes them 1).
- 1: findings. Inputs that do not validate; a rendered tree that is not current (run `tenancy
  render`); `diff` showing a difference; `pull` of data that does not validate (written only
  with `--force`, still 1); `plan` with a change apply would not carry out (a conflict, a
  delete without `--allow-delete`, a cascade without `--allow-cascade`), since then apply
  cannot converge; `plan --exit-code` with any change pending; `apply` leaving changes
  blocked, declined at its prompt, or given a plan file that no longer matches the server.
- 2: usage (a bad option, VAULT_ADDR not a URL, a VAULT_TOKEN no header can carry).
- 3: the environment: Vault unreachable, refusing a request, or answering something that is
  not the JSON Vault gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tenancy.cli.options import input_options, input_params

FORMATS = ("text", "json")


def vault_options(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option(
                "--vault-addr",
                envvar="VAULT_ADDR",
                help="Vault/OpenBao URL (env VAULT_ADDR). The token comes only from VAULT_TOKEN.",
            ),
            click.option(
                "--k8s-role",
                "login_role",
                help="Log in with Kubernetes auth as this role instead of using VAULT_TOKEN.",
            ),
            click.option(
                "--k8s-mount",
                "login_mount",
                help="Mount of the Kubernetes auth method to log in at (default kubernetes).",
            ),
            click.option(
                "--jwt-path",
                help="Service-account JWT for --k8s-role (default: the in-pod token file).",
            ),
        ]
    ):
        function = option(function)
    return function


def kv_options(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--mount", "kv_mount", help="KV v2 mount (default secret)."),
            click.option("--path", "kv_path", help="Secret path in the mount (default platform)."),
            click.option("--field", "kv_field", help="Field holding the JSON (default k8s_users)."),
        ]
    ):
        function = option(function)
    return function


def format_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True
    )(function)


@click.group()
def vault() -> None:
    """Make Vault follow git: pull k8s_users from Vault KV, plan and apply Vault objects.

    Authentication: VAULT_ADDR and VAULT_TOKEN (or --k8s-role for Kubernetes auth). TLS is
    verified unless VAULT_SKIP_VERIFY is set; VAULT_CACERT names a CA bundle.
    """


def _pull(
    write: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    fmt: str,
    vault_addr: str | None,
    login_role: str | None,
    login_mount: str | None,
    jwt_path: str | None,
    kv_mount: str | None,
    kv_path: str | None,
    kv_field: str | None,
    force: bool = False,
) -> None:
    from tenancy.sync import (
        command as app_vault,  # imported only when a vault command runs: start-up time
    )

    params = app_vault.PullParams(
        inputs=input_params(config_path, roster, k8s_users),
        vault=app_vault.VaultParams(
            address=vault_addr,
            kv_mount=kv_mount,
            kv_path=kv_path,
            kv_field=kv_field,
            login_role=login_role,
            login_mount=login_mount,
            jwt_path=jwt_path,
        ),
        write=write,
        format=fmt,
        force=force,
    )
    raise SystemExit(app_vault.run_pull(params))


@vault.command()
@input_options
@format_option
@vault_options
@kv_options
@click.option(
    "--force", is_flag=True, help="Write the data even when it does not validate (still exit 1)."
)
def pull(force: bool, **options: object) -> None:
    """Write k8s_users from Vault KV into the git file (the config's, or --k8s-users).

    A YAML file keeps its comments, key order and quoting: only users and values that differ
    are changed. A JSON file keeps its key order. What would be written is validated first,
    as `tenancy validate` does: data that does not validate is shown and not written (exit 1)
    unless --force.
    """
    _pull(True, **options, force=force)  # type: ignore[arg-type]


@vault.command(name="diff")
@input_options
@format_option
@vault_options
@kv_options
def diff_command(**options: object) -> None:
    """Show how the git file differs from k8s_users in Vault KV, without writing (exit 1 if so)."""
    _pull(False, **options)  # type: ignore[arg-type]


def _plan(
    apply: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    fmt: str,
    vault_addr: str | None,
    login_role: str | None,
    login_mount: str | None,
    jwt_path: str | None,
    allow_delete: bool,
    adopt: bool,
    allow_cascade: tuple[str, ...] = (),
    exit_code: bool = False,
    out: Path | None = None,
    plan_file: Path | None = None,
    yes: bool = False,
) -> None:
    from tenancy.sync import (
        command as app_vault,  # imported only when a vault command runs: start-up time
    )

    if plan_file is not None and (allow_delete or adopt or allow_cascade):
        raise click.UsageError(
            "a plan file carries the options it was made with: give no --allow-delete, "
            "--adopt or --allow-cascade with it"
        )
    params = app_vault.PlanParams(
        inputs=input_params(config_path, roster, k8s_users),
        vault=app_vault.VaultParams(
            address=vault_addr, login_role=login_role, login_mount=login_mount, jwt_path=jwt_path
        ),
        format=fmt,
        allow_delete=allow_delete,
        adopt=adopt,
        apply=apply,
        exit_code=exit_code,
        allow_cascade=allow_cascade,
        out=out,
        plan_file=plan_file,
        yes=yes,
        interactive=apply and _is_terminal(),
    )
    raise SystemExit(app_vault.run_plan(params))


def _is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stdin
        return False


def plan_options(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option(
                "--allow-delete",
                is_flag=True,
                help="Delete objects tenancy owns that are no longer rendered.",
            ),
            click.option(
                "--adopt",
                is_flag=True,
                help="Take over existing objects with rendered names that tenancy does not own.",
            ),
            click.option(
                "--allow-cascade",
                "allow_cascade",
                multiple=True,
                metavar="ENTITY",
                help="Allow deleting this entity although Vault then also deletes aliases or "
                "group memberships tenancy does not own (repeatable).",
            ),
        ]
    ):
        function = option(function)
    return function


@vault.command(name="plan")
@input_options
@format_option
@vault_options
@plan_options
@click.option("--exit-code", is_flag=True, help="Exit 1 when any change is pending.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan to FILE; `tenancy vault apply FILE` applies exactly it.",
)
def plan_command(**options: object) -> None:
    """Compare the rendered Vault layer with the server: create, update, delete, conflict.

    Policies show their capability-level difference per path. Only objects tenancy owns (its
    managed-objects index in KV: policies and roles by name, entities, aliases and groups by
    their server IDs) are ever changed. The rendered tree must be current (`tenancy render`).

    Exit 0 when every change shown can be applied (a plan is a review; --exit-code makes
    pending changes exit 1), 1 when a change is blocked (a conflict, a withheld delete or
    cascade: apply would not converge) or the tree is not rendered, 3 when Vault fails.
    """
    _plan(False, **options)  # type: ignore[arg-type]


@vault.command(name="apply")
@input_options
@format_option
@vault_options
@plan_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask, even on a terminal.")
@click.argument(
    "plan_file", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
def apply_command(**options: object) -> None:
    """Carry out the plan (or PLAN_FILE, saved by `plan --out`), one object at a time.

    On a terminal, apply shows the plan and asks first (--yes does not ask). PLAN_FILE is
    applied only when the server and the rendered tree still give exactly that plan; else it is
    refused and nothing is written. Conflicts, deletes without --allow-delete and cascades
    without --allow-cascade are left alone and reported. If the server fails midway, the error
    says what was and was not applied; re-running converges.

    Exit 0 all applied, 1 something left blocked, declined or a stale PLAN_FILE, 3 Vault failed.
    """
    _plan(True, **options)  # type: ignore[arg-type]
