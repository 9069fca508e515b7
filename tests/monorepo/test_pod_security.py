"""The namespace Argo CD creates enforces the restricted Pod Security Standard, and every pod the
overlays describe meets it (else the namespace would refuse to start it)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.monorepo.manifests import (
    CLIENT_APP,
    applicationset,
    destination_namespace,
    load_yaml,
    one,
    rendered_all,
    services,
)
from tests.monorepo.pss import restricted_violations

MODES = ("enforce", "audit", "warn")
VERSION = re.compile(r"^(latest|v1\.\d+)$")


def namespace_labels_of(app_spec: Any) -> dict[str, str]:
    sync = app_spec["syncPolicy"]
    # Argo CD applies managedNamespaceMetadata only to a namespace it creates.
    assert "CreateNamespace=true" in sync["syncOptions"]
    return dict(sync["managedNamespaceMetadata"]["labels"])


def test_the_applicationset_creates_the_namespace_enforcing_restricted() -> None:
    labels = namespace_labels_of(applicationset()["spec"]["template"]["spec"])
    for mode in MODES:
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert VERSION.match(labels.get(f"pod-security.kubernetes.io/{mode}-version", "latest"))
    assert set(labels) <= {f"pod-security.kubernetes.io/{m}{v}" for m in MODES for v in ("", "-version")}


def test_the_client_application_sets_the_same_labels_on_the_same_namespace() -> None:
    # Two Applications managing one namespace's labels must agree, or each sync undoes the other's.
    client = load_yaml(CLIENT_APP)["spec"]
    assert client["destination"]["namespace"] == destination_namespace()
    assert namespace_labels_of(client) == namespace_labels_of(applicationset()["spec"]["template"]["spec"])


@pytest.mark.parametrize("service", services())
def test_the_rendered_pods_meet_restricted(service: str) -> None:
    pod = one(rendered_all()[service], "Deployment")["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []


def test_the_checker_finds_what_restricted_forbids() -> None:
    pod = {
        "hostNetwork": True,
        "securityContext": {"runAsUser": 0, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}, {"name": "tmp", "emptyDir": {}}],
        "initContainers": [
            {
                "name": "setup",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
            }
        ],
        "containers": [
            {
                "name": "app",
                "ports": [{"containerPort": 80, "hostPort": 80}],
                "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}},
            }
        ],
    }
    assert restricted_violations(pod) == [
        "hostNetwork: true",
        "volumes[host]: hostPath volumes are not allowed",
        "securityContext.sysctls: kernel.msgmax is not a safe sysctl",
        "securityContext.runAsUser: 0",
        "containers[app].securityContext.privileged: true",
        "containers[app].ports: hostPort 80",
        "containers[app].securityContext.allowPrivilegeEscalation must be false",
        "containers[app]: runAsNonRoot must be true (pod or container)",
        "containers[app]: seccompProfile must be RuntimeDefault or Localhost (pod or container)",
        "containers[app].securityContext.capabilities.drop must include ALL",
        "containers[app].securityContext.capabilities.add: NET_ADMIN",
    ]
