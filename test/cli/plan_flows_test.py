#!/usr/bin/python3
"""meshgatectl plan --flows: flows go only where the levels say, in the shares they say.

Runs the real binary on the shipped example configuration (argv: meshgatectl, config).
"""
import json
import math
import subprocess
import sys
import unittest

MESHGATECTL, CONFIG = sys.argv[1], sys.argv[2]
FLOWS = 20000


def run(*args, check=True):
    p = subprocess.run([MESHGATECTL, *args], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr}")
    return p


class PlanFlows(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = json.loads(run("plan", "--config", CONFIG, "--json", "--flows", str(FLOWS)).stdout)

    def test_every_service_got_its_flows(self):
        for s in self.doc["services"]:
            self.assertEqual(s["flows"]["total"], FLOWS, s["service"])
        self.assertEqual(self.doc["flows"]["total"], FLOWS * len(self.doc["services"]))

    def test_flows_follow_the_levels(self):
        for s in self.doc["services"]:
            hop = s["hops"][0]  # the hop the gateway takes for a new flow
            per_endpoint = s["flows"]["per_endpoint"]
            planned = {e["key"]: e for level in hop["levels"] for e in level["endpoints"]}
            for key, count in per_endpoint.items():
                self.assertIn(key, planned, f"{s['service']}: flows went to {key}, which is in no level")
            for key, e in planned.items():
                got = per_endpoint.get(key, 0)
                share = e["share_percent"] / 100.0
                if share == 0:
                    self.assertEqual(got, 0, f"{s['service']}: {key} has no share but got {got} flows")
                    continue
                # Binomial: within 5 standard deviations (plus one flow) of the planned share.
                sigma = math.sqrt(FLOWS * share * (1 - share))
                self.assertLessEqual(abs(got - FLOWS * share), 5 * sigma + 1,
                                     f"{s['service']}: {key} got {got}, planned {FLOWS * share:.0f}")
            self.assertEqual(s["flows"]["refused"], 0, s["service"])

    def test_lower_levels_get_nothing_while_the_top_level_is_healthy(self):
        for s in self.doc["services"]:
            hop = s["hops"][0]
            if hop["levels"][0]["load_percent"] != 100:
                continue
            lower = [e["key"] for level in hop["levels"][1:] for e in level["endpoints"]]
            for key in lower:
                self.assertNotIn(key, s["flows"]["per_endpoint"], f"{s['service']}: {key} is in a lower level")

    def test_spill_over_in_the_example(self):
        pp = next(s for s in self.doc["services"] if s["service"] == "bookinfo/productpage")
        levels = pp["hops"][0]["levels"]
        self.assertEqual([lv["load_percent"] for lv in levels], [70, 30, 0, 0])
        p1 = sum(pp["flows"]["per_endpoint"].get(e["key"], 0) for e in levels[1]["endpoints"])
        self.assertAlmostEqual(p1 / FLOWS, 0.30, delta=0.02)

    def test_service_filter_and_text_output(self):
        doc = json.loads(run("plan", "--config", CONFIG, "--json", "--service", "shop/payments").stdout)
        self.assertEqual([s["service"] for s in doc["services"]], ["shop/payments"])
        self.assertNotIn("flows", doc)
        text = run("plan", "--config", CONFIG, "--service", "bookinfo/productpage").stdout
        self.assertIn("P0  load  70%", text)
        self.assertIn("spec.trafficDistribution", text)
        self.assertIn("not eligible: 10.40.1.11:9080", text)

    def test_bad_usage_exits_2(self):
        self.assertEqual(run("plan", "--config", CONFIG, "--flows", "many", check=False).returncode, 2)
        self.assertEqual(run("frobnicate", check=False).returncode, 2)
        self.assertEqual(run("plan", "--colour", check=False).returncode, 2)
        self.assertEqual(run("plan", "--flows", "10", check=False).returncode, 2, "--flows simulates offline only")
        self.assertEqual(run("plan", "--config", CONFIG, "--service", "no/such", check=False).returncode, 1)
        self.assertEqual(run("lookup", "sctp", "10.0.0.1:1", "10.96.0.10:80", check=False).returncode, 2)
        self.assertEqual(run("lookup", "tcp", "10.0.0.1", "10.96.0.10:80", check=False).returncode, 2, "a port is needed")
        self.assertEqual(run("drain-node", "--bogus", check=False).returncode, 2)

    def test_without_a_daemon_the_socket_is_named(self):
        # No --config: the live plan, asked of a daemon that is not there.
        r = run("plan", "--socket", "/nonexistent/meshgate.sock", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/meshgate.sock", r.stderr)
        self.assertIn("is meshgated running?", r.stderr)
        for words in (["drain-node"], ["lookup", "tcp", "10.0.0.1:40000", "10.96.0.10:9080"]):
            r = run(*words, "--socket", "/nonexistent/meshgate.sock", check=False)
            self.assertEqual(r.returncode, 1, words)
            self.assertIn("/nonexistent/meshgate.sock", r.stderr, words)

    def test_help_on_every_command(self):
        for words in (["--help"], ["plan", "--help"], ["check", "--help"], ["status", "--help"], ["endpoints", "--help"],
                      ["endpoint", "--help"], ["endpoint", "add", "--help"], ["endpoint", "set", "--help"],
                      ["endpoint", "remove", "--help"], ["drain", "--help"], ["stats", "--help"], ["reload", "--help"],
                      ["drain-node", "--help"], ["lookup", "--help"]):
            r = run(*words, check=False)
            self.assertEqual(r.returncode, 0, words)
            self.assertIn("Usage", r.stdout, words)

    def test_global_options_before_or_after_the_command(self):
        before = json.loads(run("--json", "plan", "--config", CONFIG).stdout)
        after = json.loads(run("plan", "--config", CONFIG, "--json").stdout)
        self.assertEqual(before, after)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
