#!/usr/bin/python3
"""A measurement, not a test: the relay's CPU time per MiB received, for
6-byte frames (empty continuations of a message that never ends, the
cheapest frame a client can send) against 64 KiB binary messages (relayed to
nobody: a lone client, echo_to_sender off). Prints both and their ratio:

    tests/hostile/tiny_frames_bench.py --relay build/bin/wsrelay [--seconds 5]
"""
import argparse
import os
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, HERE)
from relay_proc import start_relay, stop  # noqa: E402
from hostile_test import HEAD, http_status, masked_frame  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(relay, port, first, chunk, seconds):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(HEAD)
    if http_status(s)[0] != 101:
        sys.exit("no upgrade")
    s.sendall(first)
    sent = 0
    cpu0 = cpu_seconds(relay.pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(chunk)
        sent += len(chunk)
    # Until the relay has read it all: its CPU stops rising.
    time.sleep(0.5)
    cpu = cpu_seconds(relay.pid) - cpu0
    s.close()
    return sent / (1 << 20), cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    start = masked_frame(0x2, b"", fin=False)
    tiny = masked_frame(0x0, b"", fin=False) * 65536
    big = masked_frame(0x2, os.urandom(65536)) * 16
    with tempfile.TemporaryDirectory(prefix="wsrelay-tiny-") as tmp:
        relay, port, _ = start_relay(args.relay, tmp, "tiny",
                                     "relay:\n  echo_to_sender: false\n")
        try:
            results = {}
            for name, first, chunk in (("6-byte frames", start, tiny), ("64 KiB frames", b"", big)):
                mib, cpu = run(relay, port, first, chunk, args.seconds)
                results[name] = mib / cpu if cpu else float("inf")
                print(f"{name}: {mib:.0f} MiB in {cpu:.2f} CPU-s: {results[name]:.0f} MiB per CPU-second")
            print(f"ratio (CPU per byte, tiny / large): "
                  f"{results['64 KiB frames'] / results['6-byte frames']:.1f}x")
        finally:
            stop(relay)


if __name__ == "__main__":
    main()
