"""docs/network-edges.yaml cannot drift from the configuration: each call it lists is an address in
the caller's ConfigMap (or container env), each address of another service there is a call it
lists, and each service's ports are the ports its configuration makes it listen on."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.monorepo.manifests import (
    DEPLOYMENTS,
    destination_namespace,
    generator,
    load_yaml,
    one,
    rendered_all,
    served_ports,
    services,
)
from tests.monorepo.upstreams import upstreams

SERVICES = services()


def configuration(docs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """What the service's process sees in its environment: the ConfigMap, then container env."""
    config = {k: str(v) for k, v in (one(docs, "ConfigMap").get("data") or {}).items()}
    for container in one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]:
        config.update({e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e})
    return config


def target_port(docs: Sequence[Mapping[str, Any]], port: int) -> int | None:
    """The container port a connection to the Service's `port` lands on (policies see that one)."""
    for entry in one(docs, "Service")["spec"]["ports"]:
        if entry["port"] != port:
            continue
        target = entry.get("targetPort", port)
        if isinstance(target, int):
            return target
        containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
        for c in containers:
            for p in c.get("ports") or []:
                if p.get("name") == target:
                    return int(p["containerPort"])
    return None


def calls_both_ways(
    rendered: Mapping[str, Sequence[Mapping[str, Any]]], table: Any, service: str
) -> tuple[set[tuple[str, str, int | None]], set[tuple[str, str, int]]]:
    """(what the service's configuration calls, what the table lists for it): key, callee, port."""
    found, problems = upstreams(configuration(rendered[service]), SERVICES, destination_namespace())
    assert problems == [], f"{service}: {problems}"
    configured = {(key, callee, target_port(rendered[callee], port)) for key, callee, port in found}
    return configured, {(c.key, c.target, c.port) for c in table.calls if c.source == service}


@pytest.mark.parametrize("service", SERVICES)
def test_the_configured_addresses_are_the_tables_calls(service: str) -> None:
    configured, listed = calls_both_ways(rendered_all(), generator().load(), service)
    assert configured == listed, (
        f"{service}: its configuration calls {sorted(configured, key=str)}, "
        f"docs/network-edges.yaml lists {sorted(listed)}"
    )


def test_a_call_added_to_an_overlay_must_be_in_the_table(tmp_path: Path) -> None:
    # What a developer adds: the URL in the caller's configMapGenerator (and the call in the table).
    root = tmp_path / "deployments"
    shutil.copytree(DEPLOYMENTS, root)
    overlay = root / "text-gateway" / "kustomization.yaml"
    text = overlay.read_text(encoding="utf-8")
    literal = "      - SERVICE_NAME=text-gateway\n"
    assert literal in text
    overlay.write_text(text.replace(literal, literal + "      - CHAT_URL=http://chat-service:8080/rooms\n"))
    rendered = rendered_all(root, SERVICES)
    configured, listed = calls_both_ways(rendered, generator().load(), "text-gateway")
    assert (configured, listed) == ({("CHAT_URL", "chat-service", 8080)}, set())  # the test above fails
    gen = generator()
    data = load_yaml(gen.TABLE)
    data["calls"] = [{"from": "text-gateway", "to": "chat-service", "port": 8080, "key": "CHAT_URL"}]
    configured, listed = calls_both_ways(rendered, gen.parse(data), "text-gateway")
    assert configured == listed  # and passes once the table lists the call


@pytest.mark.parametrize("service", SERVICES)
def test_the_tables_ports_are_the_ones_the_service_listens_on(service: str) -> None:
    # Every binary listens where its *PORT settings say (shared/health binds $PORT).
    docs = rendered_all()[service]
    listening = {int(v) for k, v in configuration(docs).items() if k == "PORT" or k.endswith("_PORT")}
    assert set(generator().load().services[service].ports) == listening
    for port in listening:
        assert (port, "TCP") in served_ports(docs), f"{service}: no container port {port}"
        assert port in {target_port(docs, p["port"]) for p in one(docs, "Service")["spec"]["ports"]}


SERVICE_NAMES = ["auth-service", "chat-service", "world-state"]


def test_urls_and_host_port_pairs_of_services_are_calls() -> None:
    config = {
        "CHAT_URL": "http://chat-service:8080/rooms",
        "AUTH_ADDR": "auth-service.game-platform.svc.cluster.local:50051",
        "WORLD_URL": "https://world-state.game-platform",
        "PERSISTENCE_URL": "mem://world-state",  # the in-process store, named after a service
        "SERVICE_NAME": "chat-service",
        "PORT": "8080",
        "SELF": "http://localhost:9000/",
    }
    found, problems = upstreams(config, SERVICE_NAMES, "game-platform")
    assert found == {
        ("CHAT_URL", "chat-service", 8080),
        ("AUTH_ADDR", "auth-service", 50051),
        ("WORLD_URL", "world-state", 443),
    }
    assert problems == []


def test_addresses_no_policy_allows_are_problems() -> None:
    config = {
        "BILLING_URL": "https://billing.example.com/api",
        "OTHER_NS": "http://chat-service.other-team:8080",
        "CACHE": "redis:6379",
        "WORLD": "grpc://world-state",
    }
    found, problems = upstreams(config, SERVICE_NAMES, "game-platform")
    assert found == set()
    assert [p.split(":", 1)[0] for p in problems] == [
        "BILLING_URL=https",
        "CACHE=redis",
        "OTHER_NS=http",
        "WORLD=grpc",
    ]
    assert "no port" in problems[-1] and "billing.example.com is not a service" in problems[0]
