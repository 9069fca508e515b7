from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docker_support import ImageLedger, Registry, docker_api, ensure_base_images, scratch_monorepo
from tests.helpers import Repo
from tests.workspaces import write_mini


@pytest.fixture(autouse=True)
def _no_github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite may itself run inside GitHub Actions; its event must not steer the tests.
    for key in list(os.environ):
        if key.startswith("GITHUB_"):
            monkeypatch.delenv(key)


@pytest.fixture
def mini(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "mini")
    write_mini(repo)
    repo.commit("mini workspace")
    return repo


# --- The real Docker engine and local registries (tests marked `docker`) -----------------------
# Session-scoped: the engine, the base images, two registries and one scratch monorepo serve
# every docker test. A missing engine or registry fails the test; it is never skipped.


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


# --- Secret scan (issue 5, item 4) ------------------------------------------------------------------
# Tests that exercise credentials use these well-known fake tokens; the auth_registry fixture's
# htpasswd password counts too. Everything the suite captures is scanned for them: each test
# report's captured stdout, stderr and log sections and its failure text, what `capsys`/`capfd`
# hand a test, and every `tests.helpers.run` result. Any hit fails the session (see the "secret
# scan" section of the summary); the hit is shown masked. The value of an `::add-mask::` is
# exempt: the runner consumes that line, and it is how a secret is hidden.

import base64  # noqa: E402  (an appended block keeps its imports with it)
import functools  # noqa: E402
import re  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402

from tests import helpers  # noqa: E402

FAKE_GITHUB_TOKEN = "ghp_TESTTOKENbuildctl0000doNotLeak0000X1"
FAKE_REGISTRY_USER = "buildctl-bot"
FAKE_REGISTRY_PASSWORD = "bctl-TESTPASSWORD-doNotLeak-7f3e9c"
HTPASSWD_USER, HTPASSWD_PASSWORD = "user", "secret"  # the auth_registry fixture's
TEST_SECRET_TOKENS = (FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD, HTPASSWD_PASSWORD)


def _secret_pattern() -> re.Pattern[str]:
    pairs = [
        (FAKE_REGISTRY_USER, FAKE_REGISTRY_PASSWORD),
        ("x-access-token", FAKE_GITHUB_TOKEN),
        (HTPASSWD_USER, HTPASSWD_PASSWORD),
    ]
    basic = [base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in pairs]  # Authorization: Basic
    literal = [FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD, *basic]
    # "secret" is an English word too: it counts where it stands as a value, after `:` or `=`
    # (user:secret, :secret@host, password='secret').
    word = rf"(?:(?<=[:=])|(?<=[:=][\"'])){re.escape(HTPASSWD_PASSWORD)}(?![\w-])"
    return re.compile("|".join([*map(re.escape, literal), word]))


SECRET_PATTERN = _secret_pattern()
_SECRET_LEAKS: list[tuple[str, str, str]] = []  # (test, where, masked excerpt)


def secret_hits(text: str) -> list[str]:
    """Masked excerpts of every fake token in `text`, but for the value of an `::add-mask::`."""
    hits = []
    for line in text.splitlines():
        for m in SECRET_PATTERN.finditer(line):
            if line[: m.start()].endswith("::add-mask::"):
                continue
            start = max(0, m.start() - 40)
            hits.append(line[start : m.start()] + "<TEST TOKEN>" + line[m.end() : m.end() + 40])
    return hits


def _scan_secrets(text: str, test: str, where: str) -> None:
    for excerpt in secret_hits(text):
        _SECRET_LEAKS.append((test, where, excerpt))


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)")


def _tap_helpers_run() -> None:
    """Scan what the CLI printed in every in-process run (tests.helpers.run captures it)."""
    original = helpers.run

    @functools.wraps(original)
    def run(args: Sequence[str], env: Mapping[str, str] | None = None) -> helpers.Result:
        result = original(args, env)
        _scan_secrets(result.stdout, _current_test(), "buildctl stdout")
        _scan_secrets(result.stderr, _current_test(), "buildctl stderr")
        return result

    helpers.run = run  # the test modules import it after this conftest


def _tap_readouterr() -> None:
    """Scan what capsys/capfd hand a test (it never reaches the report's captured sections)."""
    original = pytest.CaptureFixture.readouterr

    @functools.wraps(original)
    def readouterr(self: pytest.CaptureFixture[Any]) -> Any:
        out = original(self)
        for where, text in (("stdout read by the test", out.out), ("stderr read by the test", out.err)):
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            _scan_secrets(text, _current_test(), where)
        return out

    pytest.CaptureFixture.readouterr = readouterr  # type: ignore[method-assign]


_tap_helpers_run()
_tap_readouterr()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, content in report.sections:
        if name.endswith(f" {report.when}"):  # a report repeats the sections of earlier phases
            _scan_secrets(content, report.nodeid, name)
    if report.failed and report.longrepr is not None:
        # The exception and assertion lines, not the test's source (which may spell a token).
        crash = getattr(report.longrepr, "reprcrash", None)
        text = "\n".join(line for line in str(report.longrepr).splitlines() if line.startswith("E ")) + (
            "\n" + crash.message if crash is not None else ""
        )
        _scan_secrets(text, report.nodeid, f"failure text ({report.when})")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SECRET_LEAKS and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _SECRET_LEAKS:
        return
    terminalreporter.section("token scan", sep="=", red=True, bold=True)
    for test, where, excerpt in _SECRET_LEAKS:
        terminalreporter.line(f"{test}: a test token in {where}: {excerpt!r}")
    terminalreporter.line(f"{len(_SECRET_LEAKS)} leak(s): the session fails")
