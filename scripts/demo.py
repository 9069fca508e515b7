"""The main job on a scratch copy of this monorepo, the way CI runs it.

1. Copy the monorepo into a scratch git repository with a bare `origin`, pointed at a local
   registry (127.0.0.1, the stand-in for GHCR).
2. Make four realistic commits (a shared-crate change, a single-service change, a Cargo.lock
   bump, a deployments-only change) and show the plan for each beside what the paths-filter
   globs of the original workflow would have built.
3. Run `buildctl ci` over the whole range: detect, build with one shared cargo-chef cook, push
   to the registry, bump the kustomizations, commit and push to origin.
4. Show the result: the registry's tags, the bump commit on origin, `kubectl kustomize`.

Nothing here touches the checkout; everything lives under the scratch directory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
INDEX = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json"
BUILDCTL = CHECKOUT / ".venv" / "bin" / "buildctl"
SERVICES = sorted(p.name for p in (CHECKOUT / "services").iterdir() if (p / "Cargo.toml").is_file())
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Demo Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Demo Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def sh(args: list[str], cwd: Path, *, capture: bool = False, check: bool = True) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env={**os.environ, **GIT_ENV}, text=True, capture_output=capture, check=False
    )
    if check and proc.returncode != 0:
        sys.exit(f"demo: {' '.join(args)} failed ({proc.returncode})\n{proc.stderr if capture else ''}")
    return proc.stdout if capture else ""


def git(repo: Path, *args: str) -> str:
    return sh(["git", *args], repo, capture=True).strip()


def scratch_copy(dest: Path, registry: str) -> Path:
    work = dest / "work"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = os.fsdecode(raw)
        if (CHECKOUT / rel).is_file():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / rel, work / rel)
    text = (work / "workspace-map.toml").read_text()
    text = text.replace("ghcr.io/example-org/game-platform", f"{registry}/game-platform")
    # The map's public arm64 base image cannot be pulled here: its table is replaced below.
    text = re.sub(r'(?ms)^\[build\.platform_args\."linux/arm64"\]\n.*?(?=^\[|\Z)', "", text)
    local = (
        "# Base images made locally by scripts/bootstrap-images.sh (nothing can be pulled here).\n"
        'args = { CHEF_IMAGE = "buildctl.local/rust-chef:latest", RUNTIME_IMAGE = "buildctl.local/debian:bookworm-slim" }\n'
    )
    text, n = re.subn(r"(?m)^\[build\]\n", lambda m: m.group(0) + local, text, count=1)
    if n == 0:
        text += "\n[build]\n" + local
    text += (
        "\n# linux/arm64, one of the map's [workspace] platforms: cross-compiled on this machine.\n"
        '[build.platform_args."linux/arm64"]\n'
        'CHEF_IMAGE = "buildctl.local/rust-chef-cross:latest"\n'
        'RUNTIME_IMAGE = "buildctl.local/debian:bookworm-runtime-arm64"\n'
    )
    (work / "workspace-map.toml").write_text(text)
    # The seed's "change image registry" step: the overlays name the same registry as the map.
    for kustomization in (work / "deployments").glob("*/kustomization.yaml"):
        k = kustomization.read_text().replace(
            "ghcr.io/example-org/game-platform", f"{registry}/game-platform"
        )
        kustomization.write_text(k)
    sh(["git", "init", "-q", "-b", "main"], work)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "game platform monorepo")
    origin = dest / "origin.git"
    sh(["git", "init", "-q", "--bare", str(origin)], dest)
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "-u", "origin", "main")
    # Build containers here cannot reach crates.io: hand them the host's crate sources (untracked).
    sh([str(CHECKOUT / "scripts" / "vendor-sources.sh"), "--workspace", str(work)], work)
    return work


def commit(work: Path, message: str, edit: dict[str, str]) -> str:
    for rel, text in edit.items():
        (work / rel).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def paths_filter(work: Path, base: str, head: str) -> list[str]:
    """The seed workflow's filters: services/<svc>/** plus shared/** for every service."""
    changed = git(work, "diff", "--name-only", base, head).splitlines()
    return [s for s in SERVICES if any(p.startswith((f"services/{s}/", "shared/")) for p in changed)]


def show_plan(work: Path, base: str, head: str, title: str) -> None:
    say(title)
    sh([str(BUILDCTL), "plan", "--base", base, "--head", head], work)
    data = json.loads(
        sh(
            [str(BUILDCTL), "affected", "--base", base, "--head", head, "--format", "json"],
            work,
            capture=True,
        )
    )
    globs = paths_filter(work, base, head)
    missed = sorted(set(data["build"]) - set(globs))
    print(
        f"-> buildctl builds {len(data['build'])}, deploys {len(data['deploy'])}; "
        f"the paths-filter globs would build {len(globs)}"
        + (f" and miss {', '.join(missed)}" if missed else "")
    )


def lock_bump(work: Path) -> dict[str, str]:
    """fastrand 2.3.0 -> the newest 2.x, as `cargo update` writes it (the host fetches the index)."""
    sh(["cargo", "update", "-q", "-p", "fastrand"], work)
    return {"Cargo.lock": (work / "Cargo.lock").read_text()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", default="127.0.0.1:5000", help="local registry address")
    parser.add_argument("--dir", type=Path, help="scratch directory (default: a new temp dir)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    dest = args.dir or Path(tempfile.mkdtemp(prefix="buildctl-demo-"))
    dest.mkdir(parents=True, exist_ok=True)
    say(f"scratch copy of the monorepo in {dest}")
    work = scratch_copy(dest, args.registry)
    start = git(work, "rev-parse", "HEAD")

    prev = start
    physics = (
        work / "shared/physics/src/lib.rs"
    ).read_text() + '\n/// Gravity tuning note.\npub const G_NOTE: &str = "tuned";\n'
    head = commit(work, "physics: note on gravity tuning", {"shared/physics/src/lib.rs": physics})
    show_plan(work, prev, head, "1. a shared-crate change (shared/physics)")
    prev = head
    chat = (work / "services/chat-service/src/main.rs").read_text() + "\n// Rooms are capped at 64 members.\n"
    head = commit(work, "chat-service: document the room cap", {"services/chat-service/src/main.rs": chat})
    show_plan(work, prev, head, "2. a single-service change (services/chat-service)")
    prev = head
    head = commit(work, "bump fastrand", lock_bump(work))
    sh([str(CHECKOUT / "scripts" / "vendor-sources.sh"), "--workspace", str(work)], work)
    show_plan(work, prev, head, "3. a Cargo.lock bump (fastrand, used only by physics-service)")
    prev = head
    ws = (work / "deployments/world-state/kustomization.yaml").read_text().replace("value: 2", "value: 3", 1)
    head = commit(work, "world-state: three replicas", {"deployments/world-state/kustomization.yaml": ws})
    show_plan(work, prev, head, "4. a deployments-only change (world-state replicas)")

    say(f"the main job: buildctl ci over {start[:12]}..{head[:12]} (detect, build, push, bump, commit, push)")
    sh([str(BUILDCTL), "ci", "--base", start, "--jobs", str(args.jobs)], work)

    say("what the registry now holds (each sha- tag: an image index of every platform)")
    for svc in SERVICES:
        url = f"http://{args.registry}/v2/game-platform/{svc}"
        try:
            with urllib.request.urlopen(f"{url}/tags/list", timeout=10) as resp:
                tags = json.loads(resp.read()).get("tags") or []
        except OSError:
            tags = []
        shown = []
        for tag in sorted(t for t in tags if t.startswith("sha-") and len(t) == 44):
            req = urllib.request.Request(f"{url}/manifests/{tag}", headers={"Accept": INDEX})
            with urllib.request.urlopen(req, timeout=10) as resp:
                index = json.loads(resp.read())
            arches = [m["platform"]["architecture"] for m in index.get("manifests", [])]
            shown.append(f"{tag[:16]}… ({' + '.join(arches) or 'one platform'})")
        print(f"{svc:20} {', '.join(shown) or '-'}")
    say("the bump commit on origin/main")
    print(git(work, "--git-dir", str(dest / "origin.git"), "log", "-1", "--stat", "main"))
    if shutil.which("kubectl"):
        say("kubectl kustomize deployments/world-state renders the new image")
        out = sh(["kubectl", "kustomize", "deployments/world-state"], work, capture=True)
        print("\n".join(line for line in out.splitlines() if "image:" in line or "replicas:" in line))
    print(f"\ndone; the scratch copy is {work}")


if __name__ == "__main__":
    main()
