"""The secret scan: a pytest plugin (tests/conftest.py loads it) that fails the session when one
of the suite's well-known fake tokens shows anywhere the suite captured it.

Tests that exercise credentials use the tokens below; the auth_registry fixture's htpasswd
password counts too. Scanned: each test report's captured stdout, stderr and log sections and
its failure text (hooks), what `capsys`/`capfd` hand a test (the fixtures are wrapped here: such
a read never reaches a report), and every in-process CLI run (tests.support.cli.run calls `scan`).
Any hit fails the session, listed in the "token scan" section of the summary and shown masked.
The value of an `::add-mask::` is exempt: the runner consumes that line, and it is how a secret
is hidden.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

FAKE_GITHUB_TOKEN = "ghp_TESTTOKENbuildctl0000doNotLeak0000X1"
FAKE_REGISTRY_USER = "buildctl-bot"
FAKE_REGISTRY_PASSWORD = "bctl-TESTPASSWORD-doNotLeak-7f3e9c"
HTPASSWD_USER, HTPASSWD_PASSWORD = "user", "htpw-TESTPASSWORD-doNotLeak-41c2"  # the auth_registry fixture's
TEST_SECRET_TOKENS = (FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD, HTPASSWD_PASSWORD)


def _secret_pattern() -> re.Pattern[str]:
    pairs = [
        (FAKE_REGISTRY_USER, FAKE_REGISTRY_PASSWORD),
        ("x-access-token", FAKE_GITHUB_TOKEN),
        (HTPASSWD_USER, HTPASSWD_PASSWORD),
    ]
    basic = [base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in pairs]  # Authorization: Basic
    # (not a word such as "secret": `--mount=type=secret` is in every BuildKit log that uses one)
    return re.compile("|".join(map(re.escape, [*TEST_SECRET_TOKENS, *basic])))


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


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)")


def scan(text: str, where: str, test: str | None = None) -> None:
    """Record every fake token in `text`, seen in `where` while `test` (default: the current one) ran."""
    for excerpt in secret_hits(text):
        _SECRET_LEAKS.append((test or _current_test(), where, excerpt))


class ScannedCapture:
    """A capture fixture whose every read is scanned; anything else goes to the fixture itself."""

    def __init__(self, inner: pytest.CaptureFixture[Any]) -> None:
        self._inner = inner

    def readouterr(self) -> Any:
        out = self._inner.readouterr()
        for where, text in (("stdout read by the test", out.out), ("stderr read by the test", out.err)):
            scan(text.decode("utf-8", "replace") if isinstance(text, bytes) else text, where)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# Each requests pytest's own fixture of the same name, and hands the test a scanned view of it.
@pytest.fixture
def capsys(capsys: pytest.CaptureFixture[str]) -> Iterator[ScannedCapture]:
    yield ScannedCapture(capsys)


@pytest.fixture
def capfd(capfd: pytest.CaptureFixture[str]) -> Iterator[ScannedCapture]:
    yield ScannedCapture(capfd)


@pytest.fixture
def capsysbinary(capsysbinary: pytest.CaptureFixture[bytes]) -> Iterator[ScannedCapture]:
    yield ScannedCapture(capsysbinary)


@pytest.fixture
def capfdbinary(capfdbinary: pytest.CaptureFixture[bytes]) -> Iterator[ScannedCapture]:
    yield ScannedCapture(capfdbinary)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, content in report.sections:
        if name.endswith(f" {report.when}"):  # a report repeats the sections of earlier phases
            scan(content, name, report.nodeid)
    if report.failed and report.longrepr is not None:
        # The exception and assertion lines, not the test's source (which may spell a token).
        crash = getattr(report.longrepr, "reprcrash", None)
        text = "\n".join(line for line in str(report.longrepr).splitlines() if line.startswith("E ")) + (
            "\n" + crash.message if crash is not None else ""
        )
        scan(text, f"failure text ({report.when})", report.nodeid)


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
