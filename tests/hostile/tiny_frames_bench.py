#!/usr/bin/python3
"""A measurement, not a test: the relay's CPU time per MiB received, for
6-byte frames against 64 KiB binary messages (relayed to nobody: a lone
client, echo_to_sender off). CPU time is the relay process's user + system
time from /proc/PID/stat. Prints each figure, the ratio of CPU per byte
(tiny / large) of each run, and the median ratio over the runs:

    tests/hostile/tiny_frames_bench.py --relay build/bin/wsrelay [--seconds 5]
        [--runs 3] [--kinds continuation,pong,ping]

Kinds of 6-byte frame (the cheapest a client can send: a 2-byte header, a
4-byte mask, no payload): "continuation", empty continuations of a message
that never ends (they reach the application's data handler); "pong",
unsolicited empty pongs (CivetWeb drops them); "ping", empty pings (each one
is answered: a pong queued on the client's outbox, coalesced while one is
waiting). The client drains whatever the relay writes back. Quote ratios
taken in the same run, with the load average printed beside them.
"""
import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, HERE)
from relay_proc import start_relay, stop  # noqa: E402
from hostile_test import HEAD, http_status, masked_frame  # noqa: E402

# Enough frames per sendall that Python's own cost per call stays small.
TINY_PER_WRITE = 65536


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def run(relay, port, first, chunk, seconds):
    """Sends first, then chunk over and over for seconds; returns (MiB sent,
    the relay's CPU seconds over that time)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(HEAD)
    if http_status(s)[0] != 101:
        sys.exit("no upgrade")
    reader = threading.Thread(target=drain, args=(s,), daemon=True)
    reader.start()
    s.sendall(first)
    sent = 0
    cpu0 = cpu_seconds(relay.pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(chunk)
        sent += len(chunk)
    # Until the relay has read it all: its CPU stops rising.
    cpu = cpu_seconds(relay.pid)
    while True:
        time.sleep(0.3)
        now = cpu_seconds(relay.pid)
        if now - cpu < 0.02:
            break
        cpu = now
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    reader.join()
    return sent / (1 << 20), cpu - cpu0


def tiny_workload(kind):
    if kind == "continuation":
        return masked_frame(0x2, b"", fin=False), masked_frame(0x0, b"", fin=False) * TINY_PER_WRITE
    if kind == "pong":
        return b"", masked_frame(0xA, b"") * TINY_PER_WRITE
    if kind == "ping":
        return b"", masked_frame(0x9, b"") * TINY_PER_WRITE
    sys.exit(f"unknown kind {kind!r} (continuation, pong, ping)")


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--kinds", default="continuation,pong")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    workloads = [(f"6-byte {k}s", *tiny_workload(k)) for k in kinds]
    big = ("64 KiB frames", b"", masked_frame(0x2, os.urandom(65536)) * 16)
    ratios = {name: [] for name, _, _ in workloads}
    with tempfile.TemporaryDirectory(prefix="wsrelay-tiny-") as tmp:
        relay, port, _ = start_relay(args.relay, tmp, "tiny",
                                     "relay:\n  echo_to_sender: false\n")
        try:
            for r in range(args.runs):
                print(f"run {r + 1}: load average {loadavg()}")
                # The large frames first and last: the tiny kinds are each
                # compared with their mean, taken around them.
                rates = {}
                for name, first, chunk in [big] + workloads + [big]:
                    mib, cpu = run(relay, port, first, chunk, args.seconds)
                    rate = mib / cpu if cpu else float("inf")
                    rates.setdefault(name, []).append(rate)
                    print(f"  {name}: {mib:.0f} MiB in {cpu:.2f} CPU-s: {rate:.0f} MiB per CPU-second")
                large = statistics.mean(rates[big[0]])
                for name, _, _ in workloads:
                    ratios[name].append(large / rates[name][0])
                    print(f"  ratio (CPU per byte, {name} / 64 KiB frames): {ratios[name][-1]:.1f}x")
            print(f"load average at the end {loadavg()}")
            for name, values in ratios.items():
                print(f"median ratio, {name}: {statistics.median(values):.1f}x over {len(values)} run(s)")
        finally:
            stop(relay)


if __name__ == "__main__":
    main()
