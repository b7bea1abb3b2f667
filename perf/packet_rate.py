#!/usr/bin/python3
"""Packet rate through meshgated on net_af_xdp, net_af_packet and net_tap, and through the
kernel's nftables full-NAT on the same veths, driven by trafgen (netsniff-ng), a generator we
did not write.

    generator ns ──wan── load balancer ns ──lan── bridge ── endpoint ns (counts what arrives)

64-byte frames (60 bytes + FCS) of UDP to the VIP. 'established': 64 flows (source ports
1000-1063, opened by a warm-up), sent for SECONDS. 'new': NEW_FLOWS packets, each a flow never
seen before. The rate is packets delivered to the endpoint's interface per second. One worker
for meshgated; trafgen on the other core. Prints one JSON line per (load balancer, traffic) with
its ratio to nftables measured in the same run. argv: build directory. Root.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
import meshlab  # noqa: E402
from meshlab import sh  # noqa: E402

ENDPOINT = meshlab.Endpoint("e1", "10.20.0.11", "us-east-1a")
UDP_PORT = 5353
SECONDS = float(os.environ.get("PACKET_RATE_SECONDS", "5"))
NEW_FLOWS = 60000  # below one SNAT address's 64,512 ports per endpoint


class NftablesLab(meshlab.Lab):
    """The kernel in meshgated's place on the same veths: DNAT to the endpoint, SNAT to the node."""

    def __init__(self, build, **kw):
        # The af_xdp wiring gives the load balancer's veths their addresses; no meshgated runs.
        super().__init__(build, [ENDPOINT], port_type="af_xdp", **kw)

    def start_daemon(self):
        d = self.ns("d")
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=d)
        rules = f"""table ip lb {{
  chain pre {{
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr {self.vip} udp dport {UDP_PORT} dnat to {ENDPOINT.address}
  }}
  chain post {{
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr {ENDPOINT.address} snat to 10.20.0.3
  }}
}}
"""
        sh("ip", "addr", "add", "10.20.0.3/24", "dev", f"{self.prefix}lan0", ns=d)
        subprocess.run(["ip", "netns", "exec", d, "nft", "-f", "-"], input=rules, text=True, check=True)

    def wait_ready(self, timeout=30):
        time.sleep(0.3)

    def stop_daemon(self):
        pass


def generator_device(lab):
    return f"{lab.prefix}wan0" if lab.port_type == "tap" and not isinstance(lab, NftablesLab) else "eth0"


def delivered(lab):
    return int(sh("cat", "/sys/class/net/eth0/statistics/rx_packets", ns=lab.ns("e0")).stdout)


def offered(lab):
    """What the generator put on its wire (the kernel path back-pressures it; DPDK ports do not)."""
    return int(sh("cat", f"/sys/class/net/{generator_device(lab)}/statistics/tx_packets", ns=lab.ns("c")).stdout)


def trafgen(lab, source, ports, count=None, seconds=None):
    """Runs trafgen in the generator namespace on CPU 0; returns its wall time."""
    c = lab.ns("c")
    # The generator's kernel resolves the node's MAC (a datagram to the discard port makes it ARP).
    for _ in range(20):
        sh(meshlab.PYTHON, "-c", f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', "
           f"('{lab.node_address}', 9))", ns=c)
        neighbours = [n for n in json.loads(sh("ip", "-j", "neigh", "show", lab.node_address, ns=c).stdout) if "lladdr" in n]
        if neighbours:
            break
        time.sleep(0.1)
    mac = neighbours[0]["lladdr"]
    config = os.path.join(lab.workdir, "trafgen.cfg")
    with open(config, "w") as f:
        f.write(f"{{ eth(da={mac}, type=0x0800), ipv4(saddr={source}, daddr={lab.vip}, ttl=64, proto=17), "
                f"udp(sport=dinc({ports[0]}, {ports[1]}), dport={UDP_PORT}), fill(0x41, 18) }}\n")
    cmd = ["ip", "netns", "exec", c, "taskset", "-c", "0", "trafgen", "-o", generator_device(lab), "-i", config, "-q",
           "--cpus", "1"]
    cmd += ["-n", str(count)] if count else []
    start = time.time()
    if seconds:
        subprocess.run(["timeout", "-s", "INT", str(seconds)] + cmd, capture_output=True)
    else:
        subprocess.run(cmd, capture_output=True, check=True)
    return time.time() - start


def measure(lab):
    out = {}
    trafgen(lab, "10.10.0.1", (1000, 1063), count=64)  # open the 64 flows
    time.sleep(0.5)
    before, sent = delivered(lab), offered(lab)
    elapsed = trafgen(lab, "10.10.0.1", (1000, 1063), seconds=SECONDS)
    time.sleep(0.5)
    out["established_pps"] = round((delivered(lab) - before) / elapsed)
    out["established_offered_pps"] = round((offered(lab) - sent) / elapsed)
    before = delivered(lab)
    elapsed = trafgen(lab, "10.10.0.5", (1024, 1024 + NEW_FLOWS - 1), count=NEW_FLOWS)
    time.sleep(1.0)
    got = delivered(lab) - before
    out["new_flow_pps"] = round(got / elapsed)
    out["new_flows_delivered_of"] = [got, NEW_FLOWS]
    return out


def main():
    build = sys.argv[1]
    results = {}
    for name in ("nftables", "meshgated-af_xdp", "meshgated-af_packet", "meshgated-tap"):
        kw = dict(servers=False, prefix=f"mgr{name[-3:].replace('_', '')}", workdir=f"/tmp/mg-rate-{name}",
                  lcores="0-1")
        if name == "nftables":
            lab = NftablesLab(build, **kw)
        else:
            lab = meshlab.Lab(build, [ENDPOINT], port_type=name.split("-")[1], **kw)
        with lab:
            results[name] = measure(lab)
    for name, r in results.items():
        line = {"benchmark": "packet_rate", "lb": name, "frame_bytes": 64, **r}
        for k in ("established_pps", "new_flow_pps"):
            line[f"{k}_vs_nftables"] = round(r[k] / max(results["nftables"][k], 1), 2)
        print(json.dumps(line))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("packet_rate needs root (namespaces)")
    main()
