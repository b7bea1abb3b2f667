#!/usr/bin/python3
"""The demo: meshgated between a real client and real servers in network namespaces.

Endpoints in two zones of us-east and in us-west; PreferClose keeps traffic in the gateway's
zone (us-east-1a). Then, as an operator would see it, with no TOML edit and no SIGHUP: a
backend process dies and meshgate ejects it by itself (outlier detection on the connects it
sees, and an active health check); `meshgatectl endpoints` and `plan` show the new levels;
another endpoint is drained with `meshgatectl drain`; the counters come from
`meshgatectl stats`. Everything is removed at the end.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import meshlab  # noqa: E402

ENDPOINTS = [
    ("east-1a-1", "10.20.0.11", "us-east-1a", "us-east"),
    ("east-1a-2", "10.20.0.12", "us-east-1a", "us-east"),
    ("east-1b-1", "10.20.0.21", "us-east-1b", "us-east"),
    ("east-1b-2", "10.20.0.22", "us-east-1b", "us-east"),
    ("west-2a-1", "10.20.0.31", "us-west-2a", "us-west"),
]

HEALTH = meshlab.outlier_detection(base_ejection_time="30s") + meshlab.tcp_health_check(
    interval="1s", timeout="500ms", unhealthy_threshold=2, healthy_threshold=2)


def show(title, report):
    print(f"\n{title}: {sum(report['tcp'].values())} TCP connections, {sum(report['udp'].values())} UDP exchanges, "
          f"{len(report['failures'])} failed, {report['seconds']} s")
    per_zone = {}
    for name, _, zone, _ in ENDPOINTS:
        n = report["tcp"].get(name, 0)
        per_zone[zone] = per_zone.get(zone, 0) + n
        print(f"  {name:10} {zone:11} tcp {n:5}  udp {report['udp'].get(name, 0):4}")
    print("  by zone: " + ", ".join(f"{z} {n}" for z, n in per_zone.items()))
    for f in report["failures"][:3]:
        print("  failed:", f)


def ctl(lab, *args):
    command = ["meshgatectl", *map(str, args)]
    print(f"\n$ {' '.join(command)}")
    p = lab.ctl(*args, json_output=False, check=False)
    print((p.stdout + p.stderr).rstrip())


def main():
    build = sys.argv[1]
    endpoints = [meshlab.Endpoint(n, a, z, region=r) for n, a, z, r in ENDPOINTS]
    print("== building the lab: client, meshgated (DPDK net_tap ports), 5 endpoints in 3 zones / 2 regions")
    with meshlab.Lab(build, endpoints, prefix="mgdemo", workdir="/tmp/mgdemo", extra_config=HEALTH) as lab:
        os.environ["MESHGATE_SOCKET"] = lab.admin_socket
        print(f"   meshgated config: {lab.config_path}; admin socket: {lab.admin_socket} (meshgatectl --socket)")
        ctl(lab, "status")
        ctl(lab, "plan")
        show("PreferClose, every endpoint healthy", lab.client("--tcp", "1000", "--udp", "100"))

        print("\n== east-1a-1's server process dies (its host still answers SYNs with RSTs); clients keep connecting")
        lab.kill_server(endpoints[0])
        show("while meshgate notices", lab.client("--tcp", "300", "--parallel", "4"))
        deadline = time.time() + 5  # the active check's two failures, one second apart
        while time.time() < deadline:
            state = {e["address"]: e for e in lab.ctl("endpoints")["endpoints"]}["10.20.0.11"]
            if state["ejected"] and state.get("check", {}).get("down"):
                break
            time.sleep(0.2)
        ctl(lab, "endpoints")
        ctl(lab, "plan")
        show("after the ejection", lab.client("--tcp", "1000", "--udp", "100"))

        print("\n== draining east-1a-2 for maintenance: weight 0, its flows finish, new ones go elsewhere")
        ctl(lab, "drain", "lab/who", "10.20.0.12")
        ctl(lab, "plan")
        show("with us-east-1a ejected and drained", lab.client("--tcp", "1000", "--udp", "100"))

        ctl(lab, "stats")
        print("\n  (Prometheus format: meshgatectl stats --prometheus, or [admin].metrics_listen over HTTP)")
    print("\n== lab removed (namespaces, taps, processes)")


if __name__ == "__main__":
    main()
