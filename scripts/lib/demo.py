#!/usr/bin/python3
"""The demo: meshgated between a real client and real servers in network namespaces.

Endpoints in two zones of us-east and in us-west; PreferClose keeps traffic in the gateway's
zone (us-east-1a). Then the local zone is marked unhealthy in the TOML and reloaded: traffic
fails over to us-east-1b without a pause. Everything is removed at the end.
"""
import json
import os
import subprocess
import sys

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
ZONE = {name: zone for name, _, zone, _ in ENDPOINTS}


def show(title, report):
    print(f"\n{title}: {sum(report['tcp'].values())} TCP connections, {sum(report['udp'].values())} UDP exchanges, "
          f"{len(report['failures'])} failures, {report['seconds']} s")
    per_zone = {}
    for name, _, zone, _ in ENDPOINTS:
        n = report["tcp"].get(name, 0)
        per_zone[zone] = per_zone.get(zone, 0) + n
        print(f"  {name:10} {zone:11} tcp {n:5}  udp {report['udp'].get(name, 0):4}")
    print("  by zone: " + ", ".join(f"{z} {n}" for z, n in per_zone.items()))
    for f in report["failures"][:5]:
        print("  failure:", f)


def main():
    build = sys.argv[1]
    ctl = os.path.join(build, "src", "cli", "meshgatectl")
    endpoints = [meshlab.Endpoint(n, a, z, region=r) for n, a, z, r in ENDPOINTS]
    print("== building the lab: client, meshgated (DPDK net_tap ports), 5 endpoints in 3 zones / 2 regions")
    with meshlab.Lab(build, endpoints, prefix="mgdemo", workdir="/tmp/mgdemo") as lab:
        print(f"   meshgated config: {lab.config_path}; counters: {lab.stats_path}")
        print("\n== meshgatectl plan (what meshgate decided, and why)")
        print(subprocess.run([ctl, "plan", "--config", lab.config_path], capture_output=True, text=True).stdout)

        show("PreferClose, every endpoint healthy", lab.client("--tcp", "1000", "--udp", "100"))

        print("\n== marking us-east-1a unhealthy in the TOML and reloading (SIGHUP)")
        lab.reload([meshlab.Endpoint(**{**vars(e), "healthy": e.zone != "us-east-1a"}) for e in endpoints])
        show("after failover", lab.client("--tcp", "1000", "--udp", "100"))
        print("  (new flows move at once; an existing flow, e.g. a reused client port, stays pinned: semantics.md §6)")

        stats = lab.wait_stats(lambda s: s["totals"]["new_flows"] > 0)
        print("\n== meshgated counters")
        print(json.dumps({"totals": stats["totals"], "drops": stats["drops"], "snapshot": stats["generation"]}, indent=2))
    print("\n== lab removed (namespaces, taps, processes)")


if __name__ == "__main__":
    main()
