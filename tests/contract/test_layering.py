"""The package's layering, read from its imports: each heavy library in the one module that owns
it, the stages pointing one way (detect → build / deploy), and `affected` loading none of the
heavy libraries at all (checked in a fresh interpreter, where nothing else imported them)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.git import CHECKOUT

PACKAGE = CHECKOUT / "buildctl"
# library → the only module(s) that may import it
OWNERS = {
    "click": None,  # anywhere under buildctl/cli/
    "docker": {"buildctl/build/engine.py"},
    "git": {"buildctl/deploy/writeback.py"},
    "ruamel": {"buildctl/yamlfile.py"},
    "networkx": {"buildctl/detect/graph.py"},
}


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(CHECKOUT).as_posix()


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_each_heavy_library_lives_in_its_own_module(library: str) -> None:
    users = {_rel(p) for p in MODULES if any(m == library or m.startswith(f"{library}.") for m in imports(p))}
    if library == "click":
        assert users and all(u.startswith("buildctl/cli/") for u in users), sorted(users)
    else:
        assert users == OWNERS[library], sorted(users)


def test_detection_and_the_plan_import_no_later_stage() -> None:
    for path in [*sorted((PACKAGE / "detect").rglob("*.py")), PACKAGE / "plan.py"]:
        later = sorted(
            m for m in imports(path) if m.startswith(("buildctl.build", "buildctl.deploy", "buildctl.init"))
        )
        assert later == [], (_rel(path), later)


def test_package_init_files_are_empty() -> None:
    # Importing `buildctl.build` for a dry run must load no docker; an __init__ that imports is
    # how that quietly stops being true.
    for path in sorted(PACKAGE.rglob("__init__.py")):
        if path.parent in (PACKAGE, PACKAGE / "cli"):
            continue  # the package's version, and the command line's entry point
        assert path.read_text(encoding="utf-8").strip() == "", _rel(path)


def test_no_module_is_over_400_lines() -> None:
    long = {_rel(p): n for p in MODULES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_affected_loads_none_of_the_heavy_libraries(mini: object) -> None:
    repo = Path(str(mini.path))  # type: ignore[attr-defined]
    code = (
        "import json, sys\n"
        "from buildctl.cli import main\n"
        "try:\n"
        f"    main(['--repo', {str(repo)!r}, 'affected', '--format', 'json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        # dataclasses: making each class execs its methods' source, ~0.7 ms a class at every start
        "heavy = ('docker', 'git', 'networkx', 'ruamel', 'rich', 'urllib.request', 'dataclasses')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(CHECKOUT), "HOME": str(repo)},
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert loaded == [], loaded
