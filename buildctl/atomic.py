"""Writing files so that a reader, a crash or a Ctrl-C never sees half of one.

`write_all` writes every new text to a temporary file next to its target, fsyncs them all,
and only then renames each over its target (`os.replace` is atomic on POSIX). A failure
while writing the temporaries leaves every target untouched and no temporary behind.

`deferred_signals` holds SIGINT/SIGTERM for the few moments a group of steps must not be cut
in half (replace every file, then commit them); the signal is delivered, the usual way, as
soon as the block ends.

Fault injection, for tests only: with BUILDCTL_FAULT_PAUSE_DIR=DIR in the environment,
`write_all` creates DIR/temp-written.paused once the temporaries are written and waits (up to
60 s) for DIR/temp-written.resume before it renames them. A test uses it to send a real
signal to a real `buildctl bump` at exactly that point.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

FAULT_PAUSE_ENV = "BUILDCTL_FAULT_PAUSE_DIR"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver the first one that came."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread; callers there are not interruptible anyway
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fault_pause(point: str) -> None:
    folder = os.environ.get(FAULT_PAUSE_ENV)
    if not folder:
        return
    Path(folder, f"{point}.paused").touch()
    deadline = time.monotonic() + 60
    while not Path(folder, f"{point}.resume").exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)


def write_all(files: Mapping[Path, str], *, durable: bool = True) -> None:
    """Replace each file with its new text: all temporaries first, then all renames. `durable`
    also syncs them to disk (a cache, which only costs speed when lost, need not wait for it)."""
    if not files:
        return
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.chmod(tmp, _mode_for(path))
        _fault_pause("temp-written")
        while staged:
            tmp, path = staged[0]
            os.replace(tmp, path)
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    for folder in {path.parent for path in files} if durable else ():
        _fsync_dir(folder)


def write_text(path: Path, text: str, *, durable: bool = True) -> None:
    write_all({path: text}, durable=durable)
