#!/usr/bin/python3
"""The address-based rules against a real relay, over raw sockets from
several loopback addresses:

- server.trusted_proxies: from a trusted peer the client is the last
  untrusted X-Forwarded-For entry (limits.max_connections_per_address: 1
  makes it visible: a second client under the same forwarded address gets
  429 with Retry-After, another forwarded address does not); from an
  untrusted peer the header is ignored; a malformed one from a trusted peer
  gets 400; the refusals are counted by reason;
- metrics.bearer_token_file: the metrics path answers 401 without the token
  or with a wrong one, 200 with it; /healthz needs none;
- metrics.allowed_networks: a peer outside it is closed at accept.
"""
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "hostile"))
from hostile_test import http_status  # noqa: E402
from relay_proc import DEADLINE, start_relay, stop, wait_until  # noqa: E402

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def handshake(port, source, xff=None):
    """Returns (status, head, socket); the socket stays open."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(DEADLINE)
    s.connect(("127.0.0.1", port))
    extra = f"X-Forwarded-For: {xff}\r\n" if xff is not None else ""
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    status, head = http_status(s)
    return status, head, s


def expect(port, source, xff, status, what, keep):
    got, head, s = handshake(port, source, xff)
    if got != status:
        fail(f"{what}: HTTP {got}, expected {status}:\n{head}")
    if status == 429 and "Retry-After: " not in head:
        fail(f"{what}: 429 without Retry-After:\n{head}")
    keep.append(s)
    print(f"ok: {what}: {status}")


def get(url, token=None, source="127.0.0.1"):
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=DEADLINE) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="wsrelay-limits-") as tmp:
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w", encoding="ascii") as f:
            f.write("  s3cret-token \n")
        yaml = ('  trusted_proxies: ["127.0.0.2", "10.9.0.0/16"]\n'
                "limits:\n  max_connections_per_address: 1\n  handshakes_per_address_per_second: 0\n")
        metrics = f'  allowed_networks: ["127.0.0.1"]\n  bearer_token_file: "{token_file}"\n'
        relay, port, mport = start_relay(binary, tmp, "limits", yaml, metrics_extra=metrics)
        keep = []
        try:
            expect(port, "127.0.0.2", "192.0.2.1", 101, "first client behind the proxy", keep)
            expect(port, "127.0.0.2", "192.0.2.1", 429, "second client with the same address", keep)
            expect(port, "127.0.0.2", "192.0.2.2", 101, "another forwarded address", keep)
            # The last entry is a trusted proxy of ours: the one before it is the client.
            expect(port, "127.0.0.2", "192.0.2.3, 10.9.1.1", 101, "through two trusted proxies", keep)
            expect(port, "127.0.0.2", "192.0.2.3", 429, "the same client directly behind the first", keep)
            # Spoofed entries left of an untrusted one do not count.
            expect(port, "127.0.0.2", "192.0.2.1, 192.0.2.4", 101, "the last untrusted entry wins", keep)
            expect(port, "127.0.0.2", "192.0.2.1, not-an-address", 400, "malformed X-Forwarded-For", keep)
            # From an untrusted peer the header means nothing.
            expect(port, "127.0.0.3", "192.0.2.9", 101, "an untrusted peer", keep)
            expect(port, "127.0.0.3", "192.0.2.10", 429, "an untrusted peer's header ignored", keep)

            url = f"http://127.0.0.1:{mport}/metrics"
            if get(url)[0] != 401 or get(url, "wrong")[0] != 401 or get(url, "s3cret-token ")[0] != 401:
                fail("/metrics without the right token did not answer 401")
            status, text = get(url, "s3cret-token")
            if status != 200:
                fail(f"/metrics with the token answered {status}")
            print("ok: /metrics needs the bearer token (401 without, 200 with)")
            if get(f"http://127.0.0.1:{mport}/healthz")[0] != 200:
                fail("/healthz asked for a token")
            print("ok: /healthz needs none")
            want = {'wsrelay_rejected_handshakes_total{reason="address_limit"} 3',
                    'wsrelay_rejected_handshakes_total{reason="bad_request"} 1'}
            # Counted on the relay's threads: waited for, not read once.
            missing = []

            def counted():
                missing[:] = [w for w in want if w not in get(url, "s3cret-token")[1]]
                return not missing
            wait_until(counted)
            if missing:
                fail(f"refusals not counted: {missing}")
            print("ok: refusals counted by reason")

            s = socket.socket()
            s.bind(("127.0.0.4", 0))
            s.settimeout(DEADLINE)
            s.connect(("127.0.0.1", mport))
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                got = s.recv(100)
            except OSError:
                got = b""
            if got:
                fail(f"a peer outside metrics.allowed_networks got an answer: {got!r}")
            print("ok: a peer outside metrics.allowed_networks is closed unanswered")
        finally:
            for s in keep:
                s.close()
            stop(relay)
        if relay.returncode != 0:
            with open(os.path.join(tmp, "relay-limits.log"), encoding="utf-8", errors="replace") as f:
                fail(f"the relay exited with {relay.returncode}:\n{f.read()[-3000:]}")
    print("PASS")


if __name__ == "__main__":
    main()
