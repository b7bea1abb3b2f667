#!/usr/bin/python3
"""Misbehaving HBONE clients for meshgate's proxy, on python3-h2 over Python's TLS (OpenSSL,
but an HTTP/2 stack we did not write). Each mode prints one JSON object.

  h2_bad_peer.py SERVER CERTS AUTHORITY flood N     N CONNECT streams at once, past the advertised limit
  h2_bad_peer.py SERVER CERTS AUTHORITY oversized   a CONNECT whose headers outgrow the advertised 64 KiB
  h2_bad_peer.py SERVER CERTS AUTHORITY slow SECS   sends to an echo for SECS seconds and never reads
  h2_bad_peer.py SERVER CERTS AUTHORITY silent SECS after its preface sends nothing (no PING ACK) for up to SECS

SERVER is host:port; CERTS the test PKI's directory (web.pem is the client's identity).
"""
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events


class Client:
    def __init__(self, server, certs):
        host, port = server.rsplit(":", 1)
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.check_hostname = False
        c.load_verify_locations(f"{certs}/ca.pem")
        c.load_cert_chain(f"{certs}/web.pem", f"{certs}/web.key")
        c.set_alpn_protocols(["h2"])
        self.sock = c.wrap_socket(socket.create_connection((host, int(port)), timeout=20))
        # A CONNECT has no :path: h2's outbound check would refuse what HBONE clients send.
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                                       validate_outbound_headers=False))
        self.h2.initiate_connection()
        self.flush()
        self.statuses, self.reset, self.data, self.terminated = {}, {}, {}, None

    def flush(self):
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)

    def read(self, ack=True, timeout=None):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(1 << 20)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        if not chunk:
            return False
        for e in self.h2.receive_data(chunk):
            if isinstance(e, h2.events.ResponseReceived):
                self.statuses[e.stream_id] = dict(e.headers).get(":status")
            elif isinstance(e, h2.events.StreamReset):
                self.reset[e.stream_id] = int(e.error_code)
            elif isinstance(e, h2.events.DataReceived):
                self.data[e.stream_id] = self.data.get(e.stream_id, 0) + len(e.data)
                if ack:
                    self.h2.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            elif isinstance(e, h2.events.ConnectionTerminated):
                self.terminated = int(e.error_code)
        self.flush()
        return True

    def connect(self, authority, extra=()):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, [(":method", "CONNECT"), (":authority", authority), *extra])
        return sid


def flood(c, authority, n):
    sids = [c.connect(authority) for _ in range(n)]
    c.flush()
    deadline = time.time() + 30
    while time.time() < deadline and not all(s in c.statuses or s in c.reset for s in sids):
        if not c.read(timeout=1):
            break
    limit = c.h2.remote_settings.max_concurrent_streams
    return {"limit": limit, "ok": sum(1 for s in sids if c.statuses.get(s) == "200"),
            "refused": sum(1 for s in sids if s in c.reset), "unanswered": sum(1 for s in sids if s not in c.statuses and s not in c.reset)}


def oversized(c, authority):
    sid = c.connect(authority, [("x-padding", "p" * (100 << 10))])
    closed = False
    try:
        c.flush()
        deadline = time.time() + 10
        while time.time() < deadline and sid not in c.statuses and sid not in c.reset and c.terminated is None:
            if not c.read(timeout=1):
                closed = True
                break
    except (OSError, ssl.SSLError):  # the server closed the connection while we wrote or read
        closed = True
    return {"status": c.statuses.get(sid), "reset": c.reset.get(sid), "goaway": c.terminated, "closed": closed}


def slow(c, authority, seconds):
    """Sends to the echo as fast as the windows allow; reads frames but never hands a window back."""
    sid = c.connect(authority)
    c.flush()
    while sid not in c.statuses and sid not in c.reset:
        if not c.read(ack=False, timeout=5):
            break
    if c.statuses.get(sid) != "200":
        return {"status": c.statuses.get(sid), "reset": c.reset.get(sid)}
    total = 1 << 30
    c.h2.send_data(sid, f"ECHO {total}\n".encode())
    sent, chunk, end = 0, b"s" * 16384, time.time() + seconds
    while time.time() < end:
        window = min(c.h2.local_flow_control_window(sid), c.h2.max_outbound_frame_size, len(chunk))
        if window > 0:
            c.h2.send_data(sid, chunk[:window])
            sent += window
            c.flush()
        elif not c.read(ack=False, timeout=0.2):
            break
    return {"status": "200", "sent": sent, "received": c.data.get(sid, 0)}


def silent(c, seconds):
    """Reads what the server sends but never answers: its PINGs go unacknowledged."""
    import h2.events as ev
    pings, start = 0, time.time()
    c.sock.settimeout(1)
    while time.time() - start < seconds:
        try:
            chunk = c.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            chunk = b""
        if not chunk:
            return {"closed_after": round(time.time() - start, 1), "pings": pings, "goaway": c.terminated}
        for e in c.h2.receive_data(chunk):  # h2 queues the ACKs; they are never sent
            if isinstance(e, ev.PingReceived):
                pings += 1
            elif isinstance(e, ev.ConnectionTerminated):
                c.terminated = int(e.error_code)
    return {"closed_after": None, "pings": pings, "goaway": c.terminated}


def main():
    server, certs, authority, mode = sys.argv[1:5]
    c = Client(server, certs)
    if mode == "flood":
        result = flood(c, authority, int(sys.argv[5]))
    elif mode == "oversized":
        result = oversized(c, authority)
    elif mode == "silent":
        result = silent(c, float(sys.argv[5]))
    else:
        result = slow(c, authority, float(sys.argv[5]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
