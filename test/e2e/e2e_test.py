#!/usr/bin/python3
"""meshgated between real Linux clients and servers in network namespaces (issue 3 acceptance).

argv: build directory. Needs root (namespaces, taps). Everything it makes is removed at exit.
"""
import json
import os
import subprocess
import sys
import unittest

BUILD = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
import meshlab  # noqa: E402

ENDPOINTS = [
    meshlab.Endpoint("east-1a-1", "10.20.0.11", "us-east-1a"),
    meshlab.Endpoint("east-1a-2", "10.20.0.12", "us-east-1a"),
    meshlab.Endpoint("east-1b-1", "10.20.0.21", "us-east-1b"),
    meshlab.Endpoint("east-1b-2", "10.20.0.22", "us-east-1b"),
    meshlab.Endpoint("west-2a-1", "10.20.0.31", "us-west-2a", region="us-west"),
    meshlab.Endpoint("west-2a-2", "10.20.0.32", "us-west-2a", region="us-west"),
]
BY_ADDRESS = {e.address: e.name for e in ENDPOINTS}


def planned_shares(config_path):
    """Share of new flows per endpoint name, from `meshgatectl plan --json --flows`."""
    ctl = os.path.join(BUILD, "src", "cli", "meshgatectl")
    doc = json.loads(subprocess.run([ctl, "plan", "--config", config_path, "--json", "--flows", "20000"],
                                    check=True, capture_output=True, text=True).stdout)
    hop = doc["services"][0]["hops"][0]
    shares = {BY_ADDRESS[e["address"]]: e["share_percent"] / 100.0 for level in hop["levels"] for e in level["endpoints"]}
    flows = {BY_ADDRESS[k.split(":")[0]]: v / 20000.0 for k, v in doc["flows"]["per_endpoint"].items()}
    return shares, flows


assert_split = meshlab.assert_split


class EndToEnd(unittest.TestCase):
    def test_single_worker_split_and_failover(self):
        with meshlab.Lab(BUILD, [meshlab.Endpoint(**vars(e)) for e in ENDPOINTS], lcores="0-1") as lab:
            shares, synthetic = planned_shares(lab.config_path)
            self.assertEqual(sum(1 for s in shares.values() if s > 0), 2, "PreferClose: only the local zone")
            for name in shares:  # the plan's synthetic flows agree with its shares
                self.assertAlmostEqual(synthetic.get(name, 0), shares[name], delta=0.02)

            report = lab.client("--tcp", "1000", "--udp", "200", "--parallel", "16")
            self.assertEqual(report["failures"], [])
            self.assertEqual(sum(report["tcp"].values()), 1000)
            self.assertEqual(sum(report["udp"].values()), 200)
            assert_split(self, report["tcp"], shares, 1000)
            assert_split(self, report["udp"], shares, 200)
            # A client port reused while its old flow is still closing continues that flow, so
            # new flows are the client's distinct 5-tuples, not its exchanges.
            stats = lab.wait_stats(lambda s: s["totals"]["new_flows"] >= report["flows"])
            self.assertGreaterEqual(stats["totals"]["rx_packets"], 1200 * 4)
            self.assertEqual(stats["drops"].get("no_flow", 0) + stats["drops"].get("no_endpoint", 0), 0)

            # Failover: the local zone goes unhealthy in the TOML; SIGHUP; traffic moves to 1b.
            down = [meshlab.Endpoint(**{**vars(e), "healthy": e.zone != "us-east-1a"}) for e in ENDPOINTS]
            lab.reload(down)
            shares, _ = planned_shares(lab.config_path)
            self.assertEqual({n for n, s in shares.items() if s > 0}, {"east-1b-1", "east-1b-2"})
            report = lab.client("--tcp", "300", "--udp", "50")
            self.assertEqual(report["failures"], [])
            assert_split(self, report["tcp"], shares, 300)
            self.assertEqual(set(report["tcp"]), {"east-1b-1", "east-1b-2"})

            # A bad file on reload: the running snapshot stays.
            with open(lab.config_path, "a") as f:
                f.write("\n[lb]\nmaglev_table_size = 65536\n")
            generation = lab.stats()["generation"]
            lab.daemon.send_signal(__import__("signal").SIGHUP)
            report = lab.client("--tcp", "50")
            self.assertEqual(report["failures"], [])
            self.assertEqual(lab.stats()["generation"], generation)
            self.assertIn("reload of", lab.log())

    def test_the_nodes_own_traffic_takes_the_exception_path(self):
        with meshlab.Lab(BUILD, [meshlab.Endpoint(**vars(ENDPOINTS[0]))]) as lab:
            lab.serve_on_node("node-kernel", "10.10.0.2", 7000)
            report = lab.client("--tcp", "20", target="10.10.0.2", tcp_port=7000)
            self.assertEqual(report["failures"], [])
            self.assertEqual(report["tcp"], {"node-kernel": 20})
            stats = lab.wait_stats(lambda s: s["totals"]["exception_packets"] >= 20 * 3)
            self.assertEqual(stats["totals"]["new_flows"], 0, "not load-balanced: the node's own address")

    def test_two_workers_hand_replies_to_the_flow_owner(self):
        with meshlab.Lab(BUILD, [meshlab.Endpoint(**vars(e)) for e in ENDPOINTS[:2]], lcores="0@0,1@1,2@1") as lab:
            report = lab.client("--tcp", "300", "--udp", "60", "--parallel", "8")
            self.assertEqual(report["failures"], [])
            self.assertEqual(sum(report["tcp"].values()), 300)
            self.assertEqual(set(report["tcp"]), {"east-1a-1", "east-1a-2"})
            stats = lab.wait_stats(lambda s: s["totals"]["new_flows"] >= report["flows"])
            self.assertEqual(stats["workers"], 2)
            self.assertGreater(stats["totals"]["handoff"], 0, "replies arriving at the other worker are handed over")

    def test_af_xdp_restart_after_a_crash_replaces_the_stale_xdp_program(self):
        with meshlab.Lab(BUILD, [meshlab.Endpoint(**vars(e)) for e in ENDPOINTS[:2]], port_type="af_xdp") as lab:
            self.assertEqual(lab.client("--tcp", "20")["failures"], [])
            crashed = lab.daemon.pid
            lab.daemon.kill()  # SIGKILL: the kernel keeps the XDP programs attached
            lab.daemon.wait()
            shown = meshlab.sh("ip", "link", "show", f"{lab.prefix}wan0", ns=lab.ns("d")).stdout
            self.assertIn("meshgate_steer", shown, "a killed process leaves its XDP program behind")
            subprocess.run(["rm", "-rf", f"/var/run/dpdk/meshgate-{crashed}"], check=False)
            lab.start_daemon()
            self.assertIn("a previous run left on", lab.log())
            lab.wait_ready()
            report = lab.client("--tcp", "50")
            self.assertEqual(report["failures"], [])
            self.assertEqual(set(report["tcp"]), {"east-1a-1", "east-1a-2"})
            lab.stop_daemon()
            for port in ("wan0", "lan0"):
                shown = meshlab.sh("ip", "link", "show", f"{lab.prefix}{port}", ns=lab.ns("d")).stdout
                self.assertNotIn("xdp", shown, "a clean stop detaches the program")


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("e2e tests need root (network namespaces and tap devices)")
    unittest.main(argv=[sys.argv[0]], verbosity=2)
