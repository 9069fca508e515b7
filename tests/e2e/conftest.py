"""Every test below this folder is marked `docker`: it needs the real Docker engine and a
registry. The engine, the base images, two registries and one scratch monorepo serve them all
(session scope). A missing engine or registry fails a test; it is never skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.docker import ImageLedger, Registry, docker_api, ensure_base_images, scratch_monorepo
from tests.support.git import Repo
from tests.support.markers import folder_marker

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
    """A second registry that wants basic auth: user `user`, password `secret`."""
    yield from _registry(tmp_path_factory, image_ledger, ("user", "secret"))


@pytest.fixture(scope="session")
def docker_monorepo(
    tmp_path_factory: pytest.TempPathFactory, registry: Registry, base_images: dict[str, str]
) -> Repo:
    """A committed copy of this monorepo with its map's registry at `registry` (namespace
    buildctl-test), [build] args naming the local base images, and vendored crate sources."""
    return scratch_monorepo(tmp_path_factory.mktemp("docker") / "monorepo", f"{registry.addr}/buildctl-test")
