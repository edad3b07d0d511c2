#!/usr/bin/python3
"""server.proxy_protocol against a real relay, over ws:// and wss://, from
several loopback addresses (127.0.0.2 is the trusted balancer, 127.0.0.3
an untrusted peer):

- version 1 and version 2 headers (IPv4, IPv6, with TLVs, sent whole with
  the request behind them or a byte at a time) name the client: a message
  goes round, the log line names the client "via" the balancer, and
  limits.max_connections_per_address: 1 counts the header's address (a
  second client with it gets 429, another address from the same balancer
  does not);
- LOCAL (v2) and UNKNOWN (v1) keep the balancer's own address;
- from the trusted peer: no header, a malformed one, a truncated one and a
  late one (past server.handshake_timeout_seconds) are closed without a
  byte, counted as reason="proxy_protocol";
- an untrusted peer sending a header is closed without a byte, counted as
  reason="proxy_untrusted"; one without a header is served as usual;
- the metrics port reads no header.
"""
import os
import socket
import ssl
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "hostile"))
from hostile_test import http_status, masked_frame  # noqa: E402
from relay_proc import DEADLINE, scrape, self_signed, start_relay, stop, wait_metric  # noqa: E402

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
BALANCER, STRANGER = "127.0.0.2", "127.0.0.3"


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def v1(src, sport=40000, proto="TCP4", dst="127.0.0.1"):
    return f"PROXY {proto} {src} {dst} {sport} 8443\r\n".encode()


def v2(src=None, sport=40000, tlvs=b"", command=0x21, fam=None):
    if src is None:
        body, fam = b"", 0x00 if fam is None else fam
    elif ":" in src:
        body = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, "::1")
                + struct.pack("!HH", sport, 8443))
        fam = 0x21 if fam is None else fam
    else:
        body = socket.inet_aton(src) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", sport, 8443)
        fam = 0x11 if fam is None else fam
    body += tlvs
    return V2_SIG + bytes([command, fam]) + struct.pack("!H", len(body)) + body


class Relay:
    def __init__(self, port, tls):
        self.port, self.tls = port, tls
        self.ctx = None
        if tls:
            self.ctx = ssl.create_default_context()
            self.ctx.check_hostname = False
            self.ctx.verify_mode = ssl.CERT_NONE

    def connect(self, source, header=b"", drip=False):
        """A TCP connection from source that sends header (a byte at a time
        with drip) and, for TLS, then does the TLS handshake."""
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(DEADLINE)
        s.connect(("127.0.0.1", self.port))
        if drip:
            for b in header:
                s.sendall(bytes([b]))
                time.sleep(0.01)
        elif header and self.tls:
            s.sendall(header)
        return s, header if not self.tls and not drip else b""

    def handshake(self, source, header=b"", drip=False):
        """Returns (status, head, socket) after a WebSocket request; the
        header goes out in the same segment as a plain request."""
        s, pending = self.connect(source, header, drip)
        if self.tls:
            s = self.ctx.wrap_socket(s)
        s.sendall(pending + REQUEST)
        status, head = http_status(s)
        return status, head, s


def closed_unanswered(s, what):
    try:
        got = s.recv(100)
    except (ConnectionResetError, ssl.SSLError):
        got = b""
    if got:
        fail(f"{what}: got an answer: {got!r}")
    print(f"ok: {what}: closed without a byte")


def expect(relay, source, header, status, what, keep, drip=False):
    got, head, s = relay.handshake(source, header, drip)
    if got != status:
        fail(f"{what}: HTTP {got}, expected {status}:\n{head}")
    keep.append(s)
    print(f"ok: {what}: {status}")
    return s


def round_trip(s, what):
    s.sendall(masked_frame(0x1, b"hello through the balancer"))
    data = b""
    while b"hello through the balancer" not in data:
        chunk = s.recv(4096)
        if not chunk:
            fail(f"{what}: closed before the echo")
        data += chunk
    print(f"ok: {what}: a message goes round")


def refused(relay, source, header, what, tls_handshake=False):
    """A connection that sends header (then, with tls_handshake, tries a TLS
    handshake or, plain, a request) and must be closed without a byte."""
    s, pending = relay.connect(source, header)
    try:
        if relay.tls and tls_handshake:
            try:
                relay.ctx.wrap_socket(s).close()
                fail(f"{what}: the TLS handshake succeeded")
            except (ssl.SSLError, OSError):
                print(f"ok: {what}: no TLS handshake")
                return
        s.sendall(pending + (REQUEST if not relay.tls else b""))
    except OSError:
        pass
    closed_unanswered(s, what)
    s.close()


def metric(mport, name):
    return scrape(mport).get(name, 0.0)


def run(binary, tmp, tls):
    tag = "wss" if tls else "ws"
    extra = (f'  trusted_proxies: ["{BALANCER}"]\n  proxy_protocol: true\n  handshake_timeout_seconds: 2\n')
    if tls:
        extra += f"  tls: {{enabled: true, certificate: {tmp}/cert.pem, private_key: {tmp}/key.pem}}\n"
    extra += "limits:\n  max_connections_per_address: 1\n  handshakes_per_address_per_second: 0\n"
    proc, port, mport = start_relay(binary, tmp, tag, extra)
    relay = Relay(port, tls)
    keep = []
    try:
        s = expect(relay, BALANCER, v1("192.0.2.1", 51001), 101, f"{tag}: v1 TCP4", keep)
        round_trip(s, f"{tag}: v1 TCP4")
        expect(relay, BALANCER, v1("192.0.2.1", 51002), 429, f"{tag}: v1, same client address again", keep)
        expect(relay, BALANCER, v1("2001:db8::7", 51003, "TCP6", "::1"), 101, f"{tag}: v1 TCP6", keep)
        s = expect(relay, BALANCER, v2("192.0.2.2", 51004), 101, f"{tag}: v2 IPv4", keep)
        round_trip(s, f"{tag}: v2 IPv4")
        expect(relay, BALANCER, v2("192.0.2.2", 51005), 429, f"{tag}: v2, same client address again", keep)
        expect(relay, BALANCER, v2("2001:db8:1::9", 51006), 101, f"{tag}: v2 IPv6", keep)
        tlvs = bytes([0x04, 0x00, 0x03]) + b"abc" + bytes([0x01, 0x00, 0x02]) + b"h2"
        s = expect(relay, BALANCER, v2("192.0.2.3", 51007, tlvs), 101, f"{tag}: v2 with TLVs", keep)
        round_trip(s, f"{tag}: v2 with TLVs")
        expect(relay, BALANCER, v1("192.0.2.4", 51008), 101, f"{tag}: v1 a byte at a time", keep, drip=True)
        # LOCAL and UNKNOWN: the balancer's own address, one client's worth.
        expect(relay, BALANCER, v2(command=0x20), 101, f"{tag}: v2 LOCAL (the balancer itself)", keep)
        expect(relay, BALANCER, b"PROXY UNKNOWN\r\n", 429, f"{tag}: v1 UNKNOWN, counted as the balancer", keep)
        expect(relay, STRANGER, b"", 101, f"{tag}: an untrusted peer without a header", keep)

        before = metric(mport, 'wsrelay_rejected_handshakes_total{reason="proxy_protocol"}')
        refused(relay, BALANCER, b"", f"{tag}: the balancer without a header", tls_handshake=True)
        refused(relay, BALANCER, b"PROXY TCP4 192.0.2.5 127.0.0.1 99999 8443\r\n",
                f"{tag}: a malformed v1 header", tls_handshake=True)
        refused(relay, BALANCER, V2_SIG + b"\x21\x11\x00\x04" + b"\x00" * 4,
                f"{tag}: a v2 header shorter than its addresses", tls_handshake=True)
        # Truncated: the balancer closes its side mid-header.
        s, _ = relay.connect(BALANCER, b"PROXY TCP4 192.0.2.6 ")
        s.sendall(b"PROXY TCP4 192.0.2.6 ") if not tls else None
        s.shutdown(socket.SHUT_WR)
        closed_unanswered(s, f"{tag}: a truncated header")
        s.close()
        # Late: half a header, then silence past handshake_timeout_seconds.
        s, _ = relay.connect(BALANCER, b"PROXY TCP4 192.0.2.7 ")
        s.sendall(b"PROXY TCP4 192.0.2.7 ") if not tls else None
        started = time.monotonic()
        closed_unanswered(s, f"{tag}: a header that never ends")
        print(f"ok: {tag}: cut after {time.monotonic() - started:.1f} s (handshake timeout 2 s)")
        s.close()
        # Counted on the relay's thread, maybe after the peer saw the close.
        after = wait_metric(mport, 'wsrelay_rejected_handshakes_total{reason="proxy_protocol"}', before + 5)
        if after - before != 5:
            fail(f"{tag}: proxy_protocol refusals counted {after - before}, expected 5")
        print(f"ok: {tag}: five refusals counted as proxy_protocol")

        refused(relay, STRANGER, v1("192.0.2.8"), f"{tag}: an untrusted peer sending v1", tls_handshake=True)
        refused(relay, STRANGER, v2("192.0.2.8"), f"{tag}: an untrusted peer sending v2", tls_handshake=True)
        # The signature in two pieces: the first is not enough to decide.
        s, _ = relay.connect(STRANGER)
        s.sendall(b"PROX")
        time.sleep(0.3)
        s.sendall(v1("192.0.2.9")[4:] + (REQUEST if not tls else b""))
        closed_unanswered(s, f"{tag}: an untrusted peer sending v1 in two pieces")
        s.close()
        untrusted = wait_metric(mport, 'wsrelay_rejected_handshakes_total{reason="proxy_untrusted"}', 3)
        if untrusted != 3:
            fail(f"{tag}: proxy_untrusted counted {untrusted}, expected 3")
        print(f"ok: {tag}: three refusals counted as proxy_untrusted")

        # The metrics port reads no header: a request with one is not HTTP.
        m = socket.create_connection(("127.0.0.1", mport), timeout=DEADLINE)
        m.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _ = http_status(m)
        m.close()
        if status != 200:
            fail(f"{tag}: /healthz without a header answered {status}")
        print(f"ok: {tag}: the metrics port takes no header")
    finally:
        for s in keep:
            s.close()
        stop(proc)
    log_path = os.path.join(tmp, f"relay-{tag}.log")
    with open(log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    if proc.returncode != 0:
        fail(f"{tag}: the relay exited with {proc.returncode}:\n{log[-3000:]}")
    for want in (f"client connected: 192.0.2.1:51001 via {BALANCER}:",
                 f"client connected: [2001:db8:1::9]:51006 via {BALANCER}:",
                 f"client connected: {BALANCER}:", "refused connection from 127.0.0.3:"):
        if want not in log:
            fail(f"{tag}: the log has no line with {want!r}:\n{log[-3000:]}")
    print(f"ok: {tag}: the log names the client via the balancer")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="wsrelay-proxyproto-") as tmp:
        self_signed(tmp)
        run(binary, tmp, tls=False)
        run(binary, tmp, tls=True)
    print("PASS")


if __name__ == "__main__":
    main()
