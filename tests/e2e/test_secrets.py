"""With the engine: registries that refuse the connection or repeat the credentials they are
sent never make a token show, in any output, at any verbosity (see tests/support/secrets.py)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.git import Repo
from tests.support.net import free_port
from tests.support.secret_scan import FAKE_REGISTRY_PASSWORD
from tests.support.secrets import (
    COMMANDS_WITH_A_REGISTRY,
    assert_no_token,
    first_line_masks,
    push_event,
    secret_env,
    with_registry,
)


@pytest.mark.parametrize("command", sorted(COMMANDS_WITH_A_REGISTRY))
def test_a_registry_that_refuses_connections_shows_no_token(mini: Repo, tmp_path: Path, command: str) -> None:
    port = free_port()
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
    fault the real registry (tests/support/docker.py) cannot produce: a misbehaving server."""

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
