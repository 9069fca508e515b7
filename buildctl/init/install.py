"""The pinned install the step `init --from-workflow` writes runs (docs/install.md): one
reviewed buildctl commit, its requirements pinned by hash."""

from __future__ import annotations

import re

from buildctl.errors import BuildctlError

COMMIT_REF = re.compile(
    r"^(?:https://github\.com/)?([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?@([0-9a-f]{40})$"
)


def installed_from() -> str:
    """`OWNER/REPO@COMMIT` of this buildctl, when pip installed it from a GitHub commit."""
    import json
    from importlib import metadata

    try:
        data = json.loads(metadata.distribution("buildctl").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        data = {}
    url, commit = str(data.get("url", "")), str((data.get("vcs_info") or {}).get("commit_id", ""))
    repo = url.removeprefix("https://github.com/").removesuffix(".git")
    if url.startswith("https://github.com/") and len(commit) == 40:
        return f"{repo}@{commit}"
    raise BuildctlError(
        "init --from-workflow needs the buildctl commit the new step installs, and this buildctl "
        "was not installed from one",
        hint="pass --install OWNER/buildctl@<the full 40-character commit SHA you reviewed> (docs/install.md)",
    )


def install_lines(install: str) -> list[str]:
    """The pinned install of docs/install.md: the hash-pinned requirements of one buildctl
    commit, then buildctl itself from that commit, into a venv of the runner's."""
    m = COMMIT_REF.match(install)
    if m is None:
        raise BuildctlError(
            f"--install {install!r} is not OWNER/REPO@<40-hex commit>: the new step installs a reviewed "
            "commit of buildctl, with its dependencies pinned by hash",
            hint="pass --install OWNER/buildctl@<the full commit SHA you reviewed> (docs/install.md)",
        )
    repo, commit = m.groups()
    venv = '"$RUNNER_TEMP/buildctl-venv"'
    return [
        f"commit={commit}",
        f'curl -fsSL -o "$RUNNER_TEMP/buildctl-requirements.txt" "https://raw.githubusercontent.com/{repo}/$commit/requirements/ci.txt"',
        f"python3 -m venv {venv}",
        f'{venv}/bin/python -m pip install --require-hashes --only-binary=:all: -r "$RUNNER_TEMP/buildctl-requirements.txt"',
        f'{venv}/bin/python -m pip install --no-deps --no-build-isolation "git+https://github.com/{repo}@$commit"',
        'export PATH="$RUNNER_TEMP/buildctl-venv/bin:$PATH"',
    ]
