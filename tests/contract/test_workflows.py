"""The workflows and the CI requirements as contracts.

The three linters run on the real files (a missing linter fails, it is never skipped); the
rest are the rules the linters do not hold us to, read from the YAML; and the workflow's own
merge step is run with bash, as the runner runs it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from tests.support.cli import run
from tests.support.gha import load, run_step
from tests.support.git import CHECKOUT, Repo

WORKFLOWS = CHECKOUT / ".github" / "workflows"
ACTION = CHECKOUT / "action.yml"
LINT = CHECKOUT / "scripts" / "lint.sh"
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\b")


def workflow_files() -> list[Path]:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert files, f"no workflows in {WORKFLOWS}"
    return files


def yaml_files() -> list[Path]:
    return [*workflow_files(), ACTION]


def all_steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(job id or "action", step) for every step of a workflow or of the composite action."""
    doc = load(path)
    if path == ACTION:
        return [("action", step) for step in doc["runs"]["steps"]]
    return [(job_id, step) for job_id, job in doc["jobs"].items() for step in job.get("steps", [])]


# --- the linters, on the real files -------------------------------------------------------------


@pytest.mark.parametrize("tool", ["actionlint", "zizmor", "hadolint"])
def test_linter_passes(tool: str) -> None:
    proc = subprocess.run(["bash", str(LINT), tool], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"scripts/lint.sh {tool} failed:\n{proc.stdout}\n{proc.stderr}"


# --- supply chain ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    uses_lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert uses_lines
    for line in uses_lines:
        ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        if ref.startswith("./"):
            continue  # this repository, at the commit being run
        assert SHA_PIN.match(ref), f"{path.name}: not pinned to a full commit sha: {line.strip()}"
        assert VERSION_COMMENT.search(line), f"{path.name}: no `# vX.Y.Z` after the sha: {line.strip()}"


def test_one_sha_per_action_everywhere() -> None:
    seen: dict[str, set[str]] = {}
    for path in yaml_files():
        for _, step in all_steps(path):
            uses = step.get("uses", "")
            if "@" in uses:
                name, sha = uses.split("@")
                seen.setdefault(name, set()).add(sha)
    assert seen
    assert {name: shas for name, shas in seen.items() if len(shas) > 1} == {}


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.name)
def test_no_expression_inside_a_script(path: Path) -> None:
    """`${{ }}` in `run:` is pasted into the script before bash sees it; values go through env."""
    for job, step in all_steps(path):
        if "run" in step:
            assert "${{" not in step["run"], f"{path.name} {job}: {step.get('name', step['run'][:40])!r}"


def test_ci_requirements_are_hash_pinned_and_match_pyproject() -> None:
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    wanted = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    listed = [
        Requirement(line.split("#", 1)[0])
        for line in (CHECKOUT / "requirements" / "ci.in").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    by_name = {r.name.lower(): r for r in listed}
    for name, req in wanted.items():
        assert name in by_name, f"requirements/ci.in lacks {req}"
        assert by_name[name].specifier == req.specifier, f"ci.in has {by_name[name]}, pyproject {req}"

    text = (CHECKOUT / "requirements" / "ci.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.MULTILINE))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)
    for block in blocks[1:]:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
    normal = {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in pins.items()}
    for name, req in wanted.items():
        version = normal.get(re.sub(r"[-_.]+", "-", name))
        assert version is not None, f"requirements/ci.txt does not pin {name}: recompile it (see ci.in)"
        assert req.specifier.contains(version), f"ci.txt pins {name}=={version}, pyproject wants {req}"


# --- permissions, concurrency, triggers -----------------------------------------------------------


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_least_privilege_and_concurrency(path: Path) -> None:
    doc = load(path)
    assert doc.get("permissions") in ({}, {"contents": "read"}), "top-level permissions must be {} or read"
    assert doc.get("concurrency", {}).get("group"), "a concurrency group"
    for job_id, job in doc["jobs"].items():
        assert "permissions" in job, f"job {job_id} sets no permissions"
        assert job.get("timeout-minutes"), f"job {job_id} sets no timeout"
        perms = job["permissions"] or {}
        writes = {scope for scope, level in perms.items() if level == "write"}
        assert writes <= {"packages", "contents"}, f"{job_id} writes {writes}"
        if writes and "pull_request" in doc["on"]:
            # Only runs that are not pull requests may write.
            assert "github.event_name != 'pull_request'" in str(job.get("if", "")), job_id


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_checkout_keeps_no_credentials_unless_the_job_pushes(path: Path) -> None:
    doc = load(path)
    for job_id, job in doc["jobs"].items():
        pushes = (job.get("permissions") or {}).get("contents") == "write"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                persist = (step.get("with") or {}).get("persist-credentials")
                assert persist is pushes, f"{job_id}: persist-credentials should be {pushes}"


def test_build_deploy_shape() -> None:
    doc = load(WORKFLOWS / "build-deploy.yaml")
    on = doc["on"]
    assert on["push"]["branches"] == ["main"] and "pull_request" in on and "workflow_dispatch" in on
    assert on["schedule"], "the weekly backstop (a schedule run builds every service)"
    assert doc["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    jobs = doc["jobs"]

    detect = jobs["detect"]
    assert set(detect["outputs"]) >= {"build", "deploy", "matrix", "any"}
    step = next(s for s in detect["steps"] if s.get("id") == "affected")
    assert (
        step["uses"] == "./" and step["with"]["command"] == "affected" and step["with"]["format"] == "github"
    )
    checkout = detect["steps"][0]["with"]
    assert checkout["fetch-depth"] == 0

    # One cook for the fan-out: pushes, schedules and dispatches warm every platform's cook once,
    # before the matrix, which waits for it but runs whatever it did.
    cook = jobs["cook"]
    assert cook["needs"] == "detect" and "github.event_name != 'pull_request'" in cook["if"]
    assert cook["permissions"] == {"contents": "read", "packages": "write"}
    (warm,) = [s for s in cook["steps"] if s.get("uses") == "./"]
    assert warm["with"]["command"] == "warm"

    for job_id, pushes in (("build", False), ("build-push", True)):
        job = jobs[job_id]
        assert "needs.detect.outputs.build != '[]'" in job["if"]
        assert job["strategy"]["matrix"] == "${{ fromJSON(needs.detect.outputs.matrix) }}"
        assert job["strategy"]["fail-fast"] is False
        run = next(s for s in job["steps"] if s.get("uses") == "./")["with"]
        assert run["command"] == "build" and run["format"] == "json"
        assert "--service ${{ matrix.service }}" in run["args"]
        assert ("--push" in run["args"]) is pushes
        # Pull requests read the (private) cook with the token, and push nothing.
        assert job["permissions"]["packages"] == ("write" if pushes else "read")
        assert run["registry-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert jobs["build"]["needs"] == "detect"
    assert "github.event_name == 'pull_request'" in jobs["build"]["if"]
    assert jobs["build-push"]["needs"] == ["detect", "cook"]
    assert (
        "!cancelled()" in jobs["build-push"]["if"]
        and "needs.detect.result == 'success'" in jobs["build-push"]["if"]
    )
    uploads = [
        s for s in jobs["build-push"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 1 and uploads[0]["with"]["name"] == "build-result-${{ matrix.service }}"

    update = jobs["update-manifests"]
    assert "strategy" not in update, "the bump runs once, for every service"
    assert set(update["needs"]) == {"detect", "build-push"}
    assert "github.event_name != 'pull_request'" in update["if"]
    # Whatever the matrix's result (a timed-out job makes it `cancelled`): only a cancelled run
    # or a failed detect skips the bump.
    assert "!cancelled()" in update["if"] and "needs.detect.result == 'success'" in update["if"]
    assert "build-push.result" not in update["if"]
    assert update["permissions"] == {"contents": "write"}
    app, checkout = update["steps"][0], update["steps"][1]
    assert (
        app["uses"].startswith("actions/create-github-app-token@")
        and app["if"] == "vars.BUMP_APP_CLIENT_ID != ''"
    )
    assert app["with"]["permission-contents"] == "write"
    assert checkout["with"]["token"] == "${{ steps.app-token.outputs.token || github.token }}"
    bumps = [s for s in update["steps"] if (s.get("with") or {}).get("command") == "bump"]
    assert len(bumps) == 1
    assert bumps[0]["with"]["args"] == "--from ${{ runner.temp }}/build-results.json --commit --push"

    # A manual run only from the default branch; schedules and dispatches queue apart from pushes.
    assert "github.event.repository.default_branch" in detect["if"]
    group = doc["concurrency"]["group"]
    assert "'push'" in group and "'all'" in group and "github.ref" in group


def test_cache_warm_shape() -> None:
    doc = load(WORKFLOWS / "cache-warm.yaml")
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"]
    # No push trigger: build-deploy's cook job warms before its builds; a push run here raced it.
    assert "push" not in doc["on"]
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    (warm,) = [s for s in job["steps"] if s.get("uses") == "./"]
    assert warm["with"]["command"] == "warm"


# --- the update-manifests job's merge step, run the way the runner runs it --------------------------


def test_merged_build_results_feed_one_bump(mini: Repo, tmp_path: Path) -> None:
    """update-manifests: the per-service results of the matrix become one `bump --from`."""
    temp = tmp_path / "runner-temp"
    head = mini.head()
    digest = "sha256:" + "ab" * 32
    results = {
        "build-result-a/buildctl-build.1": {
            "head": head,
            "services": {
                "a": {
                    "status": "pushed",
                    "image": "127.0.0.1:5000/team/a",
                    "tag": f"sha-{head}",
                    "digest": digest,
                }
            },
        },
        "build-result-b/buildctl-build.2": {
            "head": head,
            "services": {"b": {"status": "failed", "image": "127.0.0.1:5000/team/b", "tag": f"sha-{head}"}},
        },
        "build-result-c/buildctl-build.3": None,  # the build crashed before printing its result
    }
    for rel, data in results.items():
        path = temp / "build-results" / rel
        path.parent.mkdir(parents=True)
        path.write_text("" if data is None else json.dumps(data))
    job = load(WORKFLOWS / "build-deploy.yaml")["jobs"]["update-manifests"]
    (merge,) = [s["run"] for s in job["steps"] if s.get("name") == "Merge the build results"]
    proc = run_step(merge, tmp_path, temp, {})
    assert proc.returncode == 0, proc.stderr
    merged = temp / "build-results.json"
    assert set(json.loads(merged.read_text())["services"]) == {"a", "b"}

    bumped = run(["--repo", str(mini.path), "bump", "--from", str(merged), "--dry-run"])
    assert bumped.code == 0, bumped.stderr
    assert f"+  newTag: sha-{head}" in bumped.stdout and "deployments/a/kustomization.yaml" in bumped.stdout
    assert "deployments/b/" not in bumped.stdout


def test_merge_step_with_no_results(tmp_path: Path) -> None:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    job = load(WORKFLOWS / "build-deploy.yaml")["jobs"]["update-manifests"]
    (merge,) = [s["run"] for s in job["steps"] if s.get("name") == "Merge the build results"]
    proc = run_step(merge, tmp_path, temp, {})
    assert proc.returncode == 0, proc.stderr
    assert json.loads((temp / "build-results.json").read_text()) == {"services": {}}
