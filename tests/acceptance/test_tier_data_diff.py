"""`tenancy diff` renders each revision with that revision's own tier data folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tenancy.resources import data_dir
from tests.acceptance.test_diff import edit, git
from tests.conftest import REPO, RunCli

POWER_USER = "clusterrole-tenancy-power-user"


def make_repo(target: Path, folder: str) -> Path:
    """The example inputs, with the built-in tier data copied into `folder`, committed on main."""
    target.mkdir()
    shutil.copy(REPO / "tenancy.yaml", target / "tenancy.yaml")
    shutil.copytree(REPO / "tenants", target / "tenants")
    shutil.copytree(data_dir("render"), target / folder)
    if folder != "render":
        with (target / "tenancy.yaml").open("a") as handle:
            handle.write(f"render_dir: {folder}\n")
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "base")
    return target


@pytest.mark.parametrize("folder", ["render", "platform/tiers"])
def test_a_tier_change_in_the_repository_is_a_change_of_access(
    run: RunCli, tmp_path: Path, folder: str
) -> None:
    """Power-users lose `watch` on configmaps when the repository's own ClusterRole data (at
    render/ or at `render_dir`) drops it between two commits: diff reads each revision's."""
    repo = make_repo(tmp_path / "repo", folder)
    role = repo / folder / "clusterroles/tenancy-power-user.yaml"
    edit(role, "verbs: [get, list, watch]", "verbs: [get, list]")
    git(repo, "commit", "-qam", "power-users stop watching")
    result = run("diff", "HEAD~1", "HEAD", "-f", "json", cwd=repo)
    assert result.exit_code == 0
    document = json.loads(result.output)
    changed = {
        person["id"]
        for person in document["people"]
        if any(c["kind"] == "k8s-lost" and "watch" in str(c["before"]) for c in person["changes"])
    }
    assert changed == {"brin", "emil"}


def test_a_revision_whose_configured_folder_is_missing_is_reported(
    run: RunCli, tmp_path: Path
) -> None:
    """`render_dir` naming a folder absent at HEAD: the side does not render (exit 1)."""
    repo = make_repo(tmp_path / "repo", "tiers")
    git(repo, "mv", "tiers", "elsewhere")
    git(repo, "commit", "-qm", "moved without telling tenancy.yaml")
    result = run("diff", "HEAD~1", "HEAD", cwd=repo)
    assert result.exit_code == 1
    assert "render-data-incomplete" in result.output
