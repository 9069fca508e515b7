"""Every test below this folder is marked `docker`: it needs the real Docker engine and a
registry. The engine, the base images, two registries, one scratch monorepo and two builds of it
serve them all (session scope): the whole monorepo for both platforms by BuildKit (`built`), and
two services for both platforms by the classic builder (`classic`). Every scratch copy has the
same recipe, so each builder compiles each platform's dependencies once per session. A missing
engine or registry fails a test; it is never skipped.

The tests that empty the engine (a fresh runner's view) run last: they throw away the caches
every other test reads."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result, run
from tests.support.docker import (
    NATIVE,
    SERVICES,
    ImageLedger,
    Registry,
    docker_api,
    ensure_base_images,
    point_deployments_at,
    push_runtime_index,
    scratch_monorepo,
    set_platforms,
    set_registry,
)
from tests.support.git import Repo
from tests.support.markers import folder_marker
from tests.support.secret_scan import HTPASSWD_PASSWORD, HTPASSWD_USER

pytest_itemcollected = folder_marker("docker")


@pytest.fixture(scope="session")
def docker_engine() -> Any:
    try:
        return docker_api()
    except Exception as exc:
        pytest.fail(f"the Docker engine is not reachable (start dockerd, or set DOCKER_HOST): {exc}")


@pytest.fixture(scope="session")
def base_images(docker_engine: Any) -> dict[str, str]:
    try:
        return ensure_base_images(docker_engine)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def image_ledger(docker_engine: Any) -> Iterator[ImageLedger]:
    """The images the session's builds made; removed at the end (base images are kept)."""
    ledger = ImageLedger()
    yield ledger
    ledger.cleanup(docker_engine)


def _registry(
    tmp_path_factory: pytest.TempPathFactory, ledger: ImageLedger, htpasswd: tuple[str, str] | None
) -> Iterator[Registry]:
    try:
        reg = Registry.start(tmp_path_factory.mktemp("registry") / "state", htpasswd=htpasswd)
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"the local registry did not start: {exc}")
    ledger.namespaces.append(f"{reg.addr}/")
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, image_ledger: ImageLedger) -> Iterator[Registry]:
    """Debian's docker-registry on a free 127.0.0.1 port, without auth; purged at the end."""
    yield from _registry(tmp_path_factory, image_ledger, None)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory, image_ledger: ImageLedger) -> Iterator[Registry]:
    """A second registry that wants basic auth (the secret scan's htpasswd user and password)."""
    yield from _registry(tmp_path_factory, image_ledger, (HTPASSWD_USER, HTPASSWD_PASSWORD))


# One recipe for every scratch copy of the session: the cooks are shared.
SESSION_NONCE = secrets.token_hex(8)
NAMESPACE = "buildctl-test"
SESSION_BASE = "session-base"
BOTH = ("linux/amd64", "linux/arm64")
LAST = ("test_fresh_runner.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that empty the engine go last."""
    items.sort(key=lambda item: item.path.name in LAST)


@pytest.fixture(scope="session")
def runtime_index(docker_engine: Any, registry: Registry, base_images: dict[str, str]) -> str:
    """`<registry>/library/debian:bookworm-slim`: the local runtime bases of both platforms under
    one tag, an OCI index, as Docker Hub serves the real one."""
    return push_runtime_index(docker_engine, registry)


@pytest.fixture(scope="session")
def docker_monorepo(
    tmp_path_factory: pytest.TempPathFactory,
    registry: Registry,
    base_images: dict[str, str],
    runtime_index: str,
) -> Repo:
    """A committed copy of this monorepo for both platforms: its map's registry at `registry`
    (namespace buildctl-test), the local builder images as CHEF_IMAGE, the runtime base named by
    one multi-platform reference (`runtime_index`), vendored crate sources, and the overlays'
    images in that registry."""
    repo = scratch_monorepo(
        tmp_path_factory.mktemp("docker") / "monorepo",
        f"{registry.addr}/{NAMESPACE}",
        nonce=SESSION_NONCE,
        platforms=BOTH,
        runtime_index=runtime_index,
    )
    point_deployments_at(repo, f"{registry.addr}/{NAMESPACE}")
    repo.commit("deployments: images from the test registry")
    repo.git("tag", SESSION_BASE)  # tests check out branches of their own; this stays put
    return repo


def native_only(repo: Repo, runtime_index: str) -> None:
    """The copy's map builds this machine's platform only (the tests of the job, not of the
    platforms): the same cook as the session's for it."""
    set_platforms(repo, (NATIVE,), runtime_index=runtime_index)


@dataclass
class Built:
    """A build of the scratch monorepo by one builder, pushed, and what it reported."""

    builder: str
    repo: Repo
    registry: Registry
    api: Any
    ledger: ImageLedger
    docker_config: Path
    head: str
    report: dict[str, Any]
    result_file: Path
    namespace: str
    runtime_index: str

    def buildctl(self, command: str, *args: str, env: Mapping[str, str] | None = None) -> Result:
        """`buildctl <command> [-v --builder <builder>] ...` in-process on the copy."""
        extra = ["-v", "--builder", self.builder] if command in ("build", "warm", "ci") else []
        res = run(
            ["--repo", str(self.repo.path), command, *extra, *args],
            env={"DOCKER_CONFIG": str(self.docker_config), **(env or {})},
        )
        self.ledger.record(res.stderr)
        return res

    def branch(self, name: str) -> None:
        """Check out a new branch `name` at the commit the session built."""
        self.repo.git("checkout", "-q", "-B", f"{self.builder}-{name}", self.head)

    def service(self, name: str) -> dict[str, Any]:
        return dict(self.report["services"][name])

    def native_only(self) -> None:
        """This branch's map builds this machine's platform only (where a test is about the
        builder's cache or its messages, not about the platforms); the session's cook serves it."""
        set_platforms(self.repo, (NATIVE,), runtime_index=self.runtime_index)


def _build(
    builder: str,
    repo: Repo,
    registry: Registry,
    api: Any,
    ledger: ImageLedger,
    root: Path,
    services: tuple[str, ...],
    namespace: str,
    runtime_index: str,
) -> Built:
    config = root / "docker-config"  # no credentials but the ones a test passes
    config.mkdir()
    b = Built(
        builder,
        repo,
        registry,
        api,
        ledger,
        config,
        repo.head(),
        {},
        root / "build.json",
        namespace,
        runtime_index,
    )
    b.branch("session")
    which = ["--all"] if services == SERVICES else [a for s in services for a in ("--service", s)]
    res = b.buildctl("build", *which, "--push", "--jobs", "2", "--format", "json")
    assert res.code == 0, res.stderr[-6000:]
    b.report = res.json()
    b.result_file.write_text(res.stdout)
    return b


@pytest.fixture(scope="session")
def built(
    docker_monorepo: Repo,
    runtime_index: str,
    registry: Registry,
    docker_engine: Any,
    image_ledger: ImageLedger,
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    """Every service for both platforms by BuildKit (what `auto` picks here), pushed: `build --all
    --push` as CI runs it."""
    if shutil.which("qemu-aarch64-static") is None:
        pytest.fail("qemu-aarch64-static is not installed (scripts/setup.sh installs qemu-user-static)")
    root = tmp_path_factory.mktemp("built-buildkit")
    return _build(
        "buildkit",
        docker_monorepo,
        registry,
        docker_engine,
        image_ledger,
        root,
        SERVICES,
        NAMESPACE,
        runtime_index,
    )


CLASSIC_SERVICES = ("auth-service",)


@pytest.fixture(scope="session")
def classic(
    docker_monorepo: Repo,
    runtime_index: str,
    registry: Registry,
    docker_engine: Any,
    image_ledger: ImageLedger,
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    """A service for both platforms by the classic builder, pushed to a namespace of its own."""
    root = tmp_path_factory.mktemp("built-classic")
    repo = Repo(root / "monorepo")
    shutil.copytree(docker_monorepo.path, repo.path, symlinks=True)  # with the vendored sources
    namespace = "buildctl-classic"
    set_registry(repo, f"{registry.addr}/{namespace}")
    point_deployments_at(repo, f"{registry.addr}/{namespace}")
    repo.commit("the classic builder's namespace")
    return _build(
        "classic",
        repo,
        registry,
        docker_engine,
        image_ledger,
        root,
        CLASSIC_SERVICES,
        namespace,
        runtime_index,
    )


@pytest.fixture(scope="session", params=["buildkit", "classic"])
def either(request: pytest.FixtureRequest) -> Built:
    """Each builder's session build in turn."""
    built: Built = request.getfixturevalue("built" if request.param == "buildkit" else "classic")
    return built
