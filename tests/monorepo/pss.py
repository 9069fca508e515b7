"""The restricted Pod Security Standard (which includes baseline), checked on a pod spec the way the
Pod Security admission controller checks a pod: the game-platform namespace enforces it, so a pod
template that fails here is a pod the cluster refuses to start.

Controls as the Pod Security Standards page lists them (Kubernetes 1.25 and later); each finding
names the field that breaks one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_CAPABILITIES = {"NET_BIND_SERVICE"}
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_syncookies",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def restricted_violations(pod: Mapping[str, Any]) -> list[str]:
    """Every way `pod` (a PodSpec) fails the restricted standard; [] when it meets it."""
    out: list[str] = []
    pod_sc = pod.get("securityContext") or {}
    containers = [
        (f"{kind}[{c.get('name', i)}]", c)
        for kind in ("initContainers", "containers", "ephemeralContainers")
        for i, c in enumerate(pod.get(kind) or [])
    ]
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            out.append(f"{field}: true")
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            out.append(f"volumes[{volume.get('name')}]: {', '.join(sorted(kinds))} volumes are not allowed")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"securityContext.sysctls: {sysctl.get('name')} is not a safe sysctl")
    out += _common("securityContext", pod_sc)

    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost")
    for where, c in containers:
        sc = c.get("securityContext") or {}
        out += _common(f"{where}.securityContext", sc)
        if sc.get("privileged"):
            out.append(f"{where}.securityContext.privileged: true")
        if sc.get("procMount", "Default") != "Default":
            out.append(f"{where}.securityContext.procMount: {sc['procMount']}")
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append(f"{where}.ports: hostPort {p['hostPort']}")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}.securityContext.allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot") is False or not (pod_non_root or sc.get("runAsNonRoot") is True):
            out.append(f"{where}: runAsNonRoot must be true (pod or container)")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if not (seccomp in ("RuntimeDefault", "Localhost") or (seccomp is None and pod_seccomp)):
            out.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost (pod or container)")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{where}.securityContext.capabilities.drop must include ALL")
        added = set(caps.get("add") or [])
        if added - RESTRICTED_CAPABILITIES:
            out.append(
                f"{where}.securityContext.capabilities.add: {', '.join(sorted(added - RESTRICTED_CAPABILITIES))}"
            )
    return out


def _common(where: str, sc: Mapping[str, Any]) -> list[str]:
    """Controls that a pod's and a container's securityContext share."""
    out = []
    if (sc.get("windowsOptions") or {}).get("hostProcess"):
        out.append(f"{where}.windowsOptions.hostProcess: true")
    if sc.get("runAsUser") == 0:
        out.append(f"{where}.runAsUser: 0")
    if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
        out.append(f"{where}.seccompProfile: Unconfined")
    if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        out.append(f"{where}.appArmorProfile: Unconfined")
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        out.append(f"{where}.seLinuxOptions: {dict(selinux)!r}")
    return out
