#!/usr/bin/python3
"""Real TCP through meshgated beside the kernel's nftables full-NAT and nginx stream, on the same
namespace topology (client ─ load balancer ─ bridge ─ endpoint), offloads off everywhere.

Prints JSON lines: iperf3 single-stream throughput, wrk keep-alive and connection-close request
rates, and each as a ratio to nftables measured in the same run. argv: build directory.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
import meshlab  # noqa: E402
from meshlab import sh  # noqa: E402

ENDPOINT = meshlab.Endpoint("e1", "10.20.0.11", "us-east-1a")
IPERF_PORT, HTTP_PORT = 5201, 8080


class KernelLab(meshlab.Lab):
    """The same lab with the kernel in the load balancer's place: nftables DNAT + SNAT, or nginx stream."""

    def __init__(self, build, mode, **kw):
        super().__init__(build, [ENDPOINT], **kw)
        self.mode = mode

    def start_daemon(self):
        d = self.ns("d")
        for side, address in (("wan0", ["10.10.0.2/24"]), ("lan0", ["10.20.0.2/24", "10.20.0.3/24"])):
            sh("ip", "link", "add", f"{self.prefix}{side}", "type", "veth", "peer", "name", f"k{side}", ns=d)
            for a in address:
                sh("ip", "addr", "add", a, "dev", f"k{side}", ns=d)
            sh("ip", "link", "set", f"k{side}", "up", ns=d)
            sh("ethtool", "-K", f"k{side}", "tx", "off", "tso", "off", "gso", "off", "gro", "off", ns=d, check=False)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=d)
        if self.mode == "nftables":
            rules = f"""table ip lb {{
  chain pre {{
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr {self.vip} tcp dport {{ {IPERF_PORT}, {HTTP_PORT} }} dnat to {ENDPOINT.address}
  }}
  chain post {{
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr {ENDPOINT.address} snat to 10.20.0.3
  }}
}}
"""
            subprocess.run(["ip", "netns", "exec", d, "nft", "-f", "-"], input=rules, text=True, check=True)
        else:
            sh("ip", "addr", "add", f"{self.vip}/32", "dev", "lo", ns=d)
            conf = os.path.join(self.workdir, "nginx-lb.conf")
            servers = "".join(f"server {{ listen {self.vip}:{p} reuseport; proxy_pass {ENDPOINT.address}:{p}; "
                              f"proxy_bind 10.20.0.3; }}\n" for p in (IPERF_PORT, HTTP_PORT))
            with open(conf, "w") as f:
                f.write(f"load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nworker_processes 1;\n"
                        f"pid {self.workdir}/nginx-lb.pid;\nerror_log {self.workdir}/nginx-lb.err;\n"
                        f"events {{ worker_connections 4096; }}\nstream {{\n{servers}}}\n")
            sh("nginx", "-c", conf, "-p", self.workdir, ns=d)

    def wait_ready(self, timeout=30):
        time.sleep(0.5)

    def stop_daemon(self):
        pass


class TestpmdLab(meshlab.Lab):
    """The io-forwarding floor of the port type: dpdk-testpmd --forward-mode=io between the same
    two net_tap ports, the client on the endpoint's subnet talking to it directly (no NAT)."""

    def __init__(self, build, **kw):
        super().__init__(build, [ENDPOINT], **kw)
        self.target = ENDPOINT.address

    def start_daemon(self):
        log = open(os.path.join(self.workdir, "testpmd.log"), "w")
        self.daemon = subprocess.Popen(
            ["ip", "netns", "exec", self.ns("d"), "dpdk-testpmd", "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
             "--file-prefix", f"{self.prefix}pmd", f"--vdev=net_tap0,iface={self.prefix}wan0",
             f"--vdev=net_tap1,iface={self.prefix}lan0", "--", "--forward-mode=io", "--total-num-mbufs=16384", "--auto-start", "--stats-period", "60"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)  # an open stdin: it exits on EOF
        deadline = time.time() + 30
        log_path = os.path.join(self.workdir, "testpmd.log")
        while "start packet forwarding" not in open(log_path).read():
            if time.time() > deadline or self.daemon.poll() is not None:
                raise RuntimeError("testpmd did not start: " + open(log_path).read()[-500:])
            time.sleep(0.2)

    def configure_client(self):
        sh("ip", "addr", "add", "10.20.0.50/24", "dev", f"{self.prefix}wan0", ns=self.ns("c"))

    def wait_ready(self, timeout=30):
        pass


def start_endpoint_servers(lab):
    ens = lab.ns("e0")
    conf = os.path.join(lab.workdir, "nginx-ep.conf")
    with open(conf, "w") as f:
        f.write(f"worker_processes 1;\npid {lab.workdir}/nginx-ep.pid;\nerror_log {lab.workdir}/nginx-ep.err;\n"
                f"events {{ worker_connections 4096; }}\nhttp {{ access_log off; server {{ listen {HTTP_PORT}; "
                f"location / {{ return 200 'ok'; }} }} }}\n")
    sh("nginx", "-c", conf, "-p", lab.workdir, ns=ens)
    lab.processes.append(subprocess.Popen(["ip", "netns", "exec", ens, "iperf3", "-s", "-p", str(IPERF_PORT)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)


def measure(lab):
    c = lab.ns("c")
    target = getattr(lab, "target", lab.vip)
    iperf = json.loads(sh("iperf3", "-c", target, "-p", IPERF_PORT, "-t", "5", "-J", ns=c, timeout=60).stdout)
    gbps = iperf["end"]["sum_received"]["bits_per_second"] / 1e9

    def wrk(*extra):
        out = sh("wrk", "-t1", "-c50", "-d5s", *extra, f"http://{target}:{HTTP_PORT}/", ns=c, timeout=60).stdout
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    return {"tcp_gbit_per_s": round(gbps, 3), "http_keepalive_rps": wrk(), "http_close_rps": wrk("-H", "Connection: close")}


def main():
    build = sys.argv[1]
    results = {}
    for lb in ("testpmd-io-floor", "meshgated", "nftables", "nginx-stream"):
        kw = dict(tcp_port=IPERF_PORT, extra_tcp_ports=[HTTP_PORT], servers=False, prefix=f"mgl{lb[:2]}",
                  workdir=f"/tmp/mg-l4-{lb}")
        if lb == "meshgated":
            lab = meshlab.Lab(build, [ENDPOINT], **kw)
        elif lb == "testpmd-io-floor":
            lab = TestpmdLab(build, **kw)
        else:
            lab = KernelLab(build, lb.split("-")[0], **kw)
        with lab:
            start_endpoint_servers(lab)
            results[lb] = measure(lab)
        for pidfile in ("nginx-ep.pid", "nginx-lb.pid"):
            path = os.path.join(kw["workdir"], pidfile)
            if os.path.exists(path):
                subprocess.run(["kill", open(path).read().strip()], check=False)
    for lb, r in results.items():
        line = {"benchmark": "l4_compare", "lb": lb, **r}
        for k, v in r.items():
            line[f"{k}_vs_nftables"] = round(v / results["nftables"][k], 2)
            line[f"{k}_vs_io_floor"] = round(v / results["testpmd-io-floor"][k], 2)
        print(json.dumps(line))


if __name__ == "__main__":
    main()
