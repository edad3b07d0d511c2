"""Running the real wsrelay binary from Python test scripts (tests/proxy/,
tests/docs/): free loopback ports, a config of its own, readiness through
/healthz, and a clean stop. The C tests have the same in relay_process.c."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

DEADLINE = 60  # seconds for anything to start; sanitizer builds are slow


def free_port():
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    """Until a TCP connect to 127.0.0.1:port succeeds; exits the test if proc
    dies first or DEADLINE passes."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"FAIL: {what} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"FAIL: {what} did not listen on {port} within {DEADLINE} s")


def start_relay(binary, tmp, tag, yaml_extra="", max_connections=64, metrics_extra=""):
    """Starts binary on fresh loopback ports with yaml_extra (top-level
    sections other than server.listen and metrics, whose keys go under
    "server:" when they start with two spaces; metrics_extra's keys go under
    "metrics:") and waits for /healthz 200.
    Returns (process, port, metrics_port); stderr goes to tmp/relay-TAG.log."""
    port, mport = free_port(), free_port()
    cfg = os.path.join(tmp, f"relay-{tag}.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(f'server:\n  listen: "127.0.0.1:{port}"\n  document_root: ""\n  max_connections: {max_connections}\n'
                f'{yaml_extra}metrics:\n  listen: "127.0.0.1:{mport}"\n{metrics_extra}'
                "shutdown:\n  timeout_seconds: 2\n")
    with open(os.path.join(tmp, f"relay-{tag}.log"), "w", encoding="utf-8") as log:
        proc = subprocess.Popen([binary, "--config-file", cfg], stderr=log)
    wait_port(port, proc, f"wsrelay ({tag})")
    end = time.monotonic() + DEADLINE
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/healthz", timeout=5) as r:
                if r.status == 200:
                    return proc, port, mport
        except OSError:
            pass
        if time.monotonic() > end or proc.poll() is not None:
            sys.exit(f"FAIL: wsrelay ({tag}): /healthz never answered 200")
        time.sleep(0.1)


def scrape(mport):
    """The relay's metrics as {"name{labels}": value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=DEADLINE) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def wait_until(check):
    """Polls check() every 50 ms until it returns something true, for up to
    DEADLINE; returns its last result. The relay counts and logs on its own
    threads, often just after what a client can see, so a value is waited
    for, never read once."""
    end = time.monotonic() + DEADLINE
    while True:
        got = check()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.05)


def wait_metric(mport, series, want):
    """The series' value once it is want, or its last value after DEADLINE
    (None when the scrape has no such line)."""
    last = [None]

    def check():
        last[0] = scrape(mport).get(series)
        return last[0] == want
    wait_until(check)
    return last[0]


def stop(proc):
    """SIGTERM, then SIGKILL after DEADLINE; None is fine."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def self_signed(tmp):
    """A fresh self-signed P-256 pair for localhost and 127.0.0.1, written to
    tmp/cert.pem and tmp/key.pem (the openssl command line makes it)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem"], check=True, capture_output=True)


def start_relay_every_family(binary, tmp, tag):
    """start_relay with TLS on the WebSocket listener and cluster mode on
    (towards a broker that is not there), so that a scrape shows every
    metric family the server can export."""
    self_signed(tmp)
    extra = (f"  tls: {{enabled: true, certificate: {tmp}/cert.pem, private_key: {tmp}/key.pem}}\n"
             "cluster:\n  enabled: true\n  url: \"redis://127.0.0.1:1\"\n")
    return start_relay(binary, tmp, tag, extra)
