"""A small process that runs commands for benchmarks/detect.py and reports their time and peak RSS.

Why not Popen + os.wait4 in the benchmark itself: on Linux a child's ru_maxrss starts from the
peak RSS of the process that spawned it (exec records the old, shared or copied, address space's
high-water mark), so every child of a benchmark holding a 60,000-file workspace in memory would
report that workspace's size. Started before anything is generated, this process stays near the
interpreter's own ~10 MB, so children's peaks below that are not resolved; buildctl's are well above.

Protocol: one JSON object per line on stdin, {"argv": [...], "stdout": path, "stderr": path};
one per line on stdout, {"seconds": float, "maxrss_kib": int, "returncode": int}.
Run with `python -I -S benchmarks/_spawn.py`: the standard library only, no site-packages.
"""

from __future__ import annotations

import json
import os
import sys
import time


def run(argv: list[str], stdout: str, stderr: str) -> dict[str, object]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, flags, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, stderr, flags, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "maxrss_kib": usage.ru_maxrss,
        "returncode": os.waitstatus_to_exitcode(status),
    }


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        reply: dict[str, object]
        try:
            reply = run(request["argv"], request["stdout"], request["stderr"])
        except OSError as exc:  # e.g. no such executable: say so instead of dying silently
            reply = {"seconds": 0.0, "maxrss_kib": 0, "returncode": 127, "error": str(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
