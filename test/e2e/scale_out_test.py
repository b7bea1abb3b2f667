#!/usr/bin/python3
"""Scale-out (issue 9): three meshgate nodes behind a BIRD router that spreads the VIP by ECMP,
each announcing through its own BIRD what it can serve (scripts/lib/ecmp_lab.py).

One lab, the scenarios in order: (a) the VIP's traffic spreads over the nodes and each sends
it by the locality plan; (e) every node picks the same endpoint for the same 5-tuple, over
synthetic and real flows, whatever the order of its TOML; (b) a node whose service loses its
last selectable endpoint withdraws the VIP; (d) a node killed with SIGKILL is dropped by BFD;
(c) drain-node moves new connections away without a failure, then the node exits, and the
connections open on it when the routers moved keep going: the node that now receives them
passes them back through the second-chance tunnel ([announce] peers).
Convergence times and failed connections are printed as figures; the assertions are about
behaviour (who is announced, which connections may fail), not about time.
argv: build directory, and the nodes' port type: af_packet (default) or af_xdp (meshgate's XDP
program; BGP, BFD and the peers' probes then reach the node through it). Needs root and bird2.
"""
import os
import random
import subprocess
import sys
import time
import unittest

BUILD = os.path.abspath(sys.argv[1])
PORT_TYPE = sys.argv[2] if len(sys.argv) > 2 else "af_packet"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
import ecmp_lab  # noqa: E402
import meshlab  # noqa: E402

ENDPOINTS = [
    meshlab.Endpoint("east-1a-1", "10.30.0.11", "us-east-1a"),
    meshlab.Endpoint("east-1a-2", "10.30.0.12", "us-east-1a"),
    meshlab.Endpoint("east-1b-1", "10.30.0.21", "us-east-1b"),
]
LOCAL = {"east-1a-1", "east-1a-2"}
STREAMS = 12  # long connections across the drain: some land on the drained node (all but 1 in 4,096 runs)
ADDRESS_OF = {e.name: f"{e.address}:{ecmp_lab.TCP_PORT}" for e in ENDPOINTS}


def figure(name, value):
    print(f"FIGURE {name}: {value}", flush=True)


class ScaleOut(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = ecmp_lab.EcmpLab(BUILD, ENDPOINTS, nodes=3, announce={"drain_timeout": "20s"}, port_type=PORT_TYPE)
        cls.lab.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.lab.__exit__(None, None, None)

    def lookup(self, node, tuples):
        """The endpoint `node` picks for each (client address, client port) to the VIP's TCP port."""
        picked = []
        for i in range(0, len(tuples), 1000):
            flows = [["tcp", a, p, ecmp_lab.VIP, ecmp_lab.TCP_PORT] for a, p in tuples[i:i + 1000]]
            picked += [f["endpoint"] for f in node.admin("lookup", {"flows": flows})["flows"]]
        return picked

    def new_flows(self, node):
        return node.stats()["totals"]["new_flows"]

    def test_1_spread_by_ecmp_each_node_by_its_plan_and_the_same_choice_everywhere(self):
        lab = self.lab
        for node in lab.nodes:
            status = node.ctl("status")
            routes = {r["address"]: r for r in status["announce"]["routes"]}
            self.assertTrue(routes[ecmp_lab.VIP]["announced"], routes)
            self.assertTrue(routes[node.snat]["announced"], routes)
        # (e) first half: the tables themselves, whatever each node's TOML order.
        hashes = {node.ctl("status")["tables_hash"]["lab/who"] for node in lab.nodes}
        self.assertEqual(len(hashes), 1, f"tables differ between nodes: {hashes}")

        before = {n.name: self.new_flows(n) for n in lab.nodes}
        report = lab.client("--tcp", 1200, "--parallel", 8, "--tuples")
        self.assertEqual(report["failures"], [])
        self.assertEqual(set(report["tcp"]), LOCAL, "PreferClose on every node: the local zone only")
        for name in LOCAL:
            self.assertGreater(report["tcp"][name], 1200 // 4)
        # (a) every node took a share of the connections (a stats file is written every second).
        time.sleep(1.5)
        spread = {n.name: self.new_flows(n) - before[n.name] for n in lab.nodes}
        figure("ecmp spread of 1200 connections over 3 nodes", spread)
        for name, count in spread.items():
            self.assertGreater(count, 1200 // 10, f"{name} got {count} of 1200: {spread}")
        for node in lab.nodes:
            shares = {}
            for e in node.ctl("plan")["services"][0]["hops"][-1]["levels"][0]["endpoints"]:
                shares[f'{e["address"]}:{e["port"]}'] = e["share_percent"]
            self.assertEqual({k for k, v in shares.items() if v > 0}, {ADDRESS_OF[n] for n in LOCAL})

        # (e) real connections: the endpoint that answered is the one every node would pick.
        tuples = [(a, p) for a, p, _ in report["tuples"]]
        answered = [ADDRESS_OF[name] for _, _, name in report["tuples"]]
        agree_real = [sum(x == y for x, y in zip(self.lookup(n, tuples), answered)) for n in lab.nodes]
        figure("real connections: agreement of each node with the endpoint that answered",
               f"{[f'{a}/{len(tuples)}' for a in agree_real]}")
        self.assertEqual(agree_real, [len(tuples)] * len(lab.nodes))

        # (e) 10,000 synthetic flows, asked of every node's live snapshot.
        rng = random.Random(9)
        synthetic = [(f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}", rng.randrange(1024, 65536)) for _ in range(10000)]
        picks = [self.lookup(n, synthetic) for n in lab.nodes]
        agree = sum(len({p[i] for p in picks}) == 1 for i in range(len(synthetic)))
        figure("synthetic flows on which all 3 nodes agree", f"{agree}/{len(synthetic)}")
        self.assertEqual(agree, len(synthetic))
        # And offline, from each node's own TOML: `plan --flows` counts alike.
        counts = []
        for node in lab.nodes:
            plan = node.ctl("plan", "--config", node.config_path, "--flows", 10000)
            counts.append(plan["flows"]["per_endpoint"])
            self.assertEqual(plan["services"][0]["tables_hash"], next(iter(hashes)), "offline plan = live tables")
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(counts[0], counts[2])

    def test_2_a_node_without_a_selectable_endpoint_withdraws_the_vip(self):
        lab, n1 = self.lab, self.lab.nodes[0]

        def lose_every_endpoint():  # this node alone loses them (as if its path to them broke)
            for e in ENDPOINTS:
                n1.admin("endpoint.set", {"service": "lab/who", "address": e.address, "healthy": False})
        m = lab.measure(n1, lose_every_endpoint)
        self.assertIsNotNone(m["converged_ms"], "the router kept sending to n1")
        figure("(b) last endpoint lost -> router stops sending to the node (ms)", m["converged_ms"])
        figure("(b) failed connections (refused by the node before the router moved)", f"{m['failed']} of {m['connections']}")
        self.assertEqual(m["failed_before_event"], 0)
        self.assertEqual(m["failed_after_convergence"], 0, "after the withdrawal, every connection succeeds")
        routes = {r["address"]: r for r in n1.ctl("status")["announce"]["routes"]}
        self.assertFalse(routes[ecmp_lab.VIP]["announced"])
        self.assertIn("fewer than min_healthy_endpoints 1", routes[ecmp_lab.VIP]["why"])
        self.assertTrue(routes[n1.snat]["announced"], "its SNAT address stays: replies of its flows")
        for e in ENDPOINTS:
            n1.admin("endpoint.set", {"service": "lab/who", "address": e.address, "healthy": True})
        lab.wait_paths(3, timeout=10)

    def test_3_a_killed_node_is_dropped_by_bfd(self):
        lab, n3 = self.lab, self.lab.nodes[2]
        m = lab.measure(n3, lambda: lab.kill_daemon(n3), seconds=5, client_args=("--timeout", 3))
        self.assertIsNotNone(m["converged_ms"], "the router kept sending to n3")
        figure("(d) SIGKILL -> router stops sending to the node (ms)", m["converged_ms"])
        figure("(d) failed connections", f"{m['failed']} of {m['connections']}")
        # A connection under way on the node when it dies dies with it (its state was there);
        # once the router has dropped the node, every connection succeeds.
        self.assertEqual(m["failed_after_convergence"], 0)
        self.assertEqual(lab.next_hops(), {"n1", "n2"})

    def test_4_drain_node_moves_new_connections_away_then_exits(self):
        lab, n1, n2 = self.lab, self.lab.nodes[0], self.lab.nodes[1]
        lab.wait_paths(2)
        # n3 was killed: n1 and n2 have taken it out of their rings.
        live = {p["address"]: p["live"] for p in n1.ctl("status")["announce"]["peers"]}
        self.assertEqual(live, {n2.address: True, lab.nodes[2].address: False}, live)
        sent_before = n1.stats()["totals"]["second_chance_sent"]
        # A stream stalled by an overloaded machine is slow, not broken: the timeout is long, so
        # only a connection that really broke (reset, or never answered again) fails.
        streams = lab.client_async("--streams", STREAMS, "--stream-seconds", 4, "--timeout", 20)
        time.sleep(1)
        totals = n2.admin("stats")["totals"]
        open_before = totals["active_flows"] - totals["closing_flows"]
        drain = []

        def drain_node():
            drain.append(subprocess.Popen([os.path.join(BUILD, "src", "cli", "meshgatectl"), "--socket", n2.socket, "drain-node"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        m = lab.measure(n2, drain_node, seconds=5)
        self.assertIsNotNone(m["converged_ms"], "the router kept sending to n2")
        figure("(c) drain-node -> router stops sending to the node (ms)", m["converged_ms"])
        figure("(c) failed connections during the drain", f"{m['failed']} of {m['connections']}")
        # A draining node serves new flows until the routers move; only a connection under way
        # at the instant the router rehashes can land on a node that does not know it.
        self.assertEqual(m["failed_before_event"], 0)
        self.assertEqual(m["failed_after_convergence"], 0)
        out, err = drain[0].communicate(timeout=60)
        self.assertEqual(drain[0].returncode, 0, err)
        self.assertIn("meshgated has exited", out)
        self.assertEqual(n2.daemon.wait(timeout=30), 0, "a drained node exits cleanly")
        lines = out.strip().splitlines()
        figure("(c) drain-node's last report", lines[-2] if len(lines) > 1 else out.strip())
        s = lab.client_result(streams)
        passed = n1.stats()["totals"]["second_chance_sent"] - sent_before
        figure(f"(c) long streams across the drain ({STREAMS}, started before it; open on the drained node then)",
               f"{sum(s['streams'].values())} finished, {len(s['failures'])} broken; {open_before} open on n2")
        figure("(c) segments n1 passed back to n2 through the second-chance tunnel", passed)
        self.assertEqual(s["failures"], [], f"a connection moved by the routers' rehash broke; n1 drops: {n1.admin('stats')['drops']}")
        self.assertEqual(sum(s["streams"].values()), STREAMS)
        if open_before:
            self.assertGreater(passed, 0, "n2's connections reached n1 after the drain and went back to n2")
        self.assertIn("withdrew 10.96.0.10", n2.log())
        self.assertIn("drain-node done", n2.log())
        self.assertEqual(lab.next_hops(), {"n1"})


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
