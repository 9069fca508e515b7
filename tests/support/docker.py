"""The real Docker engine and real registries, for tests/e2e/ and benchmarks/.

Nothing here skips: a missing engine, registry or base image raises, and the fixtures turn that
into a failure. The engine may be shared with other work, so cleaning up removes only images
this process made: tags and digests under its own registries, and the images its builds
created, read from `buildctl build -v` logs (never a cached step's image, never a base image).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.git import CHECKOUT, Repo
from tests.support.monorepo import SERVICES as SERVICES  # the benchmarks read it here
from tests.support.monorepo import copy_monorepo
from tests.support.net import free_port

CHEF_IMAGE = "buildctl.local/rust-chef:latest"
RUNTIME_IMAGE = "buildctl.local/debian:bookworm-slim"
# linux/arm64, cross-compiled on this amd64 machine (scripts/bootstrap-images.sh makes both)
CROSS_CHEF_IMAGE = "buildctl.local/rust-chef-cross:latest"
ARM64_RUNTIME_IMAGE = "buildctl.local/debian:bookworm-runtime-arm64"
BASE_IMAGES = (CHEF_IMAGE, RUNTIME_IMAGE, CROSS_CHEF_IMAGE, ARM64_RUNTIME_IMAGE)
NATIVE = "linux/amd64"
SCRIPTS = CHECKOUT / "scripts"
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)

_LOG_LINE = re.compile(r"^\[([^\]]+)\] (.*)$")
_STEP = re.compile(r"^Step \d+/\d+ : (.*)$")
_RESULT = re.compile(r"^ ---> ([0-9a-f]{12})\s*$")


def docker_api() -> Any:
    """A low-level client of the engine the tests build on; raises when there is none."""
    import docker

    client = docker.from_env(version="auto", timeout=600).api
    client.ping()
    return client


def ensure_base_images(api: Any) -> dict[str, str]:
    """Image ids of the local base images; runs scripts/bootstrap-images.sh once if one is missing."""
    from docker.errors import ImageNotFound

    def ids() -> dict[str, str]:
        found = {}
        for ref in BASE_IMAGES:
            with contextlib.suppress(ImageNotFound):
                found[ref] = str(api.inspect_image(ref)["Id"])
        return found

    found = ids()
    if len(found) < len(BASE_IMAGES):
        proc = subprocess.run([str(SCRIPTS / "bootstrap-images.sh")], capture_output=True, text=True)
        found = ids()
        if len(found) < len(BASE_IMAGES):
            raise RuntimeError(
                f"base images {sorted(set(BASE_IMAGES) - set(found))} are missing and "
                f"scripts/bootstrap-images.sh did not make them (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
            )
    return found


@dataclass
class Registry:
    """A docker-registry process started by scripts/registry.sh, and a small HTTP client for it."""

    addr: str
    dir: Path
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def start(cls, state_dir: Path, *, htpasswd: tuple[str, str] | None = None) -> Registry:
        port = free_port()
        argv = [str(SCRIPTS / "registry.sh"), "start", "--port", str(port), "--dir", str(state_dir)]
        if htpasswd:
            argv += ["--htpasswd", f"{htpasswd[0]}:{htpasswd[1]}"]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"scripts/registry.sh start failed ({proc.returncode}):\n{proc.stderr}")
        info = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        user, password = htpasswd if htpasswd else (None, None)
        return cls(info["REGISTRY_ADDR"], state_dir, user, password)

    def stop(self) -> None:
        port = self.addr.rpartition(":")[2]
        subprocess.run(
            [str(SCRIPTS / "registry.sh"), "stop", "--port", port, "--dir", str(self.dir), "--purge"],
            capture_output=True,
            check=False,
        )

    def get(self, path: str, *, auth: bool = True) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(f"http://{self.addr}{path}", headers={"Accept": ACCEPT})
        if auth and self.user and self.password:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    def digest(self, repo: str, tag: str) -> str | None:
        """The Docker-Content-Digest the registry serves for `repo:tag`, None on 404."""
        status, headers, body = self.get(f"/v2/{repo}/manifests/{tag}")
        if status == 404:
            return None
        assert status == 200, (status, body[:300])
        return headers["docker-content-digest"]

    def tags(self, repo: str) -> list[str] | None:
        status, _, body = self.get(f"/v2/{repo}/tags/list")
        if status == 404:
            return None
        assert status == 200, (status, body[:300])
        return list(json.loads(body).get("tags") or [])

    def catalog(self) -> list[str]:
        status, _, body = self.get("/v2/_catalog")
        assert status == 200, (status, body[:300])
        return list(json.loads(body).get("repositories") or [])


@dataclass
class ImageLedger:
    """The images this process's builds created (short ids) and the registries it pushed to."""

    namespaces: list[str] = field(default_factory=list)  # "127.0.0.1:5123/" prefixes
    created: set[str] = field(default_factory=set)

    def record(self, stderr: str) -> None:
        """Take the new image ids out of a `buildctl build -v` log: per log source, the ` ---> <id>`
        line of each step that ran (not after `Using cache`, not a FROM's base)."""
        step: dict[str, str] = {}
        previous: dict[str, str] = {}
        for raw in stderr.splitlines():
            m = _LOG_LINE.match(raw)
            if not m:
                continue
            who, line = m.groups()
            s = _STEP.match(line)
            if s:
                step[who] = s.group(1)
            r = _RESULT.match(line)
            ran = previous.get(who, "").strip() != "---> Using cache"
            if r and ran and not step.get(who, "").upper().startswith("FROM"):
                self.created.add(r.group(1))
            previous[who] = line

    def cleanup(self, api: Any, keep: Iterable[str] = BASE_IMAGES) -> list[str]:
        """Remove every image of ours, children first; returns what could not be removed."""
        from docker.errors import APIError, ImageNotFound, NotFound

        keep_ids = set()
        for ref in keep:
            with contextlib.suppress(ImageNotFound):
                keep_ids.add(api.inspect_image(ref)["Id"])
        images = api.images(all=True)
        parents = {img["Id"]: img.get("ParentId") or "" for img in images}
        ours = set()
        for img in images:
            refs = [*(img.get("RepoTags") or []), *(img.get("RepoDigests") or [])]
            if any(ref.startswith(ns) for ref in refs for ns in self.namespaces):
                ours.add(img["Id"])
            if img["Id"].removeprefix("sha256:")[:12] in self.created:
                ours.add(img["Id"])
        ours -= keep_ids

        def depth(image_id: str) -> int:
            n = 0
            while parents.get(image_id):
                image_id, n = parents[image_id], n + 1
            return n

        left = []
        for image_id in sorted(ours, key=depth, reverse=True):
            try:
                api.remove_image(image_id, force=True)
            except (ImageNotFound, NotFound):
                pass
            except APIError as exc:  # shared with an image that is not ours: leave it
                left.append(f"{image_id[:19]}: {exc.explanation or exc}")
        return left


def layers_on_engine(api: Any) -> set[str]:
    """Every layer diff id some local image holds."""
    from docker.errors import ImageNotFound

    out: set[str] = set()
    for img in api.images(all=True):
        with contextlib.suppress(ImageNotFound):
            out.update(api.inspect_image(img["Id"])["RootFS"].get("Layers") or [])
    return out


def set_registry(repo: Repo, registry: str) -> None:
    """Point the map's [workspace] registry (its first `registry = ` line) at `registry`."""
    text, n = re.subn(
        r"(?m)^registry = .*$", f'registry = "{registry}"', repo.read("workspace-map.toml"), count=1
    )
    assert n == 1, "workspace-map.toml has no `registry = ` line to point at the test registry"
    repo.write("workspace-map.toml", text)


def point_map_at(repo: Repo, registry: str, args: Mapping[str, str]) -> None:
    """Rewrite the copy's workspace-map.toml: [workspace] registry, and [build] args for every command."""
    set_registry(repo, registry)
    text = repo.read("workspace-map.toml")
    inline = ", ".join(f'{k} = "{v}"' for k, v in sorted(args.items()))
    if re.search(r"(?m)^\[build\]\s*$", text):
        assert not re.search(r"(?m)^args\s*=", text), "the map already sets [build] args"
        text = re.sub(r"(?m)^\[build\]\s*$", f"[build]\nargs = {{ {inline} }}", text, count=1)
    else:
        text += f"\n[build]\nargs = {{ {inline} }}\n"
    repo.write("workspace-map.toml", text)


def set_platforms(repo: Repo, platforms: Sequence[str], *, runtime_index: str | None = None) -> None:
    """Set the map's [workspace] platforms; linux/arm64 builds from the local cross-compiling
    builder ([build.platform_args."linux/arm64"]). Its runtime base is the local arm64 image,
    unless the map's RUNTIME_IMAGE is `runtime_index`, a multi-platform index in a registry that
    buildctl resolves for each platform itself (`push_runtime_index`)."""
    text = repo.read("workspace-map.toml")
    line = f"platforms = [{', '.join(json.dumps(p) for p in platforms)}]"
    text, n = re.subn(r"(?m)^platforms = .*$", line, text, count=1)
    if n == 0:
        text, n = re.subn(r"(?m)^\[workspace\]\s*$", f"[workspace]\n{line}", text, count=1)
    assert n == 1, "workspace-map.toml has no [workspace] table to set platforms in"
    # A map's own arm64 table names public images, which cannot be pulled here.
    text = re.sub(r'(?ms)^\[build\.platform_args\."linux/arm64"\]\n.*?(?=^\[|\Z)', "", text)
    if "linux/arm64" in platforms:
        text += f'\n[build.platform_args."linux/arm64"]\nCHEF_IMAGE = "{CROSS_CHEF_IMAGE}"\n'
        if runtime_index is None:
            text += f'RUNTIME_IMAGE = "{ARM64_RUNTIME_IMAGE}"\n'
    repo.write("workspace-map.toml", text)


def push_runtime_index(
    api: Any, registry: Registry, repository: str = "library/debian", tag: str = "bookworm-slim"
) -> str:
    """The local runtime bases (amd64 and arm64) pushed under one tag as an OCI image index, the
    way Docker Hub serves `debian:bookworm-slim`; returns the reference to name in a map."""
    from buildctl.build.registry import OCI_INDEX, IndexEntry, RegistryAPI, content_digest, oci_index

    client = RegistryAPI(registry.addr, None)
    entries = []
    for image, arch in ((RUNTIME_IMAGE, "amd64"), (ARM64_RUNTIME_IMAGE, "arm64")):
        ref = f"{registry.addr}/{repository}:{tag}-{arch}"
        api.tag(image, f"{registry.addr}/{repository}", f"{tag}-{arch}")
        for event in api.push(f"{registry.addr}/{repository}", tag=f"{tag}-{arch}", stream=True, decode=True):
            assert "error" not in event, event
        found = client.manifest(repository, f"{tag}-{arch}")
        assert found is not None, ref
        entries.append(IndexEntry(found[1], found[0], len(found[2]), {"architecture": arch, "os": "linux"}))
    body = oci_index(entries)
    assert client.put_manifest(repository, tag, OCI_INDEX, body) in ("", content_digest(body))
    return f"{registry.addr}/{repository}:{tag}"


def scratch_monorepo(
    dest: Path,
    registry: str,
    *,
    nonce: str | None = None,
    platforms: Sequence[str] = (NATIVE,),
    runtime_index: str | None = None,
) -> Repo:
    """A committed copy of this monorepo whose images go to `registry`, built from the local base
    images for `platforms` (default: this machine's only, whatever the monorepo's map says), with
    vendored crate sources. `nonce` goes into the root Cargo.toml's [workspace.metadata] (so into
    cargo-chef's recipe): copies with the same nonce share their cooks, and one with a nonce of
    its own shares no layer with any other build. `runtime_index` names the runtime base as a
    multi-platform index in a registry instead of the local images."""
    repo = copy_monorepo(dest)
    point_map_at(repo, registry, {"CHEF_IMAGE": CHEF_IMAGE, "RUNTIME_IMAGE": runtime_index or RUNTIME_IMAGE})
    set_platforms(repo, platforms, runtime_index=runtime_index)
    repo.append(
        "Cargo.toml",
        "\n[workspace.metadata.buildctl-test]\n"
        "# A per-copy key: this copy's dependency cook is its own image.\n"
        f'run = "{nonce or secrets.token_hex(8)}"\n',
    )
    proc = subprocess.run(
        [str(SCRIPTS / "vendor-sources.sh"), "--workspace", str(dest)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/vendor-sources.sh failed:\n{proc.stderr}")
    repo.commit("scratch monorepo for image builds")
    return repo


def point_deployments_at(repo: Repo, image_prefix: str) -> None:
    """The overlays' newName at `<image_prefix>/<service>`: a bump refuses any image but the map's."""
    for name in SERVICES:
        path = f"deployments/{name}/kustomization.yaml"
        text, n = re.subn(r"(?m)^(\s+newName: ).*$", rf"\g<1>{image_prefix}/{name}", repo.read(path), count=1)
        assert n == 1, name
        repo.write(path, text)


_BK_STEP = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_BK_CACHED = re.compile(r"^#(\d+) CACHED$")


def build_steps(stderr: str, who: str) -> dict[str, bool]:
    """The Dockerfile steps a `build -v` log shows for `who` (a service, "cook" or "cook-<arch>"),
    each with whether it came from the cache in every build that ran it, in the builder's own
    words: `---> Using cache` under a classic step, `#<n> CACHED` for a BuildKit one. A step is
    named by its instruction (under BuildKit, with its `[stage k/n]`)."""
    runs: dict[str, list[bool]] = {}
    current: list[bool] | None = None
    vertices: dict[str, list[bool]] = {}
    for line in stderr.splitlines():
        if not line.startswith(f"[{who}] "):
            continue
        text = line[len(who) + 3 :]
        if m := re.match(r"Step \d+/\d+ : (.*)$", text):
            current = runs.setdefault(m.group(1), [])
            current.append(False)
        elif current is not None and text.strip() == "---> Using cache":
            current[-1] = True
        elif m := _BK_STEP.match(text):
            if m.group(2) == "internal" and m.group(3).startswith("load build definition"):
                vertices = {}  # a new build: its vertices are numbered from 1 again
            elif not m.group(2).startswith("internal") and m.group(1) not in vertices:
                # (plain progress prints a vertex's header again when its output resumes)
                vertices[m.group(1)] = runs.setdefault(f"[{m.group(2)}] {m.group(3)}", [])
                vertices[m.group(1)].append(False)
        elif (m := _BK_CACHED.match(text)) and m.group(1) in vertices:
            vertices[m.group(1)][-1] = True
    return {name: all(seen) for name, seen in runs.items()}


def steps_cached(stderr: str, who: str, command: str) -> list[bool]:
    """For each step of `who`'s log that runs `command` (e.g. "cargo chef cook"): did it come
    from the cache? (See `build_steps`; how many names BuildKit gives one step of several
    platforms' builds varies, so callers check every entry rather than count them.)"""
    return [cached for step, cached in build_steps(stderr, who).items() if command in step]


def wait_for_http(url: str, *, timeout: float, alive: Any = None) -> bytes:
    """GET `url` until it answers 200; `alive()` returning False stops early (the server died)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return bytes(resp.read())
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        if alive is not None and not alive():
            break
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f}s (last error: {last})")
