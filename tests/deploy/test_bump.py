"""What a bump changes, from requests or from build results: which entry it writes, what it
refuses before anything reaches a path, and that it never moves a newer tag back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildctl.deploy import bump
from tests.support.cli import cli, refused, run_main
from tests.support.git import Repo, git, snapshot
from tests.support.kustomize import ENTRY, FIXTURES, KFILE, OVERLAY, D, T, tree
from tests.support.remote import World
from tests.support.strategies import MAP, PARSER_EXAMPLES, only_buildctl_errors


def _base(root: Path, deployment: str) -> None:
    (root / "deployments" / "base" / "deployment.yaml").write_text(deployment)


TWO_CONTAINERS = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: service}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: example/migrate:1.0
      containers:
        - name: %s
          image: placeholder/app:dev@sha256:%s
        - name: log-shipper
          image: fluent/fluent-bit:3.0
"""


def test_a_new_entry_replaces_the_image_of_the_container_named_after_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, OVERLAY)
    _base(root, TWO_CONTAINERS % ("auth-service", "1" * 64))
    assert run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}")[0] == 0
    assert (root / KFILE).read_text() == OVERLAY + (
        "\nimages:\n"
        "  - name: placeholder/app\n"
        "    newName: ghcr.io/example-org/game-platform/auth-service\n"
        f"    newTag: {T}\n"
    )


def test_several_base_images_and_none_named_after_the_service_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, OVERLAY)
    _base(root, TWO_CONTAINERS % ("app", "1" * 64))
    code, out, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert (code, out) == (1, "")
    assert (
        f"error: {KFILE}: has no images entry for auth-service, and its resources run several images" in err
    )
    assert "container 'app' runs placeholder/app:dev@sha256:" in err
    assert "container 'log-shipper' runs fluent/fluent-bit:3.0 (deployments/base/deployment.yaml:13)" in err
    assert "hint: add the entry by hand" in err
    assert (root / KFILE).read_text() == OVERLAY


def test_no_image_in_the_base_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, OVERLAY)
    _base(root, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, _, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert code == 1
    assert "no container image was found in its resources" in err


BAD_ARGS = [
    ("auth-service=sha-x;rm -rf /", "tag 'sha-x;rm -rf /' is not a docker tag"),
    ("auth-service=$(reboot)", "is not a docker tag"),
    ("auth-service=.hidden", "is not a docker tag"),
    ("auth-service=" + "a" * 129, "is not a docker tag"),
    ("../x=sha-1", "service '../x' is not allowed"),
    ("auth/../../etc=sha-1", "is not allowed"),
    ("world-stat=sha-1", "unknown service 'world-stat' (did you mean 'world-state'?)"),
    ("auth-service=sha-1@sha256:XYZ", "digest 'sha256:XYZ' is not sha256:<64 lower-case hex digits>"),
    ("auth-service=sha-1@", "digest '' is not"),
    ("auth-service", "write SERVICE=TAG or SERVICE=TAG@sha256:DIGEST"),
]


@pytest.mark.parametrize(("arg", "message"), BAD_ARGS)
def test_requests_are_checked_before_they_reach_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arg: str, message: str
) -> None:
    root = tree(tmp_path, (FIXTURES / "comments.input.yaml").read_text())
    code, out, err = run_main(capsys, "--repo", str(root), "bump", arg)
    assert (code, out) == (1, "")
    assert message in err
    assert (root / KFILE).read_text() == (FIXTURES / "comments.input.yaml").read_text()


def test_nothing_is_written_when_any_service_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (FIXTURES / "comments.input.yaml").read_text()
    root = tree(tmp_path, good, world_state=OVERLAY + "---\n{}\n")
    code, _, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}", f"world-state={T}")
    assert code == 1
    assert "deployments/world-state/kustomization.yaml: holds 2 YAML documents" in err
    assert (root / KFILE).read_text() == good


def test_a_missing_kustomization_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, OVERLAY)
    code, _, err = run_main(capsys, "--repo", str(root), "bump", f"world-state={T}")
    assert code == 1
    assert "error: deployments/world-state/kustomization.yaml: world-state has no kustomization" in err


# --- names that must never reach a path or a command ---------------------------------------------


BAD_NAMES = [
    (["bump", "a;touch PWNED=x"], "service 'a;touch PWNED' is not allowed"),
    (["bump", "a=x;touch PWNED"], "tag 'x;touch PWNED' is not a docker tag"),
    (["bump", "a=../x"], "tag '../x' is not a docker tag"),
    (["bump", "a=x/y"], "tag 'x/y' is not a docker tag"),
    (["bump", "../x=sha-1"], "service '../x' is not allowed"),
    (["bump", "a/../b=sha-1"], "service 'a/../b' is not allowed"),
    (["bump", "a=$(touch PWNED)"], "is not a docker tag"),
    (["bump", "a=`touch PWNED`"], "is not a docker tag"),
    (["bump", "a=sha-1\n::error::x"], "tag 'sha-1\\n::error::x' is not a docker tag"),
    (["build", "--service", "../x", "--dry-run"], "unknown service '../x'"),
    (["build", "--service", "a;touch PWNED", "--dry-run"], "unknown service 'a;touch PWNED'"),
    (["explain", "../x"], "unknown service '../x'"),
    (["explain", "$(touch PWNED)"], "unknown service '$(touch PWNED)'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_NAMES, ids=[" ".join(a) for a, _ in BAD_NAMES])
def test_names_with_shell_characters_dots_or_slashes_are_refused(
    mini: Repo, args: list[str], message: str
) -> None:
    before = snapshot(mini.path)
    refused(cli(mini, *args), message)
    assert snapshot(mini.path) == before
    assert not list(mini.path.rglob("PWNED")) and not Path("PWNED").exists()


# --- from build results ----------------------------------------------------------------------------


def test_from_a_build_result_bumps_only_what_was_pushed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, (FIXTURES / "comments.input.yaml").read_text(), world_state=OVERLAY)
    result = tmp_path / "build.json"
    result.write_text(
        json.dumps(
            {
                "services": {
                    "auth-service": {
                        "status": "pushed",
                        "image": f"ghcr.io/example-org/game-platform/auth-service:{T}",
                        "tag": T,
                        "digest": D,
                    },
                    "world-state": {"status": "built", "tag": T, "digest": None},
                }
            }
        )
    )
    code, out, _ = run_main(capsys, "--repo", str(root), "bump", "--from", str(result))
    assert code == 0
    assert out.startswith("auth-service  updated") and "world-state" not in out
    assert (root / KFILE).read_bytes() == (FIXTURES / "comments.expected.yaml").read_bytes()
    assert (root / "deployments/world-state/kustomization.yaml").read_text() == OVERLAY


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            '{"services": {"auth-service": {"status": "pushed", "tag": "sha-1",\n "image": "ghcr.io/other/x"}}}',
            "image 'ghcr.io/other/x' is not ghcr.io/example-org/game-platform/auth-service",
        ),
        ('{"services": [1]}', 'expected {"services": {"<service>"'),
        ('{"services":\n {"auth-service": }', "build.json:2: is not valid JSON"),
        (
            '{"services": {"auth-service": {"status": "pushed", "tag": "a b"}}}',
            "services.auth-service: tag 'a b' is not a docker tag",
        ),
        ('{"services": {"x;y": {"status": "pushed", "tag": "t"}}}', "service 'x;y' is not allowed"),
    ],
)
def test_a_bad_build_result_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], result: str, message: str
) -> None:
    root = tree(tmp_path, OVERLAY + ENTRY)
    (tmp_path / "build.json").write_text(result)
    code, _, err = run_main(capsys, "--repo", str(root), "bump", "--from", str(tmp_path / "build.json"))
    assert code == 1
    assert message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"services": ' + "[" * 5000, "is not valid JSON"),  # json raised RecursionError
        (
            '{"services": {"a": {"status": "pushed", "tag": ' + "1" * 5000 + "}}}",
            "is not valid JSON",
        ),  # ValueError
        (
            '{"services": {"a": {"status": "pushed", "tag": "x", "image": "127.0.0.1:5000/team/b"}}}',
            "is not 127.0.0.1:5000/team/a",
        ),
        ('{"services": {"a;b": {"status": "pushed", "tag": "x"}}}', "service 'a;b' is not allowed"),
    ],
    ids=["deep", "huge-integer", "another-image", "bad-name"],
)
def test_a_refused_build_result_writes_nothing(mini: Repo, tmp_path: Path, text: str, message: str) -> None:
    result = tmp_path / "build.json"
    result.write_text(text)
    before = snapshot(mini.path)
    refused(cli(mini, "bump", "--from", str(result), "--commit"), str(result), message)
    assert snapshot(mini.path) == before


# --- a deployed tag that is newer stays ------------------------------------------------------------


def test_a_local_newer_tag_is_left_alone(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    a = world.clone("a")
    assert run_main(capsys, "--repo", str(a), "bump", f"world-state=sha-{world.c2}", "--commit")[0] == 0
    head = git(a, "rev-parse", "HEAD")
    code, out, _ = run_main(capsys, "--repo", str(a), "bump", f"world-state=sha-{world.c1}", "--commit")
    assert code == 0
    assert out.startswith(f"world-state  skipped  sha-{world.c1[:12]}")
    assert git(a, "rev-parse", "HEAD") == head


# --- any request, any build result -----------------------------------------------------------------

SERVICES = frozenset({"a", "auth-service"})


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(st.text() | st.sampled_from(["a=", "=x", "a=x@", "a=x@sha256:", "a;b=c", "a=b=c", "a=.x", "a=-x"]))
def test_bump_requests_raise_only_buildctl_errors(arg: str) -> None:
    only_buildctl_errors(lambda: bump.parse_arg(arg, SERVICES))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=10)
    | st.sampled_from(["pushed", "skipped", "sha-1"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["services", "status", "tag", "digest", "image", "a"]) | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(st.text() | JSON_VALUES.map(json.dumps))
@example('{"services": ' + "[" * 5000)
@example('{"services": {"a": {"status": "pushed", "tag": ' + "1" * 5000 + "}}}")
def test_build_results_raise_only_buildctl_errors(text: str) -> None:
    only_buildctl_errors(lambda: bump.parse_result(text, "build.json", MAP))
