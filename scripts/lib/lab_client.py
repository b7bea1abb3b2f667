#!/usr/bin/python3
"""The lab's client: N TCP connections (and UDP exchanges) to a VIP, each checked byte for byte.

Prints a JSON report: how many went to each endpoint name, and every failure.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# Every (protocol, client address, client port) used: the kernel may give a closed socket's
# port to a later one, so a test that counts meshgate's new flows compares with this number.
FLOWS = set()
# With --tuples: every TCP connection's client address and port, and the endpoint that answered.
TUPLES = []


def tcp_once(vip, port, i, timeout):
    payload = os.urandom(24).hex() + f"-{i}"
    with socket.create_connection((vip, port), timeout=timeout) as s:
        local = s.getsockname()
        FLOWS.add(("tcp",) + local[:2])
        s.sendall(payload.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    name, _, echoed = data.decode().rstrip("\n").partition(" ")
    if echoed != payload:
        raise ValueError(f"connection {i}: sent {payload!r}, got back {data!r}")
    TUPLES.append(list(local[:2]) + [name])
    return name


def echo_once(vip, port, payload, timeout, chunk=None, pace=0.0):
    """Sends `payload` after "ECHO <n>" (in `chunk`-byte pieces `pace` seconds apart, when
    given) and checks that exactly it comes back. Returns the endpoint's name."""
    import threading
    with socket.create_connection((vip, port), timeout=timeout) as s:
        FLOWS.add(("tcp",) + s.getsockname()[:2])
        s.sendall(f"ECHO {len(payload)}\n".encode())
        received = bytearray()

        def reader():
            while True:
                data = s.recv(65536)
                if not data:
                    return
                received.extend(data)

        t = threading.Thread(target=reader)
        t.start()
        step = chunk or len(payload)
        start = time.time()
        for i, offset in enumerate(range(0, len(payload), step)):
            s.sendall(payload[offset:offset + step])
            if pace:
                time.sleep(max(0.0, start + (i + 1) * pace - time.time()))
        s.shutdown(socket.SHUT_WR)
        t.join(timeout * 4)
    name, _, echoed = bytes(received).partition(b"\n")
    if hashlib.sha256(echoed).digest() != hashlib.sha256(payload).digest():
        raise ValueError(f"echo via {name!r}: sent {len(payload)} bytes, got {len(echoed)} back, not the same")
    return name.decode()


def bulk_once(vip, port, size, timeout):
    """`size` random bytes through one connection, as fast as it goes."""
    return echo_once(vip, port, os.urandom(size), timeout)


def stream_once(vip, port, seconds, timeout):
    """One long connection: 4 KiB every 10 ms for `seconds`."""
    return echo_once(vip, port, os.urandom(4096 * max(1, int(seconds * 100))), timeout, chunk=4096, pace=0.01)


def refused_once(vip, port, timeout):
    """A port the VIP does not serve: the connection must be refused (meshgate answers RST)."""
    try:
        socket.create_connection((vip, port), timeout=timeout).close()
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return f"failed: {e!r}"
    return "connected"


def udp_once(vip, port, i, timeout):
    payload = os.urandom(16).hex() + f"-{i}"
    with socket.socket(socket.AF_INET6 if ":" in vip else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        for attempt in range(3):
            s.sendto(payload.encode(), (vip, port))
            FLOWS.add(("udp",) + s.getsockname()[:2])
            try:
                data, _ = s.recvfrom(4096)
                break
            except socket.timeout:
                continue
        else:
            raise TimeoutError(f"datagram {i}: no answer")
    name, _, echoed = data.decode().partition(" ")
    if echoed != payload:
        raise ValueError(f"datagram {i}: sent {payload!r}, got back {data!r}")
    return name


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vip", required=True)
    p.add_argument("--tcp-port", type=int, required=True)
    p.add_argument("--udp-port", type=int, required=True)
    p.add_argument("--tcp", type=int, default=0)
    p.add_argument("--udp", type=int, default=0)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--bulk", type=int, default=0, help="bytes to echo through one connection")
    p.add_argument("--refused-port", type=int, help="a TCP port the VIP does not serve")
    p.add_argument("--streams", type=int, default=0, help="long connections streaming data, each checked")
    p.add_argument("--timeline", type=float, default=0,
                   help="seconds of back-to-back connections, one at a time: each one's start time and endpoint or failure")
    p.add_argument("--gap", type=float, default=0.005, help="seconds between --timeline connections")
    p.add_argument("--stream-seconds", type=float, default=10.0)
    p.add_argument("--tuples", action="store_true", help="report each TCP connection's client address, port and endpoint")
    a = p.parse_args()
    report = {"tcp": {}, "udp": {}, "failures": []}
    if a.bulk:
        try:
            report["bulk"] = bulk_once(a.vip, a.tcp_port, a.bulk, a.timeout)
        except Exception as e:
            report["failures"].append(f"bulk: {e!r}")
    if a.refused_port:
        report["refused_port"] = refused_once(a.vip, a.refused_port, a.timeout)
    start = time.time()
    if a.timeline:
        report["timeline"] = []
        i = 0
        while time.time() - start < a.timeline:
            t = time.time()
            try:
                report["timeline"].append([t, tcp_once(a.vip, a.tcp_port, i, a.timeout)])
            except Exception as e:
                report["timeline"].append([t, f"failed: {e!r}"])
            i += 1
            time.sleep(a.gap)
    if a.streams:
        report["streams"] = {}
        with ThreadPoolExecutor(a.streams) as pool:
            futures = [pool.submit(stream_once, a.vip, a.tcp_port, a.stream_seconds, a.timeout) for _ in range(a.streams)]
            for f in futures:
                try:
                    name = f.result()
                    report["streams"][name] = report["streams"].get(name, 0) + 1
                except Exception as e:
                    report["failures"].append(f"stream: {e!r}")
    with ThreadPoolExecutor(a.parallel) as pool:
        for kind, count, fn, port in (("tcp", a.tcp, tcp_once, a.tcp_port), ("udp", a.udp, udp_once, a.udp_port)):
            futures = [pool.submit(fn, a.vip, port, i, a.timeout) for i in range(count)]
            for f in futures:
                try:
                    name = f.result()
                    report[kind][name] = report[kind].get(name, 0) + 1
                except Exception as e:  # every failure is reported, none hides another
                    report["failures"].append(f"{kind}: {e!r}")
    report["flows"] = len(FLOWS)
    if a.tuples:
        report["tuples"] = TUPLES
    report["seconds"] = round(time.time() - start, 2)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
