"""`buildctl bump` as a command: the dry run's diff, the JSON result, one bump from several
build results, and a build result that pushed nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_main
from tests.support.kustomize import ENTRY, FIXTURES, KFILE, OVERLAY, D, T, tree


def test_dry_run_prints_a_unified_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path, (FIXTURES / "comments.input.yaml").read_text())
    code, out, err = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}@{D}", "--dry-run")
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
    code, out, _ = run_main(capsys, "--repo", str(root), "bump", f"auth-service={T}", "--format", "json")
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


def test_several_build_results_one_per_matrix_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(tmp_path, (FIXTURES / "comments.input.yaml").read_text(), world_state=OVERLAY)
    first, second = tmp_path / "auth.json", tmp_path / "world.json"
    first.write_text(json.dumps({"services": {"auth-service": {"status": "pushed", "tag": T, "digest": D}}}))
    second.write_text(json.dumps({"services": {"world-state": {"status": "skipped", "tag": T, "digest": D}}}))
    code, out, _ = run_main(capsys, "--repo", str(root), "bump", "--from", str(first), "--from", str(second))
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
    code, out, err = run_main(capsys, "--repo", str(root), "bump", "--from", str(result))
    assert (code, out) == (0, "")
    assert err == f"nothing to bump: {result} pushed no service\n"
    assert (root / KFILE).read_text() == OVERLAY + ENTRY
