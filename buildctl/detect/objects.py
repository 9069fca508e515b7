"""One `git cat-file --batch` process for every object a detection run reads.

Commits (to walk a short range), trees (to list just the directories a workspace's member
globs name) and blobs (manifests, the lock) all come through the same process, by any name git
resolves: `<rev>:<path>`, `<tree id>:<name>`, `<rev>^{commit}`, an object id. Starting git once
instead of once per question is most of what a cold run on a small workspace can save.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from buildctl import gitrepo
from buildctl.errors import BuildctlError

TREE = b"40000"
COMMIT_MODE = b"160000"  # a submodule pointer
# A request that fits in the smallest pipe buffer is written whole before git answers, so
# neither process can block on a full pipe while the other waits for it.
_CHUNK = 4096
_READ_BUFFER = 1 << 16  # 3,000 manifests: a few dozen reads, not hundreds
_SHARED = 512  # objects in a request that a second process shares (it costs a git start)
_CORES_FOR_TWO = 3  # two gits and this process, each on a core of its own
_STRETCH = 128  # names in a row that one process answers, when two share a request
_WIDE_PIPE = 1 << 20  # what Linux lets any process have (/proc/sys/fs/pipe-max-size)
# `<mode> <name>\0<raw id>`; one pattern per id length (SHA-1, SHA-256)
_ENTRY = {n: rb"(\d+) ([^\0]*)\0(.{%d})" % n for n in (20, 32)}
_WHOLE = {n: rb"(?:%s)*" % e.replace(b"(", b"(?:") for n, e in _ENTRY.items()}


class Object:
    __slots__ = ("data", "kind", "oid")

    def __init__(self, oid: str, kind: str, data: bytes) -> None:
        self.oid, self.kind, self.data = oid, kind, data


Tree = dict[str, tuple[bytes, bytes]]  # entry name -> (mode, raw object id: `.hex()` for the id)


class _Batch:
    """One `cat-file --batch` process."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        try:
            self.proc = subprocess.Popen(
                ["git", "-C", str(repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=gitrepo.environment(),
                bufsize=_READ_BUFFER,
            )
        except FileNotFoundError:
            raise BuildctlError(
                "git is not installed or not on PATH", hint="install git and try again"
            ) from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.out = self.proc.stdin, self.proc.stdout
        self._widen()

    def ask(self, names: Sequence[str]) -> list[Object | None]:
        """A request that fits in the smallest pipe buffer is written whole, then its answers
        read: neither process can block on a full pipe while the other waits for it."""
        found: list[Object | None] = []
        i = 0
        while i < len(names):
            chunk = [names[i]]
            size = len(names[i]) + 1
            i += 1
            while i < len(names) and size + len(names[i]) + 1 <= _CHUNK:
                chunk.append(names[i])
                size += len(names[i]) + 1
                i += 1
            try:
                self.stdin.write(("\n".join(chunk) + "\n").encode("utf-8", "surrogateescape"))
                self.stdin.flush()
            except BrokenPipeError:
                raise BuildctlError(f"git cat-file stopped answering in {self.repo}") from None
            found.extend(self.read() for _ in chunk)
        return found

    def send(self, names: Sequence[str]) -> Callable[[], None]:
        """Send a long request now (git starts on it) and return what waits for its writing to
        end: a thread writes what the pipe cannot hold at once, so git never waits for the next
        chunk while this process reads the answers to the last."""
        import threading

        failed: list[BaseException] = []
        request = ("\n".join(names) + "\n").encode("utf-8", "surrogateescape")

        def write() -> None:
            try:
                self.stdin.write(request)
                self.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                failed.append(exc)

        if len(request) <= self.room:  # git has read every name sent before: its pipe is empty
            write()
            writer = None
        else:
            writer = threading.Thread(target=write, daemon=True)
            writer.start()

        def written() -> None:
            if writer is not None:
                writer.join()
            if failed:
                raise BuildctlError(f"git cat-file stopped answering in {self.repo}")

        return written

    def _widen(self) -> None:
        """Pipes that hold a long request and its answer whole, where the system allows (Linux):
        a request is written at once, without a thread, and git can write its whole answer
        while this process is busy with another."""
        self.room = _CHUNK  # what the smallest pipe holds
        try:
            import fcntl

            for pipe in (self.stdin, self.out):
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _WIDE_PIPE)
        except (ImportError, AttributeError, OSError):
            return  # git waits for this process to read, and a thread writes a long request
        self.room = _WIDE_PIPE

    def read(self) -> Object | None:
        header = self.out.readline()
        if not header.endswith(b"\n"):
            raise BuildctlError(f"git cat-file stopped answering in {self.repo}")
        if header.endswith((b" missing\n", b" ambiguous\n")):
            return None
        oid, kind, size = header.split()
        data = self.out.read(int(size) + 1)[:-1]
        return Object(oid.decode(), kind.decode(), data)

    def close(self) -> None:
        """End git; it is waited for by a thread of its own (its exit takes a few milliseconds
        this process need not spend: it has read every answer)."""
        import threading

        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        self.out.close()
        threading.Thread(target=self.proc.wait, daemon=True).start()


class Objects:
    """`cat-file --batch`, started on first use; `close()` ends it. A long request is shared
    with a second process where a core is free for it: git reads one object at a time."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._main: _Batch | None = None
        self._helper: _Batch | None = None
        self._streaming = False

    def start(self) -> None:
        """Start git now, so that it gets ready while this process works out what to ask."""
        if self._main is None:
            self._main = _Batch(self.repo)

    def get(self, names: Sequence[str]) -> list[Object | None]:
        """Each name's object, or None where git finds none (or only an ambiguous prefix)."""
        return list(self.stream(names, alongside=False))

    def stream(self, names: Sequence[str], *, alongside: bool = True) -> Iterator[Object | None]:
        """`get`, one object at a time as git answers: with `alongside`, the caller works on
        each while git reads the next. No other request may be made until the stream ends."""
        if any("\n" in n for n in names):
            raise BuildctlError("a path with a newline cannot be looked up through cat-file --batch")
        if self._streaming:
            raise RuntimeError("a request to cat-file while another one's answers are being read")
        self.start()
        assert self._main is not None
        self._streaming = True
        try:
            yield from self._answers(self._main, names, alongside)
        finally:
            self._streaming = False

    def _answers(self, main: _Batch, names: Sequence[str], alongside: bool) -> Iterator[Object | None]:
        if sum(len(n) + 1 for n in names) <= _CHUNK:
            yield from main.ask(names)
            return
        # A second git costs a start and a core: worth it for a long request, where a core is
        # free for it (this process takes one while it works alongside git).
        if len(names) < _SHARED or (alongside and _cores() < _CORES_FOR_TWO):
            batches, requests, stretches = [main], [list(names)], [(0, len(names))]
        else:
            if self._helper is None:
                self._helper = _Batch(self.repo)
            # Every other stretch of the request goes to a second process. Both gits work at
            # once, each writing its answers into its pipe (wide enough to hold them) while this
            # process reads the stretches in turn: no thread reads, and the caller's work on one
            # answer overlaps git's on the next.
            batches = [main, self._helper]
            requests = [[n for i, n in enumerate(names) if i // _STRETCH % 2 == k] for k in (0, 1)]
            starts = range(0, len(names), _STRETCH)
            stretches = [(j % 2, len(names[i : i + _STRETCH])) for j, i in enumerate(starts)]
        sent = [batch.send(request) for batch, request in zip(batches, requests, strict=True)]
        left = [len(request) for request in requests]
        try:
            for k, count in stretches:
                read = batches[k].read
                for _ in range(count):
                    found = read()
                    left[k] -= 1
                    yield found
        except BuildctlError:
            left = [0] * len(batches)  # git is gone: nothing more to read
            raise
        finally:
            try:
                for k, batch in enumerate(batches):
                    for _ in range(left[k]):  # an early stop: each process must end its answer
                        batch.read()
            finally:
                for written in sent:
                    written()

    def one(self, name: str) -> Object | None:
        return self.get([name])[0]

    def tree(self, name: str) -> Tree | None:
        """The entries of the tree `name` resolves to; None if it is no tree."""
        obj = self.one(name)
        return parse_tree(obj.data, len(obj.oid) // 2) if obj is not None and obj.kind == "tree" else None

    def reaches(self, descendant: str, ancestor: str, limit: int) -> bool:
        """Whether `ancestor` is among the first `limit` commits of `descendant`'s history (both
        full ids). Meant for a repository that is neither shallow nor grafted, whose commits'
        parents are exactly what their objects say."""
        seen = {descendant}
        todo = [descendant]
        while todo and len(seen) <= limit:
            if ancestor in todo:
                return True
            objs = self.get(todo)
            todo = []
            for obj in objs:
                if obj is None or obj.kind != "commit":
                    return False
                for line in obj.data.split(b"\n"):
                    if not line:
                        break  # the headers end at the first empty line
                    if line.startswith(b"parent "):
                        parent = line[7:].decode()
                        if parent not in seen:
                            seen.add(parent)
                            todo.append(parent)
        return ancestor in todo

    def close(self) -> None:
        for batch in (self._main, self._helper):
            if batch is not None:
                batch.close()  # waits for nothing: both gits end at once
        self._main = self._helper = None


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_tree(data: bytes, raw_len: int) -> Tree:
    """A tree object's entries (names decoded as `os.fsdecode` decodes them)."""
    if not re.fullmatch(_WHOLE[raw_len], data, re.DOTALL):  # compiled on first use: re caches it
        raise BuildctlError("git returned a tree object this version of buildctl cannot read")
    enc, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {
        name.decode(enc, errors): (mode, raw)
        for mode, name, raw in re.findall(_ENTRY[raw_len], data, re.DOTALL)
    }
