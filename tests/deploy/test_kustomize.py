"""Kustomization files: a service's image tag and digest set byte-preserving (golden files,
no-op reruns), files that cannot be edited safely, and every reader against any text."""

from __future__ import annotations

import io
import posixpath
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildctl import deployed
from buildctl.deploy import bump, kustomize
from tests.support.cli import run_main
from tests.support.kustomize import ENTRY, FIXTURES, KFILE, OVERLAY, D, T, tree
from tests.support.monorepo import DEPLOYMENTS, SERVICES
from tests.support.strategies import MAP, SCALARS, only_buildctl_errors

YAML_EXAMPLES = 200  # ruamel is slower than the other parsers

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
    code, out, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={ref}")
    assert (code, err) == (0, "")
    assert out.startswith("auth-service  updated  ")
    assert (root / KFILE).read_bytes() == (FIXTURES / f"{case}.expected.yaml").read_bytes()
    assert sorted(p.name for p in (root / KFILE).parent.iterdir()) == ["kustomization.yaml"]

    before = (root / KFILE).stat()
    code, out, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={ref}")
    assert (code, err) == (0, "")
    assert out.startswith("auth-service  unchanged  ")
    after = (root / KFILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not even rewritten


def test_a_tag_yaml_would_read_as_a_number_is_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (FIXTURES / "anchors.input.yaml").read_text()
    root = tree(tmp_path, text)
    assert run_main(capsys, "--repo", str(root), "bump", "auth-service=1.10")[0] == 0
    assert (root / KFILE).read_text() == text.replace(f"newTag: sha-{'0' * 40}", 'newTag: "1.10"')


def test_same_tag_without_a_digest_keeps_the_pinned_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, (FIXTURES / "several.expected.yaml").read_text())
    code, out, _ = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert code == 0 and "unchanged" in out
    assert (root / KFILE).read_text() == (FIXTURES / "several.expected.yaml").read_text()


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
    code, out, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {message}"), err
    assert (root / KFILE).read_text() == text


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
    code, out, err = run_main(capsys, "--repo", str(root), "bump", *args)
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


# --- every reader, against any text ---------------------------------------------------------------


YAML_TOKENS = [
    *"abi:- \n\t[]{}&*!|>'\"#%@`?,.0123",
    *("images", "newTag", "name", "newName", "!!int ", "!!binary ", "<<: ", "---\n", "- name: "),
]


YAML_ALPHABET = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)
YAML_KEYS = st.sampled_from(
    [
        *("images", "resources", "bases", "name", "newName", "newTag", "digest"),
        *("kind", "spec", "template", "containers", "image"),
    ]
) | st.text(max_size=4)


YAML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(YAML_KEYS, inner, max_size=4),
    max_leaves=15,
)


def yaml_document(data: Any) -> str:
    from ruamel.yaml import YAML

    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


def bump_through_every_reader(text: str) -> None:
    """bump.compute reads the kustomization and the resources it names through `read`."""
    files = {"deployments/a/kustomization.yaml": text, "deployments/base/kustomization.yaml": text}

    def read(path: str) -> str | None:
        return files.get(posixpath.normpath(path), text if path.endswith(".yaml") else None)

    outcome = bump.compute(MAP, [bump.Request("a", "sha-1234567", None)], read, lambda a, b: None)
    for change in outcome.changes:  # an edit must parse again: a kustomization is still one
        deployed.load(change.after, change.file)


@settings(max_examples=YAML_EXAMPLES, deadline=None)
@given(
    st.text(max_size=200)
    | YAML_ALPHABET
    | st.dictionaries(YAML_KEYS, YAML_VALUES, max_size=5).map(yaml_document)
)
@example("a: !!int abc\n")
@example("a: !!timestamp 2020-99-99\n")
@example("a: " + "[" * 500)  # deeper than ruamel recurses
@example("a: " + "1" * 5000 + "\n")
def test_kustomization_readers_raise_only_buildctl_errors(text: str) -> None:
    file = "deployments/a/kustomization.yaml"
    only_buildctl_errors(lambda: deployed.load(text, file))
    only_buildctl_errors(lambda: kustomize.current(text, file, "127.0.0.1:5000/team/a"))
    only_buildctl_errors(lambda: kustomize.resources(text, file))
    only_buildctl_errors(lambda: kustomize.containers(text, file))
    only_buildctl_errors(lambda: deployed.deployed_commit(text, file, "127.0.0.1:5000/team/a"))
    only_buildctl_errors(lambda: bump_through_every_reader(text))
