"""`buildctl bump` on real kustomization files: golden edits, no-op reruns, diffs, and refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from buildctl.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "kustomize"
DEPLOYMENTS = Path(__file__).parent.parent / "deployments"
KFILE = "deployments/auth-service/kustomization.yaml"
T = "sha-1a2b3c4d5e6f70819a2b3c4d5e6f70819a2b3c4d"
D = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MAP = """[workspace]
registry = "ghcr.io/example-org/game-platform"
[services.auth-service]
[services.world-state]
"""
SERVICES = sorted(p.parent.name for p in DEPLOYMENTS.glob("*/kustomization.yaml") if p.parent.name != "base")
OVERLAY = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def tree(tmp_path: Path, overlay: str | bytes, world_state: str | None = None) -> Path:
    """A plain directory (no git needed to edit files): the map, the fixture base, the overlay(s)."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "base", root / "deployments" / "base")
    (root / "deployments" / "auth-service").mkdir()
    data = overlay.encode() if isinstance(overlay, str) else overlay
    (root / KFILE).write_bytes(data)
    if world_state is not None:
        (root / "deployments" / "world-state").mkdir()
        (root / "deployments" / "world-state" / "kustomization.yaml").write_text(world_state)
    (root / "workspace-map.toml").write_text(MAP)
    return root


GOLDEN = [
    ("comments", f"{T}@{D}"),  # comments before, after and on the edited lines stay
    ("anchors", T),  # anchors/aliases elsewhere in the file are fine
    ("several", f"{T}@{D}"),  # only the service's entry among several changes
    ("quoted", f"{T}@{D}"),  # double and single quotes are kept
    ("indent4", f"{T}@{D}"),  # 4-space mappings, dash + 3 spaces; newTag was missing
    ("indentless", T),  # indentless sequences; a stale digest goes with the old tag
    ("flow", f"{T}@{D}"),  # a {flow} entry stays flow
    ("no-images", f"{T}@{D}"),  # no images: at all -> added, laid out like resources:
    ("empty-images", T),  # `images:` with nothing under it
    ("crlf", T),  # CRLF line endings
    ("other-image", T),  # images: for another image only -> a second entry
]


@pytest.mark.parametrize(("case", "ref"), GOLDEN, ids=[c for c, _ in GOLDEN])
def test_bump_gives_exactly_the_expected_file_and_a_rerun_is_a_noop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, ref: str
) -> None:
    root = tree(tmp_path, (FIXTURES / f"{case}.input.yaml").read_bytes())
    code, out, err = run(capsys, "--repo", str(root), "bump", f"auth-service={ref}")
    assert (code, err) == (0, "")
    assert out.startswith("auth-service  updated  ")
    assert (root / KFILE).read_bytes() == (FIXTURES / f"{case}.expected.yaml").read_bytes()
    assert sorted(p.name for p in (root / KFILE).parent.iterdir()) == ["kustomization.yaml"]

    before = (root / KFILE).stat()
    code, out, err = run(capsys, "--repo", str(root), "bump", f"auth-service={ref}")
    assert (code, err) == (0, "")
    assert out.startswith("auth-service  unchanged  ")
    after = (root / KFILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not even rewritten


def test_dry_run_prints_a_unified_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, (FIXTURES / "comments.input.yaml").read_text())
    code, out, err = run(capsys, "--repo", str(root), "bump", f"auth-service={T}@{D}", "--dry-run")
    assert code == 0
    assert out == (
        f"--- a/{KFILE}\n"
        f"+++ b/{KFILE}\n"
        "@@ -20,5 +20,6 @@\n"
        "   - name: service-image   # placeholder in the base\n"
        "     newName: ghcr.io/example-org/game-platform/auth-service\n"
        "     # pinned by CI\n"
        "-    newTag: sha-0000000000000000000000000000000000000000  # do not edit by hand\n"
        f"+    newTag: {T}  # do not edit by hand\n"
        f"+    digest: {D}\n"
        " # trailing comment\n"
    )
    assert "auth-service  updated" in err
    assert (root / KFILE).read_text() == (FIXTURES / "comments.input.yaml").read_text()


def test_json_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, (FIXTURES / "several.input.yaml").read_text())
    code, out, _ = run(capsys, "--repo", str(root), "bump", f"auth-service={T}", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "services": {
            "auth-service": {
                "status": "updated",
                "file": KFILE,
                "from": f"sha-{'0' * 40}@sha256:{'0' * 64}",
                "to": T,
                "note": "",
            }
        },
        "commit": None,
        "pushed": False,
    }


def test_a_tag_yaml_would_read_as_a_number_is_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (FIXTURES / "anchors.input.yaml").read_text()
    root = tree(tmp_path, text)
    assert run(capsys, "--repo", str(root), "bump", "auth-service=1.10")[0] == 0
    assert (root / KFILE).read_text() == text.replace(f"newTag: sha-{'0' * 40}", 'newTag: "1.10"')


def test_same_tag_without_a_digest_keeps_the_pinned_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, (FIXTURES / "several.expected.yaml").read_text())
    code, out, _ = run(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert code == 0 and "unchanged" in out
    assert (root / KFILE).read_text() == (FIXTURES / "several.expected.yaml").read_text()


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
    assert run(capsys, "--repo", str(root), "bump", f"auth-service={T}")[0] == 0
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
    code, out, err = run(capsys, "--repo", str(root), "bump", f"auth-service={T}")
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
    code, _, err = run(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert code == 1
    assert "no container image was found in its resources" in err


ENTRY = "images:\n  - name: service-image\n    newName: ghcr.io/example-org/game-platform/auth-service\n"
BROKEN = [
    ("multi-doc", OVERLAY + ENTRY + "---\nkind: Other\n", f"{KFILE}: holds 2 YAML documents"),
    (
        "alias",
        "tag: &tag sha-1\n" + OVERLAY + ENTRY + "    newTag: *tag\n",
        f"{KFILE}:9: the images entries use the YAML anchor/alias 'tag'",
    ),
    (
        "anchor-used-elsewhere",
        OVERLAY + ENTRY + "    newTag: &t sha-1\nlabels:\n  - pairs: {tag: *t}\n",
        f"{KFILE}:8: the images entries use the YAML anchor/alias 't'",
    ),
    (
        "merge-key",
        "defaults: &d {newTag: sha-1}\n" + OVERLAY + ENTRY + "    <<: *d\n",
        f"{KFILE}:9: an images entry uses a '<<' merge key",
    ),
    ("not-a-list", OVERLAY + "images: {name: x}\n", f"{KFILE}:5: 'images' must be a list of mappings"),
    ("bad-yaml", OVERLAY + "images: [\n", f"{KFILE}:6: is not valid YAML"),
]


@pytest.mark.parametrize(("case", "text", "message"), BROKEN, ids=[c for c, _, _ in BROKEN])
def test_files_bump_cannot_edit_safely_are_errors_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str, message: str
) -> None:
    root = tree(tmp_path, text)
    code, out, err = run(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {message}"), err
    assert (root / KFILE).read_text() == text


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
    code, out, err = run(capsys, "--repo", str(root), "bump", arg)
    assert (code, out) == (1, "")
    assert message in err
    assert (root / KFILE).read_text() == (FIXTURES / "comments.input.yaml").read_text()


def test_nothing_is_written_when_any_service_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (FIXTURES / "comments.input.yaml").read_text()
    root = tree(tmp_path, good, world_state=OVERLAY + "---\n{}\n")
    code, _, err = run(capsys, "--repo", str(root), "bump", f"auth-service={T}", f"world-state={T}")
    assert code == 1
    assert "deployments/world-state/kustomization.yaml: holds 2 YAML documents" in err
    assert (root / KFILE).read_text() == good


def test_a_missing_kustomization_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, OVERLAY)
    code, _, err = run(capsys, "--repo", str(root), "bump", f"world-state={T}")
    assert code == 1
    assert "error: deployments/world-state/kustomization.yaml: world-state has no kustomization" in err


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
    code, out, _ = run(capsys, "--repo", str(root), "bump", "--from", str(result))
    assert code == 0
    assert out.startswith("auth-service  updated") and "world-state" not in out
    assert (root / KFILE).read_bytes() == (FIXTURES / "comments.expected.yaml").read_bytes()
    assert (root / "deployments/world-state/kustomization.yaml").read_text() == OVERLAY


def test_several_build_results_one_per_matrix_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, (FIXTURES / "comments.input.yaml").read_text(), world_state=OVERLAY)
    first, second = tmp_path / "auth.json", tmp_path / "world.json"
    first.write_text(json.dumps({"services": {"auth-service": {"status": "pushed", "tag": T, "digest": D}}}))
    second.write_text(json.dumps({"services": {"world-state": {"status": "skipped", "tag": T, "digest": D}}}))
    code, out, _ = run(capsys, "--repo", str(root), "bump", "--from", str(first), "--from", str(second))
    assert code == 0
    assert (root / KFILE).read_bytes() == (FIXTURES / "comments.expected.yaml").read_bytes()
    assert f"newTag: {T}" in (root / "deployments/world-state/kustomization.yaml").read_text()
    assert "world-state  updated" in out


def test_a_build_result_that_pushed_nothing_bumps_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, OVERLAY + ENTRY)
    result = tmp_path / "build.json"
    result.write_text('{"head": "x", "services": {"auth-service": {"status": "failed", "tag": null}}}')
    code, out, err = run(capsys, "--repo", str(root), "bump", "--from", str(result))
    assert (code, out) == (0, "")
    assert err == f"nothing to bump: {result} pushed no service\n"
    assert (root / KFILE).read_text() == OVERLAY + ENTRY


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
    code, _, err = run(capsys, "--repo", str(root), "bump", "--from", str(tmp_path / "build.json"))
    assert code == 1
    assert message in err


def test_kustomize_renders_every_bumped_overlay_with_the_new_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(SERVICES) == 9
    root = tmp_path / "mono"
    shutil.copytree(DEPLOYMENTS, root / "deployments")
    (root / "workspace-map.toml").write_text(
        '[workspace]\nregistry = "ghcr.io/example-org/game-platform"\n'
        + "".join(f"[services.{s}]\n" for s in SERVICES)
    )
    refs = {s: (f"sha-{n:x}" + "0" * 39, f"sha256:{n:x}" + "f" * 63) for n, s in enumerate(SERVICES, start=1)}
    args = [f"{s}={tag}@{digest}" for s, (tag, digest) in refs.items()]
    code, out, err = run(capsys, "--repo", str(root), "bump", *args)
    assert (code, err) == (0, ""), err
    assert out.count("  updated  ") == 9
    for service, (tag, digest) in refs.items():
        rendered = subprocess.run(
            ["kubectl", "kustomize", str(root / "deployments" / service)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        images = [line.strip() for line in rendered.splitlines() if line.strip().startswith("image:")]
        assert images == [f"image: ghcr.io/example-org/game-platform/{service}:{tag}@{digest}"]
