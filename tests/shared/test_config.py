"""`workspace-map.toml` → validated settings: every bad key, value or platform is refused with
the file, the line and what to do."""

from __future__ import annotations

import pytest

from tests.support.cli import fails
from tests.support.git import Repo


@pytest.mark.parametrize(
    ("map_text", "expected"),
    [
        (
            "[workspace]\nregistyr = 'x'\n",
            "workspace-map.toml:2: [workspace] unknown key 'registyr' (did you mean 'registry'?)",
        ),
        (
            "[services.a]\ncrates = 'a'\n",
            "workspace-map.toml:2: [services.a] unknown key 'crates' (did you mean 'crate'?)",
        ),
        (
            "[rules]\nunowned = 'some'\n",
            "workspace-map.toml:2: [rules] 'unowned' must be \"all\" or \"ignore\", not 'some'",
        ),
        (
            "[rules]\nignore = '*.md'\n",
            "workspace-map.toml:2: [rules] 'ignore' must be a list of glob strings",
        ),
        (
            "[rules]\nbuild_all = ['/abs/**']\n",
            "globs are relative to the repository root; drop the leading '/'",
        ),
        ("[workspace]\nregistry = 'GHCR.io/Me'\n", "'registry' = 'GHCR.io/Me' is not an image registry path"),
        (
            "[workspace]\nroot = '../elsewhere'\n",
            "'root' = '../elsewhere' must be a path inside the repository",
        ),
        ("[services.'a;rm -rf']\n", "service name 'a;rm -rf' is not allowed"),
        (
            "[services.a]\n[services.b]\ncrate = 'a'\n",
            "workspace-map.toml:3: [services.b] crate 'a' is already mapped to service 'a'",
        ),
        ("[workspace\nroot='.'\n", "workspace-map.toml:1: is not valid TOML"),
        ("[servces.a]\n", "unknown key 'servces' (did you mean 'services'?)"),
    ],
)
def test_map_errors(mini: Repo, map_text: str, expected: str) -> None:
    mini.write("workspace-map.toml", map_text)
    assert expected in fails(mini, "affected")


def test_missing_map(mini: Repo) -> None:
    mini.remove("workspace-map.toml")
    assert "workspace-map.toml: no workspace map found" in fails(mini, "affected")


@pytest.mark.parametrize(
    ("map_text", "expected"),
    [
        (
            "[workspace]\nplatforms = ['linux/arm']\n",
            "workspace-map.toml:2: [workspace] platform 'linux/arm' is not supported "
            "(did you mean 'linux/arm64'?)\n  hint: only linux/amd64 and linux/arm64 are supported for now",
        ),
        (
            "[workspace]\nregistry = 'r.io/x'\nplatforms = ['arm64']\n",
            "workspace-map.toml:3: [workspace] platform 'arm64' is not supported (did you mean 'linux/arm64'?)",
        ),
        (
            "[workspace]\nplatforms = ['linux/riscv64']\n",
            "[workspace] platform 'linux/riscv64' is not supported",
        ),
        (
            "[workspace]\nplatforms = 'linux/arm64'\n",
            "workspace-map.toml:2: [workspace] 'platforms' must be a non-empty list of platforms",
        ),
        ("[workspace]\nplatforms = []\n", "'platforms' must be a non-empty list of platforms"),
        (
            "[workspace]\nplatforms = ['linux/arm64', 'linux/arm64']\n",
            "'platforms' names a platform twice",
        ),
        (
            "[workspace]\nplatform = ['linux/arm64']\n",
            "[workspace] unknown key 'platform' (did you mean 'platforms'?)",
        ),
        (
            '[build.platform_args."linux/amd46"]\nCHEF_IMAGE = "x"\n',
            "workspace-map.toml:1: [build.platform_args.linux/amd46] platform 'linux/amd46' is not "
            "supported (did you mean 'linux/amd64'?)",
        ),
        (
            '[build.platform_args."linux/arm64"]\nCHEF_IMAGE = 1\n',
            "'platform_args.\"linux/arm64\"' must be a table of strings",
        ),
    ],
)
def test_bad_platforms_name_the_key_and_line(mini: Repo, map_text: str, expected: str) -> None:
    mini.write(
        "workspace-map.toml", map_text + '\n[services.a]\n[services.b]\n[services.c]\ncrate = "c-bin"\n'
    )
    assert expected in fails(mini, "plan")


@pytest.mark.parametrize(
    ("map_text", "expected"),
    [
        (
            "[workspace]\ndeploy = 'helmm'\n",
            "workspace-map.toml:2: [workspace] 'deploy' must be one of \"kustomize\", \"helm\", \"none\", not 'helmm' (did you mean 'helm'?)",
        ),
        (
            "[services.a]\nvalues = 'v.yaml'\n",
            "workspace-map.toml:2: [services.a] 'values' is for Helm values files, and this deploys with 'kustomize'",
        ),
        (
            "[services.a]\ndeploy = 'helm'\nimage_keys = { tag = 'a..b' }\n",
            "'image_keys.tag' = 'a..b' is not a dotted key path",
        ),
        (
            "[services.a]\nbuild_args = { 'A-B' = 'x' }\n",
            "[services.a] 'build_args': 'A-B' is not a build argument name",
        ),
        ("[services.a]\ncontext = '../up'\n", "'context' = '../up' must be a path inside the repository"),
        ("[crates.core]\ninput = ['x/**']\n", "[crates.core] unknown key 'input' (did you mean 'inputs'?)"),
        ("[services.a]\n[filters]\na = ['x/**']\n", "[filters] filter 'a' has the name of a service"),
        ("[filters]\nbuild = ['x/**']\n", "filter 'build' has the name of an output buildctl writes itself"),
        (
            "[filters]\nx = [{ renamed = 'y/**' }]\n",
            "filter 'x': change type 'renamed' is not added | modified | deleted",
        ),
        ("[acknowledged]\nno_registry = 'yes'\n", "[acknowledged] 'no_registry' must be true or false"),
    ],
)
def test_new_key_errors(mini: Repo, map_text: str, expected: str) -> None:
    mini.write("workspace-map.toml", map_text)
    assert expected in fails(mini, "affected")
