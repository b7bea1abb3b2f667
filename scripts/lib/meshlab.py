"""Network-namespace labs for meshgate: real clients and servers around a real meshgated.

Two-arm (the default):

    client ns ──wan── meshgated (its own ns, two DPDK ports) ──lan── backend ns (bridge) ├─ endpoint ns e1 (who_server)
                                                                                        ├─ endpoint ns e2 …
One-arm: one DPDK port on the backend bridge, where the client, the endpoints, the node address
and the SNAT address share one L2 segment and the client routes the VIPs via the node.

A port is a net_tap (the tap meshgated makes is moved into the peer namespace) or a veth whose
meshgated end is driven by net_af_packet or net_af_xdp. With `ipv6`, every host is dual-stack
and the service has an IPv6 VIP too.

Everything is named with one prefix, and everything made is removed by close(), also when a
step fails (use it as a context manager). Traffic stays inside the namespaces made here.
"""
import json
import math
import os
import random
import shutil
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
    def __init__(self, name, address, zone, region="us-east", network="net-1", weight=1, healthy=True, identity=None):
        self.name, self.address, self.zone, self.region = name, address, zone, region
        self.network, self.weight, self.healthy = network, weight, healthy
        self.identity = identity  # set: reached through its ztunnel (hbone = true) with this SPIFFE id

    @property
    def address6(self):
        """The IPv6 twin of a 10.20.0.x address: fd20::x."""
        return "fd20::" + self.address.rsplit(".", 1)[1]


PORT_TYPES = ("tap", "af_packet", "af_xdp")
DEVICE = {"tap": "net_tap", "af_packet": "net_af_packet", "af_xdp": "net_af_xdp"}
NO_OFFLOADS = ("tx", "off", "tso", "off", "gso", "off", "gro", "off")
NIC_OFFLOADS = ("tx", "on", "tso", "on", "gso", "on", "gro", "on")


def outlier_detection(host="who.lab.svc.cluster.local", consecutive_5xx_errors=3, interval="1s",
                      base_ejection_time="3s", max_ejection_percent=50):
    """TOML for a destination rule with outlier detection (Lab(extra_config=…))."""
    return (f'\n[[destination_rule]]\nhost = "{host}"\n[destination_rule.traffic_policy.outlier_detection]\n'
            f"consecutive_5xx_errors = {consecutive_5xx_errors}\ninterval = \"{interval}\"\n"
            f'base_ejection_time = "{base_ejection_time}"\nmax_ejection_percent = {max_ejection_percent}\n')


def remote_service(name, vip, identity, zone="us-east-1c", network="net-2"):
    """TOML for a service whose one endpoint is on another network, addressless as istiod
    coalesces it: reached by double HBONE through that network's gateway (Lab(extra_config=…))."""
    return (f'\n[[service]]\nname = "{name}"\nnamespace = "lab"\nvips = ["{vip}"]\n'
            'ports = [{ port = 9080, protocol = "tcp" }]\n'
            f'\n[[endpoint]]\nservice = "lab/{name}"\nidentity = "{identity}"\n'
            f'locality = {{ network = "{network}", region = "us-east", zone = "{zone}" }}\n')


def network_gateway(address, network="net-2", port=15443, identity="spiffe://cluster.local/ns/istio-gateways/sa/eastwest"):
    """TOML for another network's east-west gateway (Lab(extra_config=…))."""
    return (f'\n[[network_gateway]]\nnetwork = "{network}"\naddress = "{address}"\nport = {port}\n'
            f'identity = "{identity}"\n')


def tcp_health_check(service="lab/who", interval="500ms", timeout="300ms", unhealthy_threshold=2, healthy_threshold=1):
    """TOML for an active TCP health check (Lab(extra_config=…))."""
    return (f'\n[[health_check]]\nservice = "{service}"\nkind = "tcp"\ninterval = "{interval}"\ntimeout = "{timeout}"\n'
            f"unhealthy_threshold = {unhealthy_threshold}\nhealthy_threshold = {healthy_threshold}\n")


def assert_split(test, counts, shares, total):
    """Flows (or streams) per endpoint name, `counts` of `total`, against the plan's `shares`
    (fractions): each within 5 standard deviations of a binomial draw, none to an endpoint
    without a share or outside the plan."""
    for name, share in shares.items():
        got = counts.get(name, 0)
        if share == 0:
            test.assertEqual(got, 0, f"{name} has no share but got {got} of {total}")
            continue
        sigma = math.sqrt(total * share * (1 - share))
        test.assertLessEqual(abs(got - total * share), 5 * sigma + 2, f"{name}: {got} of {total}, planned share {share:.3f}")
    test.assertEqual(set(counts) - set(shares), set(), "flows to endpoints outside the plan")


def read_stats(path):
    """meshgated's --stats-file, or None while there is none (or it is being replaced)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class NamespaceLab:
    """What every lab shares: namespaces named with one prefix (`self.prefix`, listed in
    `self.namespaces`), made by open() and all removed by close(), also when open() fails
    half-way (use it as a context manager)."""

    def ns(self, role):
        return f"{self.prefix}{role}"

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

    def _remove_namespaces(self):
        for name in reversed(self.namespaces):
            # Processes left in a namespace would keep it alive: kill them by PID first.
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", name, check=False)
        self.namespaces = []

    def _remove_workdir(self):
        """The working directory, when the lab chose it (no `workdir` given), unless
        MESHGATE_KEEP_WORKDIR asks to keep it for a look at the logs."""
        if getattr(self, "own_workdir", False) and not os.environ.get("MESHGATE_KEEP_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def client_result(p, timeout=300):
        """The JSON report of a lab_client.py started with client_async()."""
        out, err = p.communicate(timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"lab_client exited {p.returncode}: {err}")
        return json.loads(out)


class Lab(NamespaceLab):
    """A meshgate lab. `endpoints` are Endpoint objects on 10.20.0.0/24."""

    def __init__(self, build_dir, endpoints, prefix=None, lcores="0-1", workdir=None, vip="10.96.0.10",
                 tcp_port=9080, udp_port=5353, traffic_distribution="PreferClose", extra_tcp_ports=(), servers=True,
                 port_type="tap", arms=2, ipv6=False, routed=False, extra_config="", metrics_listen=None,
                 daemon_env=None):
        assert port_type in PORT_TYPES and arms in (1, 2)
        assert not (routed and ipv6), "a port has one gateway, of one family"
        self.port_type, self.arms, self.ipv6, self.routed = port_type, arms, ipv6, routed
        self.extra_config = extra_config  # TOML appended to the generated file (health checks, rules)
        self.metrics_listen = metrics_listen  # [admin].metrics_listen, in meshgated's namespace
        self.daemon_env = daemon_env or {}    # extra environment of meshgated (NOTIFY_SOCKET, …)
        self.vip6 = "fd96::10"
        # Where the client lives and what it calls the node.
        self.client_address, self.node_address = ("10.10.0.1", "10.10.0.2") if arms == 2 else ("10.20.0.100", "10.20.0.2")
        self.client_address6, self.node_address6 = ("fd10::1", "fd10::2") if arms == 2 else ("fd20::100", "fd20::2")
        self.build_dir = build_dir
        self.endpoints = endpoints
        self.prefix = prefix or "mg%04x" % random.randrange(0x10000)
        self.lcores = lcores
        self.vip, self.tcp_port, self.udp_port = vip, tcp_port, udp_port
        self.traffic_distribution = traffic_distribution
        self.extra_tcp_ports = list(extra_tcp_ports)
        self.servers = servers
        self.workdir, self.own_workdir = workdir or f"/tmp/{self.prefix}", workdir is None
        self.namespaces = []
        self.processes = []
        self.daemon = None
        self.config_path = os.path.join(self.workdir, "meshgate.toml")
        self.stats_path = os.path.join(self.workdir, "stats.json")
        self.daemon_log = os.path.join(self.workdir, "meshgated.log")
        self.admin_socket = os.path.join(self.workdir, "admin.sock")
        self.server_of = {}  # endpoint name → its who_server process

    def open(self):
        os.makedirs(self.workdir, exist_ok=True)
        for stale in (self.stats_path, self.daemon_log):  # a previous lab's, in a reused workdir
            if os.path.exists(stale):
                os.remove(stale)
        for role in ("d", "c", "b"):
            self._add_ns(role)
        backend = self.ns("b")
        sh("ip", "link", "add", "br0", "type", "bridge", ns=backend)
        sh("ip", "link", "set", "br0", "up", ns=backend)
        if self.routed:
            self._router()
        for i, e in enumerate(self.endpoints):
            ens = self._add_ns(f"e{i}")
            self._veth(backend, f"{self.prefix}e{i}", ens, "eth0", bridge=True, bridge_name=self._endpoint_bridge())
            self._address(ens, "eth0", self.endpoint_address(e), e.address6)
            if self.routed:
                sh("ip", "route", "add", "default", "via", "10.30.0.1", ns=ens)
            if self.servers:
                self.start_server(e)
        if self.arms == 1:  # the client joins the endpoints' segment
            self._veth(backend, f"{self.prefix}cl", self.ns("c"), "eth0", bridge=True)
        if self.port_type != "tap":
            for port in self.port_names():
                self._data_veth(port)
        self.write_config()
        self.start_daemon()
        if self.port_type == "tap":
            self.wire_taps()
        self.configure_client()
        self.wait_ready()

    def start_server(self, e):
        """The who_server of endpoint `e` (again, after kill_server)."""
        ens = self.ns(f"e{self.endpoints.index(e)}")
        with open(os.path.join(self.workdir, f"server-{e.name}.log"), "a") as log:
            p = subprocess.Popen(["ip", "netns", "exec", ens, PYTHON, os.path.join(HERE, "who_server.py"),
                                  "--name", e.name, "--port", str(self.tcp_port), "--udp-port", str(self.udp_port)],
                                 stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(p)
        self.server_of[e.name] = p

    def kill_server(self, e):
        """Kills endpoint `e`'s server process: its host stays up and answers SYNs with RSTs."""
        p = self.server_of.pop(e.name)
        p.kill()
        p.wait()
        # `ip netns exec` has exec'd the server, so this was its PID; make sure the port is free.
        deadline = time.time() + 5
        while time.time() < deadline:
            out = sh("ss", "-Htln", f"sport = :{self.tcp_port}", ns=self.ns(f"e{self.endpoints.index(e)}"), check=False).stdout
            if not out.strip():
                return
            time.sleep(0.05)

    def ctl(self, *args, check=True, json_output=True):
        """meshgatectl against this lab's daemon; its JSON result (or the CompletedProcess)."""
        meshgatectl = os.path.join(self.build_dir, "src", "cli", "meshgatectl")
        p = subprocess.run([meshgatectl, "--socket", self.admin_socket, *(["--json"] if json_output else []), *map(str, args)],
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"meshgatectl {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
        return json.loads(p.stdout) if (json_output and p.returncode == 0) else p

    def endpoint_address(self, e):
        """Behind the router, 10.20.0.x becomes 10.30.0.x."""
        return e.address.replace("10.20.0.", "10.30.0.") if self.routed else e.address

    def _endpoint_bridge(self):
        return "br1" if self.routed else "br0"

    def _router(self):
        """routed: endpoints on 10.30.0.0/24 (bridge br1) behind a router namespace at 10.20.0.1,
        the gateway of meshgated's endpoint-side port."""
        backend, router = self.ns("b"), self._add_ns("r")
        sh("ip", "link", "add", "br1", "type", "bridge", ns=backend)
        sh("ip", "link", "set", "br1", "up", ns=backend)
        for bridge, dev, address in (("br0", "eth0", "10.20.0.1/24"), ("br1", "eth1", "10.30.0.1/24")):
            self._veth(backend, f"{self.prefix}r{dev[-1]}", router, dev, bridge=True, bridge_name=bridge)
            sh("ip", "addr", "add", address, "dev", dev, ns=router)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=router)

    def port_names(self):
        return ["wan0", "lan0"] if self.arms == 2 else ["arm0"]

    def _veth(self, ns, name, peer_ns, peer_name, bridge=False, bridge_name="br0"):
        """A veth from `ns` to `peer_ns`; the `ns` end joins `bridge_name` if `bridge`. The peer end,
        a host's interface, gets no offloads: the kernel must hand DPDK whole checksums and no GSO
        super-frames."""
        sh("ip", "link", "add", name, "type", "veth", "peer", "name", peer_name, "netns", peer_ns, ns=ns)
        if bridge:
            sh("ip", "link", "set", name, "master", bridge_name, ns=ns)
        sh("ip", "link", "set", name, "up", ns=ns)
        sh("ip", "link", "set", peer_name, "up", ns=peer_ns)
        sh("ethtool", "-K", peer_name, *NO_OFFLOADS, ns=peer_ns, check=False)

    def _address(self, ns, dev, v4, v6):
        sh("ip", "addr", "add", f"{v4}/24", "dev", dev, ns=ns)
        if self.ipv6:
            sh("ip", "-6", "addr", "add", f"{v6}/64", "dev", dev, "nodad", ns=ns)

    def _data_veth(self, port):
        """The veth whose meshgated end a DPDK af_packet/af_xdp port drives."""
        d = self.ns("d")
        dev = self.prefix + port
        if port == "wan0":
            sh("ip", "link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", self.ns("c"), ns=d)
            sh("ip", "link", "set", "eth0", "up", ns=self.ns("c"))
            sh("ethtool", "-K", "eth0", *NO_OFFLOADS, ns=self.ns("c"), check=False)
        else:
            self._veth(self.ns("b"), dev + "b", d, dev, bridge=True)
        sh("ip", "link", "set", dev, "up", ns=d)
        if self.port_type == "af_xdp":
            # meshgated's XDP program leaves the kernel what it does not serve: the interface
            # keeps the node's addresses, and the offloads a NIC gives the node's own traffic
            # (HBONE, health checks). They touch no frame DPDK handles: XDP runs before GRO, and
            # DPDK's frames leave through its AF_XDP socket, not the kernel's transmit path.
            # (A veth has GRO off by default, a NIC on.)
            sh("ethtool", "-K", dev, *NIC_OFFLOADS, ns=d, check=False)
            v4, v6 = ("10.10.0.2", "fd10::2") if port == "wan0" else ("10.20.0.2", "fd20::2")
            self._address(d, dev, v4, v6)
            return
        # af_packet reads every frame as the kernel sees it: no merged or unchecksummed frames.
        sh("ethtool", "-K", dev, *NO_OFFLOADS, ns=d, check=False)
        # af_packet reads a copy of every frame: the kernel of meshgated's namespace (the node's
        # stack, on the exception taps) must not answer on this interface too.
        for key, value in ((f"net.ipv4.conf.{dev}.arp_ignore", 8), (f"net.ipv4.conf.{dev}.rp_filter", 1),
                           (f"net.ipv6.conf.{dev}.disable_ipv6", 1)):
            sh("sysctl", "-qw", f"{key}={value}", ns=d, check=False)

    def configure_client(self):
        c = self.ns("c")
        dev = "eth0" if (self.port_type != "tap" or self.arms == 1) else f"{self.prefix}wan0"
        self._address(c, dev, self.client_address, self.client_address6)
        sh("ip", "route", "add", "10.96.0.0/16", "via", self.node_address, ns=c)
        if self.ipv6:
            sh("ip", "-6", "route", "add", "fd96::/64", "via", self.node_address6, ns=c)

    def write_config(self):
        v6 = self.ipv6
        def addresses(v4, v6_address):
            return "[" + ", ".join(f'"{a}"' for a in ([v4] + ([v6_address] if v6 else []))) + "]"
        def device(i, port):
            return f'{DEVICE[self.port_type]}{i},iface={self.prefix}{port}'
        lines = [
            "[node]", 'name = "gw-1"', 'cluster = "cluster-1"', 'network = "net-1"', 'region = "us-east"',
            'zone = "us-east-1a"', "",
            "[admin]", f'socket = "{self.admin_socket}"',
            *([f'metrics_listen = "{self.metrics_listen}"'] if self.metrics_listen else []), "",
            "[lb]", "maglev_table_size = 65537", "",
            "[dataplane]", f'lcores = "{self.lcores}"', "memory_mb = 512", "hugepages = false",
            "flow_table_size = 65536", 'eal_args = ["--log-level=*:warning"]', "",
        ]
        if self.arms == 2:
            lines += ["[[dataplane.port]]", 'name = "wan0"', f'device = "{device(0, "wan0")}"',
                      f'addresses = {addresses("10.10.0.2/24", "fd10::2/64")}', ""]
        name = "lan0" if self.arms == 2 else "arm0"
        lines += ["[[dataplane.port]]", f'name = "{name}"', f'device = "{device(self.arms - 1, name)}"',
                  f'addresses = {addresses("10.20.0.2/24", "fd20::2/64")}', f'snat = {addresses("10.20.0.3", "fd20::3")}']
        lines += ['gateway = "10.20.0.1"', ""] if self.routed else [""]
        lines += [
            "[[service]]", 'name = "who"', 'namespace = "lab"', f'vips = {addresses(self.vip, self.vip6)}',
            "ports = [" + ", ".join([f'{{ port = {p}, protocol = "tcp" }}' for p in [self.tcp_port] + self.extra_tcp_ports]
                                    + [f'{{ port = {self.udp_port}, protocol = "udp" }}']) + "]",
            f'traffic_distribution = "{self.traffic_distribution}"', "",
        ]
        for e in self.endpoints:
            for address in [self.endpoint_address(e)] + ([e.address6] if v6 else []):
                lines += ["[[endpoint]]", 'service = "lab/who"', f'address = "{address}"', f"weight = {e.weight}",
                          f"healthy = {'true' if e.healthy else 'false'}",
                          *([f'hbone = true', f'identity = "{e.identity}"'] if e.identity else []),
                          f'locality = {{ network = "{e.network}", region = "{e.region}", zone = "{e.zone}" }}', ""]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n" + self.extra_config)

    def start_daemon(self):
        meshgated = os.path.join(self.build_dir, "src", "daemon", "meshgated")
        with open(self.daemon_log, "w") as log:
            self.daemon = subprocess.Popen(["ip", "netns", "exec", self.ns("d"), meshgated, "--config", self.config_path,
                                        "--stats-file", self.stats_path],
                                           stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.daemon_env})
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("meshgated exited: " + self.log())
            # Ports are started (taps exist and are configured) once it says it runs.
            if "running" in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError("meshgated did not start its ports: " + self.log())

    def wire_taps(self):
        """net_tap: the taps meshgated made in its namespace become the wires to the client and
        the backend bridge. (The exception taps stay: meshgated configured them itself.)"""
        client, backend = self.ns("c"), self.ns("b")
        for port in self.port_names():
            tap = self.prefix + port
            peer = client if port == "wan0" else backend
            sh("ip", "link", "set", tap, "netns", peer, ns=self.ns("d"))
            # A tap is a wire: DPDK owns one end's MAC, so the kernel end needs another (else the
            # bridge or the client stack takes frames for meshgate as its own).
            mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(5))
            sh("ip", "link", "set", "dev", tap, "address", mac, ns=peer)
            if peer == backend:
                sh("ip", "link", "set", tap, "master", "br0", ns=backend)
            sh("ip", "link", "set", tap, "up", ns=peer)
            sh("ethtool", "-K", tap, *NO_OFFLOADS, ns=peer, check=False)

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
        return read_stats(self.stats_path)

    def wait_ready(self, timeout=30):
        """Until meshgated knows every endpoint's MAC (it asks with ARP and ND)."""
        want = 1 if self.routed else len(self.endpoints) * (2 if self.ipv6 else 1)  # routed: the gateway
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
        target = {None: self.vip, "vip6": self.vip6}.get(target, target)
        p = sh(PYTHON, os.path.join(HERE, "lab_client.py"), "--vip", target, "--tcp-port",
               tcp_port or self.tcp_port, "--udp-port", self.udp_port, *args, ns=self.ns("c"), timeout=timeout)
        return json.loads(p.stdout)

    def http_get(self, url):
        """GET `url` from inside meshgated's namespace: (status, body)."""
        code = ("import sys, urllib.request, urllib.error\n"
                "try:\n r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); sys.stdout.write(r.read().decode())\n"
                "except urllib.error.HTTPError as e:\n print(e.code); sys.stdout.write(e.read().decode())\n")
        out = sh(PYTHON, "-c", code, url, ns=self.ns("d")).stdout
        status, _, body = out.partition("\n")
        return int(status), body

    def client_async(self, *args, target=None):
        """lab_client.py started in the background; finish it with client_result()."""
        target = {None: self.vip, "vip6": self.vip6}.get(target, target)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("c"), PYTHON, os.path.join(HERE, "lab_client.py"), "--vip", target,
                              "--tcp-port", str(self.tcp_port), "--udp-port", str(self.udp_port), *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(p)
        return p

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
        self._remove_namespaces()
        if self.daemon:
            subprocess.run(["rm", "-rf", f"/var/run/dpdk/meshgate-{self.daemon.pid}", f"/var/run/dpdk/{self.prefix}pmd"],
                           check=False)
        self._remove_workdir()
