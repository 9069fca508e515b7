"""Git queries: revisions that are not one, a directory that is no repository, and the paths a
diff reports (renames, deletions, odd names, submodule pointers, the working tree)."""

from __future__ import annotations

import pytest

from buildctl import gitrepo
from buildctl.detect import objects as objects_module
from buildctl.detect.objects import Objects
from buildctl.detect.snapshot import Snapshot
from buildctl.errors import BuildctlError
from tests.support.cli import affected, change, cli, fails, reasons, refused, run
from tests.support.git import Repo


def test_unknown_revision(mini: Repo) -> None:
    err = fails(mini, "affected", "--base", "no-such-branch")
    assert "unknown base revision 'no-such-branch'" in err and "hint:" in err


def test_option_looking_revision_is_refused(mini: Repo) -> None:
    assert "is not a git revision" in fails(mini, "affected", "--base", "--output=/tmp/x")


def test_not_a_git_repository(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = run(["--repo", str(tmp_path), "affected"])
    assert res.code == 1 and "is not inside a git repository" in res.stderr


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


# --- what a diff reports -------------------------------------------------------------------------


def test_renames_count_both_paths(mini: Repo) -> None:
    base = mini.head()
    mini.git("mv", "svc/a/src/main.rs", "svc/b/src/moved.rs")
    head = mini.commit()
    out = affected(mini, "--base", base, "--head", head)
    assert out["build"] == ["a", "b"]


def test_deleted_file_counts(mini: Repo) -> None:
    out = change(mini, {"svc/c/build.rs": None})
    assert out["build"] == ["c"]


@pytest.mark.parametrize(
    "name", ["with space.rs", 'quo"te.rs', "ünï¢ødé.rs", "new\nline.rs", "tab\tand::colons.rs"]
)
def test_odd_file_names(mini: Repo, name: str) -> None:
    out = change(mini, {f"svc/b/src/{name}": "// odd\n"})
    assert out["build"] == ["b"]
    assert reasons(out, "b") == [f"svc/b/src/{name} -> b"]


def test_submodule_pointer_change_counts(mini: Repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sub = Repo.init(tmp_path / "sub")
    sub.write("x.txt", "1\n")
    sub.commit()
    mini.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "svc/a/vendored")
    base = mini.commit("add submodule")
    sub.write("x.txt", "2\n")
    new = sub.commit()
    mini.git("-C", "svc/a/vendored", "fetch", "-q", "origin")
    mini.git("-C", "svc/a/vendored", "checkout", "-q", new)
    head = mini.commit("bump submodule")
    out = affected(mini, "--base", base, "--head", head)
    assert out["build"] == ["a"]
    assert reasons(out, "a") == ["svc/a/vendored -> a"]


def test_uncommitted_changes(mini: Repo) -> None:
    mini.write("libs/util/src/lib.rs", "pub fn util() { }\n")
    mini.write("svc/b/src/new.rs", "// untracked\n")
    out = affected(mini, "--uncommitted")
    assert out["build"] == ["a", "b", "c"]
    assert out["base"] == out["head"] == mini.head()


# --- one cat-file for every object a run reads --------------------------------------------------------


def test_trees_read_through_cat_file_are_what_ls_tree_lists(mini: Repo) -> None:
    odd = ["with space.rs", 'quo"te.rs', "ünï¢ødé.rs", "new\nline.rs", "tab\tand::colons.rs", "x.rs"]
    for name in odd:
        mini.write(f"svc/b/src/bin/{name}", "fn main() {}\n")
    mini.write("svc/b/src/bin/tool/main.rs", "fn main() {}\n")
    mini.commit()
    listed = gitrepo.ls_tree(mini.path, "HEAD")
    objects = Objects(mini.path)
    try:
        tree = objects.tree("HEAD:svc/b/src/bin")
        assert tree is not None
        assert {n for n, (mode, _) in tree.items() if mode != b"40000"} == set(odd)
        assert {n: raw.hex() for n, (_, raw) in tree.items() if n in odd} == {
            n: listed[f"svc/b/src/bin/{n}"] for n in odd
        }
        assert objects.tree("HEAD:svc/b/src/bin/x.rs") is None  # a blob is no tree
        assert objects.get(["HEAD:nowhere", "HEAD^{commit}"])[0] is None
        with pytest.raises(BuildctlError, match="newline"):
            objects.get(["HEAD:new\nline"])
    finally:
        objects.close()
    snap = Snapshot.at(mini.path, "HEAD", objects=Objects(mini.path))
    try:  # the lazy snapshot's answers are the listing's
        assert snap.bin_stems("svc/b") == Snapshot.at(mini.path, "HEAD").bin_stems("svc/b")
        for path in (
            "svc/b/src/bin/x.rs",
            "svc/b/src/main.rs",
            "svc/b/src/lib.rs",
            "svc/b/src",
            "Cargo.toml",
        ):
            assert snap.exists(path) == Snapshot.at(mini.path, "HEAD").exists(path), path
    finally:
        assert snap.objects is not None
        snap.objects.close()


def test_a_long_request_shared_by_two_processes_answers_in_order(mini: Repo) -> None:
    files = sorted(gitrepo.ls_tree(mini.path, "HEAD"))
    names = [f"HEAD:{p}" for p in files] + ["HEAD:nowhere", "HEAD^{tree}", "HEAD^{commit}"]
    names = [names[i % len(names)] for i in range(objects_module._SHARED * 2 + 7)]  # mixed, repeated
    want = gitrepo.batch(mini.path, names, contents=True)
    objects = Objects(mini.path)
    try:
        got = objects.get(names)
        assert objects._helper is not None  # the request was shared
        assert [None if o is None else (o.oid, o.kind, o.data) for o in got] == [want[n] for n in names]
        assert objects.one("HEAD:Cargo.toml") is not None  # the process answers on after it
    finally:
        objects.close()


@pytest.mark.parametrize("alongside", [False, True])
def test_where_pipes_cannot_be_widened_a_thread_writes_a_long_request(
    mini: Repo, monkeypatch: pytest.MonkeyPatch, alongside: bool
) -> None:
    """Outside Linux no pipe holds a long request whole: a thread writes it while the answers
    are read. The narrow pipes are a fake (this machine's widen), standing for such a system."""

    def narrow(batch: objects_module._Batch) -> None:
        batch.room = objects_module._CHUNK

    monkeypatch.setattr(objects_module._Batch, "_widen", narrow)
    files = sorted(gitrepo.ls_tree(mini.path, "HEAD"))
    names = [f"HEAD:{files[i % len(files)]}" for i in range(4000)]
    assert sum(len(n) + 1 for n in names) > 1 << 16  # more than a pipe holds, both ways
    want = gitrepo.batch(mini.path, names, contents=True)
    objects = Objects(mini.path)
    try:
        got = list(objects.stream(names, alongside=alongside))
        assert [(o.oid, o.kind, o.data) for o in got if o] == [want[n] for n in names]
        assert objects.one("HEAD:Cargo.toml") is not None  # and git answers on
    finally:
        objects.close()


def test_a_stream_stopped_early_leaves_both_processes_answering(mini: Repo) -> None:
    files = sorted(gitrepo.ls_tree(mini.path, "HEAD"))
    names = [f"HEAD:{files[i % len(files)]}" for i in range(objects_module._SHARED * 2)]
    want = gitrepo.batch(mini.path, names, contents=True)
    objects = Objects(mini.path)
    try:
        stream = objects.stream(names, alongside=False)  # shared by two, whatever the cores
        first = [next(stream) for _ in range(objects_module._STRETCH + 3)]  # into the second stretch
        assert objects._helper is not None
        with pytest.raises(RuntimeError, match="another one's answers"):
            objects.get(["HEAD:Cargo.toml"])
        stream.close()
        assert [(o.oid, o.data) for o in first if o] == [want[n][::2] for n in names[: len(first)]]
        again = objects.get(names[::-1])  # each process reads on from the end of its last answer
        assert [(o.oid, o.kind, o.data) for o in again if o] == [want[n] for n in names[::-1]]
    finally:
        objects.close()


def test_revisions_resolved_together_as_one_by_one(mini: Repo) -> None:
    first = mini.head()
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit()
    located = gitrepo.locate(mini.path, ["HEAD", "HEAD~1", first[:10]])
    assert located is not None and located.plain_history
    assert located.shas == tuple(gitrepo.resolve(mini.path, r) for r in ("HEAD", "HEAD~1", first[:10]))
    for bad in (["HEAD", "nope"], ["HEAD~1..HEAD"], ["-x"], ["HEAD:Cargo.toml"]):
        assert gitrepo.locate(mini.path, bad) is None, bad  # then `resolve` says which, as before
