"""GitHub Actions workflows: swapping a dorny/paths-filter step for buildctl keeps each layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildctl.init.filters import find_step
from buildctl.init.workflow import edit_workflow
from tests.init.test_migrate import INSTALL, install_run
from tests.support.gha import actionlint, load_yaml


@pytest.mark.parametrize(
    "workflow",
    [
        # a dash alone on its line, CRLF line ends
        "on: push\r\njobs:\r\n  a:\r\n    runs-on: ubuntu-latest\r\n    steps:\r\n    -\r\n"
        "      uses: actions/checkout@v5\r\n    -\r\n      id: f\r\n      uses: dorny/paths-filter@v4\r\n"
        "      with:\r\n        filters: |\r\n          x:\r\n            - 'svc/a/**'\r\n"
        "    - run: echo ${{ steps.f.outputs.x }}\r\n",
        # flow-style checkout step
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - {uses: actions/checkout@v5}\n"
        "      - uses: dorny/paths-filter@v4\n        id: f\n        with:\n          filters: 'x: [svc/a/**]'\n",
        # flow-style `with:`, and a wide gap after the dash
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n"
        "        with: {ref: main}\n      -   uses: dorny/paths-filter@v4\n          id: f\n          with:\n"
        "            filters: 'x: [svc/a/**]'\n",
    ],
    ids=["lone-dash-crlf", "flow-checkout", "flow-with"],
)
def test_workflow_edit_keeps_each_layout(workflow: str, tmp_path: Path) -> None:
    step, _, _ = find_step(workflow, "wf.yaml", None, lambda _: None)
    edit = edit_workflow(workflow, step, {"x": ("a",)}, INSTALL)
    if "\r\n" in workflow:  # every line, the new ones too
        assert edit.text.count("\n") == edit.text.count("\r\n")
    steps = load_yaml(edit.text)["jobs"]["a"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert steps[1] == {
        "name": "buildctl affected",
        "id": "f",
        "run": install_run("buildctl affected --format github"),
    }
    path = tmp_path / "wf.yaml"
    path.write_bytes(edit.text.encode())
    lint = actionlint(path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
