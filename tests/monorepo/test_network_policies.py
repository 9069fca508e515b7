"""Every overlay renders with one deny-by-default NetworkPolicy for its own pods, and the policies of
all nine, evaluated together as the cluster would, let through exactly the traffic that
docs/network-edges.yaml lists: each ordered pair of services on each port the callee's pods
declare, and the traffic to and from the namespaces around them."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.monorepo.manifests import (
    DEPLOYMENTS,
    cluster,
    generator,
    load_yaml,
    of_kind,
    rendered_all,
    served_ports,
    service_pod,
    services,
)
from tests.monorepo.netpol import selects

SERVICES = services()
Rendered = Mapping[str, Sequence[Mapping[str, Any]]]


def verdict(allowed: bool) -> str:
    return "allowed" if allowed else "denied"


def pairwise_mismatches(rendered: Rendered, table: Any) -> tuple[list[str], int]:
    """Every ordered pair of services (a service to another pod of itself included) on every port
    the callee declares: (what the policies do where the table says otherwise, pairs checked)."""
    net, pods, _ = cluster(rendered, table)
    calls = {(c.source, c.target, c.port, "TCP") for c in table.calls}
    mismatches, checked = [], 0
    for source in pods:
        for target, docs in rendered.items():
            for port, protocol in sorted(served_ports(docs)):
                got = net.allows(pods[source], pods[target], port, protocol)
                want = (source, target, port, protocol) in calls
                checked += 1
                if got != want:
                    mismatches.append(
                        f"{source} -> {target}:{port}/{protocol}: {verdict(got)}, the table says {verdict(want)}"
                    )
    return mismatches, checked


def surroundings_mismatches(rendered: Rendered, table: Any) -> list[str]:
    """Traffic between the services and everything that is not one of them."""
    net, pods, others = cluster(rendered, table)
    mismatches = []

    def expect(src: Any, dst: Any, port: int, protocol: str, want: bool) -> None:
        got = net.allows(src, dst, port, protocol)
        if got != want:
            mismatches.append(
                f"{src.name} -> {dst.name}:{port}/{protocol}: {verdict(got)}, want {verdict(want)}"
            )

    for name, pod in pods.items():
        service = table.services[name]
        for port, protocol in sorted(served_ports(rendered[name])):
            public = service.public and protocol == "TCP" and port in service.ports
            expect(others["ingress controller"], pod, port, protocol, public)
            for stranger in (
                "impostor in another namespace",
                "pod of another team",
                "unlisted pod of the platform namespace",
            ):
                expect(others[stranger], pod, port, protocol, False)
        expect(pod, others["dns"], 53, "UDP", True)
        expect(pod, others["dns"], 53, "TCP", True)
        expect(pod, others["dns"], 8080, "TCP", False)
        expect(pod, others["other kube-system pod"], 53, "UDP", False)
        expect(pod, others["internet address"], 443, "TCP", False)
        expect(pod, others["internet address"], 53, "UDP", False)
        expect(pod, others["API server address"], 443, "TCP", False)
        expect(pod, others["ingress controller"], 443, "TCP", False)
        expect(pod, others["pod of another team"], 8080, "TCP", False)
    return mismatches


# --- the real overlays ---------------------------------------------------------------------------


def test_the_same_nine_services_everywhere() -> None:
    overlays = sorted(
        p.parent.name for p in DEPLOYMENTS.glob("*/kustomization.yaml") if p.parent.name != "base"
    )
    assert SERVICES
    assert overlays == SERVICES == sorted(generator().load().services)


@pytest.mark.parametrize("service", SERVICES)
def test_overlay_renders_with_one_deny_by_default_policy_for_its_pods(service: str) -> None:
    rendered = rendered_all()
    policies = of_kind(rendered[service], "NetworkPolicy")
    assert len(policies) == 1, f"{service}: {len(policies)} NetworkPolicies"
    spec = policies[0]["spec"]
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    pods = {name: service_pod(name, docs) for name, docs in rendered.items()}
    assert {name for name, pod in pods.items() if selects(spec["podSelector"], pod.labels)} == {service}


def test_the_policies_and_the_docs_table_are_generated_from_the_edge_table() -> None:
    gen = generator()
    stale = gen.stale(gen.expected_files(gen.load()))
    assert not stale, "stale: {}; run .venv/bin/python scripts/network_policies.py".format(
        ", ".join(str(p.relative_to(gen.CHECKOUT)) for p in stale)
    )


def test_every_pair_of_services_talks_exactly_as_the_table_says() -> None:
    mismatches, checked = pairwise_mismatches(rendered_all(), generator().load())
    assert checked >= len(SERVICES) ** 2, checked
    assert mismatches == []


def test_only_the_ingress_namespace_reaches_in_and_only_dns_reaches_out() -> None:
    assert surroundings_mismatches(rendered_all(), generator().load()) == []


# --- the same, for a table with calls (the real one has none yet) --------------------------------

CALLS = [
    {"from": "text-gateway", "to": "chat-service", "port": 8080, "key": "CHAT_URL"},
    {"from": "graphics-gateway", "to": "world-state", "port": 8080, "key": "WORLD_STATE_URL"},
    {"from": "world-state", "to": "physics-service", "port": 8080, "key": "PHYSICS_URL"},
    {"from": "world-state", "to": "persistence-service", "port": 8080, "key": "STORE_URL"},
    # the two world-state replicas talking to each other
    {"from": "world-state", "to": "world-state", "port": 8080, "key": "PEER_URL"},
]


def overlays_for(table: Any, dest: Path, edit: Mapping[str, tuple[str, str]] | None = None) -> Path:
    """A copy of deployments/ whose policies are generated from `table` (then `edit`ed: service ->
    (text to find, replacement))."""
    gen = generator()
    shutil.copytree(DEPLOYMENTS, dest)
    for name in table.services:
        text = gen.policy(table, name)
        if edit and name in edit:
            old, new = edit[name]
            assert old in text
            text = text.replace(old, new)
        (dest / name / "networkpolicy.yaml").write_text(text, encoding="utf-8")
    return dest


def table_with_calls() -> Any:
    gen = generator()
    data = load_yaml(gen.TABLE)
    data["calls"] = CALLS
    return gen.parse(data)


def test_generated_policies_let_through_exactly_the_tables_calls(tmp_path: Path) -> None:
    table = table_with_calls()
    rendered = rendered_all(overlays_for(table, tmp_path / "deployments"), SERVICES)
    mismatches, _ = pairwise_mismatches(rendered, table)
    assert mismatches == []
    assert surroundings_mismatches(rendered, table) == []


def test_a_peer_chosen_by_matchlabels_is_caught(tmp_path: Path) -> None:
    # The overlay's `labels:` rewrites a peer's matchLabels to the policy's own service: written
    # this way, chat-service would admit itself instead of text-gateway.
    table = table_with_calls()
    by_expression = (
        "            matchExpressions:\n"
        "              - key: app.kubernetes.io/name\n"
        "                operator: In\n"
        "                values: [text-gateway]\n"
    )
    by_labels = "            matchLabels:\n              app.kubernetes.io/name: text-gateway\n"
    root = overlays_for(table, tmp_path / "deployments", {"chat-service": (by_expression, by_labels)})
    mismatches, _ = pairwise_mismatches(rendered_all(root, SERVICES), table)
    # chat-service's own egress still stops it reaching itself; the call it was meant for is lost
    assert mismatches == ["text-gateway -> chat-service:8080/TCP: denied, the table says allowed"]
