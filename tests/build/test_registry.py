"""The registry's credentials: from the environment or docker's credential store, never from an
argument, and GITHUB_TOKEN for GHCR only."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from buildctl.build import registry
from tests.support.secret_scan import FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD, FAKE_REGISTRY_USER


def test_credentials_come_from_the_environment(tmp_path: Path) -> None:
    env = {"BUILDCTL_REGISTRY_USER": FAKE_REGISTRY_USER, "BUILDCTL_REGISTRY_PASSWORD": FAKE_REGISTRY_PASSWORD}
    creds = registry.credentials("127.0.0.1:5000", env)
    assert creds is not None and (creds.username, creds.password) == (
        FAKE_REGISTRY_USER,
        FAKE_REGISTRY_PASSWORD,
    )
    assert FAKE_REGISTRY_PASSWORD not in repr(creds) and FAKE_REGISTRY_PASSWORD not in creds.source
    ghcr = registry.credentials("ghcr.io", {"GITHUB_TOKEN": FAKE_GITHUB_TOKEN, "HOME": str(tmp_path)})
    assert ghcr is not None and ghcr.password == FAKE_GITHUB_TOKEN and ghcr.source == "GITHUB_TOKEN"
    # GITHUB_TOKEN is for GHCR only: it is never sent to another registry.
    assert (
        registry.credentials("127.0.0.1:5000", {"GITHUB_TOKEN": FAKE_GITHUB_TOKEN, "HOME": str(tmp_path)})
        is None
    )


def test_credentials_come_from_dockers_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`auths` in config.json, and a real credential helper program on PATH."""
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{FAKE_REGISTRY_USER}:{FAKE_REGISTRY_PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": auth}}}))
    creds = registry.credentials("127.0.0.1:5000", {"DOCKER_CONFIG": str(config)})
    assert creds is not None and creds.password == FAKE_REGISTRY_PASSWORD
    assert creds.source == f"{config}/config.json"

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-buildctltest"
    helper.write_text(
        "#!/bin/sh\nread host\n"
        f'printf \'{{"ServerURL": "%s", "Username": "{FAKE_REGISTRY_USER}", "Secret": "{FAKE_GITHUB_TOKEN}"}}\' "$host"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (config / "config.json").write_text(json.dumps({"credHelpers": {"ghcr.io": "buildctltest"}}))
    creds = registry.credentials("ghcr.io", {"DOCKER_CONFIG": str(config)})
    assert creds is not None and creds.password == FAKE_GITHUB_TOKEN
    assert creds.source == "docker credential helper 'buildctltest'"
