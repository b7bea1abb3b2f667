#!/usr/bin/python3
"""meshgatectl check: exit codes and located messages, on the real binary."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

MESHGATECTL, CONFIG = sys.argv[1], sys.argv[2]


def check(path, *extra):
    return subprocess.run([MESHGATECTL, "check", "--config", path, *extra], capture_output=True, text=True, timeout=30)


class Check(unittest.TestCase):
    def test_the_example_is_valid_and_its_warning_is_shown(self):
        p = check(CONFIG)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok:", p.stdout)
        self.assertIn("PreferNearby", p.stderr)

    def test_a_bad_file_exits_2_with_file_line_column_and_key(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.toml")
            with open(path, "w") as f:
                f.write('[node]\nname = "gw"\n[lb]\nmaglev_table_size = 1000\nspilover = "strict"\n')
            p = check(path)
            self.assertEqual(p.returncode, 2)
            self.assertIn(f"{path}:4:1: error: lb.maglev_table_size: expected a prime number", p.stderr)
            self.assertIn(f"{path}:5:1: error: lb.spilover: unknown key; did you mean 'spillover'?", p.stderr)
            j = json.loads(check(path, "--json").stdout)
            self.assertFalse(j["ok"])
            self.assertEqual(len(j["errors"]), 2)

    def test_a_missing_file_exits_2(self):
        self.assertEqual(check("/nonexistent.toml").returncode, 2)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
