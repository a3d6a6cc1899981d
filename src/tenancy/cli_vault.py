"""`tenancy vault ...`: parse options into Params and call `app_vault`. Shell.

Exit codes (one enum, applied in `cli.main`): 0 done or nothing to do; 1 findings (inputs that
do not validate, `diff` showing a difference, `plan --exit-code` with changes pending, `apply`
leaving conflicts or withheld deletes); 2 usage; 3 Vault unreachable or refusing a request.
"""

from __future__ import annotations

from pathlib import Path

import click

from tenancy import app
from tenancy.cli_options import input_options

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
) -> None:
    from tenancy import app_vault  # imported only when a vault command runs: start-up time

    params = app_vault.PullParams(
        inputs=app.InputParams(config=config_path, roster=roster, k8s_users=k8s_users),
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
    )
    raise SystemExit(app_vault.run_pull(params))


@vault.command()
@input_options
@format_option
@vault_options
@kv_options
def pull(**options: object) -> None:
    """Write k8s_users from Vault KV into the git file (the config's, or --k8s-users).

    A YAML file keeps its comments, key order and quoting: only users and values that differ
    are changed. A JSON file keeps its key order.
    """
    _pull(True, **options)  # type: ignore[arg-type]


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
    exit_code: bool = False,
) -> None:
    from tenancy import app_vault  # imported only when a vault command runs: start-up time

    params = app_vault.PlanParams(
        inputs=app.InputParams(config=config_path, roster=roster, k8s_users=k8s_users),
        vault=app_vault.VaultParams(
            address=vault_addr, login_role=login_role, login_mount=login_mount, jwt_path=jwt_path
        ),
        format=fmt,
        allow_delete=allow_delete,
        adopt=adopt,
        apply=apply,
        exit_code=exit_code,
    )
    raise SystemExit(app_vault.run_plan(params))


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
        ]
    ):
        function = option(function)
    return function


@vault.command(name="plan")
@input_options
@format_option
@vault_options
@plan_options
@click.option("--exit-code", is_flag=True, help="Exit 1 when changes are pending.")
def plan_command(**options: object) -> None:
    """Compare the rendered Vault layer with the server: create, update, delete, conflict.

    Policies show their capability-level difference per path. Only objects tenancy owns (its
    managed-objects index in KV, or `managed-by: tenancy` entity metadata) are ever changed.
    """
    _plan(False, **options)  # type: ignore[arg-type]


@vault.command(name="apply")
@input_options
@format_option
@vault_options
@plan_options
def apply_command(**options: object) -> None:
    """Carry out the plan, one object at a time, and print what was done.

    Conflicts and (without --allow-delete) deletes are left alone and reported (exit 1). If the
    server fails midway, the error says what was and was not applied; re-running converges.
    """
    _plan(True, **options)  # type: ignore[arg-type]
