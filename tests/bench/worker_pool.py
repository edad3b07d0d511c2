#!/usr/bin/env python3
"""The worker pool's costs at start, at rest and under a connect wave.

usage: tests/bench/worker_pool.py [--reps N] [--clients K] [--rates "0 2000"]
                                  [--max-connections M] BIN [BIN...]

For each wsrelay binary given (e.g. main's and this tree's build/bin/wsrelay),
REPS times, the binaries taking turns so that a change of the machine's load
falls on all of them alike, with server.max_connections M (default 12000):

  ready_ms    from exec to the first HTTP answer on the WebSocket port
              (READY=1 on $NOTIFY_SOCKET, which main() sends after
              mg_start returned, is printed beside it as notify_ms)
  idle_rss    resident memory and threads of the idle server, 1 s after ready
  stop_ms     from SIGTERM to exit, no client ever connected
  connect     K idle clients opened by build/bin/wsrelay-bench --idle at each
              connect rate given (0: all at once, which overflows the listen
              backlog into SYN retries: a test of how fast the accept loop
              drains it; 2000: S4's pace), each on a fresh server: connects
              per second, the
              server's CPU-seconds for the wave (steadier than its length on
              a shared machine), and its threads and memory with them all
              open

A benchmark, never a test: it prints figures (one JSON line per run, then
medians), and asserts nothing. Env: WSRELAY_BENCH (default
build/bin/wsrelay-bench).
"""
import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.environ.get("WSRELAY_BENCH", os.path.join(ROOT, "build/bin/wsrelay-bench"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    return out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 40000) if hard != resource.RLIM_INFINITY else 40000
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


class Server:
    def __init__(self, binary, max_connections, workdir):
        self.port = free_port()
        cfg = os.path.join(workdir, f"wsrelay-{self.port}.yaml")
        with open(cfg, "w") as f:
            f.write(
                f"""server:
  listen: "127.0.0.1:{self.port}"
  websocket_path: "/ws"
  document_root: ""
  max_connections: {max_connections}
  max_message_bytes: 1048576
limits:
  max_connections_per_address: 0
  handshakes_per_address_per_second: 0
metrics:
  enabled: false
logging:
  level: "warn"
"""
            )
        self.notify_path = os.path.join(workdir, f"notify-{self.port}")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "--config-file", cfg], env=env, preexec_fn=raise_nofile,
            stderr=subprocess.DEVNULL)

    def http_answer(self):
        """True once the server answered an HTTP request on its port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.")
        except OSError:
            return False

    def wait_ready(self, deadline_s=120):
        """(ms to the first HTTP answer, ms to READY=1)."""
        ready_ms = None
        while ready_ms is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            if time.monotonic() - self.t0 > deadline_s:
                raise RuntimeError("server not ready")
            if self.http_answer():
                ready_ms = (time.monotonic() - self.t0) * 1000
            else:
                time.sleep(0.001)
        notify_ms = None
        self.notify.settimeout(deadline_s)
        while notify_ms is None:
            # Read after the first answer: when READY=1 came earlier,
            # this is an upper bound.
            if b"READY=1" in self.notify.recv(4096):
                notify_ms = (time.monotonic() - self.t0) * 1000
        return ready_ms, notify_ms

    def stop(self):
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.notify.close()
        os.unlink(self.notify_path)
        return (time.monotonic() - t) * 1000, rc


def run_idle(binary, m, workdir):
    srv = Server(binary, m, workdir)
    ready_ms, notify_ms = srv.wait_ready()
    time.sleep(1.0)
    st = proc_status(srv.proc.pid)
    stop_ms, rc = srv.stop()
    return {"ready_ms": round(ready_ms, 1), "notify_ms": round(notify_ms, 1),
            "idle_rss_kb": st["VmRSS"], "idle_threads": st["Threads"],
            "stop_ms": round(stop_ms, 1), "exit": rc}


def run_connect(binary, m, clients, rate, workdir):
    srv = Server(binary, m, workdir)
    srv.wait_ready()
    time.sleep(1.0)
    out = subprocess.run(
        [BENCH, "--port", str(srv.port), "--idle", str(clients), "--hold", "2",
         "--connect-rate", str(rate), "--server-pid", str(srv.proc.pid)],
        capture_output=True, text=True, preexec_fn=raise_nofile, check=False)
    stop_ms, rc = srv.stop()
    try:
        r = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"wsrelay-bench: {out.stderr.strip()}")
    server = r.get("server", {})
    out = {"connected": r["connected"], "connect_s": r["connect_s"],
           "connects_per_s": round(r["connected"] / r["connect_s"]) if r["connect_s"] else None,
           "connect_cpu_s": server.get("connect_cpu_s"),
           "threads_with_clients": server.get("threads"), "rss_with_clients_kb": server.get("rss_kb"),
           "stop_with_clients_ms": round(stop_ms, 1), "exit_after_clients": rc}
    return {f"{k}@{rate}": v for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--rates", default="0 2000", help="connect rates, one wave each")
    ap.add_argument("--max-connections", type=int, default=12000)
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    raise_nofile()
    results = {b: [] for b in a.binaries}
    with tempfile.TemporaryDirectory(prefix="wsrelay-pool.") as workdir:
        for rep in range(a.reps):
            for b in a.binaries:
                r = run_idle(b, a.max_connections, workdir)
                for rate in (a.rates.split() if a.clients > 0 else []):
                    r.update(run_connect(b, a.max_connections, a.clients, int(rate), workdir))
                r.update(binary=b, rep=rep, loadavg=os.getloadavg()[0])
                print(json.dumps(r), flush=True)
                results[b].append(r)
    print("medians:")
    for b, runs in results.items():
        keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float)) and k != "rep"]
        med = {k: statistics.median(r[k] for r in runs if r.get(k) is not None) for k in keys}
        print(f"  {b}: " + ", ".join(f"{k}={med[k]:g}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
