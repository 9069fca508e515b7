"""Bad input (issue 5, item 1): each is refused with the file, the line or key, and what to do;
the exit code is non-zero; nothing is written, pushed or left behind.

tests/test_errors.py, test_kustomize_bump.py and test_gitops.py already try many bad inputs
(their messages); this file fills the gaps: that a refused `bump` leaves the whole tree
byte-identical with no temporary file, the inputs they do not try, names that must never reach
a path or a command, file names that must never act as a GitHub Actions workflow command, and
a diff of 100,000 files.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from buildctl import ci, gha
from buildctl.build.progress import Progress
from buildctl.build.results import BuildReport
from buildctl.config import load_map
from buildctl.detect.planner import RangeOptions, analyze
from tests.helpers import GIT_ENV, Repo, Result, run

T = "sha-1a2b3c4d5e6f70819a2b3c4d5e6f70819a2b3c4d"
D = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
ACTIONS = {"GITHUB_ACTIONS": "true"}

# --- what the Actions runner takes as a workflow command --------------------------------------
# actions/runner ActionCommandManager.TryProcessCommand: ActionCommand.TryParseV2 (`::cmd::`
# after leading blanks are trimmed), else ActionCommand.TryParse (the legacy `##[cmd]`, anywhere
# in a line), for the registered commands; `::stop-commands::TOKEN` ignores every command until
# `::TOKEN::`. Lines are read from stdout and stderr alike.
REGISTERED = {
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "stop-commands",
}


def _command_name(line: str) -> tuple[str, str] | None:
    """(name, the text between the `::`s) of the command in `line`, as the runner parses it."""
    s = line.lstrip()
    if s.startswith("::"):
        end = s.find("::", 2)
        if end >= 0:
            return s[2:end].split(" ", 1)[0], s[2:end]
    start = line.find("##[")
    if start >= 0:
        close = line.find("]", start)
        if close >= 0:
            return line[start + 3 : close].split(" ", 1)[0], line[start + 3 : close]
    return None


def runner_commands(text: str) -> list[str]:
    """Every line of `text` the runner would obey."""
    obeyed: list[str] = []
    stop: str | None = None
    for line in re.split(r"\r\n|\r|\n", text):
        found = _command_name(line)
        if found is None:
            continue
        name = found[0].lower()
        if stop is not None:
            if name == stop:
                stop = None
                obeyed.append(line)
            continue
        if name in REGISTERED:
            obeyed.append(line)
            if name == "stop-commands":
                stop = line.lstrip()[2:].partition("::")[2].strip().lower()
    return obeyed


def unescape_property(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def annotation_properties(line: str) -> dict[str, str]:
    """The properties of a `::cmd k=v,k=v::data` line, unescaped the runner's way."""
    info = line.lstrip()[2:].split("::", 1)[0]
    _, _, props = info.partition(" ")
    return {k: unescape_property(v) for k, _, v in (p.partition("=") for p in props.split(",") if p) if v}


# --- trees: "nothing written" means byte-identical, no temporaries left ---------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (symlinks as their target text), .git excepted."""
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath, name)
            files[path.relative_to(root).as_posix()] = (
                os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            )
    return files


def refs(repo: Repo) -> str:
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)") + "\n" + repo.head()


def refused(res: Result, *expected: str) -> str:
    """Exit 1, nothing on stdout, no traceback, and every expected fragment in the message."""
    assert res.code == 1, (res.code, res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr and "unexpected" not in res.stderr
    for fragment in expected:
        assert fragment in res.stderr, (fragment, res.stderr)
    return res.stderr


def cli(repo: Repo, *args: str, env: dict[str, str] | None = None) -> Result:
    return run(["--repo", str(repo.path), *args], env=env)


# --- the map, the manifests and the lock ----------------------------------------------------------


def test_a_service_declared_twice_is_a_toml_error_with_its_line(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\n[services.b]\n\n[services.a]\ncrate = 'a'\n")
    refused(cli(mini, "affected"), "workspace-map.toml:4: is not valid TOML", "hint: fix the syntax")


def test_a_library_mapped_as_a_service_is_refused_before_a_build(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[workspace]\nregistry = '127.0.0.1:5000/team'\n[services.util]\n")
    mini.commit()
    for args in (["build", "--all", "--dry-run"], ["build", "--service", "util", "--dry-run"]):
        refused(
            cli(mini, *args),
            "workspace-map.toml: service 'util' maps to crate 'util', a library: it has no binary to ship",
            "hint: set `crate` under [services.util] to the binary crate, or remove the service",
        )
    findings = cli(mini, "check").stderr  # `check` says where, with the line
    assert "error: workspace-map.toml:3: service 'util' maps to crate 'util', a library" in findings


def test_a_requested_service_whose_crate_is_not_in_the_workspace(mini: Repo) -> None:
    mini.write("workspace-map.toml", "[services.a]\ncrate = 'gone'\n")
    mini.commit()
    refused(
        cli(mini, "build", "--service", "a", "--dry-run"),
        "service 'a' maps to crate 'gone', which is not a member of the Cargo workspace",
        "hint: set `crate` under [services.a]",
    )


def test_a_manifest_that_is_not_utf8(mini: Repo) -> None:
    (mini.path / "libs/util/Cargo.toml").write_bytes(b'[package]\nname = "util\xff"\n')
    mini.commit()
    refused(cli(mini, "affected"), "libs/util/Cargo.toml: is not UTF-8 text", "hint: save the file as UTF-8")


def test_a_lock_whose_packages_are_not_a_list(mini: Repo) -> None:
    base = mini.head()
    mini.write("Cargo.lock", "version = 3\npackage = 1\n")
    mini.commit()
    refused(
        cli(mini, "affected", "--base", base),
        "Cargo.lock: 'package' must be an array of tables ([[package]])",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 3\n[[package]]\nversion = '1'\n", "Cargo.lock: [[package]] entry #1 has no name"),
        ("a = " + "1" * 5000 + "\n", "Cargo.lock: is not valid TOML"),  # tomllib raised ValueError
        ("a = " + "[" * 5000 + "\n", "Cargo.lock: is not valid TOML"),  # tomllib raised RecursionError
    ],
    ids=["nameless-package", "huge-integer", "deep-nesting"],
)
def test_broken_locks(mini: Repo, text: str, message: str) -> None:
    base = mini.head()
    mini.write("Cargo.lock", text)
    mini.commit()
    refused(cli(mini, "affected", "--base", base), message)


def test_a_cycle_through_an_inherited_build_dependency(mini: Repo) -> None:
    mini.write(
        "libs/core/Cargo.toml",
        mini.read("libs/core/Cargo.toml") + "\n[build-dependencies]\nutil = { workspace = true }\n",
    )
    mini.commit()
    refused(cli(mini, "affected"), "path dependency cycle: ", "core -> util", "hint: cargo refuses")


def test_a_package_name_cargo_would_refuse(mini: Repo) -> None:
    """A name is printed in graphs, chains and summaries: it must be a Cargo name, nothing else."""
    mini.write(
        "libs/util/Cargo.toml", mini.read("libs/util/Cargo.toml").replace('"util"', '"u\\n::error::x"')
    )
    mini.commit()
    err = refused(
        cli(mini, "affected", env=ACTIONS),
        "libs/util/Cargo.toml:2: package name 'u\\n::error::x' is not a Cargo package name",
        "hint: use letters, digits, '-' and '_' only",
    )
    assert [c.split("::")[1].split(" ")[0] for c in runner_commands(err)] == ["error"]


# --- revisions and the state of the working tree -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["affected", "--head", "no-such-head"], "unknown head revision 'no-such-head'"),
        (["plan", "--base", "HEAD~99"], "unknown base revision 'HEAD~99'"),
        (["explain", "a", "--base", "0" * 40], f"unknown base revision '{'0' * 40}'"),
        (["build", "--head", "nope", "--dry-run"], "unknown head revision 'nope'"),
        (["build", "--all", "--head", "nope", "--dry-run"], "unknown head revision 'nope'"),
        (["warm", "--head", "nope"], "unknown head revision 'nope'"),
        (["graph", "--head", "-x"], "revision '-x' is not a git revision"),
    ],
)
def test_unknown_revisions(mini: Repo, args: list[str], message: str) -> None:
    refused(cli(mini, *args), message)


@pytest.mark.docker  # `build` connects to the engine before it looks at the tree
def test_build_refuses_a_tree_that_is_not_exactly_head(mini: Repo) -> None:
    mini.append("svc/a/src/main.rs", "// not committed\n")
    refused(
        cli(mini, "build", "--service", "a"),
        "the working tree has uncommitted changes ('svc/a/src/main.rs' and maybe more)",
        "hint: commit or stash them",
    )
    mini.git("checkout", "-q", "--", ".")
    first = mini.head()
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit()
    refused(
        cli(mini, "build", "--service", "a", "--head", first),
        f"the working tree is at {mini.head()[:12]}, not at {first[:12]}, the commit to build",
        f"hint: check out {first[:12]} first",
    )


# --- names that must never reach a path or a command ---------------------------------------------


BAD_NAMES = [
    (["bump", "a;touch PWNED=x"], "service 'a;touch PWNED' is not allowed"),
    (["bump", "a=x;touch PWNED"], "tag 'x;touch PWNED' is not a docker tag"),
    (["bump", "a=../x"], "tag '../x' is not a docker tag"),
    (["bump", "a=x/y"], "tag 'x/y' is not a docker tag"),
    (["bump", "../x=sha-1"], "service '../x' is not allowed"),
    (["bump", "a/../b=sha-1"], "service 'a/../b' is not allowed"),
    (["bump", "a=$(touch PWNED)"], "is not a docker tag"),
    (["bump", "a=`touch PWNED`"], "is not a docker tag"),
    (["bump", "a=sha-1\n::error::x"], "tag 'sha-1\\n::error::x' is not a docker tag"),
    (["build", "--service", "../x", "--dry-run"], "unknown service '../x'"),
    (["build", "--service", "a;touch PWNED", "--dry-run"], "unknown service 'a;touch PWNED'"),
    (["explain", "../x"], "unknown service '../x'"),
    (["explain", "$(touch PWNED)"], "unknown service '$(touch PWNED)'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_NAMES, ids=[" ".join(a) for a, _ in BAD_NAMES])
def test_names_with_shell_characters_dots_or_slashes_are_refused(
    mini: Repo, args: list[str], message: str
) -> None:
    before = snapshot(mini.path)
    refused(cli(mini, *args), message)
    assert snapshot(mini.path) == before
    assert not list(mini.path.rglob("PWNED")) and not Path("PWNED").exists()


def test_a_build_argument_that_is_not_key_value_is_a_usage_error(mini: Repo) -> None:
    res = cli(mini, "build", "--all", "--dry-run", "--build-arg", "A;rm=1")
    assert res.code == 2 and "'A;rm=1' is not KEY=VALUE" in res.stderr


def test_a_branch_or_remote_that_is_not_one_is_refused_before_a_commit(mini: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    mini.git("remote", "add", "origin", str(remote))
    mini.git("push", "-q", "origin", "main")
    before, state = snapshot(mini.path), refs(mini)
    refused(
        cli(mini, "bump", f"a={T}", "--push", "--branch", "main..x"), "'main..x' is not a valid branch name"
    )
    refused(
        cli(mini, "bump", f"a={T}", "--push", "--remote", "../x"), "no remote named '../x'", "hint: remotes"
    )
    assert (snapshot(mini.path), refs(mini)) == (before, state)
    assert (
        subprocess.run(
            ["git", "-C", str(remote), "rev-parse", "main"], capture_output=True, text=True
        ).stdout.strip()
        == mini.head()
    )


# --- a refused bump writes nothing ----------------------------------------------------------------

OVERLAY = "resources:\n- ../base\n"
ENTRY = "images:\n- name: service-image\n  newName: 127.0.0.1:5000/team/{svc}\n  newTag: latest\n"


def _write(rel: str, text: str | bytes):  # type: ignore[no-untyped-def]
    def apply(repo: Repo) -> None:
        path = repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return apply


def _nothing(repo: Repo) -> None:
    pass


REFUSED_BUMPS = [
    (
        "map-not-toml",
        _write("workspace-map.toml", "[services.a\n"),
        [f"a={T}"],
        "workspace-map.toml:1: is not valid TOML",
    ),
    (
        "map-bad-service-name",
        _write("workspace-map.toml", "[services.'a;b']\n"),
        [f"a={T}"],
        "workspace-map.toml:1: [services.a;b] service name 'a;b' is not allowed",
    ),
    ("unknown-service", _nothing, [f"a={T}", f"zz={T}"], "unknown service 'zz'"),
    ("twice", _nothing, [f"a={T}", "a=sha-2"], "a is asked for twice"),
    (
        "missing-kustomization",
        lambda r: r.remove("deployments/c/kustomization.yaml"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: c has no kustomization",
    ),
    (
        "no-images-and-no-image-in-the-base",
        _write("deployments/c/kustomization.yaml", OVERLAY),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: has no images entry for c, and no container image was found",
    ),
    (
        "multi-document",
        _write("deployments/c/kustomization.yaml", OVERLAY + ENTRY.format(svc="c") + "---\nkind: X\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: holds 2 YAML documents",
    ),
    (
        "anchored",
        _write(
            "deployments/c/kustomization.yaml",
            "x: &t latest\n" + OVERLAY + ENTRY.format(svc="c").replace("newTag: latest", "newTag: *t"),
        ),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml:7: the images entries use the YAML anchor/alias 't'",
    ),
    (
        "yaml-tag-python-cannot-read",  # ruamel raised ValueError for `!!int abc`
        _write("deployments/c/kustomization.yaml", OVERLAY + ENTRY.format(svc="c") + "replicas: !!int abc\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: is not valid YAML: ValueError: invalid literal for int()",
    ),
    (
        "not-utf8",
        _write("deployments/c/kustomization.yaml", b"images:\n- name: \xff\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: is not UTF-8 text",
    ),
    (
        "resource-outside-the-repository",
        _write("deployments/c/kustomization.yaml", "resources:\n- ../../../etc\n"),
        [f"a={T}", f"c={T}"],
        "deployments/c/kustomization.yaml: resource '../../../etc' is outside the repository",
    ),
    (
        "not-a-docker-tag",
        _nothing,
        [f"a={T}", "c=../../etc/passwd"],
        "tag '../../etc/passwd' is not a docker tag",
    ),
    (
        "digest-not-sha256",
        _nothing,
        [f"a={T}", f"c={T}@md5:abc"],
        "digest 'md5:abc' is not sha256:<64 lower-case hex digits>",
    ),
]


@pytest.mark.parametrize(
    ("case", "setup", "requests", "message"), REFUSED_BUMPS, ids=[c[0] for c in REFUSED_BUMPS]
)
def test_a_refused_bump_leaves_the_tree_byte_identical(
    mini: Repo,
    case: str,
    setup,
    requests: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    setup(mini)
    mini.commit("the bad input")  # committed, or --commit would stop at the dirty tree first
    before, state = snapshot(mini.path), refs(mini)
    for flags in ([], ["--commit"], ["--dry-run"]):
        refused(cli(mini, "bump", *requests, *flags), message)
        assert snapshot(mini.path) == before, f"bump {flags} wrote something"
        assert refs(mini) == state
    assert not [p for p in before if p.endswith(".tmp")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"services": ' + "[" * 5000, "is not valid JSON"),  # json raised RecursionError
        (
            '{"services": {"a": {"status": "pushed", "tag": ' + "1" * 5000 + "}}}",
            "is not valid JSON",
        ),  # ValueError
        (
            '{"services": {"a": {"status": "pushed", "tag": "x", "image": "127.0.0.1:5000/team/b"}}}',
            "is not 127.0.0.1:5000/team/a",
        ),
        ('{"services": {"a;b": {"status": "pushed", "tag": "x"}}}', "service 'a;b' is not allowed"),
    ],
    ids=["deep", "huge-integer", "another-image", "bad-name"],
)
def test_a_refused_build_result_writes_nothing(mini: Repo, tmp_path: Path, text: str, message: str) -> None:
    result = tmp_path / "build.json"
    result.write_text(text)
    before = snapshot(mini.path)
    refused(cli(mini, "bump", "--from", str(result), "--commit"), str(result), message)
    assert snapshot(mini.path) == before


# --- file names in the diff never act as workflow commands ---------------------------------------

EVIL = [
    "svc/b/src/x\nany=false\n::set-output name=any::false\n::error::pwned|<b>.rs",
    "svc/b/src/##[error]legacy.rs",
    "svc/b/src/##[stop-commands]halt.rs",
    "svc/b/src/lead\n   ::warning file=x::indented.rs",
    "svc/b/src/cr\r::notice::return.rs",
    "svc/b/src/q\"u'o`te%0A%25::x,y.rs",
]


def _evil_commit(mini: Repo) -> str:
    base = mini.head()
    for name in EVIL:
        mini.write(name, "// evil\n")
    mini.commit()
    return base


def test_crafted_file_names_act_as_no_command_in_any_output(mini: Repo, tmp_path: Path) -> None:
    base = _evil_commit(mini)
    out_file, summary = tmp_path / "out", tmp_path / "summary.md"
    env = {**ACTIONS, "GITHUB_OUTPUT": str(out_file), "GITHUB_STEP_SUMMARY": str(summary)}
    for args in (
        ["affected"],
        ["affected", "--format", "json"],
        ["affected", "--format", "github"],
        ["plan"],
        ["plan", "--format", "json"],
        ["explain", "b"],
        ["graph", "--format", "mermaid"],
        ["build", "--dry-run"],
    ):
        res = cli(mini, *args, "--base", base, env=env)
        assert res.code == 0, (args, res.stderr)
        assert runner_commands(res.stdout + "\n" + res.stderr) == [], args
    from tests.test_outputs import parse_github_output

    values = parse_github_output(out_file.read_text())
    assert set(values) == {"build", "deploy", "matrix", "any", "base", "head", "changes", "a", "b", "c"}
    assert (values["build"], values["any"]) == ('["b"]', "true")
    rows = [line for line in summary.read_text().splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows] == ["| service", "| ---", "| b"]
    assert "<b>" not in summary.read_text()


def test_the_ci_summary_escapes_crafted_file_names(mini: Repo) -> None:
    base = mini.head()
    mini.write("svc/b/src/x\n| a | yes | forged |\n<b>.rs", "// evil\n")
    mini.write("svc/a/src/<img src=x>|.rs", "// evil\n")
    mini.commit()
    cfg = load_map(mini.path, None)
    plan = analyze(mini.path, cfg, RangeOptions(base=base, environ={}))
    text = ci.summary(ci.CiResult(plan, BuildReport(plan.head, {}, {}), None), "graph LR\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows] == ["| service", "| ---", "| a", "| b"]
    assert [r.replace("\\|", "").count("|") for r in rows[2:]] == [6, 6]  # five cells each
    assert "<b>" not in text and "<img" not in text and "&lt;b&gt;.rs -&gt; b" in text
    assert "```mermaid\ngraph LR\n```" in text


@pytest.mark.parametrize("name", EVIL)
def test_an_annotation_names_a_crafted_file_exactly_and_nothing_else(name: str) -> None:
    line = gha.annotation("error", f"{name} is broken\n::warning::x", file=name, line=3)
    assert "\n" not in line and "\r" not in line
    assert runner_commands(line) == [line]
    assert annotation_properties(line) == {"file": name, "line": "3"}


def test_an_error_about_a_crafted_path_is_one_annotation(mini: Repo) -> None:
    """A member directory named like a command, with a broken manifest: the error names it inertly."""
    evil = "svc/x\n::warning::pwned ##[error]y"
    mini.write(f"{evil}/Cargo.toml", "[package\n")
    mini.commit()
    err = refused(cli(mini, "affected", env=ACTIONS), "is not valid TOML")
    commands = runner_commands(err)
    assert len(commands) == 1 and commands[0].startswith("::error ")
    assert annotation_properties(commands[0]) == {"file": f"{evil}/Cargo.toml", "line": "1"}
    assert "error: svc/x\\n::warning::pwned ##\\x5berror]y/Cargo.toml:1: is not valid TOML" in err


def test_check_names_a_crafted_crate_directory_inertly(mini: Repo) -> None:
    evil = "svc/y\n::warning::pwned ##[error]z"
    mini.write(f"{evil}/Cargo.toml", '[package]\nname = "evil"\nversion = "0.1.0"\nedition = "2021"\n')
    mini.write(f"{evil}/src/main.rs", "fn main() {}\n")
    mini.commit()
    res = cli(mini, "check", env=ACTIONS)
    assert res.code == 0, res.stderr
    commands = runner_commands(res.stdout + res.stderr)
    assert {c.split(" ")[0] for c in commands} == {"::warning"}
    files = [annotation_properties(c).get("file") for c in commands]
    assert f"{evil}/Cargo.toml" in files


def test_build_logs_in_actions_act_as_no_command() -> None:
    stream = io.StringIO()
    progress = Progress(verbose=False, actions=True, stream=stream)
    for line in ("::error::from a RUN step", "   ::add-mask::x", "text ##[warning]legacy", "::endgroup::"):
        progress.log("b", line)
    progress.done("b", "failed: ##[error]x\n::error::y")
    obeyed = runner_commands(stream.getvalue())
    assert [c.split("::")[1].split(" ")[0] for c in obeyed] == [
        "group",
        "stop-commands",
        obeyed[2][2:-2],
        "endgroup",
    ]
    assert "::error::from a RUN step" in stream.getvalue()  # shown, just not obeyed


# --- a diff of 100,000 files ----------------------------------------------------------------------


def test_a_commit_touching_100000_files(mini: Repo) -> None:
    """Written straight into git's objects (one blob, 100,000 index entries); the answer is checked,
    not the time (pytest-timeout bounds it), and git and buildctl run in a 2 GiB address space."""
    base = mini.head()
    groups = [
        ("svc/b/src/gen", 20_000, "rs"),  # crate b: one reason for them all
        ("docs/gen", 10_000, "md"),  # ignored
        ("libs/testkit/src/gen", 10_000, "rs"),  # a dev-only crate: no image changes
        ("deployments/c/gen", 10_000, "yaml"),  # c is redeployed: one reason per file
        ("deployments/base/gen", 50_000, "yaml"),  # every service is redeployed: ditto, for each
    ]
    index = mini.path / ".git" / "big-index"
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(index)}

    def git(*args: str, data: bytes | None = None) -> str:
        return (
            subprocess.run(
                ["git", "-C", str(mini.path), *args], input=data, env=env, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )

    blob = git("hash-object", "-w", "--stdin", data=b"// generated\n")
    entries = "".join(f"100644 {blob}\t{d}/f{i:06d}.{ext}\n" for d, n, ext in groups for i in range(n))
    git("read-tree", base)
    git("update-index", "--index-info", data=entries.encode())
    assert len(git("diff", "--name-only", "-z", base, git("write-tree")).split("\0")) - 1 == 100_000
    head = git("commit-tree", git("write-tree"), "-p", base, "-m", "100,000 files")
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from buildctl.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "--repo",
            str(mini.path),
            "affected",
            "--format",
            "json",
            "--base",
            base,
            "--head",
            head,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BUILDCTL_CACHE_DIR": ""},
        cwd=Path(__file__).resolve().parent.parent,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["build"], out["deploy"]) == (["b"], ["a", "b", "c"])
    reasons = {name: svc["reasons"] for name, svc in out["services"].items()}
    # Reasons of one kind are grouped per service: the first path and how many more.
    deploy_all = "deploy_all: deployments/base/gen/f000000.yaml (matches deployments/base/**) (+49999 more)"
    assert reasons["a"] == [deploy_all]
    assert reasons["b"] == [deploy_all, "svc/b/src/gen/f000000.rs (+19999 more) -> b"]
    assert reasons["c"] == [deploy_all, "deploy: deployments/c/gen/f000000.yaml (+9999 more)"]


# --- a refused init writes nothing ----------------------------------------------------------------

REFUSED_INITS = [
    (
        "member-manifest-not-toml",
        "libs/util/Cargo.toml",
        "[package\n",
        None,
        "libs/util/Cargo.toml:1: is not valid TOML",
    ),
    (
        "member-manifest-not-utf8",
        "libs/util/Cargo.toml",
        b"[package]\nname = '\xff'\n",
        None,
        "is not UTF-8 text",
    ),
    ("workflow-not-yaml", "wf.yaml", "on: [push\n", "wf.yaml", "is not valid YAML"),
    (
        "workflow-not-utf8",
        "wf.yaml",
        b"on: push\n# \xff\n",
        "wf.yaml",
        "cannot read the workflow: 'utf-8' codec",
    ),
    (
        "workflow-without-paths-filter",
        "wf.yaml",
        "on: push\njobs: {}\n",
        "wf.yaml",
        "no step uses dorny/paths-filter",
    ),
]


@pytest.mark.parametrize(
    ("case", "rel", "content", "workflow", "message"), REFUSED_INITS, ids=[c[0] for c in REFUSED_INITS]
)
def test_a_refused_init_leaves_the_tree_byte_identical(
    mini: Repo, case: str, rel: str, content: str | bytes, workflow: str | None, message: str
) -> None:
    mini.remove("workspace-map.toml")
    _write(rel, content)(mini)
    if workflow is None:
        _write("wf.yaml", "on: push\njobs: {}\n")(mini)
    mini.commit("no map yet")
    before, state = snapshot(mini.path), refs(mini)
    runs = [["init", "--from-workflow", str(mini.path / "wf.yaml"), "--write-workflow"]]
    if workflow is None:  # a broken workspace stops every form of init
        runs += [["init"], ["init", "--force"], ["--map", "elsewhere.toml", "init"]]
    for args in runs:
        refused(run(["--repo", str(mini.path), *args]), message)
        assert snapshot(mini.path) == before, f"{args} wrote something"
        assert refs(mini) == state
    assert not [p for p in snapshot(mini.path) if p.endswith(".tmp")]
