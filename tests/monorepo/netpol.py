"""Which connections Kubernetes NetworkPolicies (networking.k8s.io/v1) let through, for the tests.

The rules, as the API reference states them:
- A pod is isolated for ingress (egress) when a policy of its namespace selects it and has Ingress
  (Egress) among its policyTypes. An isolated pod admits only what a rule of one of those policies
  allows; policies add up. A pod that no policy isolates is open in that direction.
- A connection needs both ends: the source's egress and the destination's ingress.
- policyTypes left out means Ingress, plus Egress when the policy has egress rules.
- A rule without `from`/`to` (or with an empty list) matches every peer; without `ports`, every port.
- A peer with podSelector alone means pods of the policy's own namespace; namespaceSelector alone,
  every pod of the matching namespaces; both in one peer, pods matching the first in namespaces
  matching the second. ipBlock matches addresses in `cidr` but not in `except`.
- A port entry's protocol defaults to TCP; without `port` it covers every port of that protocol; a
  named port is the destination container port of that name; endPort makes a range.

Left out because nothing here needs them: traffic from the pod's own node (always allowed, so
probes work), hostNetwork pods, and Services (policies see pod addresses and target ports).
Anything the API server would reject raises ValueError rather than being guessed at.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Labels
    # container port name -> (number, protocol), to resolve named ports
    ports: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    ip: str | None = None


@dataclass(frozen=True)
class External:
    """An address outside the cluster: no policy selects it, only ipBlock peers match it."""

    ip: str

    @property
    def name(self) -> str:
        return self.ip


Endpoint = Pod | External


@dataclass(frozen=True)
class Policy:
    name: str
    namespace: str
    spec: Mapping[str, Any]

    @property
    def types(self) -> set[str]:
        given = self.spec.get("policyTypes")
        if given:
            if set(given) - {"Ingress", "Egress"}:
                raise ValueError(f"{self.name}: policyTypes {given!r}")
            return set(given)
        return {"Ingress", "Egress"} if self.spec.get("egress") else {"Ingress"}


def selects(selector: Mapping[str, Any] | None, labels: Labels) -> bool:
    """A LabelSelector against a set of labels; {} selects everything."""
    if selector is None:
        raise ValueError("a selector is required here")
    if set(selector) - {"matchLabels", "matchExpressions"}:
        raise ValueError(f"unknown selector fields in {dict(selector)!r}")
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], list(expr.get("values") or [])
        if op in ("In", "NotIn") and not values:
            raise ValueError(f"{op} needs values: {expr!r}")
        if op in ("Exists", "DoesNotExist") and values:
            raise ValueError(f"{op} takes no values: {expr!r}")
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise ValueError(f"unknown operator in {expr!r}")
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Cluster:
    namespaces: Mapping[str, Labels]  # name -> labels (kubernetes.io/metadata.name included)
    policies: Sequence[Policy]

    def allows(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self._admits("Egress", src, dst, dst, port, protocol) and self._admits(
            "Ingress", dst, src, dst, port, protocol
        )

    def _admits(
        self, kind: str, subject: Endpoint, peer: Endpoint, dst: Endpoint, port: int, protocol: str
    ) -> bool:
        if not isinstance(subject, Pod):
            return True
        isolating = [
            p
            for p in self.policies
            if p.namespace == subject.namespace
            and selects(p.spec["podSelector"], subject.labels)
            and kind in p.types
        ]
        if not isolating:
            return True
        rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
        return any(
            self._rule_matches(rule, peers_key, p.namespace, peer, dst, port, protocol)
            for p in isolating
            for rule in p.spec.get(rules_key) or []
        )

    def _rule_matches(
        self,
        rule: Mapping[str, Any],
        peers_key: str,
        policy_namespace: str,
        peer: Endpoint,
        dst: Endpoint,
        port: int,
        protocol: str,
    ) -> bool:
        peers = rule.get(peers_key) or []
        ports = rule.get("ports") or []
        peer_ok = not peers or any(self._peer_matches(p, policy_namespace, peer) for p in peers)
        port_ok = not ports or any(_port_matches(p, dst, port, protocol) for p in ports)
        return peer_ok and port_ok

    def _peer_matches(self, peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
        fields = set(peer)
        if not fields or fields - {"podSelector", "namespaceSelector", "ipBlock"}:
            raise ValueError(f"not a NetworkPolicyPeer: {dict(peer)!r}")
        if "ipBlock" in fields:
            if fields != {"ipBlock"}:
                raise ValueError(f"ipBlock stands alone in a peer: {dict(peer)!r}")
            if other.ip is None:
                return False
            address = ipaddress.ip_address(other.ip)
            block = peer["ipBlock"]
            return address in ipaddress.ip_network(block["cidr"]) and not any(
                address in ipaddress.ip_network(e) for e in block.get("except") or []
            )
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in fields:
            namespace_ok = selects(peer["namespaceSelector"], self.namespaces[other.namespace])
        else:
            namespace_ok = other.namespace == policy_namespace
        return namespace_ok and selects(peer.get("podSelector") or {}, other.labels)


def _port_matches(entry: Mapping[str, Any], dst: Endpoint, port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    number = entry.get("port")
    end = entry.get("endPort")
    if number is None:
        if end is not None:
            raise ValueError(f"endPort without port: {dict(entry)!r}")
        return True
    if isinstance(number, str):
        if end is not None:
            raise ValueError(f"endPort needs a numeric port: {dict(entry)!r}")
        named = dst.ports.get(number) if isinstance(dst, Pod) else None
        return named == (port, protocol)
    return bool(number <= port <= (end if end is not None else number))
