#!/usr/bin/python3
"""Scale-out convergence (issue 9), three nodes behind a BIRD router (scripts/lib/ecmp_lab.py;
root, bird2). Each event is repeated; every figure is the median, with min and max:

  scale_out_withdraw   a node's service loses its last selectable endpoint (admin API): ms until
                       the router stops sending the VIP to it, and failed connections of a
                       back-to-back client meanwhile. Baseline: the same router's reaction to
                       a BGP route withdrawn by hand with birdc (BIRD alone, no meshgate).
  scale_out_kill       SIGKILL of a node's meshgated: ms until the router drops it (BFD 100 ms
                       x 5 = 500 ms, the configured bound), failed connections.
  scale_out_drain      meshgatectl drain-node: ms until the router drops the node, failed new
                       connections, how long until meshgated exited, and how many of 12 long
                       streams started before the drain broke when the router moved them.
                       Baseline: the same drain on a lab without [announce] peers (no second
                       chance), run after the first.
Prints one JSON line per figure.
"""
import json
import os
import statistics
import subprocess
import sys
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
import ecmp_lab  # noqa: E402
import meshlab  # noqa: E402

ENDPOINTS = [meshlab.Endpoint("east-1a-1", "10.30.0.11", "us-east-1a"), meshlab.Endpoint("east-1a-2", "10.30.0.12", "us-east-1a"),
             meshlab.Endpoint("east-1b-1", "10.30.0.21", "us-east-1b")]
ROUNDS = int(os.environ.get("SCALE_OUT_ROUNDS", "3"))


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def emit(name, **fields):
    print(json.dumps({"benchmark": name, **fields}), flush=True)


def withdraw(lab):
    n1 = lab.nodes[0]

    def set_all(healthy):
        for e in ENDPOINTS:
            n1.admin("endpoint.set", {"service": "lab/who", "address": e.address, "healthy": healthy})
    runs, baseline = [], []
    for _ in range(ROUNDS):
        runs.append(lab.measure(n1, lambda: set_all(False), seconds=3))
        set_all(True)
        lab.wait_paths(3)
        # BIRD alone: the node's BGP session disabled by hand, the same router converging.
        baseline.append(lab.measure(n1, lambda: lab.birdc(n1.name, "disable", "uplink"), seconds=3)["converged_ms"])
        lab.birdc(n1.name, "enable", "uplink")
        lab.wait_paths(3)
    emit("scale_out_withdraw", converged_ms=summary([r["converged_ms"] for r in runs]),
         failed_connections=summary([r["failed"] for r in runs]), connections_per_run=runs[0]["connections"],
         baseline_birdc_disable_ms=summary(baseline),
         ratio_to_baseline=round(summary([r["converged_ms"] for r in runs])["median"] / max(1, summary(baseline)["median"]), 2))


def kill(lab):
    n3 = lab.nodes[2]
    runs = []
    for _ in range(ROUNDS):
        runs.append(lab.measure(n3, lambda: lab.kill_daemon(n3), seconds=4, client_args=("--timeout", "3")))
        lab.restart(n3)
    converged = summary([r["converged_ms"] for r in runs])
    emit("scale_out_kill", converged_ms=converged, bfd_bound_ms=500,
         ratio_to_bound=round(converged["median"] / 500, 2) if converged["median"] else None,
         failed_connections=summary([r["failed"] for r in runs]), connections_per_run=runs[0]["connections"])


STREAMS = 12


def drain(lab, name="scale_out_drain"):
    n2 = lab.nodes[1]
    runs, exits, broken = [], [], []
    for _ in range(ROUNDS):
        started = []
        streams = lab.client_async("--streams", STREAMS, "--stream-seconds", 4)
        time.sleep(1)

        def drain_node():
            started.append(time.time())
            subprocess.Popen([os.path.join(BUILD, "src", "cli", "meshgatectl"), "--socket", n2.socket, "drain-node", "--no-wait"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()
        runs.append(lab.measure(n2, drain_node, seconds=3))
        broken.append(len(lab.client_result(streams)["failures"]))
        n2.daemon.wait(timeout=120)
        exits.append(round((time.time() - started[0]) * 1000))
        lab.restart(n2)
    emit(name, converged_ms=summary([r["converged_ms"] for r in runs]),
         failed_new_connections=summary([r["failed"] for r in runs]), connections_per_run=runs[0]["connections"],
         exit_after_ms=summary(exits), drain_quiet_ms=1000, streams=STREAMS, streams_broken=summary(broken))


def main():
    with ecmp_lab.EcmpLab(BUILD, ENDPOINTS, nodes=3) as lab:
        withdraw(lab)
        kill(lab)
        drain(lab)
    with ecmp_lab.EcmpLab(BUILD, ENDPOINTS, nodes=3, second_chance=False) as lab:
        drain(lab, "scale_out_drain_baseline_no_second_chance")


if __name__ == "__main__":
    main()
