"""The addresses of other services that a service's configuration holds: what it will connect to.

A value counts when it is a URL (`http://chat-service:8080/rooms`) or a `host:port` pair whose host
is a service of the namespace (`auth-service`, `auth-service.game-platform.svc.cluster.local`). A
network address that is not one of the services is a problem: the policies allow no egress but DNS
and the services. Not addresses: the in-process `mem://` store of shared/persistence-client and the
pod's own loopback.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

IN_PROCESS_SCHEMES = {"mem"}
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
DEFAULT_PORTS = {"http": 80, "https": 443}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S*$")
HOST_PORT = re.compile(r"^(?P<host>[a-z0-9]([a-z0-9.-]*[a-z0-9])?):(?P<port>\d{1,5})$")


def service_of(host: str, services: Collection[str], namespace: str) -> str | None:
    for suffix in ("", f".{namespace}", f".{namespace}.svc", f".{namespace}.svc.cluster.local"):
        for service in services:
            if host == service + suffix:
                return service
    return None


def upstreams(
    config: Mapping[str, str], services: Collection[str], namespace: str
) -> tuple[set[tuple[str, str, int]], list[str]]:
    """(key, service, port) for every value that addresses a service, and what is wrong with the
    values that address something else."""
    found: set[tuple[str, str, int]] = set()
    problems: list[str] = []
    for key, raw in sorted(config.items()):
        value = str(raw).strip()
        host: str | None
        port: int | None
        if URL.match(value):
            parts = urlsplit(value)
            if parts.scheme in IN_PROCESS_SCHEMES:
                continue
            host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme)
        elif m := HOST_PORT.match(value):
            host, port = m["host"], int(m["port"])
        else:
            continue
        if host is None or host in LOOPBACK:
            continue
        service = service_of(host, services, namespace)
        if service is None:
            problems.append(f"{key}={value}: {host} is not a service of {namespace}; no policy lets it out")
        elif port is None:
            problems.append(f"{key}={value}: no port, so no edge can name it")
        else:
            found.add((key, service, port))
    return found, problems
