"""Which tier data a render uses (tenancy.render.plan.tier_data): the repository's render/ folder whole
when it has one, the built-in copy otherwise, and how generated headers name it."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pytest

from tenancy.inputs.load import parse_bytes
from tenancy.model import Config
from tenancy.render.plan import header_source, tier_data
from tenancy.render.plan.profiles import builtin_texts, load
from tenancy.resources import data_dir
from tenancy.validate.config import resolve


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository folder with a tenancy.yaml and a copy of the built-in tier data."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tenancy.yaml").write_text("version: 1\n")
    shutil.copytree(data_dir("render"), tmp_path / "render")
    return tmp_path


def config_in(repo: Path, **fields: object) -> Config:
    return Config(path=str(repo / "tenancy.yaml"), **fields)  # type: ignore[arg-type]


def test_the_folder_is_render_beside_the_config_unless_configured(tmp_path: Path) -> None:
    """Default: render/ beside tenancy.yaml; `render_dir` names another; no config, no folder."""
    assert tier_data.folder(config_in(tmp_path)) == (tmp_path / "render", False)
    assert tier_data.folder(config_in(tmp_path, render_dir=str(tmp_path / "tiers"))) == (
        tmp_path / "tiers",
        True,
    )
    assert tier_data.folder(Config()) == (None, False)


def test_without_a_folder_the_built_in_data_is_used_and_named_so(tmp_path: Path) -> None:
    """No render/ in the repository: the packaged profiles, headers `tenancy:render/... (built in)`."""
    config = config_in(tmp_path)
    assert tier_data.chosen(config) is None
    profiles, problems = tier_data.load(config)
    assert problems == []
    assert profiles == load()
    names = {"render": tier_data.header_template(config)}
    assert header_source("render/profiles.yaml", names) == "tenancy:render/profiles.yaml (built in)"


def test_the_repository_folder_is_used_and_named_by_its_path(repo: Path) -> None:
    """A render/ beside the config is read (an edit there takes effect) and named `render/...`."""
    profiles_file = repo / "render" / "profiles.yaml"
    profiles_file.write_text(profiles_file.read_text() + "\nsite_marker: 7\n")
    config = config_in(repo)
    profiles, problems = tier_data.load(config)
    assert problems == []
    assert profiles is not None and profiles.settings["site_marker"] == 7
    names = {"render": tier_data.header_template(config)}
    assert header_source("render/clusterroles/x.yaml", names) == "render/clusterroles/x.yaml"


def test_a_configured_folder_is_named_relative_to_the_config(repo: Path) -> None:
    """`render_dir: platform/tiers` is read from there and headers name `platform/tiers/...`."""
    (repo / "platform").mkdir()
    (repo / "render").rename(repo / "platform" / "tiers")
    config = config_in(repo, render_dir=str(repo / "platform" / "tiers"))
    profiles, problems = tier_data.load(config)
    assert problems == [] and profiles is not None
    names = {"render": tier_data.header_template(config)}
    assert header_source("render/profiles.yaml", names) == "platform/tiers/profiles.yaml"


def test_the_repository_folder_is_used_whole_never_completed(repo: Path) -> None:
    """A folder missing a required file is an error at that file, not filled from the built-in."""
    (repo / "render" / "vault" / "workstation.yaml").unlink()
    profiles, problems = tier_data.load(config_in(repo))
    assert profiles is None
    assert [(p.location.path, p.code) for p in problems] == [
        ("render/vault/workstation.yaml", "render-data-incomplete")
    ]


def test_a_dropped_cluster_role_stays_dropped(repo: Path) -> None:
    """A ClusterRole file removed from the repository's folder is not rendered from the built-in."""
    (repo / "render" / "clusterroles" / "tenancy-power-user.yaml").unlink()
    profiles, _ = tier_data.load(config_in(repo))
    assert profiles is not None
    assert "tenancy-power-user" not in profiles.cluster_roles
    assert "tenancy-power-user" in load().cluster_roles


def test_a_configured_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    """`render_dir` naming nothing is `render-data-missing`, never a silent built-in fallback."""
    config = config_in(tmp_path, render_dir=str(tmp_path / "tiers"))
    profiles, problems = tier_data.load(config)
    assert profiles is None
    assert [p.code for p in problems] == ["render-data-missing"]


def test_a_folder_outside_the_repository_is_refused(tmp_path: Path, repo: Path) -> None:
    """`render_dir: ../elsewhere` is not read (a pull request could point it at any file)."""
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    shutil.copytree(data_dir("render"), outside)
    try:
        profiles, problems = tier_data.load(config_in(repo, render_dir=str(outside)))
    finally:
        shutil.rmtree(outside)
    assert profiles is None
    assert [p.code for p in problems] == ["input-outside-repository"]


def test_broken_yaml_in_the_folder_is_a_diagnostic() -> None:
    """Unreadable tier data is `render-data-invalid` at the folder, not a traceback."""
    texts = {**builtin_texts(), "profiles.yaml": "tiers: [\n"}
    profiles, problems = tier_data.from_texts(texts, "render")
    assert profiles is None
    assert [(p.location.path, p.code) for p in problems] == [("render", "render-data-invalid")]


def test_the_config_render_settings_apply_on_top(repo: Path) -> None:
    """tenancy.yaml `render:` settings still override the repository's data."""
    config = config_in(repo, render={"repo_url": "https://git.example.org/x.git"})
    profiles, _ = tier_data.load(config)
    assert profiles is not None
    assert profiles.settings["sync"]["repo_url"] == "https://git.example.org/x.git"


def test_without_a_render_template_headers_are_unchanged() -> None:
    """Callers that name no tier data folder get the source path as before."""
    assert header_source("render/profiles.yaml", {"roster": "r"}) == "render/profiles.yaml"


def test_render_dir_in_tenancy_yaml_is_relative_to_the_file() -> None:
    """`render_dir:` is accepted by the config schema and resolved beside tenancy.yaml."""
    document, problems = parse_bytes("site/tenancy.yaml", b"version: 1\nrender_dir: tiers\n")
    assert document is not None and problems == []
    config, problems = resolve(document, PurePosixPath("site/tenancy.yaml"))
    assert problems == []
    assert config is not None and config.render_dir == "site/tiers"
    default, _ = resolve(
        parse_bytes("tenancy.yaml", b"version: 1\n")[0], PurePosixPath("tenancy.yaml")
    )
    assert default is not None and default.render_dir is None
