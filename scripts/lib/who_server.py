#!/usr/bin/python3
"""An endpoint for meshgate's labs: answers every TCP line and UDP datagram with its name.

TCP: reads one line, replies "<name> <line>" and closes. UDP: replies "<name> <datagram>".
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
    p.add_argument("--bind", default="0.0.0.0")
    a = p.parse_args()
    name = a.name.encode()

    class Tcp(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline()
            self.wfile.write(name + b" " + line)

    class Udp(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            sock.sendto(name + b" " + data, self.client_address)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer.request_queue_size = 512
    tcp = socketserver.ThreadingTCPServer((a.bind, a.port), Tcp)
    if a.udp_port:
        udp = socketserver.UDPServer((a.bind, a.udp_port), Udp)
        threading.Thread(target=udp.serve_forever, daemon=True).start()
    tcp.serve_forever()


if __name__ == "__main__":
    main()
