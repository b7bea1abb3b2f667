"""A scale-out lab: several meshgate nodes behind a router that spreads a VIP over them by ECMP,
each node announcing what it can serve through its own BIRD (docs/scale-out.md).

    client ns ── router ns (BIRD, AS 65000, ECMP "merge paths", BFD) ──┬── node ns n1: meshgated (one DPDK port) + BIRD (AS 65100)
                         │                                             ├── node ns n2 …
                         └── backend bridge ── endpoint ns e0, e1, …   └── node ns n3 …

Each node is one-arm: its port carries clients' packets from the router, its full-NAT'ed
packets to the endpoints (via the router) and their replies, which come back because the node
announces its SNAT address. The node's BIRD peers with the router over the node's own address,
which meshgated gives its exception tap: BGP and BFD cross meshgate's exception path, as on a
real gateway. meshgated keeps the announceable VIP and SNAT routes in kernel table 100; BIRD's
kernel protocol learns them from there. The nodes are each other's `[announce] peers`: a
connection the router's rehash moves reaches its node again through the second-chance tunnel,
across the router, whose links to the nodes have MTU 1600 for it.

Everything is named with one prefix and removed by close(), also when a step fails.
"""
import json
import os
import random
import signal
import subprocess
import threading
import time

from meshlab import HERE, NO_OFFLOADS, PYTHON, NamespaceLab, read_stats, sh

VIP, TCP_PORT, UDP_PORT = "10.96.0.10", 9080, 5353
ROUTER_AS, NODE_AS, TABLE = 65000, 65100, 100
NODE_MTU = 1600
# 500 ms to detect a dead peer; at the fast rate from the first packet, so a session coming up
# is never judged at 100 ms while its peer still sends at the idle rate.
BFD = "min rx interval 100 ms; min tx interval 100 ms; idle tx interval 100 ms; multiplier 5;"
# A session that went down is tried again within seconds (BIRD waits 60 s to 5 min by default,
# which damps a flapping peer in production but would outlast the test).
ERROR_WAIT = "error wait time 1, 5;"


class Node:
    def __init__(self, lab, k):
        self.lab, self.k = lab, k
        self.name = f"n{k}"
        self.address = f"10.99.1{k}.2"
        self.router_address = f"10.99.1{k}.1"
        self.snat = f"10.99.5{k}.1"
        self.ns = lab.ns(self.name)
        self.config_path = os.path.join(lab.workdir, f"{self.name}.toml")
        self.socket = os.path.join(lab.workdir, f"{self.name}.sock")
        self.log_path = os.path.join(lab.workdir, f"{self.name}-meshgated.log")
        self.stats_path = os.path.join(lab.workdir, f"{self.name}-stats.json")
        self.daemon = None
        self.port_dev = f"{lab.prefix}p{k}"

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def ctl(self, *args, check=True, json_output=True, timeout=60):
        meshgatectl = os.path.join(self.lab.build_dir, "src", "cli", "meshgatectl")
        p = subprocess.run([meshgatectl, "--socket", self.socket, *(["--json"] if json_output else []), *map(str, args)],
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{self.name}: meshgatectl {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
        return json.loads(p.stdout) if (json_output and p.returncode == 0) else p

    def admin(self, command, args=None):
        """One admin request on the socket (docs/admin-protocol.md); its result."""
        import socket as sk
        with sk.socket(sk.AF_UNIX, sk.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.socket)
            s.sendall((json.dumps({"id": 1, "command": command, "args": args or {}}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        if not reply.get("ok"):
            raise AssertionError(f"{self.name}: {command}: {reply}")
        return reply["result"]

    def stats(self):
        return read_stats(self.stats_path)


class EcmpLab(NamespaceLab):
    def __init__(self, build_dir, endpoints, nodes=3, workdir=None, announce=None, second_chance=True, port_type="af_packet"):
        self.build_dir = build_dir
        self.endpoints = endpoints
        self.prefix = "mx%04x" % random.randrange(0x10000)
        self.workdir, self.own_workdir = workdir or f"/tmp/{self.prefix}", workdir is None
        self.announce = {"withdraw_delay": "1s", "drain_quiet": "1s", "drain_timeout": "60s", **(announce or {})}
        self.namespaces, self.processes, self.bird_pids = [], [], []
        self.nodes = [Node(self, k) for k in range(1, nodes + 1)]
        self.second_chance = second_chance
        self.port_type = port_type  # "af_packet" or "af_xdp" (meshgate's XDP program leaves the kernel the node's own traffic)
        self.server_of = {}

    def _veth(self, ns, name, peer_ns, peer_name, address=None, peer_address=None, mtu=1500):
        sh("ip", "link", "add", name, "mtu", str(mtu), "type", "veth", "peer", "name", peer_name, "mtu", str(mtu), "netns", peer_ns, ns=ns)
        for n, dev, a in ((ns, name, address), (peer_ns, peer_name, peer_address)):
            if a:
                sh("ip", "addr", "add", a, "dev", dev, ns=n)
            sh("ip", "link", "set", dev, "up", ns=n)
            sh("ethtool", "-K", dev, *NO_OFFLOADS, ns=n, check=False)

    def open(self):
        os.makedirs(self.workdir, exist_ok=True)
        client, router, backend = self._add_ns("c"), self._add_ns("r"), self._add_ns("b")
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1", ns=router)
        self._veth(router, "cl", client, "eth0", "10.99.20.1/24", "10.99.20.2/24")
        sh("ip", "route", "add", "default", "via", "10.99.20.1", ns=client)
        sh("ip", "link", "add", "br0", "type", "bridge", ns=backend)
        sh("ip", "link", "set", "br0", "up", ns=backend)
        self._veth(router, "bk", backend, "r", "10.30.0.1/24")
        sh("ip", "link", "set", "r", "master", "br0", ns=backend)
        for i, e in enumerate(self.endpoints):
            ens = self._add_ns(f"e{i}")
            self._veth(backend, f"e{i}", ens, "eth0", None, f"{e.address}/24")
            sh("ip", "link", "set", f"e{i}", "master", "br0", ns=backend)
            sh("ip", "route", "add", "default", "via", "10.30.0.1", ns=ens)
            self.start_server(e)
        for node in self.nodes:
            self._add_ns(node.name)
            # The links between nodes carry second chance's tunnel: 20 bytes above the clients' MTU.
            self._veth(router, node.name, node.ns, node.port_dev, f"{node.router_address}/24", mtu=NODE_MTU)
            if self.port_type == "af_xdp":
                # meshgate's XDP program leaves the kernel what it does not serve: the interface
                # keeps the node's address (BGP, BFD), as a NIC would.
                sh("ip", "addr", "add", f"{node.address}/24", "dev", node.port_dev, ns=node.ns)
                continue
            # net_af_packet: no address on the port; meshgated gives the node's address to its
            # exception tap, and the kernel must not answer here too.
            for key, value in ((f"net.ipv4.conf.{node.port_dev}.arp_ignore", 8), (f"net.ipv4.conf.{node.port_dev}.rp_filter", 1),
                               (f"net.ipv6.conf.{node.port_dev}.disable_ipv6", 1)):
                sh("sysctl", "-qw", f"{key}={value}", ns=node.ns, check=False)
        self._start_router_bird()
        for k, node in enumerate(self.nodes):
            self.write_config(node, shuffle_seed=k)
            self.start_daemon(node)
            self._start_node_bird(node)
        self.wait_paths(len(self.nodes))

    # --- meshgated
    def write_config(self, node, shuffle_seed=0):
        endpoints = list(self.endpoints)
        # Every node lists its endpoints in another order: the tables must not care.
        random.Random(shuffle_seed).shuffle(endpoints)
        lines = [
            "[node]", f'name = "gw-{node.k}"', 'cluster = "cluster-1"', 'network = "net-1"', 'region = "us-east"',
            'zone = "us-east-1a"', "",
            "[admin]", f'socket = "{node.socket}"', "",
            "[announce]", f"table = {TABLE}", f'device = "mg-announce"',
            *[f'{k} = "{v}"' for k, v in self.announce.items()],
            # The same list on every node, its own address included.
            *(["peers = [" + ", ".join(f'"{n.address}"' for n in self.nodes) + "]"] if self.second_chance else []), "",
            "[lb]", "maglev_table_size = 65537", "",
            # Three nodes share two cores here: workers rest when idle, or BFD starves.
            "[dataplane]", 'lcores = "0@(0-1),1@(0-1)"', "memory_mb = 512", "hugepages = false", "flow_table_size = 65536",
            'idle_sleep = "100us"',
            'eal_args = ["--log-level=*:warning"]', "",
            "[[dataplane.port]]", 'name = "arm0"', f'device = "net_{self.port_type}0,iface={node.port_dev}"',
            f'addresses = ["{node.address}/24"]', f'gateway = "{node.router_address}"', f'snat = ["{node.snat}"]',
            f"mtu = {NODE_MTU}", "",
            "[[service]]", 'name = "who"', 'namespace = "lab"', f'vips = ["{VIP}"]',
            f'ports = [{{ port = {TCP_PORT}, protocol = "tcp" }}, {{ port = {UDP_PORT}, protocol = "udp" }}]',
            'traffic_distribution = "PreferClose"', "",
        ]
        for e in endpoints:
            lines += ["[[endpoint]]", 'service = "lab/who"', f'address = "{e.address}"',
                      f'locality = {{ network = "{e.network}", region = "{e.region}", zone = "{e.zone}" }}', ""]
        with open(node.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start_daemon(self, node):
        meshgated = os.path.join(self.build_dir, "src", "daemon", "meshgated")
        for stale in (node.stats_path,):
            if os.path.exists(stale):
                os.remove(stale)
        with open(node.log_path, "a") as log:
            node.daemon = subprocess.Popen(["ip", "netns", "exec", node.ns, meshgated, "--config", node.config_path,
                                            "--stats-file", node.stats_path], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if node.daemon.poll() is not None:
                raise RuntimeError(f"{node.name}: meshgated exited: " + node.log())
            s = node.stats()
            if s and s.get("neighbours", 0) >= 1:  # it knows the router's MAC
                return
            time.sleep(0.2)
        raise RuntimeError(f"{node.name}: meshgated did not become ready: " + node.log())

    def kill_daemon(self, node, sig=signal.SIGKILL):
        node.daemon.send_signal(sig)
        node.daemon.wait(timeout=120)
        subprocess.run(["rm", "-rf", f"/var/run/dpdk/meshgate-{node.daemon.pid}"], check=False)

    # --- BIRD
    def _bird(self, ns, name, text):
        conf = os.path.join(self.workdir, f"bird-{name}.conf")
        with open(conf, "w") as f:
            f.write(text)
        pid = os.path.join(self.workdir, f"bird-{name}.pid")
        sh("bird", "-c", conf, "-s", os.path.join(self.workdir, f"bird-{name}.ctl"), "-P", pid, ns=ns)
        for _ in range(50):
            try:
                with open(pid) as f:  # BIRD creates the file, then writes its PID
                    self.bird_pids.append(int(f.read().strip()))
                return
            except (OSError, ValueError):
                time.sleep(0.1)
        raise RuntimeError(f"bird {name} wrote no PID file")

    def _start_router_bird(self):
        peers = "\n".join(f"protocol bgp {n.name} from node {{ neighbor {n.address} as {NODE_AS}; }}" for n in self.nodes)
        log = os.path.join(self.workdir, "bird-router.log")
        self._bird(self.ns("r"), "router", f"""router id 10.99.20.1;
log "{log}" all;
protocol device {{}}
protocol kernel {{ ipv4 {{ import none; export where source = RTS_BGP; }}; merge paths on limit 8; }}
protocol bfd {{ interface "*" {{ {BFD} }}; debug {{ states, events }}; }}
template bgp node {{ local as {ROUTER_AS}; ipv4 {{ import all; export none; }}; bfd on; {ERROR_WAIT} debug {{ states, events }}; }}
{peers}
""")

    def _start_node_bird(self, node):
        # dist/bird-meshgate.conf, with this lab's addresses.
        with open(os.path.join(HERE, "..", "..", "dist", "bird-meshgate.conf")) as f:
            text = f.read()
        for old, new in (("192.0.2.2", node.address), ("192.0.2.1", node.router_address), ("64512", str(NODE_AS)),
                         ("64511", str(ROUTER_AS)), ("min rx interval 100 ms; min tx interval 100 ms; multiplier 5;", BFD)):
            assert old in text, f"dist/bird-meshgate.conf has no {old}"
            text = text.replace(old, new)
        log = os.path.join(self.workdir, f"bird-{node.name}.log")
        text = f'log "{log}" all;\n' + text.replace("bfd on;", f"bfd on; {ERROR_WAIT} debug {{ states, events }};")
        self._bird(node.ns, node.name, text)

    def birdc(self, name, *args):
        return sh("birdc", "-s", os.path.join(self.workdir, f"bird-{name}.ctl"), *args).stdout

    # --- the router's view
    def next_hops(self):
        """The nodes the router now sends the VIP to."""
        out = sh("ip", "route", "show", VIP, ns=self.ns("r")).stdout
        return {n.name for n in self.nodes if f"via {n.address} " in out}

    def wait_paths(self, count, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.next_hops()) == count:
                return
            time.sleep(0.2)
        raise AssertionError(f"the router has {self.next_hops()} for {VIP}, not {count} paths; "
                             + self.birdc("router", "show", "protocols"))

    def watch_next_hops(self):
        """Starts recording the router's next hops for the VIP every 10 ms: [(time, set)]."""
        changes, stop = [], threading.Event()

        def run():
            last = None
            while not stop.is_set():
                hops = self.next_hops()
                if hops != last:
                    changes.append((time.time(), hops))
                    last = hops
                time.sleep(0.01)
        t = threading.Thread(target=run, daemon=True)
        t.start()

        def finish():
            stop.set()
            t.join()
            return changes
        return finish

    def measure(self, node, event, seconds=4, client_args=()):
        """Back-to-back connections (one at a time, 10 ms apart) for `seconds` while the
        router's next hops are recorded; `event()` fires after one second. Returns when the
        router stopped sending to `node` (ms after the event, or None), the failed connections
        (all, those started before the event, and those started once the router had converged:
        a connection under way when the router rehashes may land on a node without its state)
        and the client's report."""
        watch = self.watch_next_hops()
        clients = self.client_async("--timeline", seconds, "--gap", 0.01, *client_args)
        time.sleep(1)
        fired = time.time()
        event()
        report = self.client_result(clients)
        changes = watch()
        gone = next((t for t, hops in changes if node.name not in hops and t >= fired - 0.5), None)
        failed = [t for t, what in report["timeline"] if str(what).startswith("failed")]
        return {"converged_ms": None if gone is None else round((gone - fired) * 1000),
                "connections": len(report["timeline"]), "failed": len(failed),
                "failed_before_event": sum(t < fired for t in failed),
                # 200 ms for a connection begun just before the router's change to resolve.
                "failed_after_convergence": None if gone is None else sum(t >= gone + 0.2 for t in failed),
                "report": report}

    def restart(self, node):
        """A node whose meshgated stopped: started again, until the router sends to it."""
        subprocess.run(["rm", "-rf", f"/var/run/dpdk/meshgate-{node.daemon.pid}"], check=False)
        self.start_daemon(node)
        deadline = time.time() + 60
        while node.name not in self.next_hops():
            if time.time() > deadline:
                raise AssertionError(f"{node.name} was not announced again: " + self.birdc("router", "show", "protocols"))
            time.sleep(0.2)

    # --- traffic
    def start_server(self, e):
        ens = self.ns(f"e{self.endpoints.index(e)}")
        with open(os.path.join(self.workdir, f"server-{e.name}.log"), "a") as log:
            p = subprocess.Popen(["ip", "netns", "exec", ens, PYTHON, os.path.join(HERE, "who_server.py"),
                                  "--name", e.name, "--port", str(TCP_PORT), "--udp-port", str(UDP_PORT)],
                                 stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(p)
        self.server_of[e.name] = p

    def client(self, *args, timeout=300):
        p = sh(PYTHON, os.path.join(HERE, "lab_client.py"), "--vip", VIP, "--tcp-port", TCP_PORT, "--udp-port", UDP_PORT,
               *args, ns=self.ns("c"), timeout=timeout)
        return json.loads(p.stdout)

    def client_async(self, *args):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("c"), PYTHON, os.path.join(HERE, "lab_client.py"), "--vip", VIP,
                              "--tcp-port", str(TCP_PORT), "--udp-port", str(UDP_PORT), *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(p)
        return p

    def close(self):
        for node in self.nodes:
            if node.daemon and node.daemon.poll() is None:
                node.daemon.send_signal(signal.SIGTERM)
                try:
                    node.daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.daemon.kill()
                    node.daemon.wait()
        for pid in self.bird_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.processes:
            if p.poll() is None:
                p.kill()
                p.wait()
        self._remove_namespaces()
        for node in self.nodes:
            if node.daemon:
                subprocess.run(["rm", "-rf", f"/var/run/dpdk/meshgate-{node.daemon.pid}"], check=False)
        self._remove_workdir()
