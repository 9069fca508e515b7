"""A static security scan of the manifests as Argo CD applies them, with checkov's Kubernetes checks
(pinned in scripts/setup.sh, installed into .venv-scan/). Any failed check fails the test unless
tests/monorepo/checkov-suppressions.yaml names it with a reason; a suppression nothing needs any
more fails it too.

One checkov run (a few seconds) serves every test here. It also scans a deliberately insecure pod
beside the manifests, so that a scan which silently checks nothing cannot pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.monorepo.manifests import CHECKOUT, load_yaml, of_kind, rendered_all

SUPPRESSIONS = Path(__file__).with_name("checkov-suppressions.yaml")
SETUP = CHECKOUT / "scripts" / "setup.sh"
PLACEHOLDER_TAG = re.compile(r":sha-0{40}$")
CHECK_ID = re.compile(r"^CKV2?_K8S_\d+$")
CONTROL = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "insecure", "namespace": "scan-control", "labels": {"scan-control": "insecure"}},
    "spec": {
        "hostNetwork": True,
        "containers": [{"name": "root", "image": "busybox", "securityContext": {"privileged": True}}],
    },
}
# What checkov must find in the control pod: privileged, on the host network.
CONTROL_FINDINGS = {"CKV_K8S_16", "CKV_K8S_19"}


def pinned_version() -> str:
    m = re.search(r"^CHECKOV_VERSION=(\S+)$", SETUP.read_text(encoding="utf-8"), re.MULTILINE)
    assert m, f"{SETUP}: no CHECKOV_VERSION= line"
    return m.group(1)


def checkov() -> str:
    local = CHECKOUT / ".venv-scan" / "bin" / "checkov"
    found = str(local) if local.is_file() else shutil.which("checkov")
    if found is None:
        pytest.fail(
            f"checkov is not installed: run scripts/setup.sh (it installs checkov=={pinned_version()} into "
            f".venv-scan/), or: python3 -m venv .venv-scan && .venv-scan/bin/pip install checkov=={pinned_version()}"
        )
    return found


def scan_env() -> dict[str, str]:
    # Nothing from the platform (no API key, no downloads, no update check): the same checks offline.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "CKV_", "PRISMA_", "CHECKOV_"))}
    env.update({"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"})
    return env


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("scan")
    yaml = YAML()
    for name, docs in rendered_all().items():
        with _mkdir_open(root / "rendered" / f"{name}.yaml") as fh:
            yaml.dump_all(docs, fh)
    with _mkdir_open(root / "control" / "insecure.yaml") as fh:
        yaml.dump(CONTROL, fh)
    argv = [
        checkov(),
        "--directory",
        str(root),
        "--framework",
        "kubernetes",
        "--output",
        "json",
        "--skip-download",
    ]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=scan_env(), timeout=600, check=False)
    seconds = time.monotonic() - started
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    if isinstance(report, list):
        (report,) = [r for r in report if r.get("check_type") == "kubernetes"]
    print(f"checkov {report['summary'].get('checkov_version')}: {seconds:.1f}s, {report['summary']}")
    return dict(report)


def _mkdir_open(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def findings(report: Mapping[str, Any], under: str) -> list[Mapping[str, Any]]:
    return [c for c in report["results"]["failed_checks"] if c["file_path"].startswith(f"/{under}/")]


def suppressions() -> dict[str, dict[str, str]]:
    return dict(load_yaml(SUPPRESSIONS))


def test_the_scanner_is_the_pinned_version_and_read_everything(scan: dict[str, Any]) -> None:
    summary = scan["summary"]
    assert summary["checkov_version"] == pinned_version()
    assert summary["parsing_errors"] == 0
    # checkov counts each Deployment's pod template as a Pod of its own; + 1 for the control pod
    docs = [d for docs in rendered_all().values() for d in docs]
    assert summary["resource_count"] == len(docs) + len(of_kind(docs, "Deployment")) + 1
    assert summary["passed"] >= 100


def test_the_scan_sees_an_insecure_pod(scan: dict[str, Any]) -> None:
    assert {c["check_id"] for c in findings(scan, "control")} >= CONTROL_FINDINGS


def test_no_check_fails_but_the_suppressed_ones(scan: dict[str, Any]) -> None:
    allowed = suppressions()
    unexpected = sorted(
        f"{c['check_id']} ({c['check_name']}): {c['resource']} in {c['file_path']}"
        for c in findings(scan, "rendered")
        if c["check_id"] not in allowed
    )
    assert unexpected == [], "fix the manifests, or name the check in checkov-suppressions.yaml with a reason"


def test_each_suppression_has_a_reason_and_is_still_needed(scan: dict[str, Any]) -> None:
    failing = {c["check_id"]: c["check_name"] for c in findings(scan, "rendered")}
    for check_id, entry in suppressions().items():
        assert CHECK_ID.match(check_id), f"{check_id}: not a checkov Kubernetes check ID"
        assert set(entry) == {"check", "reason"}, f"{check_id}: give `check` (its name) and `reason`"
        assert len(entry["reason"].split()) >= 10, f"{check_id}: say why the check does not apply"
        assert check_id in failing, f"{check_id} passes now: delete its suppression"
        assert entry["check"] == failing[check_id], f"{check_id} is {failing[check_id]!r}"


def test_only_the_placeholder_image_goes_without_a_digest() -> None:
    # What lets CKV_K8S_43 be suppressed: a real tag always comes with its digest.
    for name, docs in rendered_all().items():
        for deployment in of_kind(docs, "Deployment"):
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                image = container["image"]
                assert "@sha256:" in image or PLACEHOLDER_TAG.search(image), f"{name}: {image} has no digest"
