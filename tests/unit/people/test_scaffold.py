"""The texts `tenancy init` writes (tenancy.people.scaffold), and the install name they all use."""

from __future__ import annotations

import re
import tomllib

import yaml

from tenancy import __version__
from tenancy.people import scaffold
from tests.conftest import REPO

RENDER = {"profiles.yaml": "a: 1\n", "vault/workstation.yaml": "b: 2\n"}


def test_files_are_the_inputs_the_pipeline_the_hooks_and_the_tier_data() -> None:
    """Every file a new repository gets, the tier data copied under render/ unchanged."""
    made = scaffold.files(
        zones=("example.org",), repo_url=None, version="1.2.3", render_texts=RENDER
    )
    assert set(made) == {
        "tenancy.yaml",
        "tenants/roster.yaml",
        "tenants/k8s_users.yaml",
        ".woodpecker.yml",
        ".pre-commit-config.yaml",
        "render/profiles.yaml",
        "render/vault/workstation.yaml",
    }
    assert made["render/vault/workstation.yaml"] == "b: 2\n"


def test_config_names_the_zones_and_the_repository_url() -> None:
    """Given zones and a URL, tenancy.yaml sets them; the inputs are the default paths."""
    data = yaml.safe_load(
        scaffold.config(("a.example.org", "b.example.net"), "https://git.example.org/p/t.git")
    )
    assert data["zones"] == ["a.example.org", "b.example.net"]
    assert data["render"] == {"repo_url": "https://git.example.org/p/t.git", "revision": "main"}
    assert data["inputs"] == {
        "roster": "tenants/roster.yaml",
        "k8s_users": "tenants/k8s_users.yaml",
    }


def test_config_without_zones_or_url_leaves_them_commented() -> None:
    """No zone and no URL: neither key is set, and the comment shows how to set it."""
    text = scaffold.config((), None)
    data = yaml.safe_load(text)
    assert "zones" not in data
    assert "repo_url" not in data["render"]
    assert "# zones: [example.org]" in text
    assert "# repo_url: https://" in text


def test_a_url_that_is_not_a_plain_scalar_is_quoted() -> None:
    """A URL YAML would read otherwise (a `#`, a leading `*`) is double-quoted and reads back."""
    for url in ("https://h/x#frag", "*weird", "ssh://git@host:22/o/r.git"):
        assert yaml.safe_load(scaffold.config((), url))["render"]["repo_url"] == url


def test_inputs_are_empty_and_their_examples_valid_yaml() -> None:
    """The roster and k8s_users hold no one; the examples are comments, and uncommented they
    are the entries they show (tests/acceptance/test_init.py validates them)."""
    assert yaml.safe_load(scaffold.roster()) == {"users": None}
    assert yaml.safe_load(scaffold.k8s_users("example.org")) == {}
    users = yaml.safe_load(uncomment_k8s_users(scaffold.k8s_users("z.example.org")))
    assert set(users) == {"ada", "brin", "cleo"}
    assert users["cleo"]["email"] == "cleo@z.example.org"
    roster = yaml.safe_load(uncomment_roster(scaffold.roster()))
    assert {row["tier"] for row in roster["users"].values()} == {
        "admin",
        "power-user",
        "namespace-owner",
    }


def uncomment_roster(text: str) -> str:
    """The roster with its example rows uncommented."""
    return re.sub(r"(?m)^  # ", "  ", text)


def uncomment_k8s_users(text: str) -> str:
    """k8s_users with the `{}` replaced by the example entries, uncommented."""
    head, examples = text.split("\n{}\n", 1)
    return head + "\n" + re.sub(r"(?m)^# ", "", examples)


def test_pipeline_pins_this_release_and_hooks_are_the_published_ones() -> None:
    """The pipeline installs this project's distribution at the version; the pre-commit config
    runs the hooks of .pre-commit-hooks.yaml (same ids, entries and files) with the installed
    tenancy, so it needs no URL of where tenancy is published."""
    pipeline = scaffold.woodpecker("1.2.3")
    assert '"tenancy-gitops[k8s,tools]==1.2.3"' in pipeline
    assert '"tenancy-gitops==1.2.3"' in pipeline
    (local,) = yaml.safe_load(scaffold.pre_commit("1.2.3"))["repos"]
    assert local["repo"] == "local"
    published = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    keys = ("id", "entry", "pass_filenames", "files")
    assert [{k: h[k] for k in keys} for h in local["hooks"]] == [
        {k: h[k] for k in keys} for h in published
    ]
    assert {h["language"] for h in local["hooks"]} == {"system"}


def test_the_documented_example_pipeline_is_the_one_init_writes() -> None:
    """examples/woodpecker/tenancy.yml is scaffold.woodpecker() of this version, byte for byte."""
    example = (REPO / "examples" / "woodpecker" / "tenancy.yml").read_text(encoding="utf-8")
    assert example == scaffold.woodpecker(__version__)


def test_the_distribution_name_and_source_are_pyproject_s() -> None:
    """pyproject.toml's [project] name and version are the ones the scaffold pins."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == scaffold.DISTRIBUTION
    assert project["version"] == __version__


#: `pip install tenancy`, `tenancy[x]`: the unrelated PyPI package of that name.
STRANGER = re.compile(r"pip install (?:--\S+ )*['\"]?tenancy(?![-\w])|(?<![-\w])tenancy\[")


def test_no_doc_example_or_message_installs_the_unrelated_tenancy_package() -> None:
    """Every install instruction names tenancy-gitops: `tenancy` on PyPI is someone else's."""
    places = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "CONTRIBUTING.md"]
    for folder in ("src", "docs", "examples"):
        places += [
            p for p in (REPO / folder).rglob("*") if p.suffix in {".py", ".md", ".yml", ".yaml"}
        ]
    found = [
        f"{path.relative_to(REPO)}: {match.group(0)}"
        for path in places
        if path.is_file()
        for match in STRANGER.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_public_url_drops_credentials_of_http_remotes_only() -> None:
    """A token in an https remote never reaches the committed tenancy.yaml; SSH forms stay."""
    assert (
        scaffold.public_url("https://bob:s3cret@git.example.org/o/r.git")
        == "https://git.example.org/o/r.git"
    )
    assert scaffold.public_url("http://token@h/o/r") == "http://h/o/r"
    assert scaffold.public_url("git@git.example.org:o/r.git") == "git@git.example.org:o/r.git"
    assert scaffold.public_url("ssh://git@h/o/r.git") == "ssh://git@h/o/r.git"
