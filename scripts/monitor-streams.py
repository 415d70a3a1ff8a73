#!/usr/bin/env python3
"""Measures `ballast monitor`'s resident memory while many /api/events clients connect and after they leave.

Starts a memcached on a free loopback port and the built monitor over it (--listen 127.0.0.1:0), reads the monitor's
VmRSS, opens N event streams at once (raw sockets: GET /api/events, then wait for the first status event or the
refusal), reads VmRSS again, closes them all, and reads VmRSS 5 s and 20 s later. Prints one line per phase and how
many streams were served (200) and refused (503). Everything it starts is stopped at the end; only loopback is used.

Usage: scripts/monitor-streams.py [--streams N] [--cli PATH/TO/Ballast.Cli.dll] [--extra MONITOR-ARGS...]
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--waves", type=int, default=1, help="how many times the clients come and go")
    parser.add_argument("--cli", default=os.path.join(root, "src/Ballast.Cli/bin/Release/net10.0/Ballast.Cli.dll"))
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()

    port = free_port()
    memcached = subprocess.Popen(["memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", str(port), "-U", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    monitor = None
    sockets = []
    try:
        time.sleep(0.3)
        monitor = subprocess.Popen(["dotnet", args.cli, "monitor", "--servers", f"127.0.0.1:{port}", "--listen", "127.0.0.1:0", *args.extra],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = monitor.stdout.readline()
        address = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not address:
            sys.exit(f"the monitor did not say where it listens: {line!r}")
        web = int(address.group(1))
        time.sleep(3)
        print(f"idle: {rss_mb(monitor.pid):.0f} MB")

        for wave in range(args.waves):
            run_wave(args, web, monitor, sockets)
    finally:
        for s in sockets:
            s.close()
        if monitor is not None:
            monitor.terminate()
            monitor.wait(timeout=20)
        memcached.terminate()
        memcached.wait(timeout=10)


def run_wave(args, web, monitor, sockets):
        served = refused = 0
        for _ in range(args.streams):
            s = socket.create_connection(("127.0.0.1", web))
            s.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{web}\r\n\r\n".encode())
            sockets.append(s)
        deadline = time.time() + 60
        for s in sockets:
            s.settimeout(max(0.1, deadline - time.time()))
            try:
                head = s.recv(4096).decode("latin-1")
            except OSError:
                head = ""
            if " 200 " in head.split("\r\n", 1)[0]:
                served += 1
            elif " 503 " in head.split("\r\n", 1)[0]:
                refused += 1
        time.sleep(3)
        print(f"{args.streams} clients ({served} streams served, {refused} refused with 503): {rss_mb(monitor.pid):.0f} MB")

        for s in sockets:
            s.close()
        sockets.clear()
        for wait in (5, 15):
            time.sleep(wait)
            print(f"closed, {'5' if wait == 5 else '20'} s later: {rss_mb(monitor.pid):.0f} MB")


if __name__ == "__main__":
    main()
