#!/usr/bin/python3
"""meshgate's HBONE proxy (waypoint role) end to end (issue 8): meshgated in its lab, reached on
the node's address through its own data plane, with clients and peers we did not write:

- Go's standard library (crypto/tls, net/http's HTTP/2) as the HBONE client: TV20's 200 with
  byte-exact data both ways, 400, 401, 503, the client refusing an unexpected server identity,
  and 1,000 streams spread over the endpoints as `meshgatectl plan` says, then none to an
  endpoint marked down through the admin API;
- Go's standard library as the stand-in ztunnel behind meshgate's client, as a stand-in
  east-west gateway for double HBONE to another network's endpoint, and as a stand-in waypoint
  that the gateway role tunnels a service's plain TCP to;
- the gateway role on an IPv6 VIP, in a dual-stack lab of its own (GatewayIpv6Test);
- Python's ssl module and raw sockets as bad peers: garbage, plain HTTP, no certificate, another
  trust domain, another CA, an expired certificate; each refused and counted, while good
  clients go on being served.

argv: build directory, then optionally the port type (tap, af_packet, af_xdp) and "one-arm" (clients,
endpoints and the node on one segment and one port; two ports otherwise). Needs root and golang-go. Everything it makes is removed at exit.
"""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
import meshlab  # noqa: E402

PORT_TYPE = next((a for a in sys.argv[2:] if a in meshlab.PORT_TYPES), "tap")
ARMS = 1 if "one-arm" in sys.argv[2:] else 2

ENDPOINTS = [
    meshlab.Endpoint("east-1a-1", "10.20.0.11", "us-east-1a", weight=1),
    meshlab.Endpoint("east-1a-2", "10.20.0.12", "us-east-1a", weight=3),
    meshlab.Endpoint("east-1b-1", "10.20.0.21", "us-east-1b"),
    # Behind a ztunnel (a Go HBONE server on its 15008): meshgate reaches it with HBONE too.
    meshlab.Endpoint("mesh-1c-1", "10.20.0.31", "us-east-1c", identity="spiffe://cluster.local/ns/istio-system/sa/ztunnel"),
]
BY_ADDRESS = {e.address: e.name for e in ENDPOINTS}
MESHGATE_ID = "spiffe://cluster.local/ns/istio-system/sa/meshgate"
HOSTNAME = "who.lab.svc.cluster.local"


# A second service whose one endpoint is the ztunnel-fronted one, checked with HBONE probes.
MESH_SERVICE = """
[[service]]
name = "mesh"
namespace = "lab"
vips = ["10.96.0.20"]
ports = [{ port = 9080, protocol = "tcp" }]

[[endpoint]]
service = "lab/mesh"
address = "10.20.0.31"
hbone = true
identity = "spiffe://cluster.local/ns/istio-system/sa/ztunnel"
locality = { region = "us-east", zone = "us-east-1c" }

[[health_check]]
service = "lab/mesh"
kind = "hbone"
interval = "1s"
timeout = "1s"
unhealthy_threshold = 2
healthy_threshold = 1
"""


# Another network (net-2), reached only through its east-west gateway by double HBONE: a Go
# HBONE server on 10.20.0.31:15443 that passes each stream on, as bytes, to the far ztunnel (the
# Go server on 15008, which maps the service's name to its backend). "impostor" expects another
# identity of the far side than the one it shows.
ZTUNNEL_ID = "spiffe://cluster.local/ns/istio-system/sa/ztunnel"
REMOTE_SERVICES = (meshlab.remote_service("remote", "10.96.0.30", ZTUNNEL_ID)
                   + meshlab.remote_service("impostor", "10.96.0.31", "spiffe://cluster.local/ns/lab/sa/someone-else")
                   + meshlab.network_gateway("10.20.0.31"))
REMOTE_NAME = "remote.lab.svc.cluster.local:9080"


def gateway_service(name, vip):
    """The gateway role: plain TCP to `vip` is the node kernel's (the data plane passes it on)
    and the proxy tunnels it to the endpoint's ztunnel."""
    return f"""
[[service]]
name = "{name}"
namespace = "lab"
vips = ["{vip}"]
ports = [{{ port = 9080, protocol = "tcp" }}]
forwarding = "hbone"

[[endpoint]]
service = "lab/{name}"
address = "10.20.0.31"
hbone = true
identity = "spiffe://cluster.local/ns/istio-system/sa/ztunnel"
locality = {{ network = "net-1", region = "us-east", zone = "us-east-1c" }}
"""


GATEWAY_SERVICE = gateway_service("gw", "10.96.0.40")


def waypoint_services(name, vip, waypoint, network, address=None):
    """A forwarding = "hbone" service at `vip` with one endpoint of its own (east-1a-1), and its
    waypoint service with one endpoint on `network`: the Go server on 10.20.0.31:15008 stands
    in for it, reached at `address` or, without one, through that network's gateway."""
    reach = f'address = "{address}"\nhbone = true\n' if address else ""
    return f"""
[[service]]
name = "{name}"
namespace = "lab"
vips = ["{vip}"]
ports = [{{ port = 9080, protocol = "tcp" }}]
forwarding = "hbone"
waypoint = "lab/{waypoint}"

[[endpoint]]
service = "lab/{name}"
address = "10.20.0.11"
locality = {{ network = "net-1", region = "us-east", zone = "us-east-1a" }}

[[service]]
name = "{waypoint}"
namespace = "lab"
ports = [{{ port = 15008 }}]

[[endpoint]]
service = "lab/{waypoint}"
{reach}identity = "spiffe://cluster.local/ns/istio-system/sa/ztunnel"
locality = {{ network = "{network}", region = "us-east", zone = "us-east-1c" }}
"""


# The gateway role for a service with a waypoint: plain TCP to this VIP goes to the waypoint
# service's endpoint, as a CONNECT to the VIP:port the client dialled; the stand-in passes it
# to 10.20.0.31:9080. Going straight to the service's own endpoint (east-1a-1) would skip the
# waypoint.
WAYPOINT_SERVICES = waypoint_services("via-waypoint", "10.96.0.41", "waypoint", "net-1", address="10.20.0.31")
WAYPOINT_VIP = "10.96.0.41:9080"

# The same with the waypoint on another network (net-2): double HBONE through net-2's east-west
# gateway, both CONNECTs naming the service; the far side must prove the waypoint's identity.
REMOTE_WAYPOINT_SERVICES = waypoint_services("via-remote-waypoint", "10.96.0.42", "remote-waypoint", "net-2")
REMOTE_WAYPOINT_NAME = "via-remote-waypoint.lab.svc.cluster.local:9080"


def hbone_config(certs):
    return (f'\n[hbone]\nlisten = "0.0.0.0:15008"\ntrust_domain = "cluster.local"\nca_bundle = "{certs}/ca.pem"\n'
            f'cert = "{certs}/meshgate.pem"\nkey = "{certs}/meshgate.key"\nthreads = 2\n'
            '[[hbone.authorization]]\nservice = "lab/who"\nallow = ["spiffe://cluster.local/ns/shop/sa/*"]\n')


def prepare_peers(work):
    """Test certificates (CA, SPIFFE leaves) and the Go HBONE peer, built offline: (certs, peer)."""
    certs = os.path.join(work, "certs")
    subprocess.run(["bash", os.path.join(HERE, "..", "..", "scripts", "lib", "make_test_pki.sh"), certs], check=True)
    peer = os.path.join(work, "hbone_peer")
    subprocess.run(["go", "build", "-o", peer, os.path.join(HERE, "..", "hbone", "go", "hbone_peer.go")], check=True,
                   env={**os.environ, "GO111MODULE": "off", "GOCACHE": os.path.join(work, "gocache"), "HOME": work})
    return certs, peer


def serve(lab, work, peer, certs, identity, listen, *args):
    """A Go HBONE server in the ztunnel's namespace, logging each CONNECT to <identity>.log."""
    p = subprocess.Popen(["ip", "netns", "exec", lab.ns("e3"), peer, "-ca", f"{certs}/ca.pem",
                          "-cert", f"{certs}/{identity}.pem", "-key", f"{certs}/{identity}.key",
                          "serve", "-listen", listen, "-log", os.path.join(work, f"{identity}.log"), *args])
    lab.processes.append(p)
    return p


def connects(work, identity):
    """What the Go server with `identity` logged: one dict per CONNECT."""
    path = os.path.join(work, f"{identity}.log")
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]


def close(lab, work):
    """Removes the lab and the work directory, with meshgated's last words if it died."""
    if lab.daemon and lab.daemon.poll() is not None:
        print(f"meshgated exited ({lab.daemon.returncode}); its log ends:\n" + lab.log()[-3000:], file=sys.stderr)
    lab.close()
    if not os.environ.get("MESHGATE_KEEP_WORKDIR"):
        shutil.rmtree(work, ignore_errors=True)


class HboneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mg-hbone-")
        cls.certs, cls.peer = prepare_peers(cls.work)
        # Outlier detection counts the proxy's connects too (test_j).
        rule = meshlab.outlier_detection(consecutive_5xx_errors=3, interval="1s", base_ejection_time="60s", max_ejection_percent=50)
        cls.lab = meshlab.Lab(BUILD, ENDPOINTS, port_type=PORT_TYPE, arms=ARMS,
                              extra_config=(hbone_config(cls.certs) + rule + MESH_SERVICE + REMOTE_SERVICES + GATEWAY_SERVICE
                                            + WAYPOINT_SERVICES + REMOTE_WAYPOINT_SERVICES),
                              workdir=os.path.join(cls.work, "lab"))
        try:
            cls.lab.open()
            cls.start_ztunnel()
            cls.eastwest = cls.serve("eastwest", "10.20.0.31:15443", "-forward", "10.20.0.31:15008")
            cls.wait_listening()
            # A client that never answers PINGs, running while the other tests do (test_z).
            cls.silent = subprocess.Popen(["ip", "netns", "exec", cls.lab.ns("c"), meshlab.PYTHON,
                                           os.path.join(HERE, "..", "hbone", "h2_bad_peer.py"), f"{cls.lab.node_address}:15008",
                                           cls.certs, f"{cls.lab.vip}:9080", "silent", "45"], stdout=subprocess.PIPE, text=True)
            cls.silent_started = time.time()
            cls.lab.processes.append(cls.silent)
        except BaseException:
            cls.lab.close()
            raise

    @classmethod
    def tearDownClass(cls):
        close(cls.lab, cls.work)

    @classmethod
    def serve(cls, identity, listen, *args):
        return serve(cls.lab, cls.work, cls.peer, cls.certs, identity, listen, *args)

    @classmethod
    def start_ztunnel(cls):
        cls.ztunnel = cls.serve("ztunnel", "10.20.0.31:15008", "-route",
                                f"{REMOTE_NAME}=10.20.0.31:9080,{WAYPOINT_VIP}=10.20.0.31:9080,"
                                f"{REMOTE_WAYPOINT_NAME}=10.20.0.31:9080")

    def connects(self, identity):
        return connects(self.work, identity)

    @classmethod
    def wait_listening(cls):
        deadline = time.time() + 20
        while time.time() < deadline:
            with socket.socket() as s:
                s.settimeout(1)
                if meshlab.sh("ss", "-Htln", "sport = :15008", ns=cls.lab.ns("d")).stdout.strip():
                    return
            time.sleep(0.2)
        raise AssertionError("meshgated does not listen on 15008: " + cls.lab.log())

    def go(self, mode, *args, identity="web", expect=MESHGATE_ID, timeout=120):
        """hbone_peer in the client namespace, against the node's address; its JSON report."""
        p = meshlab.sh(self.peer, "-server", f"{self.lab.node_address}:15008", "-ca", f"{self.certs}/ca.pem",
                       "-cert", f"{self.certs}/{identity}.pem", "-key", f"{self.certs}/{identity}.key", "-expect", expect,
                       mode, *args, ns=self.lab.ns("c"), timeout=timeout)
        return json.loads(p.stdout)

    def hbone_stats(self):
        return self.lab.ctl("stats")["hbone"]

    def shares(self):
        """Planned share of new flows (streams) per endpoint name, from the live plan's last hop."""
        hop = self.lab.ctl("plan")["services"][0]["hops"][-1]
        return {BY_ADDRESS[e["address"]]: e["share_percent"] / 100.0 for level in hop["levels"] for e in level["endpoints"]}

    def assert_split(self, counts, shares, total):
        meshlab.assert_split(self, counts, shares, total)

    # TV20 (reference §8.5): what a CONNECT stream is answered.

    def test_a_echo_through_vip_hostname_and_endpoint(self):
        for target in (f"{self.lab.vip}:9080", f"{HOSTNAME}:9080"):
            r = self.go("echo", "-target", target, "-bytes", str(4 << 20))
            self.assertEqual(r.get("status"), 200, r)
            self.assertTrue(r["match"], f"{target}: the echo differs: {r}")
            self.assertEqual(r["received"], 4 << 20)
            self.assertEqual(r["proto"], "HTTP/2.0")
            self.assertIn(r["backend"], ("east-1a-1", "east-1a-2"), r)  # PreferClose: the node's zone
        r = self.go("echo", "-target", "10.20.0.21:9080", "-bytes", "65536")  # an endpoint by address
        self.assertEqual((r.get("status"), r.get("backend"), r.get("match")), (200, "east-1b-1", True), r)

    def test_b_refusals(self):
        self.assertEqual(self.go("status", "-target", "no-port-here")["status"], 400)
        self.assertEqual(self.go("status", "-target", f"{self.lab.vip}:9080", "-method", "GET")["status"], 400)
        self.assertEqual(self.go("status", "-target", f"{self.lab.vip}:9080", identity="ztunnel")["status"], 401)
        self.assertEqual(self.go("status", "-target", "10.96.0.99:9080")["status"], 503)  # nobody's VIP
        before = self.hbone_stats()["answers"]
        self.assertGreaterEqual(before["400"], 2)
        self.assertGreaterEqual(before["401"], 1)
        self.assertGreaterEqual(before["503"], 1)

    def test_c_closed_upstream_is_503(self):
        e = ENDPOINTS[2]
        self.lab.kill_server(e)
        try:
            r = self.go("status", "-target", f"{e.address}:9080")
            self.assertEqual(r.get("status"), 503, r)
            self.assertGreaterEqual(self.hbone_stats()["upstream_connect_failures"], 1)
        finally:
            self.lab.start_server(e)

    def test_d_client_refuses_an_unexpected_server(self):
        r = self.go("status", "-target", f"{self.lab.vip}:9080", expect="spiffe://cluster.local/ns/shop/sa/not-meshgate")
        self.assertIn("error", r)
        self.assertIn("not the expected", r["error"])

    def test_e_streams_follow_the_plan_and_the_admin_api(self):
        shares = self.shares()
        self.assertAlmostEqual(shares["east-1a-2"], 0.75, delta=0.02)  # weights 1:3 in the node's zone
        r = self.go("spread", "-target", f"{self.lab.vip}:9080", "-streams", "1000", "-parallel", "50", timeout=300)
        self.assertEqual(r["statuses"], {"200": 1000}, r)
        self.assertEqual(r["errors"], {}, r)
        self.assert_split(r["backends"], shares, 1000)
        # Marked down through the admin API: the next snapshot's table has it no more.
        self.lab.ctl("endpoint", "set", "lab/who", "10.20.0.12", "--healthy", "false")
        try:
            deadline = time.time() + 10
            while self.shares().get("east-1a-2", 0) != 0 and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)  # the proxy's threads take a new catalog every 100 ms
            r = self.go("spread", "-target", f"{self.lab.vip}:9080", "-streams", "300", "-parallel", "30", timeout=300)
            self.assertEqual(r["statuses"], {"200": 300}, r)
            self.assertNotIn("east-1a-2", r["backends"], r)
            self.assert_split(r["backends"], self.shares(), 300)
        finally:
            self.lab.ctl("endpoint", "set", "lab/who", "10.20.0.12", "--healthy", "true")

    # Bad peers: refused, counted, and the server keeps serving.

    def tls_client(self, identity=None):
        """A Python TLS client in the client namespace; returns its outcome as text."""
        code = ("import socket, ssl, sys\n"
                "c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n"
                "c.set_alpn_protocols(['h2'])\n"
                "if len(sys.argv) > 2: c.load_cert_chain(sys.argv[2], sys.argv[3])\n"
                "s = c.wrap_socket(socket.create_connection((sys.argv[1], 15008), timeout=10))\n"
                "try:\n s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'); n = len(s.recv(100))\n"
                "except Exception as e: print('refused', type(e).__name__, e)\n"
                # TLS 1.3: the client's side is done before the server checks its certificate; a
                # server that refuses then closes without a byte (no SETTINGS).
                "else: print('served' if n else 'refused: closed')\n")
        args = [self.lab.node_address] + ([f"{self.certs}/{identity}.pem", f"{self.certs}/{identity}.key"] if identity else [])
        p = meshlab.sh(meshlab.PYTHON, "-c", code, *args, ns=self.lab.ns("c"), check=False, timeout=30)
        return p.stdout + p.stderr

    def raw(self, data):
        code = ("import socket, sys\ns = socket.create_connection((sys.argv[1], 15008), timeout=10)\n"
                "s.sendall(bytes.fromhex(sys.argv[2]))\n"
                "try:\n print('read', len(s.recv(100)))\nexcept Exception as e: print('closed', e)\n")
        return meshlab.sh(meshlab.PYTHON, "-c", code, self.lab.node_address, data.hex(), ns=self.lab.ns("c"), timeout=30).stdout

    def test_f_bad_peers(self):
        self.assertEqual(self.tls_client("web").strip(), "served")  # the probe itself tells good from bad
        before = self.hbone_stats()["handshake_failures"]
        self.raw(os.urandom(4096))
        self.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn("refused", self.tls_client())            # no certificate
        self.assertIn("refused", self.tls_client("other-td"))  # another trust domain
        self.assertIn("refused", self.tls_client("foreign"))   # another CA
        self.assertIn("refused", self.tls_client("expired"))
        self.assertIn("refused", self.tls_client("no-spiffe"))
        want = {"not_tls": 2, "no_certificate": 1, "wrong_trust_domain": 1, "bad_certificate": 1, "expired_certificate": 1,
                "no_identity": 1}
        deadline = time.time() + 10
        while True:
            after = self.hbone_stats()["handshake_failures"]
            grown = {k: after[k] - before[k] for k in want}
            if grown == want or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(grown, want)
        r = self.go("echo", "-target", f"{self.lab.vip}:9080", "-bytes", "65536")
        self.assertEqual((r.get("status"), r.get("match")), (200, True), r)
        # A client certificate seen before is answered from memory; a refused one is verified
        # every time (other handshakes of the node may add to either).
        chains = self.hbone_stats()["chain_verifications"]
        self.assertEqual(self.tls_client("web").strip(), "served")
        self.assertIn("refused", self.tls_client("foreign"))
        after = self.hbone_stats()["chain_verifications"]
        self.assertGreaterEqual(after["remembered"] - chains["remembered"], 1)
        self.assertGreaterEqual(after["verified"] - chains["verified"], 1)

    def bad_peer(self, *args, timeout=120):
        p = meshlab.sh(meshlab.PYTHON, os.path.join(HERE, "..", "hbone", "h2_bad_peer.py"), f"{self.lab.node_address}:15008",
                       self.certs, f"{self.lab.vip}:9080", *map(str, args), ns=self.lab.ns("c"), timeout=timeout)
        return json.loads(p.stdout)

    def rss_kib(self):
        with open(f"/proc/{self.lab.daemon.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    def test_f2_stream_flood_and_oversized_headers(self):
        r = self.bad_peer("flood", 260)
        self.assertEqual(r["limit"], 200, r)  # the advertised SETTINGS_MAX_CONCURRENT_STREAMS
        self.assertEqual(r["unanswered"], 0, r)
        self.assertLessEqual(r["ok"], 200, r)
        self.assertGreaterEqual(r["refused"], 60, r)
        r = self.bad_peer("oversized")
        self.assertIsNone(r["status"], f"a request past the header limit was served: {r}")
        self.assertTrue(r["reset"] is not None or r["goaway"] is not None or r["closed"], r)
        r = self.go("echo", "-target", f"{self.lab.vip}:9080", "-bytes", "65536")
        self.assertEqual((r.get("status"), r.get("match")), (200, True), r)

    def test_f3_a_reader_that_stops_reading_is_contained(self):
        before = self.rss_kib()
        slow = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("c"), meshlab.PYTHON,
                                 os.path.join(HERE, "..", "hbone", "h2_bad_peer.py"), f"{self.lab.node_address}:15008",
                                 self.certs, f"{self.lab.vip}:9080", "slow", "6"], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(2)
            r = self.go("echo", "-target", f"{self.lab.vip}:9080", "-bytes", str(1 << 20))  # others are served meanwhile
            self.assertEqual((r.get("status"), r.get("match")), (200, True), r)
            out, _ = slow.communicate(timeout=60)
        finally:
            if slow.poll() is None:
                slow.kill()
                slow.wait()
        result = json.loads(out)
        self.assertEqual(result.get("status"), "200", result)
        grown = self.rss_kib() - before
        # Windows bound what waits: a 4 MiB stream window from the client, 256 KiB per stream and
        # 256 KiB per connection towards it, plus the sockets' own buffers.
        self.assertLess(grown, 32 << 10, f"meshgated grew by {grown} KiB for one stalled reader: {result}")
        self.assertLess(result["received"], 1 << 20, result)  # it never gave a window back: at most 64 KiB came

    def test_h_renewed_certificate_is_picked_up(self):
        """The files replaced on disk (as cert-manager or an agent renews them): new connections
        get the new certificate within a few seconds, with no reload and no restart."""
        ztunnel_id = "spiffe://cluster.local/ns/istio-system/sa/ztunnel"
        saved = {n: pathlib.Path(f"{self.certs}/meshgate.{n}").read_bytes() for n in ("pem", "key")}
        try:
            for n in ("pem", "key"):  # a rename, as renewers do: never a half-written file
                shutil.copy(f"{self.certs}/ztunnel.{n}", f"{self.certs}/next.{n}")
            os.rename(f"{self.certs}/next.key", f"{self.certs}/meshgate.key")
            os.rename(f"{self.certs}/next.pem", f"{self.certs}/meshgate.pem")
            deadline = time.time() + 10
            while time.time() < deadline:
                r = self.go("status", "-target", f"{self.lab.vip}:9080", expect=ztunnel_id)
                if r.get("status") == 200:
                    break
                time.sleep(0.3)
            self.assertEqual(r.get("status"), 200, f"the new certificate was not used: {r}")
            self.assertIn("error", self.go("status", "-target", f"{self.lab.vip}:9080"))  # the old identity is gone
            self.assertGreaterEqual(self.hbone_stats()["tls_reloads"], 1)
            # A broken replacement (a key that does not match) is refused: the files in use stay.
            shutil.copy(f"{self.certs}/web.key", f"{self.certs}/meshgate.key")
            time.sleep(2.5)
            self.assertGreaterEqual(self.hbone_stats()["tls_reload_failures"], 1)
            self.assertEqual(self.go("status", "-target", f"{self.lab.vip}:9080", expect=ztunnel_id).get("status"), 200)
        finally:
            for n, data in saved.items():
                with open(f"{self.certs}/next.{n}", "wb") as f:
                    f.write(data)
            os.rename(f"{self.certs}/next.key", f"{self.certs}/meshgate.key")
            os.rename(f"{self.certs}/next.pem", f"{self.certs}/meshgate.pem")
        deadline = time.time() + 10
        while self.go("status", "-target", f"{self.lab.vip}:9080").get("status") != 200 and time.time() < deadline:
            time.sleep(0.3)

    def test_i_endpoint_behind_a_ztunnel(self):
        """hbone = true: the stream goes on as a CONNECT to the endpoint's ztunnel (a Go HBONE
        server), on pooled connections of at most 100 streams, its identity checked."""
        r = self.go("echo", "-target", "10.20.0.31:9080", "-bytes", str(2 << 20))
        self.assertEqual((r.get("status"), r.get("backend"), r.get("match")), (200, "mesh-1c-1", True), r)
        before = self.hbone_stats()["pool"]
        # 150 tunnels held open at once: two pooled connections carry them.
        cmd = [self.peer, "-server", f"{self.lab.node_address}:15008", "-ca", f"{self.certs}/ca.pem", "-cert",
               f"{self.certs}/web.pem", "-key", f"{self.certs}/web.key", "-expect", MESHGATE_ID,
               "idle", "-target", "10.20.0.31:9080", "-tunnels", "150", "-seconds", "3"]
        p = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("c"), *cmd], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(json.loads(p.stdout.readline())["open"], 150)
            during = self.hbone_stats()["pool"]
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        # Pools are per proxy thread: the burst may reuse the echo's connection (then one more) or
        # open two of its own; never one per stream.
        opened = during["connections"] - before["connections"]
        self.assertIn(opened, (1, 2), (before, during))
        self.assertEqual(during["connections_open"], before["connections_open"] + opened, (before, during))
        self.assertEqual(during["handshake_failures"], 0, during)

    def test_j_failed_connects_eject_the_endpoint(self):
        """The proxy's connect failures feed outlier detection like the workers' do: an endpoint
        whose server is gone is ejected after 3 failures in a row, and new streams avoid it."""
        e = ENDPOINTS[0]
        self.lab.kill_server(e)
        try:
            r = self.go("spread", "-target", f"{self.lab.vip}:9080", "-streams", "80", "-parallel", "4", timeout=300)
            self.assertGreaterEqual(r["statuses"].get("503", 0), 3, r)  # until the ejection
            deadline = time.time() + 5
            while time.time() < deadline:
                state = {x["address"]: x for x in self.lab.ctl("endpoints", "lab/who")["endpoints"]}[e.address]
                if state["ejected"]:
                    break
                time.sleep(0.2)
            self.assertTrue(state["ejected"], state)
            time.sleep(0.3)  # the next catalog
            r = self.go("spread", "-target", f"{self.lab.vip}:9080", "-streams", "100", "-parallel", "10", timeout=300)
            self.assertEqual(r["statuses"], {"200": 100}, r)
            self.assertNotIn(e.name, r["backends"], r)
        finally:
            self.lab.start_server(e)

    def test_k_hbone_health_check(self):
        """kind = "hbone": a CONNECT through the endpoint's ztunnel every interval; down when the
        ztunnel stops answering, up again when it is back."""
        def state():
            return self.lab.ctl("endpoints", "lab/mesh")["endpoints"][0]
        def wait(predicate, timeout=15):
            deadline = time.time() + timeout
            while time.time() < deadline:
                s = state()
                if predicate(s):
                    return s
                time.sleep(0.2)
            return state()
        s = wait(lambda s: s.get("check", {}).get("last") == "ok")
        self.assertEqual(s.get("check", {}).get("last"), "ok", s)
        self.assertFalse(s["check_down"], s)
        self.ztunnel.kill()
        self.ztunnel.wait()
        try:
            s = wait(lambda s: s["check_down"])
            self.assertTrue(s["check_down"], s)
        finally:
            self.__class__.start_ztunnel()
        s = wait(lambda s: not s["check_down"])
        self.assertFalse(s["check_down"], s)

    def test_l_double_hbone_through_the_east_west_gateway(self):
        """An endpoint of another network: an outer CONNECT to its east-west gateway (pooled)
        carries a TLS connection of meshgate's own to the far ztunnel and one inner CONNECT on
        it, both naming the service; the gateway passes the inner bytes on without reading
        them. Data comes back byte-exact, each downstream stream has its own inner connection,
        and a far side without the expected identity is refused."""
        r = self.go("echo", "-target", "10.96.0.30:9080", "-bytes", str(2 << 20))
        self.assertEqual((r.get("status"), r.get("backend"), r.get("match")), (200, "mesh-1c-1", True), r)
        outer = [c for c in self.connects("eastwest") if c["authority"] == REMOTE_NAME]
        inner = [c for c in self.connects("ztunnel") if c["authority"] == REMOTE_NAME]
        self.assertEqual(len(outer), 1, outer)
        self.assertEqual(len(inner), 1, inner)
        self.assertEqual((outer[0]["client"], outer[0]["x_forwarded_network"]), (MESHGATE_ID, ""), outer)
        self.assertEqual((inner[0]["client"], inner[0]["x_forwarded_network"]), (MESHGATE_ID, "net-1"), inner)

        pool = self.hbone_stats()["pool"]
        r = self.go("spread", "-target", "10.96.0.30:9080", "-streams", "40", "-parallel", "10")
        self.assertEqual(r.get("backends"), {"mesh-1c-1": 40}, r)
        inner = [c for c in self.connects("ztunnel") if c["authority"] == REMOTE_NAME][1:]
        self.assertEqual(len(inner), 40, inner)
        # The gateway dials the far ztunnel once per outer stream, so distinct source ports mean
        # distinct inner connections: none was pooled.
        self.assertEqual(len({c["remote"] for c in inner}), 40, inner)
        after = self.hbone_stats()["pool"]
        self.assertLessEqual(after["connections"] - pool["connections"], 2, (pool, after))  # the outer ones are
        self.assertEqual(after["double_hbone_streams"] - pool["double_hbone_streams"], 40, (pool, after))

        failures = after["handshake_failures"]
        self.assertEqual(self.go("status", "-target", "10.96.0.31:9080")["status"], 503)
        self.assertEqual(self.hbone_stats()["pool"]["handshake_failures"], failures + 1)

    def test_m_gateway_role_tunnels_plain_tcp(self):
        """forwarding = "hbone": a plain TCP client of the VIP reaches the endpoint through its
        ztunnel. The data plane leaves the VIP to the node's kernel (a local route meshgated
        holds), the proxy accepts there and sends each connection as a CONNECT to the
        endpoint's address and port, with `forwarded: for=<client>`."""
        before = len(self.connects("ztunnel"))
        r = self.lab.client("--tcp", "20", "--bulk", str(1 << 20), target="10.96.0.40")
        self.assertEqual(r["failures"], [], r)
        self.assertEqual((r["tcp"], r["bulk"]), ({"mesh-1c-1": 20}, "mesh-1c-1"), r)
        tunnels = [c for c in self.connects("ztunnel")[before:] if c["authority"] == "10.20.0.31:9080" and c["forwarded"]]
        self.assertEqual(len(tunnels), 21, tunnels)
        self.assertEqual({c["forwarded"] for c in tunnels}, {f"for={self.lab.client_address}"})
        self.assertEqual({c["client"] for c in tunnels}, {MESHGATE_ID})
        gateway = self.hbone_stats()["gateway"]
        self.assertEqual(gateway["listeners"], 3, gateway)  # lab/gw, lab/via-waypoint, lab/via-remote-waypoint
        self.assertGreaterEqual(gateway["connections"], 21, gateway)
        # A port the service does not have is still refused.
        r = self.lab.client("--refused-port", "9999", target="10.96.0.40")
        self.assertEqual(r["refused_port"], "refused", r)

    def test_n_gateway_role_goes_through_the_waypoint(self):
        """A forwarding = "hbone" service with a waypoint: each plain TCP connection becomes a
        CONNECT to the endpoint the live plan's gateway → waypoint hop names, on its 15008, with
        the VIP:port dialled as :authority; the service's own endpoint is never dialled directly."""
        plan = self.lab.ctl("plan", "--service", "lab/via-waypoint")["services"][0]
        self.assertEqual([h["hop"] for h in plan["hops"]], ["waypoint", "backend"], plan)
        waypoints = {e["address"] for level in plan["hops"][0]["levels"] for e in level["endpoints"]}
        self.assertEqual(waypoints, {"10.20.0.31"}, plan)
        before = len(self.connects("ztunnel"))
        r = self.lab.client("--tcp", "20", "--bulk", str(1 << 20), target="10.96.0.41")
        self.assertEqual(r["failures"], [], r)
        # The stand-in waypoint sent every connection to mesh-1c-1, not to the service's east-1a-1.
        self.assertEqual((r["tcp"], r["bulk"]), ({"mesh-1c-1": 20}, "mesh-1c-1"), r)
        tunnels = [c for c in self.connects("ztunnel")[before:] if c["authority"] == WAYPOINT_VIP]
        self.assertEqual(len(tunnels), 21, self.connects("ztunnel")[before:])
        self.assertEqual({c["forwarded"] for c in tunnels}, {f"for={self.lab.client_address}"})
        self.assertEqual({c["client"] for c in tunnels}, {MESHGATE_ID})

    def test_o_gateway_role_reaches_a_waypoint_on_another_network(self):
        """The waypoint's endpoint is on net-2: each plain TCP connection becomes an outer CONNECT
        to net-2's east-west gateway (pooled) and, inside it, a TLS connection of its own to the
        waypoint with one CONNECT; both name the service, the inner one says where it came from."""
        plan = self.lab.ctl("plan", "--service", "lab/via-remote-waypoint")["services"][0]
        self.assertEqual([h["hop"] for h in plan["hops"]], ["waypoint", "backend"], plan)
        before_outer, before_inner = len(self.connects("eastwest")), len(self.connects("ztunnel"))
        pool = self.hbone_stats()["pool"]
        r = self.lab.client("--tcp", "20", "--bulk", str(1 << 20), target="10.96.0.42")
        self.assertEqual(r["failures"], [], r)
        self.assertEqual((r["tcp"], r["bulk"]), ({"mesh-1c-1": 20}, "mesh-1c-1"), r)
        outer = [c for c in self.connects("eastwest")[before_outer:] if c["authority"] == REMOTE_WAYPOINT_NAME]
        inner = [c for c in self.connects("ztunnel")[before_inner:] if c["authority"] == REMOTE_WAYPOINT_NAME]
        self.assertEqual((len(outer), len(inner)), (21, 21), (outer, inner))
        self.assertEqual({(c["client"], c["x_forwarded_network"]) for c in outer}, {(MESHGATE_ID, "")}, outer)
        self.assertEqual({(c["client"], c["x_forwarded_network"], c["forwarded"]) for c in inner},
                         {(MESHGATE_ID, "net-1", f"for={self.lab.client_address}")}, inner)
        self.assertEqual(len({c["remote"] for c in inner}), 21, inner)  # one inner connection each
        after = self.hbone_stats()["pool"]
        self.assertEqual(after["double_hbone_streams"] - pool["double_hbone_streams"], 21, (pool, after))

    def test_z_keepalive_closes_a_silent_client(self):
        """PING every 10 s after 10 s; unanswered for 20 s, the connection is closed (§8.2)."""
        out, _ = self.silent.communicate(timeout=max(1, 60 - (time.time() - self.silent_started)))
        r = json.loads(out)
        self.assertGreaterEqual(r["pings"], 1, r)
        self.assertIsNotNone(r["closed_after"], f"a client that never answered a PING is still connected: {r}")
        self.assertGreaterEqual(r["closed_after"], 29, r)  # 10 s before the first PING, 20 s without its ACK
        self.assertLessEqual(r["closed_after"], 35, r)
        self.assertGreaterEqual(self.hbone_stats()["keepalive_timeouts"], 1)

    def test_g_counters_and_metrics(self):
        s = self.hbone_stats()
        self.assertGreater(s["tunnels"], 0)
        self.assertGreater(s["streams"], 1000)
        self.assertGreater(s["bytes_from_upstream"], 8 << 20)
        self.assertEqual(s["identities"], [MESHGATE_ID])
        text = self.lab.ctl("stats", "--prometheus", json_output=False).stdout
        self.assertIn("meshgate_hbone_streams_total", text)
        promtool = shutil.which("promtool")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class GatewayIpv6Test(unittest.TestCase):
    """The gateway role on an IPv6 VIP, in a dual-stack lab: meshgated gives the kernel the VIP,
    the data plane passes its TCP port on, the proxy accepts there and tunnels over IPv4 to the
    endpoint's ztunnel, with the client's IPv6 address bracketed and quoted in `forwarded`."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mg-hbone6-")
        cls.certs, cls.peer = prepare_peers(cls.work)
        cls.lab = meshlab.Lab(BUILD, ENDPOINTS, port_type=PORT_TYPE, arms=ARMS, ipv6=True,
                              extra_config=hbone_config(cls.certs) + gateway_service("gw6", "fd96::40"), workdir=os.path.join(cls.work, "lab"))
        try:
            cls.lab.open()
            serve(cls.lab, cls.work, cls.peer, cls.certs, "ztunnel", "10.20.0.31:15008")
        except BaseException:
            cls.lab.close()
            raise

    @classmethod
    def tearDownClass(cls):
        close(cls.lab, cls.work)

    def test_plain_tcp_to_an_ipv6_vip_is_tunnelled(self):
        r = self.lab.client("--tcp", "20", "--bulk", str(1 << 20), target="fd96::40")
        self.assertEqual(r["failures"], [], r)
        self.assertEqual((r["tcp"], r["bulk"]), ({"mesh-1c-1": 20}, "mesh-1c-1"), r)
        tunnels = connects(self.work, "ztunnel")
        self.assertEqual(len(tunnels), 21, tunnels)
        self.assertEqual({c["authority"] for c in tunnels}, {"10.20.0.31:9080"})
        self.assertEqual({c["forwarded"] for c in tunnels}, {f'for="[{self.lab.client_address6}]"'})
        self.assertGreaterEqual(self.lab.ctl("stats")["hbone"]["gateway"]["connections"], 21)


if __name__ == "__main__":
    # Further arguments (after the port type) select tests, as unittest's own.
    unittest.main(argv=[sys.argv[0], "-v"] + [a for a in sys.argv[2:] if a not in meshlab.PORT_TYPES and a != "one-arm"])
