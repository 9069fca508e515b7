"""Secrets (issue 5, item 4): a registry password or a GitHub token never appears in any output,
log or exception text, at any verbosity.

Every test here runs with the well-known fake tokens of tests/conftest.py in the environment, in
GitHub Actions mode, with -v where the command has it and BUILDCTL_DEBUG=1 (tracebacks on). Each
test asserts on what it captured, and the conftest's token scan checks everything the whole
suite captured as well. Tokens come from the environment or docker's credential store, never
from a command-line argument.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest

from buildctl.build import registry
from buildctl.cli import COMMANDS, cli
from tests.conftest import (
    FAKE_GITHUB_TOKEN,
    FAKE_REGISTRY_PASSWORD,
    FAKE_REGISTRY_USER,
    TEST_SECRET_TOKENS,
    secret_hits,
)
from tests.helpers import CHECKOUT, Repo, Result, run

UNREACHABLE_ENGINE = "tcp://127.0.0.1:1"  # nothing listens on port 1: connection refused


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def secret_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Actions mode, verbose tracebacks, and every token buildctl could be handed."""
    out = tmp_path / "gha"
    out.mkdir(exist_ok=True)
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": FAKE_GITHUB_TOKEN,
        "GITHUB_ACTOR": "x-access-token",
        "BUILDCTL_REGISTRY_USER": FAKE_REGISTRY_USER,
        "BUILDCTL_REGISTRY_PASSWORD": FAKE_REGISTRY_PASSWORD,
        "BUILDCTL_DEBUG": "1",
        "BUILDCTL_CACHE_DIR": "",
        "GITHUB_OUTPUT": str(out / "output"),
        "GITHUB_STEP_SUMMARY": str(out / "summary.md"),
        "DOCKER_CONFIG": str(tmp_path / "no-docker-config"),
        **extra,
    }


def assert_no_token(res: Result, env: dict[str, str]) -> None:
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = Path(env[name])
        if path.exists():
            assert secret_hits(path.read_text()) == [], name
    assert secret_hits(res.stdout) == [] and secret_hits(res.stderr) == [], (res.stdout, res.stderr)
    for token in TEST_SECRET_TOKENS[:2]:  # the conftest pattern, spelled out once more
        masks = [line for line in res.stderr.splitlines() if line.startswith("::add-mask::")]
        assert token not in "\n".join(line for line in res.stderr.splitlines() if line not in masks)
        assert token not in res.stdout


def first_line_masks(res: Result, secret: str) -> None:
    """In Actions mode the mask is the first thing buildctl prints, before anything could show it."""
    assert res.stderr.splitlines()[0] == f"::add-mask::{secret}"


def with_registry(mini: Repo, registry_path: str) -> str:
    """Point the map at `registry_path`, change service a, commit; returns the base commit."""
    mini.write(
        "workspace-map.toml", mini.read("workspace-map.toml").replace("127.0.0.1:5000/team", registry_path)
    )
    base = mini.commit("map")
    mini.write("svc/a/src/main.rs", "fn main() { }\n")
    mini.commit("change a")
    return base


def push_event(tmp_path: Path, base: str) -> dict[str, str]:
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"before": base, "repository": {"default_branch": "main"}}))
    return {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(payload)}


COMMANDS_WITH_A_REGISTRY = {
    "build": ["build", "--service", "a", "--push", "-v"],
    "ci": ["ci", "-v"],
    "warm": ["warm", "-v"],
}


# --- where tokens come from ------------------------------------------------------------------------


def test_no_option_or_argument_takes_a_secret() -> None:
    """Tokens come from the environment or docker's credential store: no parameter carries one."""
    ctx = click.Context(cli)
    params = [("buildctl", p) for p in cli.params]
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        params += [(name, p) for p in command.params]
    assert len(params) > 40
    secretive = re.compile(r"pass|token|secret|cred|auth|login|key", re.I)
    for command_name, param in params:
        names = [
            param.name or "",
            *param.opts,
            *param.secondary_opts,
            str(getattr(param, "envvar", "") or ""),
        ]
        assert not any(secretive.search(n) for n in names), (command_name, names)
        assert not getattr(param, "hide_input", False) and not getattr(param, "prompt", None), command_name


def test_credentials_come_from_the_environment(tmp_path: Path) -> None:
    env = {"BUILDCTL_REGISTRY_USER": FAKE_REGISTRY_USER, "BUILDCTL_REGISTRY_PASSWORD": FAKE_REGISTRY_PASSWORD}
    creds = registry.credentials("127.0.0.1:5000", env)
    assert creds is not None and (creds.username, creds.password) == (
        FAKE_REGISTRY_USER,
        FAKE_REGISTRY_PASSWORD,
    )
    assert FAKE_REGISTRY_PASSWORD not in repr(creds) and FAKE_REGISTRY_PASSWORD not in creds.source
    ghcr = registry.credentials("ghcr.io", {"GITHUB_TOKEN": FAKE_GITHUB_TOKEN, "HOME": str(tmp_path)})
    assert ghcr is not None and ghcr.password == FAKE_GITHUB_TOKEN and ghcr.source == "GITHUB_TOKEN"
    # GITHUB_TOKEN is for GHCR only: it is never sent to another registry.
    assert (
        registry.credentials("127.0.0.1:5000", {"GITHUB_TOKEN": FAKE_GITHUB_TOKEN, "HOME": str(tmp_path)})
        is None
    )


def test_credentials_come_from_dockers_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`auths` in config.json, and a real credential helper program on PATH."""
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{FAKE_REGISTRY_USER}:{FAKE_REGISTRY_PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": auth}}}))
    creds = registry.credentials("127.0.0.1:5000", {"DOCKER_CONFIG": str(config)})
    assert creds is not None and creds.password == FAKE_REGISTRY_PASSWORD
    assert creds.source == f"{config}/config.json"

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-buildctltest"
    helper.write_text(
        "#!/bin/sh\nread host\n"
        f'printf \'{{"ServerURL": "%s", "Username": "{FAKE_REGISTRY_USER}", "Secret": "{FAKE_GITHUB_TOKEN}"}}\' "$host"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (config / "config.json").write_text(json.dumps({"credHelpers": {"ghcr.io": "buildctltest"}}))
    creds = registry.credentials("ghcr.io", {"DOCKER_CONFIG": str(config)})
    assert creds is not None and creds.password == FAKE_GITHUB_TOKEN
    assert creds.source == "docker credential helper 'buildctltest'"


# --- failure paths without an engine: the mask comes first, and nothing shows a token ----------------


@pytest.mark.parametrize("command", sorted(COMMANDS_WITH_A_REGISTRY))
def test_an_unreachable_engine_shows_no_token(mini: Repo, tmp_path: Path, command: str) -> None:
    base = with_registry(mini, "127.0.0.1:5000/team")
    env = secret_env(tmp_path, DOCKER_HOST=UNREACHABLE_ENGINE, **push_event(tmp_path, base))
    res = run(["--repo", str(mini.path), *COMMANDS_WITH_A_REGISTRY[command]], env=env)
    assert res.code == 1, res.stderr
    assert "the Docker engine is not reachable" in res.stderr and "Traceback" not in res.stderr
    first_line_masks(res, FAKE_REGISTRY_PASSWORD)
    assert_no_token(res, env)


def test_a_password_from_dockers_store_is_masked_first(mini: Repo, tmp_path: Path) -> None:
    with_registry(mini, "127.0.0.1:5000/team")
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{FAKE_REGISTRY_USER}:{FAKE_GITHUB_TOKEN}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": auth}}}))
    env = secret_env(tmp_path, DOCKER_HOST=UNREACHABLE_ENGINE, DOCKER_CONFIG=str(config))
    del env["BUILDCTL_REGISTRY_PASSWORD"]
    res = run(["--repo", str(mini.path), "build", "--service", "a", "--push", "-v"], env=env)
    assert res.code == 1
    first_line_masks(res, FAKE_GITHUB_TOKEN)
    assert_no_token(res, env)


def test_outside_actions_no_mask_is_printed_and_no_token(mini: Repo, tmp_path: Path) -> None:
    with_registry(mini, "127.0.0.1:5000/team")
    env = secret_env(tmp_path, DOCKER_HOST=UNREACHABLE_ENGINE)
    del env["GITHUB_ACTIONS"]
    res = run(["--repo", str(mini.path), "build", "--service", "a", "--push", "-v"], env=env)
    assert res.code == 1 and "::add-mask::" not in res.stderr
    assert_no_token(res, env)


def test_a_bump_push_that_fails_shows_no_token(mini: Repo, tmp_path: Path) -> None:
    """The token in the remote URL and in an `http.extraheader` (what actions/checkout sets)."""
    url = f"https://x-access-token:{FAKE_GITHUB_TOKEN}@127.0.0.1:{closed_port()}/org/repo.git"
    mini.git("remote", "add", "origin", url)
    header = base64.b64encode(f"x-access-token:{FAKE_GITHUB_TOKEN}".encode()).decode()
    mini.git("config", "http.extraheader", f"AUTHORIZATION: basic {header}")
    before = mini.head()
    env = secret_env(tmp_path, GIT_TERMINAL_PROMPT="0")
    res = run(["--repo", str(mini.path), "bump", "a=sha-1234567", "--push", "--branch", "main"], env=env)
    assert res.code == 1, res.stderr
    assert "git fetch from origin (https://127.0.0.1:" in res.stderr
    commands = [line for line in res.stderr.splitlines() if line.startswith("::")]
    assert len(commands) == 1 and commands[0].startswith("::error")
    assert_no_token(res, env)
    assert mini.head() == before


def test_the_scan_catches_a_leak_and_fails_the_session(tmp_path: Path) -> None:
    """The conftest's hooks in a session of their own: a printed token and one read through
    capsys fail it, shown masked; a clean session passes."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_runtest_logreport, pytest_sessionfinish, pytest_terminal_summary\n"
    )
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            """
            import sys
            from tests.conftest import FAKE_GITHUB_TOKEN, FAKE_REGISTRY_PASSWORD

            def test_prints():
                print("pushing with", FAKE_GITHUB_TOKEN)

            def test_read_by_capsys(capsys):
                print("::add-mask::" + FAKE_REGISTRY_PASSWORD)  # exempt: the runner consumes it
                print("login with", FAKE_REGISTRY_PASSWORD, file=sys.stderr)
                capsys.readouterr()

            def test_clean():
                print("nothing to see")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 1, proc.stdout
    assert "3 passed" in proc.stdout and "token scan" in proc.stdout and "2 leak(s)" in proc.stdout
    assert "test_leaky.py::test_prints: a test token in Captured stdout call" in proc.stdout
    assert "test_read_by_capsys (call): a test token in stderr read by the test" in proc.stdout
    assert "pushing with <TEST TOKEN>" in proc.stdout
    assert not any(token in proc.stdout + proc.stderr for token in TEST_SECRET_TOKENS[:2])

    (tmp_path / "test_leaky.py").write_text("def test_clean():\n    print('nothing to see')\n")
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 0 and "token scan" not in proc.stdout, proc.stdout


# --- failure paths with the engine: refused logins and registries that misbehave -----------------


@pytest.mark.docker
@pytest.mark.parametrize("command", sorted(COMMANDS_WITH_A_REGISTRY))
def test_a_registry_that_refuses_connections_shows_no_token(mini: Repo, tmp_path: Path, command: str) -> None:
    port = closed_port()
    base = with_registry(mini, f"127.0.0.1:{port}/team")
    env = secret_env(tmp_path, **push_event(tmp_path, base))
    res = run(["--repo", str(mini.path), *COMMANDS_WITH_A_REGISTRY[command]], env=env)
    assert res.code == 1, res.stderr
    expected = (
        f"registry 127.0.0.1:{port} is not reachable"
        if command == "warm"
        else f"login to 127.0.0.1:{port} failed"
    )
    assert expected in res.stderr and "Traceback" not in res.stderr
    first_line_masks(res, FAKE_REGISTRY_PASSWORD)
    assert_no_token(res, env)


class _Reflecting(BaseHTTPRequestHandler):
    """A registry that repeats the credentials it is sent, in bodies and errors. This injects a
    fault the real registry (tests/docker_support.py) cannot produce: a misbehaving server."""

    mode = "basic"

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization") or ""
        decoded = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
        echo = f"you sent {auth!r}, that is {decoded!r}"
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            if self.mode == "bearer-500":
                self._send(500, f"token service down; {echo}")
            else:  # bearer-not-json
                self._send(200, f"<html>{echo}</html>")
            return
        if self.mode == "basic":
            if not auth:
                self._send(401, "{}", {"WWW-Authenticate": 'Basic realm="registry"'})
            else:
                self._send(401, json.dumps({"errors": [{"message": f"denied: {echo}"}]}))
            return
        realm = "" if self.mode == "bearer-no-realm" else f"http://127.0.0.1:{port}/token"
        self._send(401, "{}", {"WWW-Authenticate": f'Bearer realm="{realm}",service="registry"'})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def reflecting(request: pytest.FixtureRequest) -> Iterator[int]:
    handler = type("Handler", (_Reflecting,), {"mode": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


REFLECTING = [
    (
        "basic",
        "refused team/buildctl-cache:cook-",
        "401 unauthorized (",
        "you sent 'Basic ***', that is 'buildctl-bot:***'",
    ),
    ("bearer-500", "for a token, and getting one failed: HTTP Error 500", "", ""),
    ("bearer-not-json", "for a token, and getting one failed: Expecting value", "", ""),
    ("bearer-no-realm", "sent buildctl to '' for a token, and getting one failed: unknown url type", "", ""),
]


@pytest.mark.docker  # warm connects to the engine before it asks the registry
@pytest.mark.parametrize(
    ("reflecting", "m1", "m2", "m3"), REFLECTING, indirect=["reflecting"], ids=[r[0] for r in REFLECTING]
)
def test_a_registry_that_repeats_credentials_shows_no_token(
    mini: Repo, tmp_path: Path, reflecting: int, m1: str, m2: str, m3: str
) -> None:
    with_registry(mini, f"127.0.0.1:{reflecting}/team")
    env = secret_env(tmp_path)
    res = run(["--repo", str(mini.path), "warm", "-v"], env=env)
    assert res.code == 1, res.stderr  # an error with a message, never "unexpected" (exit 3)
    assert f"registry 127.0.0.1:{reflecting} " in res.stderr
    for fragment in (m1, m2, m3):
        assert fragment in res.stderr, res.stderr
    first_line_masks(res, FAKE_REGISTRY_PASSWORD)
    assert_no_token(res, env)
