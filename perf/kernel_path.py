#!/usr/bin/python3
"""The node's own traffic through meshgated (root): how long the kernel's packets wait for the
control thread, and what an idle control thread costs, on each port type.

On net_tap and net_af_packet ports the node's kernel reaches the wire through an exception tap
that meshgated's control thread reads; on net_af_xdp the kernel keeps its interface and no tap
is on the path, which makes it the baseline. In a lab per port type (scripts/lib/meshlab.py):

  control_thread_idle_cpu_pct  meshgated's control thread, % of a core over 5 s with no traffic
  echo_rtt_*_us                one byte echoed over TCP, node (meshgated's namespace) → client
                               namespace and back, 400 round trips 5 ms apart (p50, p90, mean)
  p50_ratio_to_af_xdp          that p50 over the af_xdp lab's, measured in the same run

Usage: kernel_path.py BUILD_DIR
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "lib"))
import meshlab  # noqa: E402

PORT = 7007
ROUND_TRIPS = 400


def serve():
    """Echo server for one connection (run in the client namespace)."""
    with socket.create_server(("0.0.0.0", PORT)) as s:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := c.recv(64):
            c.sendall(data)


def echo(address):
    """Round trips to the echo server, in µs (run in meshgated's namespace)."""
    with socket.create_connection((address, PORT), timeout=5) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rtts = []
        for _ in range(ROUND_TRIPS):
            start = time.perf_counter()
            c.sendall(b"x")
            if not c.recv(64):
                raise RuntimeError("the echo server went away")
            rtts.append((time.perf_counter() - start) * 1e6)
            time.sleep(0.005)  # each round trip finds the control thread idle again
    rtts.sort()
    print(json.dumps({"p50": rtts[len(rtts) // 2], "p90": rtts[len(rtts) * 9 // 10], "mean": statistics.mean(rtts)}))


def cpu_seconds(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(build, port_type, work):
    lab = meshlab.Lab(build, [meshlab.Endpoint("e0", "10.20.0.11", "us-east-1a")], servers=False, port_type=port_type,
                      workdir=os.path.join(work, port_type))
    try:
        lab.open()
        # The control thread is meshgated's main thread (`ip netns exec` execs meshgated).
        pid = lab.daemon.pid
        time.sleep(2)
        before = cpu_seconds(pid, pid)
        time.sleep(5)
        idle = (cpu_seconds(pid, pid) - before) / 5 * 100
        server = subprocess.Popen(["ip", "netns", "exec", lab.ns("c"), sys.executable, __file__, "--serve"])
        lab.processes.append(server)
        time.sleep(0.5)
        rtt = json.loads(meshlab.sh(sys.executable, __file__, "--echo", lab.client_address, ns=lab.ns("d")).stdout)
        return {"control_thread_idle_cpu_pct": round(idle, 2), "echo_rtt_p50_us": round(rtt["p50"]),
                "echo_rtt_p90_us": round(rtt["p90"]), "echo_rtt_mean_us": round(rtt["mean"])}
    finally:
        lab.close()


def main():
    if sys.argv[1] == "--serve":
        return serve()
    if sys.argv[1] == "--echo":
        return echo(sys.argv[2])
    build = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="mg-kernel-path-")
    try:
        rows = {port_type: measure(build, port_type, work) for port_type in ("af_xdp", "tap", "af_packet")}
    finally:
        subprocess.run(["rm", "-rf", work])
    base = rows["af_xdp"]["echo_rtt_p50_us"]
    for port_type, row in rows.items():
        print(json.dumps({"benchmark": "kernel_path", "ports": port_type, **row,
                          "p50_ratio_to_af_xdp": round(row["echo_rtt_p50_us"] / base, 2)}), flush=True)


if __name__ == "__main__":
    main()
