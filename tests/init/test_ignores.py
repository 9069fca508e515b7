"""Which paths cannot change an image: `.dockerignore`, read with Docker's rules."""

from __future__ import annotations

import pytest

from buildctl.init.ignores import DockerIgnore


@pytest.mark.parametrize(
    ("rules", "path", "excluded"),
    [
        ("*\n!services/\n**/target/\n", "services/a/src/main.rs", False),
        ("*\n!services/\n**/target/\n", "services/a/target/x", True),
        ("*\n!services/\n", "tools/x.py", True),
        ("*\n!Cargo.toml\n", "Cargo.toml", False),
        ("docs\n*.md\n# comment\n", "docs/a/b.txt", True),
        ("docs\n*.md\n", "README.md", True),
        ("docs\n*.md\n", "src/README.md", False),  # `*` stays in one directory
        ("/build\n!build/keep\n", "build/keep", False),
    ],
)
def test_dockerignore_rules(rules: str, path: str, excluded: bool) -> None:
    assert DockerIgnore.parse(rules).excluded(path) is excluded
