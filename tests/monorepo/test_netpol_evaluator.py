"""The NetworkPolicy evaluator on hand-written policies, one tricky rule of the API at a time, so
that the pairwise test proves something about Kubernetes and not about a mistaken model of it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.monorepo.netpol import Cluster, External, Pod, Policy, selects

NAMESPACES = {
    "shop": {"kubernetes.io/metadata.name": "shop", "team": "a"},
    "ops": {"kubernetes.io/metadata.name": "ops", "team": "b"},
    "lab": {"kubernetes.io/metadata.name": "lab", "team": "a"},
}
WEB = Pod("web", "shop", {"app": "web"}, {"http": (8080, "TCP")})
DB = Pod("db", "shop", {"app": "db", "tier": "data"}, {"sql": (5432, "TCP"), "metrics": (9100, "TCP")})
OPS_WEB = Pod("ops-web", "ops", {"app": "web"})
OPS_MON = Pod("monitor", "ops", {"app": "monitor"})
LAB_MON = Pod("lab-monitor", "lab", {"app": "monitor"})
NET = External("198.51.100.7")


def net(*specs: dict[str, Any], namespace: str = "shop") -> Cluster:
    return Cluster(NAMESPACES, [Policy(f"p{i}", namespace, s) for i, s in enumerate(specs)])


def test_no_policy_means_open_both_ways() -> None:
    assert net().allows(WEB, DB, 5432) and net().allows(DB, NET, 443)


def test_an_empty_pod_selector_selects_every_pod_of_its_namespace_only() -> None:
    deny_all = net({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    assert not deny_all.allows(WEB, DB, 5432)
    assert not deny_all.allows(OPS_WEB, WEB, 8080)  # WEB's ingress is shut
    assert not deny_all.allows(DB, NET, 443)  # DB's egress is shut
    assert deny_all.allows(OPS_WEB, OPS_MON, 80)  # another namespace's pods are not selected


def test_a_pod_selected_for_one_direction_stays_open_in_the_other() -> None:
    ingress_only = net({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]})
    assert not ingress_only.allows(WEB, DB, 5432)
    assert ingress_only.allows(DB, NET, 443)
    assert ingress_only.allows(WEB, NET, 443)  # WEB is not selected at all


def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist() -> None:
    no_types_no_egress = net({"podSelector": {"matchLabels": {"app": "db"}}, "egress": []})
    assert not no_types_no_egress.allows(WEB, DB, 5432)
    assert no_types_no_egress.allows(DB, NET, 443)  # an empty egress list is no egress section
    no_types_egress = net(
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}],
        }
    )
    assert not no_types_egress.allows(WEB, DB, 5432)
    assert no_types_egress.allows(DB, NET, 53, "UDP") and not no_types_egress.allows(DB, NET, 443)


def test_missing_ports_mean_every_port_and_a_port_without_number_every_port_of_its_protocol() -> None:
    any_port = net(
        {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {}}]}]}
    )
    assert any_port.allows(WEB, DB, 5432) and any_port.allows(WEB, DB, 1, "UDP")
    udp_only = net(
        {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"protocol": "UDP"}]}]}
    )
    assert udp_only.allows(WEB, DB, 5432, "UDP") and not udp_only.allows(WEB, DB, 5432, "TCP")
    tcp_default = net(
        {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"port": 5432}]}]}
    )
    assert tcp_default.allows(WEB, DB, 5432) and not tcp_default.allows(WEB, DB, 5432, "UDP")


def test_missing_from_means_every_source_even_outside_the_cluster() -> None:
    everyone = net({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"port": 5432}]}]})
    assert everyone.allows(NET, DB, 5432) and everyone.allows(OPS_MON, DB, 5432)
    nobody = net({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": []})
    assert not nobody.allows(WEB, DB, 5432) and not nobody.allows(NET, DB, 5432)


def test_port_ranges_and_named_ports() -> None:
    ranged = net(
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"ports": [{"port": 9000, "endPort": 9200}]}],
        }
    )
    assert ranged.allows(WEB, DB, 9100) and not ranged.allows(WEB, DB, 9201)
    named = net({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"port": "sql"}]}]})
    assert named.allows(WEB, DB, 5432) and not named.allows(WEB, DB, 9100)
    # an egress rule's named port is the destination's
    egress_named = net(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": "sql"}]}],
        }
    )
    assert egress_named.allows(WEB, DB, 5432) and not egress_named.allows(WEB, NET, 5432)


def from_peers(*peers: dict[str, Any]) -> Cluster:
    return net({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": list(peers)}]})


def test_pod_and_namespace_selector_in_one_peer_both_must_match() -> None:
    both = from_peers(
        {
            "namespaceSelector": {"matchLabels": {"team": "b"}},
            "podSelector": {"matchLabels": {"app": "monitor"}},
        }
    )
    assert both.allows(OPS_MON, DB, 5432)
    assert not both.allows(OPS_WEB, DB, 5432)  # right namespace, wrong pod
    assert not both.allows(LAB_MON, DB, 5432)  # right pod, wrong namespace


def test_separate_peers_either_may_match() -> None:
    either = from_peers(
        {"namespaceSelector": {"matchLabels": {"team": "b"}}},
        {"podSelector": {"matchLabels": {"app": "monitor"}}},
    )
    assert either.allows(OPS_WEB, DB, 5432)  # by its namespace
    assert not either.allows(LAB_MON, DB, 5432)  # a podSelector alone means the policy's own namespace
    assert not either.allows(WEB, DB, 5432)


def test_a_pod_selector_alone_is_namespace_local_and_a_namespace_selector_alone_takes_every_pod() -> None:
    local = from_peers({"podSelector": {"matchLabels": {"app": "web"}}})
    assert local.allows(WEB, DB, 5432) and not local.allows(OPS_WEB, DB, 5432)
    all_namespaces = from_peers({"namespaceSelector": {}})
    assert all_namespaces.allows(OPS_WEB, DB, 5432) and all_namespaces.allows(LAB_MON, DB, 5432)
    assert not all_namespaces.allows(NET, DB, 5432)  # no namespace at all


def test_ip_blocks_with_exceptions() -> None:
    block = net(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "198.51.100.0/24", "except": ["198.51.100.0/30"]}}]}],
        }
    )
    assert block.allows(WEB, NET, 443)
    assert not block.allows(WEB, External("198.51.100.3"), 443)
    assert not block.allows(WEB, External("203.0.113.1"), 443)
    assert not block.allows(WEB, DB, 5432)  # pods here have no address, so no block holds them


def test_both_ends_must_agree_and_policies_add_up() -> None:
    web_out = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}],
    }
    db_in = {
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
    }
    db_shut = {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}
    assert not net(web_out, db_shut).allows(WEB, DB, 5432)  # egress yes, ingress no
    assert net(web_out, db_shut, db_in).allows(WEB, DB, 5432)  # one allowing policy is enough
    assert net(web_out).allows(DB, WEB, 8080)  # WEB is isolated for egress only


@pytest.mark.parametrize(
    ("expression", "labels", "expected"),
    [
        ({"key": "tier", "operator": "In", "values": ["data"]}, {"tier": "data"}, True),
        ({"key": "tier", "operator": "In", "values": ["data"]}, {}, False),
        ({"key": "tier", "operator": "NotIn", "values": ["data"]}, {}, True),  # a missing key is not in
        ({"key": "tier", "operator": "NotIn", "values": ["data"]}, {"tier": "data"}, False),
        ({"key": "tier", "operator": "Exists"}, {"tier": ""}, True),
        ({"key": "tier", "operator": "DoesNotExist"}, {"tier": ""}, False),
    ],
)
def test_match_expressions(expression: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert selects({"matchExpressions": [expression]}, labels) is expected


def test_match_labels_and_expressions_together_must_all_hold() -> None:
    selector = {"matchLabels": {"app": "db"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert selects(selector, DB.labels) and not selects(selector, {"app": "db"})
    assert selects({}, {}) and selects({"matchLabels": {}}, {"x": "y"})


@pytest.mark.parametrize(
    "bad",
    [
        {"podSelector": {}, "ingress": [{"from": [{}]}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}},
        {"podSelector": {}, "ingress": [{"ports": [{"port": "http", "endPort": 90}]}]},
        {"podSelector": {}, "policyTypes": ["Sideways"]},
    ],
)
def test_what_the_api_server_would_reject_is_an_error_not_a_guess(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        net(bad).allows(WEB, DB, 5432)
