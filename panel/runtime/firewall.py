"""Keep app containers away from the host's own services.

Docker already isolates one bridge network from another; what it does not stop is a
container opening a connection to the host through its bridge's gateway address (to Redis,
the panel, the registry...). Every app bridge is named hb<id>, so one pair of rules on the
INPUT chain covers them all: replies to connections the host opened (nginx to the app) pass,
anything the container starts towards the host is dropped. Addons that must be reachable
from apps insert their own ACCEPT rules above these.
"""

from __future__ import annotations

import subprocess
import threading

CHAIN = "HEARTH-APPS"
APP_BRIDGES = "hb+"

_lock = threading.Lock()
_done = False


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=check)


def ensure_host_isolation() -> None:
    global _done
    with _lock:
        if _done:
            return
        if _iptables("-n", "-L", CHAIN, check=False).returncode != 0:
            _iptables("-N", CHAIN)
        rules = _iptables("-S", CHAIN).stdout
        if "--ctstate RELATED,ESTABLISHED -j ACCEPT" not in rules:
            _iptables("-F", CHAIN)
            _iptables(
                "-A", CHAIN, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"
            )
            _iptables("-A", CHAIN, "-j", "DROP")
        if _iptables("-C", "INPUT", "-i", APP_BRIDGES, "-j", CHAIN, check=False).returncode != 0:
            _iptables("-I", "INPUT", "1", "-i", APP_BRIDGES, "-j", CHAIN)
        _done = True


def allow_app_to_host_port(port: int, protocol: str = "tcp") -> None:
    """Let every app reach one host port (for an addon service that listens on the host)."""
    ensure_host_isolation()
    rule = ["-p", protocol, "--dport", str(port), "-j", "ACCEPT"]
    if _iptables("-C", CHAIN, *rule, check=False).returncode != 0:
        _iptables("-I", CHAIN, "1", *rule)


def close_app_to_host_port(port: int, protocol: str = "tcp") -> None:
    """Undo allow_app_to_host_port: a test session's own ports go when it ends, or the chain
    (which the platform's firewall plan reads back) would keep every port ever opened."""
    rule = ["-p", protocol, "--dport", str(port), "-j", "ACCEPT"]
    while _iptables("-D", CHAIN, *rule, check=False).returncode == 0:
        pass


def close_unused_app_ports() -> list[int]:
    """Close the ports open to apps that nothing on the host listens on any more (what test
    sessions and stopped services left); a service that starts again opens its own anew."""
    listening = set()
    for line in subprocess.run(
        ["ss", "-Hltn"], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        local = line.split()[3]
        listening.add(int(local.rsplit(":", 1)[-1]))
    closed = [port for port in ports_open_to_apps() if port not in listening]
    for port in closed:
        close_app_to_host_port(port)
    return closed


def ports_open_to_apps() -> list[int]:
    """The host TCP ports addons opened to app containers (read back from the chain)."""
    ensure_host_isolation()
    ports = []
    for rule in _iptables("-S", CHAIN).stdout.splitlines():
        words = rule.split()
        if "--dport" in words and words[-1] == "ACCEPT" and "tcp" in words:
            ports.append(int(words[words.index("--dport") + 1]))
    return sorted(set(ports))
