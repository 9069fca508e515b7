"""The suite's own secret scan (tests/support/secret_scan.py) catches a leak and fails the session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.git import CHECKOUT
from tests.support.secret_scan import TEST_SECRET_TOKENS


def test_the_scan_catches_a_leak_and_fails_the_session(tmp_path: Path) -> None:
    """The plugin, in a session of its own: a printed token and one read through
    capsys fail it, shown masked; a clean session passes."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.secret_scan"]\n')
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            """
            import sys
            from tests.support.secret_scan import FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD

            def test_prints():
                print("pushing with", FAKE_GITHUB_TOKEN)

            def test_read_by_capsys(capsys):
                print("::add-mask::" + FAKE_REGISTRY_PASSWORD)  # exempt: the runner consumes it
                print("login with", FAKE_REGISTRY_PASSWORD, file=sys.stderr)
                capsys.readouterr()

            def test_clean():
                print("nothing to see")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 1, proc.stdout
    assert "3 passed" in proc.stdout and "token scan" in proc.stdout and "2 leak(s)" in proc.stdout
    assert "test_leaky.py::test_prints: a test token in Captured stdout call" in proc.stdout
    assert "test_read_by_capsys (call): a test token in stderr read by the test" in proc.stdout
    assert "pushing with <TEST TOKEN>" in proc.stdout
    assert not any(token in proc.stdout + proc.stderr for token in TEST_SECRET_TOKENS[:2])

    (tmp_path / "test_leaky.py").write_text("def test_clean():\n    print('nothing to see')\n")
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 0 and "token scan" not in proc.stdout, proc.stdout
