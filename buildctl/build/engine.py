"""The Docker engine, through the docker SDK: build a target of the Dockerfile, tag, inspect.

The SDK speaks the engine's classic builder. Its layer cache is the engine's own; a cook image
pulled from the registry is a cache source only when passed as `cache_from` (see docs/build.md).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildctl.build.registry import Credentials, scrub
from buildctl.errors import BuildctlError, TransientError
from buildctl.platforms import from_machine

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
LogSink = Callable[[str], None]


@dataclass
class BuildOutcome:
    image_id: str
    steps: int = 0
    cached_steps: int = 0
    cached: dict[str, bool] = field(default_factory=dict)  # instruction → taken from cache
    log: list[str] = field(default_factory=list)

    def step_cached(self, needle: str) -> bool | None:
        """Whether the step whose instruction contains `needle` came from the cache (None: no such step)."""
        hits = [cached for instr, cached in self.cached.items() if needle in instr]
        return hits[-1] if hits else None


def _engine_error(exc: Exception) -> BuildctlError:
    return BuildctlError(
        f"the Docker engine is not reachable: {exc}",
        hint="start the engine (dockerd) or point DOCKER_HOST at it, then run again",
    )


# How the engine words a push that met a registry restarting, overloaded or failing inside.
_TRANSIENT_PUSH = re.compile(
    r"connection refused|connection reset|EOF|timeout|\b50[0-9]\b|too many requests|broken pipe", re.I
)


def _push_error(ref: str, detail: str, creds: Credentials | None) -> BuildctlError:
    message = f"push of {ref} failed: {scrub(detail.strip(), creds)}"
    return TransientError(message) if _TRANSIENT_PUSH.search(detail) else BuildctlError(message)


def failure_text(target: str, detail: str, step_log: Sequence[str]) -> str:
    """The engine's reason (`... returned a non-zero code: 101`) and, under it, what the failing
    step said: from its first `error` line (the compiler's errors with their `--> file:line`),
    else its last lines. The engine colours a step's stderr; the message has no escapes."""
    lines = [_ANSI.sub("", line).rstrip() for line in step_log]
    lines = [line for line in lines if line.strip() and not line.startswith("Removing intermediate")]
    first = next((i for i, line in enumerate(lines) if line.startswith("error")), None)
    text = "\n".join(lines[first : first + 40] if first is not None else lines[-20:])
    return f"docker build ({target}) failed: {detail}" + (f"\n{text}" if text else "")


class Engine:
    """A handle on the engine; one low-level client per thread (the SDK's clients are not shared)."""

    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url
        self._local = threading.local()
        self.api.ping()  # fail early, with a clear message, when the engine is not there

    @property
    def api(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import docker
            from docker.errors import DockerException

            try:
                client = (
                    docker.APIClient(base_url=self._base_url, version="auto")
                    if self._base_url
                    else docker.from_env(version="auto").api
                )
                client.ping()
            except (DockerException, OSError) as exc:
                raise _engine_error(exc) from None
            self._local.client = client
        return client

    def build(
        self,
        *,
        context: Path,
        dockerfile: str,
        target: str,
        tag: str,
        buildargs: Mapping[str, str],
        cache_from: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
        sink: LogSink | None = None,
    ) -> BuildOutcome:
        from docker.errors import APIError, DockerException

        outcome = BuildOutcome(image_id="")
        pending = ""
        step: str | None = None
        step_log: list[str] = []  # what the current step printed, for the message if it fails
        try:
            stream: Iterator[dict[str, Any]] = self.api.build(
                path=str(context),
                dockerfile=dockerfile,
                target=target,
                tag=tag,
                buildargs=dict(buildargs),
                cache_from=list(cache_from) or None,
                labels=dict(labels or {}),
                network_mode="host",  # RUN steps reach the network without a bridge (cook downloads crates)
                rm=True,
                forcerm=True,
                decode=True,
            )
            for event in stream:
                if "error" in event or "errorDetail" in event:
                    detail = event.get("errorDetail", {}).get("message") or event.get("error")
                    raise BuildctlError(failure_text(target, str(detail).strip(), [*step_log, pending]))
                text = event.get("stream")
                if "aux" in event and isinstance(event["aux"], dict) and "ID" in event["aux"]:
                    outcome.image_id = event["aux"]["ID"]
                if not text:
                    continue
                # The engine sends a step's output in pieces that need not end at a line's end.
                *complete, pending = (pending + text).split("\n")
                for line in complete:
                    outcome.log.append(line)
                    if sink:
                        sink(line)
                    m = _STEP.match(line)
                    if m:
                        step_log.clear()
                        step = m.group(3)
                        outcome.steps += 1
                        outcome.cached[step] = False
                    else:
                        step_log.append(line)
                    if step is not None and line.strip() == "---> Using cache":
                        outcome.cached[step] = True
                        outcome.cached_steps += 1
        except APIError as exc:
            raise BuildctlError(f"docker build ({target}) failed: {exc.explanation or exc}") from None
        except DockerException as exc:
            raise _engine_error(exc) from None
        if not outcome.image_id:
            outcome.image_id = self.image_id(tag) or ""
        return outcome

    def image_id(self, ref: str) -> str | None:
        from docker.errors import ImageNotFound

        try:
            return str(self.api.inspect_image(ref)["Id"])
        except ImageNotFound:
            return None

    def image_size(self, ref: str) -> int:
        return int(self.api.inspect_image(ref)["Size"])

    def image_platform(self, ref: str) -> str:
        """`os/architecture` of an image, from its config (a built image inherits its base's)."""
        info = self.api.inspect_image(ref)
        return f"{info.get('Os') or 'linux'}/{info.get('Architecture') or ''}"

    def local_image(self, ref: str) -> tuple[str, str] | None:
        """(image id, "os/arch") of an image this engine holds, or None."""
        image_id = self.image_id(ref)
        return None if image_id is None else (image_id, self.image_platform(image_id))

    def native_platform(self) -> str:
        """The platform of the engine's own machine: what it builds without cross-compiling."""
        return from_machine(str(self.api.version().get("Arch") or ""))

    def tag(self, image: str, ref: str) -> None:
        repository, _, tag = ref.rpartition(":")
        self.api.tag(image, repository, tag, force=True)

    def remove(self, ref: str) -> None:
        from docker.errors import ImageNotFound

        with contextlib.suppress(ImageNotFound):
            self.api.remove_image(ref, force=True)

    def push(self, ref: str, creds: Credentials | None) -> str:
        """Push one tag; return the digest the registry recorded. Every stream event is checked:
        the engine reports a refused push as an `error` event, not as an exception."""
        from docker.errors import APIError, DockerException

        repository, _, tag = ref.rpartition(":")
        auth = {"username": creds.username, "password": creds.password} if creds else None
        digest = ""
        try:
            for event in self.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth):
                if "error" in event or "errorDetail" in event:
                    detail = event.get("errorDetail", {}).get("message") or event.get("error")
                    raise _push_error(ref, str(detail), creds)
                aux = event.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
        except APIError as exc:
            raise _push_error(ref, str(exc.explanation or exc), creds) from None
        except DockerException as exc:
            raise _engine_error(exc) from None
        if not digest:
            raise BuildctlError(f"push of {ref} reported no digest")
        return digest

    def pull(self, ref: str, creds: Credentials | None) -> bool:
        """Pull `ref` if the registry has it; False (not an error) when it does not."""
        from docker.errors import APIError, DockerException

        repository, _, tag = ref.rpartition(":")
        auth = {"username": creds.username, "password": creds.password} if creds else None
        try:
            for event in self.api.pull(repository, tag=tag, stream=True, decode=True, auth_config=auth):
                if "error" in event or "errorDetail" in event:
                    return False
        except APIError:
            return False
        except DockerException as exc:
            raise _engine_error(exc) from None
        return self.image_id(ref) is not None

    def login(self, host: str, creds: Credentials) -> None:
        from docker.errors import APIError

        try:
            self.api.login(username=creds.username, password=creds.password, registry=host, reauth=True)
        except APIError as exc:
            text = scrub(str(exc.explanation or exc), creds)
            raise BuildctlError(
                f"login to {host} failed ({creds.source}): {text}",
                hint="check the registry user and token; nothing was pushed",
            ) from None
