#!/usr/bin/python3
"""The same scenario on every port type, layout and worker count users deploy (issue 6).

For each of net_tap, net_af_packet (its default single queue pair) and net_af_xdp (with
meshgated's XDP steering program), one-arm and two-arm, with 1 and 2 workers, dual-stack: the
locality split over IPv4 and IPv6 VIPs, a bulk transfer echoed byte for byte, a port the VIP
does not serve refused, the node's own service reachable on its address, and failover by reload.
argv: build directory. Needs root. Everything a lab makes is removed, also on failure.
"""
import itertools
import os
import sys
import unittest

BUILD = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
import meshlab  # noqa: E402

ENDPOINTS = [
    meshlab.Endpoint("east-1a-1", "10.20.0.11", "us-east-1a"),
    meshlab.Endpoint("east-1a-2", "10.20.0.12", "us-east-1a"),
    meshlab.Endpoint("east-1b-1", "10.20.0.21", "us-east-1b"),
]
LOCAL = {"east-1a-1", "east-1a-2"}
WORKERS = {1: "0-1", 2: "0@0,1@1,2@1"}  # two workers share a core with each other (2-core machines)


class PortMatrix(unittest.TestCase):
    def check_traffic(self, lab, target, tcp, udp, allowed):
        report = lab.client("--tcp", tcp, "--udp", udp, "--parallel", "8", "--bulk", 2_000_000,
                            "--refused-port", 9999, target=target)
        self.assertEqual(report["failures"], [])
        self.assertEqual(sum(report["tcp"].values()), tcp)
        self.assertEqual(sum(report["udp"].values()), udp)
        self.assertEqual(set(report["tcp"]) | set(report["udp"]), allowed, "PreferClose keeps traffic in the zone")
        for name in allowed:  # both local endpoints get a fair part (binomial, far beyond 5 sigma)
            self.assertGreater(report["tcp"].get(name, 0), tcp // 5, report)
        self.assertIn(report["bulk"], allowed)
        self.assertEqual(report["refused_port"], "refused")

    def test_every_port_type_layout_and_worker_count(self):
        for port_type, arms, workers in itertools.product(meshlab.PORT_TYPES, (2, 1), (1, 2)):
            with self.subTest(port_type=port_type, arms=arms, workers=workers):
                endpoints = [meshlab.Endpoint(**vars(e)) for e in ENDPOINTS]
                with meshlab.Lab(BUILD, endpoints, port_type=port_type, arms=arms, lcores=WORKERS[workers],
                                 ipv6=True) as lab:
                    self.check_traffic(lab, None, 120, 20, LOCAL)
                    self.check_traffic(lab, "vip6", 60, 10, LOCAL)
                    # The node's own service on its address: the exception tap, or the kernel
                    # that the XDP program leaves it to on AF_XDP ports.
                    lab.serve_on_node("node-kernel", lab.node_address, 7000)
                    report = lab.client("--tcp", 20, target=lab.node_address, tcp_port=7000)
                    self.assertEqual(report["failures"], [])
                    self.assertEqual(report["tcp"], {"node-kernel": 20})
                    stats = lab.wait_stats(lambda s: s["totals"]["new_flows"] >= 200)
                    self.assertEqual(stats["workers"], workers)
                    self.assertEqual(stats["drops"].get("no_flow", 0), 0, stats["drops"])
                    if workers == 2:
                        self.assertGreater(stats["totals"]["handoff"], 0)

                    down = [meshlab.Endpoint(**{**vars(e), "healthy": e.zone != "us-east-1a"}) for e in endpoints]
                    lab.reload(down)
                    report = lab.client("--tcp", 60, "--udp", 10, target="vip6")
                    self.assertEqual(report["failures"], [])
                    self.assertEqual(set(report["tcp"]), {"east-1b-1"}, "failover to the next zone")
                    report = lab.client("--tcp", 60)
                    self.assertEqual(report["failures"], [])
                    self.assertEqual(set(report["tcp"]), {"east-1b-1"})

    def test_endpoints_behind_a_gateway(self):
        """Endpoints on another subnet, behind a router at the port's `gateway`, both layouts."""
        for arms in (2, 1):
            with self.subTest(arms=arms):
                endpoints = [meshlab.Endpoint(**vars(e)) for e in ENDPOINTS]
                with meshlab.Lab(BUILD, endpoints, port_type="af_packet", arms=arms, routed=True) as lab:
                    report = lab.client("--tcp", 100, "--udp", 20, "--bulk", 1_000_000)
                    self.assertEqual(report["failures"], [])
                    self.assertEqual(set(report["tcp"]), LOCAL)
                    self.assertIn(report["bulk"], LOCAL)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("e2e tests need root (network namespaces, taps and veths)")
    unittest.main(argv=[sys.argv[0]], verbosity=2)
