#!/usr/bin/python3
"""HBONE proxy benchmarks (issue 8): meshgated's proxy beside the Go standard-library HBONE relay
and plain TCP, all measured in the same lab and run (root, golang-go).

The lab (scripts/lib/meshlab.py, net_af_xdp ports unless HBONE_BENCH_PORTS says otherwise): a
client namespace, meshgated in its own, and one endpoint running a TCP sink. On AF_XDP the node's
kernel keeps its interface, with a NIC's offloads, for its own traffic (the proxies' TCP); on
net_tap it reaches the wire through meshgated's exception taps. Every path crosses meshgated's
data plane:

  plain TCP   client → VIP:9080, full NAT on the fast path → sink
  meshgate    client → node:15008, HBONE terminated by meshgated's proxy → TCP → sink
  go relay    client → node:15009, the same HBONE terminated by hbone_peer serve (Go's crypto/tls
              and net/http HTTP/2) in meshgated's namespace → TCP → sink

The load comes from one client for all three (hbone_peer, Go). Each figure is measured in
ROUNDS rounds (HBONE_BENCH_ROUNDS, default 5); a round runs every path once, one after the other,
and a figure is the median over the rounds. A ratio is the median of the rounds' own ratios, so
a drift in the shared machine's speed during the run does not favour whichever side ran first:

  hbone_bulk_1        MB/s of one tunnel uploading 256 MB (plain TCP: one connection)
  hbone_bulk_64       MB/s of 64 tunnels at once, one connection each, 8 MB each
  hbone_setup         new TLS connection + CONNECT + close, per second (8 clients in parallel)
  hbone_pooled        CONNECT + close on one pooled connection, per second (8 in parallel)
  hbone_idle_memory   KiB per idle tunnel, for 10,000 tunnels (streams; the client opens a
                      connection per 200, the advertised limit): meshgated's heap, the relay's RSS
  hbone_double_bulk_1 MB/s of one tunnel to another network's service (double HBONE: meshgated's
                      outer CONNECT to a Go east-west gateway, its own TLS + CONNECT inside to a
                      Go ztunnel on the sink's host) beside one tunnel to the local service
  hbone_double_setup  the same for new TLS connection + CONNECT per second (double: two more
                      handshakes per stream, the inner connection never pooled)

and the ratios the issue sets goals for: one tunnel / plain TCP (goal ≥ 0.8), meshgate / go relay.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "lib"))
import meshlab  # noqa: E402

ROUNDS = int(os.environ.get("HBONE_BENCH_ROUNDS", "5"))
PORT_TYPE = os.environ.get("HBONE_BENCH_PORTS", "af_xdp")  # or tap, af_packet
MESHGATE_ID = "spiffe://cluster.local/ns/istio-system/sa/meshgate"
SINK = "10.20.0.11:9080"
# Another network's service: its one endpoint is the sink's host, behind a Go ztunnel on its
# 15008 and net-2's Go east-west gateway on its 15443.
REMOTE_VIP = "10.96.0.30:9080"
REMOTE_NAME = "remote.lab.svc.cluster.local:9080"
REMOTE_SERVICE = (meshlab.remote_service("remote", "10.96.0.30", "spiffe://cluster.local/ns/istio-system/sa/ztunnel",
                                         zone="us-east-1a") + meshlab.network_gateway("10.20.0.11"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class Bench:
    def __init__(self, work):
        self.work = work
        self.certs = os.path.join(work, "certs")
        subprocess.run(["bash", os.path.join(HERE, "..", "scripts", "lib", "make_test_pki.sh"), self.certs], check=True)
        self.peer = os.path.join(work, "hbone_peer")
        subprocess.run(["go", "build", "-o", self.peer, os.path.join(HERE, "..", "test", "hbone", "go", "hbone_peer.go")],
                       check=True, env={**os.environ, "GO111MODULE": "off", "GOCACHE": os.path.join(work, "gocache"), "HOME": work})
        config = (f'\n[hbone]\nlisten = "0.0.0.0:15008"\nca_bundle = "{self.certs}/ca.pem"\n'
                  f'cert = "{self.certs}/meshgate.pem"\nkey = "{self.certs}/meshgate.key"\nthreads = 2\n')
        self.lab = meshlab.Lab(BUILD, [meshlab.Endpoint("sink", "10.20.0.11", "us-east-1a")], servers=False, port_type=PORT_TYPE,
                               extra_config=config + REMOTE_SERVICE, workdir=os.path.join(work, "lab"))

    def __enter__(self):
        try:
            self.lab.open()
            # Both proxies dial the sink from the node's address, tens of thousands of short
            # connections a run: without reuse, TIME_WAIT uses up the ports and whichever runs
            # later is slowed several times over. A proxy node is tuned so (docs/hbone.md).
            meshlab.sh("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1", ns=self.lab.ns("d"))
            self.background("e0", "sink", "-listen", "0.0.0.0:9080")
            self.relay = self.background("d", "-ca", f"{self.certs}/ca.pem", "-cert", f"{self.certs}/meshgate.pem",
                                         "-key", f"{self.certs}/meshgate.key", "serve", "-listen", "0.0.0.0:15009")
            for identity, listen, route in (("eastwest", "0.0.0.0:15443", ["-forward", "10.20.0.11:15008"]),
                                            ("ztunnel", "0.0.0.0:15008", ["-route", f"{REMOTE_NAME}={SINK}"])):
                self.background("e0", "-ca", f"{self.certs}/ca.pem", "-cert", f"{self.certs}/{identity}.pem",
                                "-key", f"{self.certs}/{identity}.key", "serve", "-listen", listen, *route)
            time.sleep(1)
        except BaseException:
            self.lab.close()
            raise
        return self

    def __exit__(self, *exc):
        self.lab.close()

    def background(self, ns, *args):
        p = subprocess.Popen(["ip", "netns", "exec", self.lab.ns(ns), self.peer, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lab.processes.append(p)
        return p

    def client(self, port, mode, *args, target=None, timeout=600):
        """hbone_peer in the client namespace; port None: plain TCP to the VIP."""
        if port is None:
            cmd = [self.peer, mode, "-target", f"{self.lab.vip}:9080", *args]
        else:
            # The Go relay dials what it is told; meshgated is asked for a service.
            target = target or (f"{self.lab.vip}:9080" if port == 15008 else SINK)
            cmd = [self.peer, "-server", f"{self.lab.node_address}:{port}", "-ca", f"{self.certs}/ca.pem",
                   "-cert", f"{self.certs}/web.pem", "-key", f"{self.certs}/web.key", "-expect", MESHGATE_ID,
                   mode, "-target", target, *args]
        out = meshlab.sh(*cmd, ns=self.lab.ns("c"), timeout=timeout).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if result.get("error") or result.get("failed"):
            raise RuntimeError(f"{mode} through {port}: {result}")
        return result

    def idle_memory(self, port, tunnels=10000):
        """Bytes per idle tunnel: meshgated's heap (its own count, `heap_bytes`: RSS would not move,
        the heap having room from start-up), the Go relay's resident memory (Go's runtime holds what
        the streams use: goroutine stacks, buffers)."""
        def measure():
            if port == 15008:
                return self.lab.ctl("stats")["heap_bytes"] / 1024
            return rss_kib(self.relay.pid)
        before = measure()
        cmd = [self.peer, "-server", f"{self.lab.node_address}:{port}", "-ca", f"{self.certs}/ca.pem", "-cert",
               f"{self.certs}/web.pem", "-key", f"{self.certs}/web.key", "-expect", MESHGATE_ID, "idle",
               "-target", f"{self.lab.vip}:9080" if port == 15008 else SINK, "-tunnels", str(tunnels), "-seconds", "3"]
        p = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("c"), *cmd], stdout=subprocess.PIPE, text=True)
        try:
            opened = json.loads(p.stdout.readline())["open"]
            time.sleep(1)
            during = measure()
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        if opened != tunnels:
            raise RuntimeError(f"only {opened} of {tunnels} idle tunnels opened through {port}")
        return max(0, during - before) / tunnels


def median(values):
    return statistics.median(values)


def ratio(ours, theirs):
    """The median of the rounds' ratios (the two lists measured round by round)."""
    return round(median([a / b for a, b in zip(ours, theirs)]), 2)


def main():
    work = tempfile.mkdtemp(prefix="mg-hbone-bench-")
    paths = {"plain_tcp": None, "meshgate": 15008, "go_relay": 15009}
    try:
        with Bench(work) as b:
            figures = {}
            for name, (mode, args, key) in {
                "hbone_bulk_1": ("bulk", ["-bytes", str(256_000_000), "-tunnels", "1"], "mb_per_s"),
                "hbone_bulk_64": ("bulk", ["-bytes", str(8_000_000), "-tunnels", "64"], "mb_per_s"),
                "hbone_setup": ("setup", ["-seconds", "5"], "per_second"),
                "hbone_pooled": ("setup", ["-seconds", "5", "-pooled"], "per_second"),
            }.items():
                # A plain connection has no CONNECT to set up.
                ran = {path: [] for path, port in paths.items() if port is not None or mode == "bulk"}
                for _ in range(ROUNDS):
                    for path in ran:
                        port = paths[path]
                        ran[path].append(b.client(port, "tcpbulk" if port is None else mode, *args)[key])
                figures[name] = ran
                row = {path: round(median(values), 1) for path, values in ran.items()}
                print(json.dumps({"benchmark": name, "ports": PORT_TYPE, "unit": "MB/s" if mode == "bulk" else "per second", **row,
                                  "meshgate_vs_go_relay": ratio(ran["meshgate"], ran["go_relay"])}), flush=True)
            # Go's relay holds the streams in one goroutine each; meshgated's whole process is counted.
            memory = {"meshgate": round(b.idle_memory(15008), 2), "go_relay": round(b.idle_memory(15009), 2)}
            memory["meshgate_vs_go_relay"] = round(memory["meshgate"] / memory["go_relay"], 3) if memory["go_relay"] else None
            print(json.dumps({"benchmark": "hbone_idle_memory", "ports": PORT_TYPE, "unit": "KiB per idle tunnel (10,000 tunnels)", **memory}), flush=True)
            for name, (mode, args, key) in {
                "hbone_double_bulk_1": ("bulk", ["-bytes", str(256_000_000), "-tunnels", "1"], "mb_per_s"),
                "hbone_double_setup": ("setup", ["-seconds", "5"], "per_second"),
            }.items():
                ran = {"single_hbone": [], "double_hbone": []}
                for _ in range(ROUNDS):
                    for path, target in (("single_hbone", None), ("double_hbone", REMOTE_VIP)):
                        ran[path].append(b.client(15008, mode, *args, target=target)[key])
                row = {path: round(median(values), 1) for path, values in ran.items()}
                print(json.dumps({"benchmark": name, "ports": PORT_TYPE, "unit": "MB/s" if mode == "bulk" else "per second", **row,
                                  "double_vs_single": ratio(ran["double_hbone"], ran["single_hbone"])}), flush=True)
            one = figures["hbone_bulk_1"]
            print(json.dumps({"benchmark": "hbone_one_tunnel_vs_plain_tcp", "ports": PORT_TYPE, "ratio": ratio(one["meshgate"], one["plain_tcp"]),
                              "goal": ">= 0.8", "go_relay_ratio": ratio(one["go_relay"], one["plain_tcp"])}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
