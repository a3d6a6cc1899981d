"""`tenancy cluster ...`: parse options into Params and call `app_cluster`. Shell.

Exit codes (applied in `cli.main`): 0 the cluster agrees; 1 findings (an object the API server
refuses, shadow access); 2 usage; 3 the cluster cannot be reached or the kubeconfig read.
"""

from __future__ import annotations

from pathlib import Path

import click

from tenancy.cli.options import input_options, input_params


def cluster_options(function: click.decorators.FC) -> click.decorators.FC:
    from tenancy.report import FORMAT_NAMES

    for option in reversed(
        [
            click.option(
                "--kubeconfig",
                type=click.Path(path_type=Path, dir_okay=False),
                help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the "
                "in-cluster service account).",
            ),
            click.option("--context", help="kubeconfig context (default: the current one)."),
            click.option(
                "--format",
                "-f",
                "fmt",
                type=click.Choice(FORMAT_NAMES),
                default="auto",
                show_default=True,
                help="Format of findings (auto: github under GitHub Actions, else text).",
            ),
        ]
    ):
        function = option(function)
    return function


@click.group()
def cluster() -> None:
    """Ask a live cluster: does it accept the rendered tree, who has access tenancy did not give.

    The connection comes from a kubeconfig (--kubeconfig, --context, else $KUBECONFIG or
    ~/.kube/config) or the in-cluster service account. Needs the `cluster` extra.
    """


def _params(
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    fmt: str,
) -> object:
    from tenancy.cluster import command as app_cluster

    return app_cluster.ClusterParams(
        inputs=input_params(config_path, roster, k8s_users),
        kubeconfig=kubeconfig,
        context=context,
        format=fmt,
    )


@cluster.command()
@input_options
@cluster_options
def check(**options: object) -> None:
    """Dry-run the committed rendered tree on the cluster, as a sync would apply it.

    Server-side apply with strict field validation, CRDs and Namespaces first: every object
    the API server (its schemas, CRDs and admission) refuses is reported at its rendered file
    and line. Objects inside a namespace the cluster does not have yet cannot be dry-run and
    are listed as info. Nothing is written to the cluster.
    """
    from tenancy.cluster import command as app_cluster

    raise SystemExit(app_cluster.run_check(_params(**options)))  # type: ignore[arg-type]


@cluster.command()
@input_options
@cluster_options
def access(**options: object) -> None:
    """List live bindings that give a person tenancy knows access it did not render.

    Every RoleBinding and ClusterRoleBinding whose subject is the username of someone in
    k8s_users, and which the render does not hold as it is, with what its role grants: the
    shadow access an auditor must see. Exit 1 when any exists.
    """
    from tenancy.cluster import command as app_cluster

    raise SystemExit(app_cluster.run_access(_params(**options)))  # type: ignore[arg-type]
