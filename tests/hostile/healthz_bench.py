#!/usr/bin/python3
"""A measurement, not a test: how /healthz answers while 1000 idle
connections (reopened when dropped) sit on the metrics port, or 300 idle and
100 dripping ones (--attack metrics_slowloris). Probes every 200 ms for
--seconds and prints the answered share and latencies. Run it against two
binaries to compare (docs/security.md has the figures):

    tests/hostile/healthz_bench.py --relay /path/to/wsrelay [--attack ...]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, HERE)
from relay_proc import start_relay, stop  # noqa: E402
from hostile_test import probe  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--attack", default="metrics_idle_1000")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsrelay-healthz-") as tmp:
        relay, port, mport = start_relay(args.relay, tmp, "bench")
        try:
            child = subprocess.Popen([sys.executable, os.path.join(HERE, "hostile_test.py"),
                                      "--attacker", args.attack, "--port", str(port), "--mport",
                                      str(mport), "--duration", str(args.seconds + 3)],
                                     stdout=subprocess.DEVNULL)
            time.sleep(2)  # the sockets open
            results = []
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                results.append(probe(mport))
                time.sleep(0.2)
            child.wait()
        finally:
            stop(relay)
    ok = sorted(ms for status, ms in results if status == 200)
    print(f"{args.attack}: {len(ok)}/{len(results)} probes answered 200 within 2 s", end="")
    if ok:
        print(f"; p50 {ok[len(ok) // 2]:.1f} ms, p99 {ok[min(len(ok) - 1, int(len(ok) * 0.99))]:.1f} ms, "
              f"max {ok[-1]:.1f} ms")
    else:
        print()


if __name__ == "__main__":
    main()
