#!/usr/bin/python3
"""HBONE's CONNECT server session (src/hbone/connect_session) against python3-h2, an HTTP/2
implementation we did not write. The session runs in test/hbone/h2c_connect_server.cc over
plain TCP on 127.0.0.1 (the TLS layer has its own tests); its upstreams are real TCP
connections to an echo server this test runs on loopback.

Checks: the settings of istio-semantics.md §8.2; 200 and bytes both ways with half-close;
8 MiB each way through one stream (twice the stream window: flow control must hand windows
back); 50 streams at once; 400, 401 and 503 as §8.5; a peer that sends garbage gets GOAWAY;
streams reset after their answer are served on, a Rapid Reset flood is sent away.
argv: the h2c_connect_server binary. Bounded in time; everything it starts is stopped.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

SERVER = os.path.abspath(sys.argv[1])
ALLOWED = "spiffe://cluster.local/ns/shop/sa/web"
DENIED = "spiffe://cluster.local/ns/other/sa/x"


class EchoServer:
    """TCP echo on 127.0.0.1; half-closes its side once the client's is closed and echoed."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def serve(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    conn.shutdown(socket.SHUT_WR)
                    return
                conn.sendall(data)

    def close(self):
        self.stop = True
        self.sock.close()


class Client:
    """An h2 client connection (prior knowledge) to the test server."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        # h2 4.1 wants :path in every request; an RFC 9113 §8.5 CONNECT has none: its outbound
        # header validation is off, so the frames are exactly what HBONE clients send.
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                                       validate_outbound_headers=False))
        self.h2.initiate_connection()
        self.flush()
        self.remote_settings = {}
        self.responses, self.data, self.ended, self.reset = {}, {}, set(), set()
        self.terminated = None

    def flush(self):
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self, until, limit=2000):
        """Reads and handles events until `until()` holds."""
        for _ in range(limit):
            if until():
                return
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            for e in self.h2.receive_data(chunk):
                if isinstance(e, h2.events.RemoteSettingsChanged):
                    self.remote_settings.update({k: v.new_value for k, v in e.changed_settings.items()})
                elif isinstance(e, h2.events.ResponseReceived):
                    self.responses[e.stream_id] = dict(e.headers)
                elif isinstance(e, h2.events.DataReceived):
                    self.data.setdefault(e.stream_id, bytearray()).extend(e.data)
                    self.h2.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                elif isinstance(e, h2.events.StreamEnded):
                    self.ended.add(e.stream_id)
                elif isinstance(e, h2.events.StreamReset):
                    self.reset.add(e.stream_id)
                elif isinstance(e, h2.events.ConnectionTerminated):
                    self.terminated = e
            self.flush()
        raise AssertionError("no progress")

    def connect(self, authority, end_stream=False):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, [(":method", "CONNECT"), (":authority", authority),
                                   ("forwarded", 'for="10.0.0.1:40000"'), ("traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")],
                             end_stream=end_stream)
        self.flush()
        return sid

    def status(self, sid):
        self.pump(lambda: sid in self.responses or sid in self.reset)
        return self.responses.get(sid, {}).get(":status")

    def send(self, sid, payload, end=False):
        """Sends `payload` as the windows allow, reading (and acknowledging) meanwhile."""
        view = memoryview(payload)
        while view:
            window = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if window == 0:
                self.pump(lambda: self.h2.local_flow_control_window(sid) > 0)
                continue
            self.h2.send_data(sid, bytes(view[:window]))
            view = view[window:]
            self.flush()
        if end:
            self.h2.end_stream(sid)
            self.flush()

    def close(self):
        self.sock.close()


class ConnectSession(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = EchoServer()
        cls.dir = tempfile.TemporaryDirectory()
        config = os.path.join(cls.dir.name, "hbone.toml")
        with open(config, "w") as f:
            f.write(f"""[node]
name = "waypoint-1"
cluster = "cluster-1"
network = "net-1"
region = "us-east"
zone = "us-east-1a"

[[service]]
name = "web"
namespace = "shop"
vips = ["10.96.0.10"]
ports = [{{ port = 80, target_port = {cls.echo.port} }}, {{ port = 81, target_port = 1 }}]

[[service]]
name = "open"
namespace = "shop"
vips = ["10.96.0.11"]
ports = [{{ port = 80, target_port = {cls.echo.port} }}]

[[endpoint]]
service = "shop/web"
address = "127.0.0.1"
locality = {{ network = "net-1", region = "us-east", zone = "us-east-1a" }}

[[endpoint]]
service = "shop/open"
address = "127.0.0.1"
locality = {{ network = "net-1", region = "us-east", zone = "us-east-1a" }}

[hbone]
ca_bundle = "unused-here.pem"
cert = "unused-here.pem"
key = "unused-here.key"
[[hbone.authorization]]
service = "shop/web"
allow = ["spiffe://cluster.local/ns/shop/sa/*"]
""")
        cls.servers = {}
        for identity in (ALLOWED, DENIED):
            p = subprocess.Popen([SERVER, config, identity], stdout=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            if not line.startswith("port "):
                p.kill()
                raise RuntimeError(f"h2c_connect_server did not start: {line!r}")
            cls.servers[identity] = (p, int(line.split()[1]))

    @classmethod
    def tearDownClass(cls):
        for p, _ in cls.servers.values():
            p.kill()
            p.wait(timeout=10)
        cls.echo.close()
        cls.dir.cleanup()

    def client(self, identity=ALLOWED):
        c = Client(self.servers[identity][1])
        self.addCleanup(c.close)
        return c

    def test_settings_are_those_of_ztunnel(self):
        c = self.client()
        c.pump(lambda: h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in c.remote_settings)
        s = c.remote_settings
        self.assertEqual(s[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS], 200)
        self.assertEqual(s[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE], 4 << 20)
        self.assertEqual(s[h2.settings.SettingCodes.MAX_FRAME_SIZE], 1 << 20)
        self.assertEqual(s[h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE], 64 << 10)

    def test_connect_splices_bytes_both_ways_and_honours_half_close(self):
        c = self.client()
        sid = c.connect("10.96.0.10:80")
        self.assertEqual(c.status(sid), "200")
        c.send(sid, b"hello through the tunnel")
        c.pump(lambda: bytes(c.data.get(sid, b"")) == b"hello through the tunnel")
        c.send(sid, b" and goodbye", end=True)
        c.pump(lambda: sid in c.ended)
        self.assertEqual(bytes(c.data[sid]), b"hello through the tunnel and goodbye")

    def test_eight_mebibytes_each_way_through_one_stream(self):
        c = self.client()
        sid = c.connect("10.96.0.10:80")
        self.assertEqual(c.status(sid), "200")
        payload = os.urandom(8 << 20)
        c.send(sid, payload, end=True)
        c.pump(lambda: sid in c.ended, limit=100000)
        self.assertEqual(len(c.data[sid]), len(payload))
        self.assertTrue(bytes(c.data[sid]) == payload, "echoed byte-exact")

    def test_fifty_streams_at_once(self):
        c = self.client()
        sids = [c.connect("10.96.0.10:80") for _ in range(50)]
        for i, sid in enumerate(sids):
            c.send(sid, f"stream {i}".encode(), end=True)
        c.pump(lambda: all(s in c.ended for s in sids), limit=10000)
        self.assertEqual({c.responses[s][":status"] for s in sids}, {"200"})
        self.assertEqual([bytes(c.data[s]) for s in sids], [f"stream {i}".encode() for i in range(50)])

    def test_answers_of_the_server_side_rules(self):
        c = self.client()
        get = c.h2.get_next_available_stream_id()
        c.h2.send_headers(get, [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "10.96.0.10:80")],
                          end_stream=True)
        c.flush()
        self.assertEqual(c.status(get), "400", "not CONNECT")
        self.assertEqual(c.status(c.connect("10.96.0.10", end_stream=True)), "400", "no port")
        self.assertEqual(c.status(c.connect("10.96.0.99:80", end_stream=True)), "503", "no such service")
        self.assertEqual(c.status(c.connect("10.96.0.10:81", end_stream=True)), "503", "the upstream refuses the connection")
        denied = self.client(DENIED)
        self.assertEqual(denied.status(denied.connect("10.96.0.10:80", end_stream=True)), "401")
        sid = denied.connect("10.96.0.11:80")
        self.assertEqual(denied.status(sid), "200", "a service without rules admits the trust domain")

    def test_a_peer_that_breaks_the_protocol_gets_goaway_and_the_close(self):
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")  # and empty SETTINGS
        data_on_stream_0 = bytes.fromhex("000004000100000000") + b"oops"
        for garbage in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00" * 64, preface + data_on_stream_0):
            sock = socket.create_connection(("127.0.0.1", self.servers[ALLOWED][1]), timeout=10)
            self.addCleanup(sock.close)
            sock.sendall(garbage)
            received = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            # The server's SETTINGS, then a GOAWAY frame (type 7) with PROTOCOL_ERROR (1), then the close.
            frames, i = {}, 0
            while i + 9 <= len(received):
                length = int.from_bytes(received[i:i + 3], "big")
                frames[received[i + 3]] = received[i + 9:i + 9 + length]
                i += 9 + length
            self.assertIn(7, frames, f"frame types {list(frames)}")
            self.assertEqual(int.from_bytes(frames[7][4:8], "big"), 1, "PROTOCOL_ERROR")
        # The server serves on.
        c = self.client()
        self.assertEqual(c.status(c.connect("10.96.0.10:80", end_stream=True)), "200")

    def test_tunnels_the_client_resets_after_their_answer_are_served_on(self):
        # Go's HTTP/2 client resets (CANCEL) a stream it is done with before the server's
        # END_STREAM: 2,000 of those, more than nghttp2's default allowance (1,000 resets, then
        # 33 a second) in the few seconds this takes.
        c = self.client()
        for _ in range(20):
            sids = [c.connect("10.96.0.10:80") for _ in range(100)]
            c.pump(lambda: all(s in c.responses for s in sids), limit=10000)
            self.assertEqual({c.responses[s][":status"] for s in sids}, {"200"})
            for sid in sids:
                c.h2.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            c.flush()
        sid = c.connect("10.96.0.10:80")
        c.send(sid, b"still here", end=True)
        c.pump(lambda: sid in c.ended, limit=10000)
        self.assertEqual(bytes(c.data[sid]), b"still here")
        self.assertIsNone(c.terminated)

    def test_a_client_that_resets_its_requests_before_their_answer_is_sent_away(self):
        # Rapid Reset (CVE-2023-44487): each CONNECT reset at once, before its upstream could
        # connect; 100 at a time, within the concurrent stream limit.
        c = self.client()
        for _ in range(6):
            for _ in range(100):
                sid = c.connect("10.96.0.10:80")
                c.h2.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            c.flush()
        c.pump(lambda: c.terminated is not None, limit=10000)
        self.assertEqual(c.terminated.error_code, h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
        # Others are served on.
        other = self.client()
        self.assertEqual(other.status(other.connect("10.96.0.10:80", end_stream=True)), "200")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
