#!/usr/bin/python3
"""Failover figures of the slow path (issue 7), in network namespaces through meshgated (root).

  failover_outlier        a backend process is killed while a client connects back to back:
                          ms from the kill to the last connection sent to it, and how many
                          failed; outlier detection (consecutive_5xx_errors = 3) alone.
  failover_active_check   the same with only an active TCP check (interval 500 ms, 2 failures);
                          ratio against interval x unhealthy_threshold, the configured bound.
  rebuilds_under_load     1,000 endpoint updates through the admin socket while 8 connections
                          stream data: updates per second, update-to-visible p50/p99 from the
                          daemon's histogram, streams broken, bytes lost, packets dropped.
Prints one JSON line per figure.
"""
import json
import os
import socket
import sys
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
import meshlab  # noqa: E402

ENDPOINTS = [("east-1a-1", "10.20.0.11", "us-east-1a"), ("east-1a-2", "10.20.0.12", "us-east-1a"),
             ("east-1b-1", "10.20.0.21", "us-east-1b")]
OUTLIER = meshlab.outlier_detection(base_ejection_time="30s")
ACTIVE = meshlab.tcp_health_check()


def lab(extra):
    return meshlab.Lab(BUILD, [meshlab.Endpoint(n, a, z) for n, a, z in ENDPOINTS], extra_config=extra)


def failover(name, extra, bound_ms):
    with lab(extra) as l:
        time.sleep(1.5)  # active checks have seen every endpoint once
        client = l.client_async("--timeline", "4", "--gap", "0.002", "--timeout", "2")
        time.sleep(1.0)
        killed = time.time()
        l.kill_server(l.endpoints[0])
        timeline = l.client_result(client)["timeline"]
    after = [(t, who) for t, who in timeline if t >= killed]
    failed = [t for t, who in after if who.startswith("failed")]
    last = max(failed) if failed else killed
    line = {"benchmark": name, "connections_after_kill": len(after), "failed_connections": len(failed),
            "ms_from_kill_to_last_flow_sent_to_it": round((last - killed) * 1000, 1)}
    if bound_ms:
        line["configured_bound_ms"] = bound_ms
        line["ratio_to_bound"] = round((last - killed) * 1000 / bound_ms, 2)
    print(json.dumps(line), flush=True)


def rebuilds_under_load():
    with lab("") as l:
        before = l.ctl("stats")
        streams = l.client_async("--streams", "8", "--stream-seconds", "12", "--timeout", "10")
        time.sleep(1.0)
        admin = socket.socket(socket.AF_UNIX)
        admin.connect(l.admin_socket)
        f = admin.makefile("rwb")
        start = time.time()
        for i in range(1000):
            request = {"id": i, "command": "endpoint.set",
                       "args": {"service": "lab/who", "address": "10.20.0.21", "weight": 1 + i % 3, "healthy": i % 2 == 0}}
            f.write((json.dumps(request) + "\n").encode())
            f.flush()
            assert json.loads(f.readline())["ok"]
        seconds = time.time() - start
        admin.close()
        report = l.client_result(streams)
        after = l.ctl("stats")
    drops = {k: v - before["drops"].get(k, 0) for k, v in after["drops"].items() if v - before["drops"].get(k, 0)}
    print(json.dumps({"benchmark": "rebuilds_under_load", "updates": 1000, "updates_per_second": round(1000 / seconds),
                      "update_visible_p50_us_at_most": after["update_latency"]["p50_us"],
                      "update_visible_p99_us_at_most": after["update_latency"]["p99_us"],
                      "rebuild_p50_us_at_most": after["rebuild_latency"]["p50_us"],
                      "streams": 8, "streams_broken_or_short": len(report["failures"]),
                      "packets_dropped": sum(drops.values()), "drops": drops}), flush=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("perf/failover.py needs root (network namespaces)")
    failover("failover_outlier", OUTLIER, 0)
    failover("failover_active_check", ACTIVE, 500 * 2)
    rebuilds_under_load()
