"""Network-namespace labs for meshgate: real clients and servers around a real meshgated.

    client ns ──tap wan── meshgated (its own ns, DPDK net_tap ports) ──tap lan── backend ns
                                                                        (bridge) ├─ endpoint ns e1 (who_server)
                                                                                 ├─ endpoint ns e2 …

Everything is named with one prefix, and everything made is removed by close(), also when a
step fails (use it as a context manager). Traffic stays inside the namespaces made here.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def sh(*args, check=True, ns=None, **kw):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    p = subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


class Endpoint:
    def __init__(self, name, address, zone, region="us-east", network="net-1", weight=1, healthy=True):
        self.name, self.address, self.zone, self.region = name, address, zone, region
        self.network, self.weight, self.healthy = network, weight, healthy


class Lab:
    """A meshgate lab. `endpoints` are Endpoint objects on 10.20.0.0/24."""

    def __init__(self, build_dir, endpoints, prefix=None, lcores="0-1", workdir=None, vip="10.96.0.10",
                 tcp_port=9080, udp_port=5353, traffic_distribution="PreferClose", extra_tcp_ports=(), servers=True):
        self.build_dir = build_dir
        self.endpoints = endpoints
        self.prefix = prefix or "mg%04x" % random.randrange(0x10000)
        self.lcores = lcores
        self.vip, self.tcp_port, self.udp_port = vip, tcp_port, udp_port
        self.traffic_distribution = traffic_distribution
        self.extra_tcp_ports = list(extra_tcp_ports)
        self.servers = servers
        self.workdir = workdir or f"/tmp/{self.prefix}"
        self.namespaces = []
        self.processes = []
        self.daemon = None
        self.config_path = os.path.join(self.workdir, "meshgate.toml")
        self.stats_path = os.path.join(self.workdir, "stats.json")
        self.daemon_log = os.path.join(self.workdir, "meshgated.log")

    # --- names
    def ns(self, role):
        return f"{self.prefix}{role}"

    # --- lifecycle
    def __enter__(self):
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _add_ns(self, role):
        name = self.ns(role)
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        return name

    def open(self):
        os.makedirs(self.workdir, exist_ok=True)
        for role in ("d", "c", "b"):
            self._add_ns(role)
        backend = self.ns("b")
        sh("ip", "link", "add", "br0", "type", "bridge", ns=backend)
        sh("ip", "link", "set", "br0", "up", ns=backend)
        for i, e in enumerate(self.endpoints):
            ens = self._add_ns(f"e{i}")
            sh("ip", "link", "add", f"{self.prefix}e{i}", "type", "veth", "peer", "name", "eth0", "netns", ens)
            sh("ip", "link", "set", f"{self.prefix}e{i}", "netns", backend)
            sh("ip", "link", "set", f"{self.prefix}e{i}", "master", "br0", ns=backend)
            sh("ip", "link", "set", f"{self.prefix}e{i}", "up", ns=backend)
            sh("ip", "addr", "add", f"{e.address}/24", "dev", "eth0", ns=ens)
            sh("ip", "link", "set", "eth0", "up", ns=ens)
            # The kernel must hand DPDK whole checksums and no GSO super-frames.
            sh("ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off", ns=ens, check=False)
            if not self.servers:
                continue
            with open(os.path.join(self.workdir, f"server-{e.name}.log"), "w") as log:
                p = subprocess.Popen(["ip", "netns", "exec", ens, PYTHON, os.path.join(HERE, "who_server.py"),
                                      "--name", e.name, "--port", str(self.tcp_port), "--udp-port", str(self.udp_port)],
                                     stdout=log, stderr=subprocess.STDOUT)
            self.processes.append(p)
        self.write_config()
        self.start_daemon()
        self.wire_taps()
        self.wait_ready()

    def write_config(self):
        lines = [
            "[node]", 'name = "gw-1"', 'cluster = "cluster-1"', 'network = "net-1"', 'region = "us-east"',
            'zone = "us-east-1a"', "",
            "[lb]", "maglev_table_size = 65537", "",
            "[dataplane]", f'lcores = "{self.lcores}"', "memory_mb = 512", "hugepages = false",
            "flow_table_size = 65536", 'eal_args = ["--log-level=*:warning"]', "",
            "[[dataplane.port]]", 'name = "wan0"', f'device = "net_tap0,iface={self.prefix}wan"',
            'addresses = ["10.10.0.2/24"]', f'exception_interface = "{self.prefix}xw"', "",
            "[[dataplane.port]]", 'name = "lan0"', f'device = "net_tap1,iface={self.prefix}lan"',
            'addresses = ["10.20.0.2/24"]', 'snat = ["10.20.0.3"]', f'exception_interface = "{self.prefix}xl"', "",
            "[[service]]", 'name = "who"', 'namespace = "lab"', f'vips = ["{self.vip}"]',
            "ports = [" + ", ".join([f'{{ port = {p}, protocol = "tcp" }}' for p in [self.tcp_port] + self.extra_tcp_ports]
                                    + [f'{{ port = {self.udp_port}, protocol = "udp" }}']) + "]",
            f'traffic_distribution = "{self.traffic_distribution}"', "",
        ]
        for e in self.endpoints:
            lines += ["[[endpoint]]", 'service = "lab/who"', f'address = "{e.address}"', f"weight = {e.weight}",
                      f"healthy = {'true' if e.healthy else 'false'}",
                      f'locality = {{ network = "{e.network}", region = "{e.region}", zone = "{e.zone}" }}', ""]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    def start_daemon(self):
        meshgated = os.path.join(self.build_dir, "src", "daemon", "meshgated")
        with open(self.daemon_log, "w") as log:
            self.daemon = subprocess.Popen(["ip", "netns", "exec", self.ns("d"), meshgated, "--config", self.config_path,
                                        "--stats-file", self.stats_path],
                                           stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("meshgated exited: " + self.log())
            # Ports are started (taps exist and are configured) once it says it runs.
            if "running" in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError("meshgated did not start its ports: " + self.log())

    def configure_node_stack(self):
        # The exception taps stay with meshgated: its namespace's kernel is the node's stack.
        for tap, address in ((f"{self.prefix}xw", "10.10.0.2/24"), (f"{self.prefix}xl", "10.20.0.2/24")):
            sh("ip", "addr", "add", address, "dev", tap, ns=self.ns("d"))
            sh("ip", "link", "set", tap, "up", ns=self.ns("d"))

    def wire_taps(self):
        client, backend = self.ns("c"), self.ns("b")
        self.configure_node_stack()
        sh("ip", "link", "set", f"{self.prefix}wan", "netns", client, ns=self.ns("d"))
        sh("ip", "link", "set", f"{self.prefix}lan", "netns", backend, ns=self.ns("d"))
        # A tap is a wire: DPDK owns one end's MAC, so the kernel end needs another (else the
        # bridge or the client stack takes frames for meshgate as its own).
        for ns, tap in ((client, f"{self.prefix}wan"), (backend, f"{self.prefix}lan")):
            mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(5))
            sh("ip", "link", "set", "dev", tap, "address", mac, ns=ns)
        sh("ip", "addr", "add", "10.10.0.1/24", "dev", f"{self.prefix}wan", ns=client)
        sh("ip", "link", "set", f"{self.prefix}wan", "up", ns=client)
        sh("ip", "route", "add", "10.96.0.0/16", "via", "10.10.0.2", ns=client)
        sh("ethtool", "-K", f"{self.prefix}wan", "tx", "off", "tso", "off", "gso", "off", "gro", "off", ns=client, check=False)
        sh("ip", "link", "set", f"{self.prefix}lan", "master", "br0", ns=backend)
        sh("ip", "link", "set", f"{self.prefix}lan", "up", ns=backend)

    def log(self):
        with open(self.daemon_log) as f:
            return f.read()

    def wait_stats(self, predicate, timeout=10):
        """The counters once `predicate(stats)` holds (they are written every second)."""
        deadline = time.time() + timeout
        while True:
            s = self.stats()
            if s and predicate(s):
                return s
            if time.time() > deadline:
                raise AssertionError(f"counters never satisfied the condition: {s}")
            time.sleep(0.2)

    def stats(self):
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout=30):
        """Until meshgated knows every healthy endpoint's MAC (it ARPs for them)."""
        want = len(self.endpoints)
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.stats()
            if s and s.get("neighbours", 0) >= want:
                return s
            if self.daemon.poll() is not None:
                raise RuntimeError("meshgated exited: " + self.log())
            time.sleep(0.2)
        raise RuntimeError(f"meshgated resolved {self.stats()} neighbours, wanted {want}")

    def reload(self, endpoints=None):
        """Rewrites the TOML (with `endpoints` if given) and sends SIGHUP; waits for the new snapshot."""
        if endpoints is not None:
            self.endpoints = endpoints
        before = (self.stats() or {}).get("generation", 0)
        self.write_config()
        self.daemon.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            s = self.stats()
            if s and s.get("generation", 0) > before:
                return s
            time.sleep(0.1)
        raise RuntimeError("no new snapshot after SIGHUP")

    def client(self, *args, target=None, tcp_port=None, timeout=300):
        """Runs lab_client.py in the client namespace (to the VIP unless `target`); its JSON report."""
        p = sh(PYTHON, os.path.join(HERE, "lab_client.py"), "--vip", target or self.vip, "--tcp-port",
               tcp_port or self.tcp_port, "--udp-port", self.udp_port, *args, ns=self.ns("c"), timeout=timeout)
        return json.loads(p.stdout)

    def serve_on_node(self, name, address, port):
        """A who_server in meshgated's own namespace: reached only through the exception path."""
        with open(os.path.join(self.workdir, f"server-{name}.log"), "w") as log:
            self.processes.append(subprocess.Popen(
                ["ip", "netns", "exec", self.ns("d"), PYTHON, os.path.join(HERE, "who_server.py"), "--name", name,
                 "--port", str(port), "--bind", address], stdout=log, stderr=subprocess.STDOUT))
        time.sleep(0.5)

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGINT if "testpmd" in str(self.daemon.args) else signal.SIGTERM)
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()

    def close(self):
        self.stop_daemon()
        for p in self.processes:
            if p.poll() is None:
                p.kill()
                p.wait()
        for name in reversed(self.namespaces):
            # Processes left in a namespace would keep it alive: kill them by PID first.
            pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", name, check=False)
        self.namespaces = []
        if self.daemon:
            subprocess.run(["rm", "-rf", f"/var/run/dpdk/meshgate-{self.daemon.pid}", f"/var/run/dpdk/{self.prefix}pmd"],
                           check=False)
