#!/usr/bin/python3
"""An endpoint for meshgate's labs: answers every TCP line and UDP datagram with its name.

TCP: reads one line, replies "<name> <line>" and closes; a line "ECHO <n>" is followed by n
bytes, which come back after "<name>\n" (bulk transfers, checked byte for byte).
UDP: replies "<name> <datagram>".
"""
import argparse
import socket
import socketserver
import threading


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--udp-port", type=int)
    p.add_argument("--bind", default="::", help="an address; the default '::' takes IPv4 and IPv6")
    a = p.parse_args()
    name = a.name.encode()

    class Tcp(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline()
            if line.startswith(b"ECHO "):
                left = int(line.split()[1])
                self.wfile.write(name + b"\n")
                while left > 0:
                    chunk = self.rfile.read1(min(left, 65536))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
                return
            self.wfile.write(name + b" " + line)

    class Udp(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            sock.sendto(name + b" " + data, self.client_address)

    family = socket.AF_INET6 if ":" in a.bind else socket.AF_INET

    class TcpServer(socketserver.ThreadingTCPServer):
        address_family = family
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 512

    class UdpServer(socketserver.UDPServer):
        address_family = family

    # Linux's default for a '::' socket is dual-stack (IPV6_V6ONLY off): IPv4 clients arrive as
    # ::ffff:a.b.c.d.
    tcp = TcpServer((a.bind, a.port), Tcp)
    if a.udp_port:
        udp = UdpServer((a.bind, a.udp_port), Udp)
        threading.Thread(target=udp.serve_forever, daemon=True).start()
    tcp.serve_forever()


if __name__ == "__main__":
    main()
