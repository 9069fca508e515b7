"""The image registry: credentials, login and push through the engine, and the registry's own
HTTP API (does a tag exist, copy a manifest to a new tag, read an index).

Secrets stay in `Credentials` (never in its repr) and are scrubbed from every message we raise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildctl.errors import BuildctlError, TransientError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    source: str  # where they came from, for messages (never the secret itself)


@dataclass(frozen=True)
class IndexEntry:
    """One platform's manifest in an image index: what the registry stored for it, and its platform."""

    media_type: str
    digest: str
    size: int
    platform: Mapping[str, str]  # {"architecture": "arm64", "os": "linux"}


def oci_index(entries: Sequence[IndexEntry]) -> bytes:
    """An OCI image index (a multi-platform "manifest list") of `entries`, in their order. The same
    entries always give the same bytes, so the same digest."""
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": e.media_type, "digest": e.digest, "size": e.size, "platform": dict(e.platform)}
            for e in entries
        ],
    }
    return json.dumps(index, separators=(",", ":")).encode()


def content_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def split_image(image: str) -> tuple[str, str]:
    """`127.0.0.1:5000/team/svc` → (`127.0.0.1:5000`, `team/svc`)."""
    host, _, path = image.partition("/")
    if not path or ("." not in host and ":" not in host and host != "localhost"):
        return "docker.io", image
    return host, path


def credentials(host: str, environ: Mapping[str, str] = os.environ) -> Credentials | None:
    user, password = environ.get("BUILDCTL_REGISTRY_USER"), environ.get("BUILDCTL_REGISTRY_PASSWORD")
    if user and password:
        return Credentials(user, password, "BUILDCTL_REGISTRY_USER/BUILDCTL_REGISTRY_PASSWORD")
    if host == "ghcr.io" and environ.get("GITHUB_TOKEN"):
        return Credentials(
            environ.get("GITHUB_ACTOR") or "x-access-token", environ["GITHUB_TOKEN"], "GITHUB_TOKEN"
        )
    return _docker_config(host, environ)


def _docker_config(host: str, environ: Mapping[str, str]) -> Credentials | None:
    config_dir = Path(environ.get("DOCKER_CONFIG") or Path(environ.get("HOME", "~")).expanduser() / ".docker")
    try:
        config = json.loads((config_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    if helper and re.fullmatch(r"[A-Za-z0-9_.-]+", helper):
        try:
            proc = subprocess.run(
                [f"docker-credential-{helper}", "get"],
                input=host.encode(),
                capture_output=True,
                timeout=30,
                check=False,
            )
            if proc.returncode == 0:
                data = json.loads(proc.stdout)
                return Credentials(data["Username"], data["Secret"], f"docker credential helper '{helper}'")
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            pass
    entry = (config.get("auths") or {}).get(host) or {}
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            return None
        return Credentials(user, password, f"{config_dir}/config.json")
    return None


def scrub(text: str, creds: Credentials | None) -> str:
    if creds and creds.password:
        text = text.replace(creds.password, "***")
        text = text.replace(base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode(), "***")
    return text


class RegistryAPI:
    """The distribution HTTP API, with basic or bearer-token auth as the registry asks."""

    def __init__(self, host: str, creds: Credentials | None, *, insecure: bool | None = None) -> None:
        self.host = host
        self.creds = creds
        local = host.startswith(("localhost", "127.", "[::1]"))
        self.scheme = "http" if (insecure if insecure is not None else local) else "https"
        self._token: dict[str, str] = {}

    def _open(
        self, method: str, path: str, *, headers: Mapping[str, str], data: bytes | None, scope: str
    ) -> Any:
        url = f"{self.scheme}://{self.host}{path}"
        auth = self._token.get(scope)
        for _ in range(2):
            req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
            if auth:
                # Unredirected: a blob may be served from storage on another host, which must
                # not see the registry's token.
                req.add_unredirected_header("Authorization", auth)
            try:
                return urllib.request.urlopen(req, timeout=60)
            except urllib.error.HTTPError as exc:
                if exc.code != 401:
                    raise
                challenge = exc.headers.get("WWW-Authenticate", "")
                new = self._authorize(challenge, scope)
                if new is None or new == auth:
                    raise
                auth = new
        raise AssertionError("unreachable")

    def _authorize(self, challenge: str, scope: str) -> str | None:
        if challenge.lower().startswith("basic"):
            if self.creds is None:
                return None
            raw = f"{self.creds.username}:{self.creds.password}".encode()
            value = "Basic " + base64.b64encode(raw).decode()
        elif challenge.lower().startswith("bearer"):
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            query = urllib.parse.urlencode({"service": params.get("service", ""), "scope": scope})
            realm = params.get("realm", "")
            try:
                req = urllib.request.Request(f"{realm}?{query}")
                if self.creds is not None:
                    raw = f"{self.creds.username}:{self.creds.password}".encode()
                    req.add_header("Authorization", "Basic " + base64.b64encode(raw).decode())
                with urllib.request.urlopen(req, timeout=60) as resp:
                    body = json.loads(resp.read())
                token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
            except (urllib.error.URLError, OSError, ValueError) as exc:  # HTTPError is a URLError
                raise BuildctlError(
                    f"registry {self.host} sent buildctl to {realm!r} for a token, and getting one failed: "
                    + scrub(str(exc), self.creds)
                ) from None
            value = "Bearer " + (token if isinstance(token, str) else "")
        else:
            return None
        self._token[scope] = value
        return value

    def request(
        self,
        method: str,
        repo: str,
        kind: str,
        ref: str,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        scope = f"repository:{repo}:pull" + (",push" if method in ("PUT", "POST", "DELETE") else "")
        headers = {"Accept": MANIFEST_TYPES}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            with self._open(
                method, f"/v2/{repo}/{kind}/{ref}", headers=headers, data=data, scope=scope
            ) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(
                f"registry {self.host} is not reachable: {scrub(str(exc), self.creds)}"
            ) from None

    def manifest(self, repo: str, ref: str) -> tuple[str, str, bytes] | None:
        """(digest, media type, body) of a tag or digest, or None when the registry has no such manifest."""
        status, headers, body = self.request("GET", repo, "manifests", ref)
        if status == 404:
            return None
        if status != 200:
            raise _status_error(status, self._status_message(status, f"{repo}:{ref}", body))
        headers = {k.lower(): v for k, v in headers.items()}
        return headers.get("docker-content-digest", ""), headers.get("content-type", ""), body

    def blob(self, repo: str, digest: str) -> bytes:
        """A blob (an image config): the registry may redirect to storage elsewhere, which gets
        no credentials of ours."""
        status, _, body = self.request("GET", repo, "blobs", digest)
        if status != 200:
            raise _status_error(status, self._status_message(status, f"{repo}@{digest}", body))
        return body

    def put_manifest(self, repo: str, tag: str, media_type: str, body: bytes) -> str:
        status, headers, text = self.request(
            "PUT", repo, "manifests", tag, data=body, content_type=media_type
        )
        if status not in (200, 201):
            raise _status_error(status, self._status_message(status, f"{repo}:{tag}", text))
        return {k.lower(): v for k, v in headers.items()}.get("docker-content-digest", "")

    def _status_message(self, status: int, what: str, body: bytes) -> str:
        detail = scrub(body.decode("utf-8", "replace").strip()[:300], self.creds)
        if status == 401:
            return f"registry {self.host} refused {what}: 401 unauthorized ({detail})"
        return f"registry {self.host} answered {status} for {what}: {detail}"


def _status_error(status: int, message: str) -> BuildctlError:
    """A registry that is overloaded or failing inside may answer right the next time."""
    return TransientError(message) if status >= 500 or status == 429 else BuildctlError(message)
