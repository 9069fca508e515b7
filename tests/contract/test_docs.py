"""The docs cannot rot: every command they show runs, the graph picture is the graph, every
error message they explain is still one buildctl prints, and every relative link resolves.

- Each ```sh block of docs/*.md and README.md is run on a fresh scratch copy of this monorepo
  (its `buildctl ...` lines, through the console script, in order), unless the line before the
  block is `<!-- not-run: reason -->`. A block after `<!-- run-on: copy-without-map -->` runs on
  a copy whose workspace-map.toml is gone, as a new user's repository would be. A line expects
  exit code 0 unless it says `# exit code N`.
- The scratch copy has `origin/main` at the copied tree and one commit on top that edits
  shared/physics, so `--base origin/main` and `HEAD~1` compare something real.
- docs/detection.md's ```mermaid block must equal `buildctl graph --format mermaid`.
- Each `### \\`message\\`` heading of docs/troubleshooting.md must match a string in buildctl/.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import shell
from tests.support.git import CHECKOUT
from tests.support.monorepo import copy_monorepo

DOCS = [*sorted((CHECKOUT / "docs").glob("*.md")), CHECKOUT / "README.md"]
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>[\w-]+):\s*(?P<value>.*?)\s*-->\s*$")
BUILDCTL_LINE = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*buildctl(?:\s|$)")
EXIT = re.compile(r"#.*\bexit code (\d+)\b")


@dataclass(frozen=True)
class Block:
    file: Path
    line: int  # of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None  # the HTML comment on the line before the fence

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(CHECKOUT)}:{self.line}"

    def commands(self) -> list[tuple[str, int]]:
        """The `buildctl` lines (continuations joined) and the exit code each expects."""
        out = []
        for line in self.text.replace("\\\n", " ").splitlines():
            stripped = line.strip()
            if BUILDCTL_LINE.match(stripped):
                m = EXIT.search(stripped)
                out.append((stripped, int(m.group(1)) if m else 0))
        return out


def blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, indent = i, m.group("indent")
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(prev)
        out.append(
            Block(
                path,
                start + 1,
                m.group("lang"),
                "\n".join(body) + "\n",
                (marker.group("kind"), marker.group("value")) if marker else None,
            )
        )
        i += 1
    return out


SH_BLOCKS = [b for path in DOCS for b in blocks(path) if b.lang == "sh"]


# --- the scratch copies -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("docs")
    repo = copy_monorepo(root / "with-map")
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    repo.append("shared/physics/src/lib.rs", "\n// a physics tweak\n")
    repo.commit("physics tweak")
    bare = copy_monorepo(root / "without-map")
    bare.remove("workspace-map.toml")
    bare.commit("no map yet")
    bare.git("update-ref", "refs/remotes/origin/main", "HEAD")
    bare.append("shared/physics/src/lib.rs", "\n// a physics tweak\n")
    bare.commit("physics tweak")
    return {"with-map": repo.path, "copy-without-map": bare.path}


def scratch(templates: dict[str, Path], kind: str, dest: Path) -> Path:
    shutil.copytree(templates[kind], dest, symlinks=True)
    return dest


# --- every command in the docs runs --------------------------------------------------------------


def test_the_docs_show_commands() -> None:
    run_blocks = [b for b in SH_BLOCKS if not b.marker or b.marker[0] != "not-run"]
    assert len(run_blocks) >= 8 and sum(len(b.commands()) for b in run_blocks) >= 25
    not_run = [b for b in SH_BLOCKS if b.marker and b.marker[0] == "not-run"]
    assert len(not_run) <= 8, "keep not-run blocks rare: " + ", ".join(b.id for b in not_run)


def test_not_run_blocks_say_why() -> None:
    for block in SH_BLOCKS:
        if block.marker and block.marker[0] == "not-run":
            assert block.marker[1], f"{block.id}: say why the block is not run"


# Blocks marked not-run (few, each with its reason; checked above) are not collected at all:
# the suite never skips.
RUN_BLOCKS = [b for b in SH_BLOCKS if not (b.marker and b.marker[0] == "not-run")]


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: b.id)
def test_sh_block_runs(block: Block, templates: dict[str, Path], tmp_path: Path) -> None:
    kind = "with-map"
    if block.marker is not None:
        assert block.marker == ("run-on", "copy-without-map"), f"{block.id}: unknown marker {block.marker}"
        kind = "copy-without-map"
    commands = block.commands()  # other lines (pip, git, cd) are the reader's, not the test's
    repo = scratch(templates, kind, tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    for command, expected in commands:
        assert not re.search(r"<[a-z][\w-]*>", command.split("#")[0]), (
            f"{block.id}: `{command}` has a placeholder; the test cannot run it"
        )
        proc = shell(command, repo, home)
        assert proc.returncode == expected, (
            f"{block.id}: `{command}` exited {proc.returncode}, not {expected}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )


# --- the graph picture ---------------------------------------------------------------------------


def test_detection_doc_shows_the_current_graph(templates: dict[str, Path], tmp_path: Path) -> None:
    doc = CHECKOUT / "docs" / "detection.md"
    found = blocks(doc)
    index = next(
        i
        for i, b in enumerate(found)
        if b.lang == "sh" and b.text.strip() == "buildctl graph --format mermaid"
    )
    picture = found[index + 1]
    assert picture.lang == "mermaid", "the mermaid block must follow the command that makes it"
    repo = scratch(templates, "with-map", tmp_path / "repo")
    proc = shell("buildctl graph --format mermaid", repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert picture.text == proc.stdout, (
        "docs/detection.md's graph is out of date: paste the output of `buildctl graph --format mermaid`"
    )


# --- troubleshooting: every message is still printed ---------------------------------------------


def _parts(node: ast.expr) -> list[str | None] | None:
    """A string expression as literal parts and holes (None), or None if it is not a string."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        out: list[str | None] = []
        for v in node.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                out.append(v.value)
            else:
                out.append(None)
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left), _parts(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else [None]) + (right if right is not None else [None])
    return None


def code_templates() -> list[tuple[re.Pattern[str], int]]:
    """Every string in buildctl/ as a regex (each {expression} matches anything), with the
    number of literal characters it has."""
    patterns = []
    for path in sorted((CHECKOUT / "buildctl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.expr):
                continue
            parts = _parts(node)
            if not parts:
                continue
            literal = "".join(p for p in parts if p is not None)
            if len(literal) < 10:
                continue
            regex = "".join(re.escape(p) if p is not None else ".*?" for p in parts)
            patterns.append((re.compile(regex, re.DOTALL), len(literal)))
    return patterns


def troubleshooting_messages() -> list[tuple[int, str]]:
    text = (CHECKOUT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("### "):
            m = re.fullmatch(r"### `(.+)`", line)
            assert m, f"troubleshooting.md:{number}: headings are `the exact message`, not {line!r}"
            out.append((number, m.group(1)))
    return out


def test_troubleshooting_messages_are_printed_by_buildctl() -> None:
    messages = troubleshooting_messages()
    assert len(messages) >= 20
    templates = code_templates()
    for number, message in messages:
        # a template that is mostly holes matches anything: it must carry most of the message
        literal = max((n for t, n in templates if t.fullmatch(message)), default=0)
        assert literal >= 0.5 * len(re.sub(r"<[^<>]*>", "", message)), (
            f"troubleshooting.md:{number}: buildctl no longer prints {message!r}; "
            "update the heading to the message the code has now"
        )


def test_troubleshooting_checker_rejects_a_made_up_message() -> None:
    templates = code_templates()
    assert not any(t.fullmatch("the registry is on fire, try again later") for t, _ in templates)
    assert any(t.fullmatch("unknown service 'auth' (did you mean 'auth-service'?)") for t, _ in templates)


# --- links, and the block runner itself ----------------------------------------------------------


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    for target in re.findall(r"\]\((?!https?://|#|mailto:)([^)#\s]+)", path.read_text(encoding="utf-8")):
        assert (path.parent / target).exists(), f"{path.name}: link to {target}, which does not exist"


def test_the_runner_sees_a_failing_command(templates: dict[str, Path], tmp_path: Path) -> None:
    repo = scratch(templates, "with-map", tmp_path / "repo")
    assert shell("buildctl affected --base no-such-revision", repo, tmp_path).returncode == 1
    assert Block(
        CHECKOUT / "README.md", 1, "sh", "buildctl check --strict  # exit code 1\n", None
    ).commands() == [("buildctl check --strict  # exit code 1", 1)]
