#!/usr/bin/python3
"""Runs the example reverse-proxy configurations of conf/ (nginx or HAProxy,
plain pass-through and TLS terminated at the proxy) for real, on loopback, in
front of a real relay, and checks through each:

- a broadcast: two clients connected through the proxy both get a text and a
  binary message one of them sent, byte for byte;
- that the relay sees the client's address, not the proxy's: the clients
  connect from CLIENT_ADDR, the relay trusts the proxy (127.0.0.1, in
  server.trusted_proxies), and its log names CLIENT_ADDR as the client, via
  the proxy, from the X-Forwarded-For the example file sets;
- that the proxy's idle timeout outlives the relay's ping interval: a client
  that sends nothing stays connected for several proxy timeouts, kept alive
  by the relay's pings alone. To keep CI fast, the example file's timeouts
  (75 s, against the relay's default ping interval of 30 s) are scaled down
  to PROXY_TIMEOUT s against a ping interval of PING s, the same ratio; and a
  control run with the relay's pings off shows that the proxy does cut an
  idle client after its timeout, so the check can fail. --full runs the
  unscaled case instead: 75 s proxy timeout, default 30 s pings, 70 s idle.
- HAProxy only: conf/haproxy/wsrelay-tcp.cfg, a TCP balancer that passes
  wss:// through and names each client with the PROXY protocol, run once
  with send-proxy-v2 (as written) and once with send-proxy (version 1)
  against a relay with server.proxy_protocol: true. Through it, a broadcast
  reaches both clients; the relay's log names CLIENT_ADDR via the proxy;
  and limits.max_connections_per_address: 2 counts CLIENT_ADDR, not the
  proxy: a third client from it gets 429, one from OTHER_ADDR does not.

The example files are used as written except for the substitutions in
render(), each of which must match (a changed example fails the test rather
than being skipped). Traffic stays on 127.0.0.1; every port is picked free.
"""
import argparse
import asyncio
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
from relay_proc import DEADLINE, free_port, self_signed, start_relay, stop, wait_port  # noqa: E402

PING = 2
PROXY_TIMEOUT = 5  # 75 / 30 = 2.5 = PROXY_TIMEOUT / PING
IDLE = 3 * PROXY_TIMEOUT
CLIENT_ADDR = "127.0.0.5"  # the clients' source address; the proxy reaches the relay from 127.0.0.1
OTHER_ADDR = "127.0.0.6"  # another client, for the per-address limit


def substitute(text, old, new, what):
    if old not in text:
        sys.exit(f"FAIL: {what}: the example no longer contains {old!r}")
    return text.replace(old, new)


def example_timeout(text):
    """The idle timeout the example file sets, in seconds."""
    m = re.search(r"(?:proxy_read_timeout|timeout tunnel) (\d+)s", text)
    if not m:
        sys.exit("FAIL: no proxy_read_timeout / timeout tunnel in the example")
    return int(m.group(1))


def render(proxy, tls, tmp, port, relay_port, metrics_port, timeout):
    name = {"nginx": "nginx/wsrelay", "haproxy": "haproxy/wsrelay"}[proxy]
    path = os.path.join(SOURCE, "conf", name + ("-tls" if tls else "") + (".conf" if proxy == "nginx" else ".cfg"))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    what = os.path.relpath(path, SOURCE)
    full_timeout = example_timeout(text)
    text = substitute(text, f" {full_timeout}s", f" {timeout}s", what)
    text = substitute(text, " 127.0.0.1:8443", f" 127.0.0.1:{relay_port}", what)
    if proxy == "nginx":
        outer = "443 ssl" if tls else "80"
        text = substitute(text, f"listen {outer};", f"listen 127.0.0.1:{port}{' ssl' if tls else ''};", what)
        text = substitute(text, f"listen [::]:{outer};", "", what)
        if tls:
            text = substitute(text, "/etc/ssl/wsrelay/fullchain.pem", f"{tmp}/cert.pem", what)
            text = substitute(text, "/etc/ssl/wsrelay/privkey.pem", f"{tmp}/key.pem", what)
        conf = os.path.join(tmp, "nginx.conf")
        with open(os.path.join(tmp, "site.conf"), "w", encoding="utf-8") as f:
            f.write(text)
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
        cmd = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", tmp, "-c", conf, "-e", "stderr"]
    else:
        if tls:
            text = substitute(text, "bind :443 ssl crt /etc/haproxy/certs/wsrelay.pem",
                              f"bind 127.0.0.1:{port} ssl crt {tmp}/combined.pem", what)
        else:
            text = substitute(text, "bind :80", f"bind 127.0.0.1:{port}", what)
        text = substitute(text, "check port 9090", f"check port {metrics_port}", what)
        conf = os.path.join(tmp, "haproxy.cfg")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(text)
        cmd = [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", conf]
    check = subprocess.run(cmd + (["-t"] if proxy == "nginx" else ["-c"]), capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"FAIL: {proxy} refuses {what}:\n{check.stdout}{check.stderr}")
    return cmd, full_timeout


async def connect(url, ctx, source=CLIENT_ADDR):
    """Connects through the proxy; retried while the proxy's health check has
    not yet seen the relay up (HAProxy answers 503 until then)."""
    end = time.monotonic() + DEADLINE
    while True:
        try:
            # ping_interval=None: the client itself never pings, so only the
            # relay's pings (answered automatically) cross the proxy.
            return await websockets.connect(url, ssl=ctx, ping_interval=None, open_timeout=DEADLINE,
                                            close_timeout=5, max_size=None,
                                            local_addr=(source, 0))
        except (OSError, websockets.exceptions.InvalidStatusCode, websockets.exceptions.InvalidMessage):
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


async def broadcast(url, ctx, label):
    a = await connect(url, ctx)
    b = await connect(url, ctx)
    text = f"hello through {label}"
    blob = bytes(range(256)) * 4
    await a.send(text)
    await a.send(blob)
    for who, ws in (("sender", a), ("other", b)):
        got = [await asyncio.wait_for(ws.recv(), DEADLINE) for _ in range(2)]
        if got != [text, blob]:
            sys.exit(f"FAIL: {label}: the {who} got {got!r:.200}")
    print(f"ok: {label}: broadcast of {text!r} and {len(blob)} binary bytes reached both clients")
    return a, b


async def stays_idle(ws, url_label, idle):
    """The client sends nothing for idle seconds and must still be connected,
    then still relay a message."""
    try:
        await asyncio.wait_for(ws.wait_closed(), idle)
        sys.exit(f"FAIL: {url_label}: an idle client was cut after less than {idle} s "
                 f"(close code {ws.close_code}); the proxy timeout does not outlive the pings")
    except asyncio.TimeoutError:
        pass
    await ws.send("still here")
    if await asyncio.wait_for(ws.recv(), DEADLINE) != "still here":
        sys.exit(f"FAIL: {url_label}: no echo after the idle period")
    print(f"ok: {url_label}: a client idle for {idle} s stayed connected (relay pings every "
          f"{PING if idle == IDLE else 30} s)")


async def cut_when_unpinged(ws, label, timeout):
    """Control: with the relay's pings off, the proxy must end the idle
    client, at the earliest after its timeout."""
    start = time.monotonic()
    try:
        await asyncio.wait_for(ws.wait_closed(), timeout + DEADLINE)
    except asyncio.TimeoutError:
        sys.exit(f"FAIL: {label}: without pings the proxy kept an idle client past {timeout + DEADLINE} s: "
                 "the idle check above proves nothing")
    took = time.monotonic() - start
    if took < timeout - 1:
        sys.exit(f"FAIL: {label}: the idle client was cut after {took:.1f} s, before the proxy's {timeout} s")
    print(f"ok: {label}: control: with the relay's pings off the proxy cut the idle client after {took:.1f} s")


def keepalive(ping):
    return (f"  ping_interval_seconds: {ping}\n  idle_timeout_seconds: 300\n"
            '  trusted_proxies: ["127.0.0.1"]\n')


def sees_client_address(tmp, label):
    """The relay's log names the client's own address, forwarded by the proxy."""
    with open(os.path.join(tmp, "relay-main.log"), encoding="utf-8", errors="replace") as f:
        log = f.read()
    want = f"client connected: {CLIENT_ADDR} via 127.0.0.1:"
    if want not in log:
        sys.exit(f"FAIL: {label}: the relay did not see the client's address {CLIENT_ADDR} "
                 f"through the proxy (no {want!r} in its log)")
    print(f"ok: {label}: the relay counts the client as {CLIENT_ADDR} (X-Forwarded-For), not the proxy")


async def run_case(args, proxy, tls, tmp):
    label = f"{proxy} {'TLS-terminating (wss://)' if tls else 'pass-through (ws://)'}"
    timeout = 75 if args.full else PROXY_TIMEOUT
    ping = 30 if args.full else PING
    relay, rport, mport = start_relay(args.relay, tmp, "main", keepalive(ping))
    relay_off = None
    proxies = []
    try:
        port = free_port()
        cmd, full_timeout = render(proxy, tls, tmp, port, rport, mport, timeout)
        defaults = subprocess.run([args.relay, "--check-config"], capture_output=True, text=True).stdout
        default_ping = int(re.search(r"ping_interval_seconds: (\d+)", defaults).group(1))
        if full_timeout <= default_ping:
            sys.exit(f"FAIL: {label}: the example's timeout {full_timeout} s does not outlive the "
                     f"relay's default ping interval {default_ping} s")
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, f"{proxy}.log"), "w"))
        proxies.append(p)
        wait_port(port, p, proxy)
        ctx = None
        if tls:
            ctx = ssl.create_default_context(cafile=os.path.join(tmp, "cert.pem"))
        url = f"{'wss' if tls else 'ws'}://{'localhost' if tls else '127.0.0.1'}:{port}/ws"
        a, b = await broadcast(url, ctx, label)
        sees_client_address(tmp, label)
        await b.close()
        await stays_idle(a, label, 70 if args.full else IDLE)
        await a.close()
        if args.full:
            return
        # The control: the same proxy file in front of a relay without pings.
        stop(p)
        relay_off, rport2, mport2 = start_relay(args.relay, tmp, "nopings", keepalive(0))
        port2 = free_port()
        cmd2, _ = render(proxy, tls, tmp, port2, rport2, mport2, timeout)
        p2 = subprocess.Popen(cmd2, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, f"{proxy}-2.log"), "w"))
        proxies.append(p2)
        wait_port(port2, p2, proxy)
        url2 = f"{'wss' if tls else 'ws'}://{'localhost' if tls else '127.0.0.1'}:{port2}/ws"
        c = await connect(url2, ctx)
        await cut_when_unpinged(c, label, timeout)
    finally:
        for p in proxies:
            stop(p)
        stop(relay)
        stop(relay_off)


def render_tcp(tmp, port, relay_port, metrics_port, version):
    """conf/haproxy/wsrelay-tcp.cfg on this test's ports, with send-proxy-v2
    as written (version 2) or send-proxy (version 1)."""
    path = os.path.join(SOURCE, "conf", "haproxy", "wsrelay-tcp.cfg")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    what = os.path.relpath(path, SOURCE)
    text = substitute(text, "bind :443", f"bind 127.0.0.1:{port}", what)
    text = substitute(text, " 127.0.0.1:8443", f" 127.0.0.1:{relay_port}", what)
    text = substitute(text, "check port 9090", f"check port {metrics_port}", what)
    if version == 1:
        text = substitute(text, " send-proxy-v2 ", " send-proxy ", what)
    conf = os.path.join(tmp, f"haproxy-tcp-v{version}.cfg")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(text)
    cmd = [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", conf]
    check = subprocess.run(cmd + ["-c"], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"FAIL: haproxy refuses {what}:\n{check.stdout}{check.stderr}")
    return cmd


async def refused_with(url, ctx, source, status, label):
    """One handshake through the proxy from source, which must get status."""
    try:
        ws = await websockets.connect(url, ssl=ctx, open_timeout=DEADLINE, local_addr=(source, 0))
    except websockets.exceptions.InvalidStatusCode as e:
        if e.status_code != status:
            sys.exit(f"FAIL: {label}: HTTP {e.status_code}, expected {status}")
        print(f"ok: {label}: a third client from {source} got {status} (its own address is counted)")
        return
    await ws.close()
    sys.exit(f"FAIL: {label}: a third client from {source} got in past max_connections_per_address: 2")


async def run_tcp_case(args, tmp, version):
    label = f"haproxy TCP, send-proxy{'-v2' if version == 2 else ''} (wss:// end to end)"
    extra = ('  trusted_proxies: ["127.0.0.1"]\n  proxy_protocol: true\n'
             f"  tls: {{enabled: true, certificate: {tmp}/cert.pem, private_key: {tmp}/key.pem}}\n"
             "limits:\n  max_connections_per_address: 2\n  handshakes_per_address_per_second: 0\n")
    relay, rport, mport = start_relay(args.relay, tmp, "main", extra)
    proxy = None
    try:
        port = free_port()
        cmd = render_tcp(tmp, port, rport, mport, version)
        proxy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp, f"haproxy-tcp-v{version}.log"), "w"))
        wait_port(port, proxy, "haproxy")
        ctx = ssl.create_default_context(cafile=os.path.join(tmp, "cert.pem"))
        url = f"wss://localhost:{port}/ws"
        a, b = await broadcast(url, ctx, label)
        with open(os.path.join(tmp, "relay-main.log"), encoding="utf-8", errors="replace") as f:
            log = f.read()
        if not re.search(rf"client connected: {re.escape(CLIENT_ADDR)}:\d+ via 127\.0\.0\.1:\d+", log):
            sys.exit(f"FAIL: {label}: the relay did not log {CLIENT_ADDR} via the proxy:\n{log[-2000:]}")
        if "refused connection from" in log:
            sys.exit(f"FAIL: {label}: the relay refused one of the proxy's connections:\n{log[-2000:]}")
        print(f"ok: {label}: the relay logs the client as {CLIENT_ADDR} via the proxy (PROXY header)")
        await refused_with(url, ctx, CLIENT_ADDR, 429, label)
        c = await connect(url, ctx, OTHER_ADDR)
        print(f"ok: {label}: a client from {OTHER_ADDR} still gets in")
        for ws in (a, b, c):
            await ws.close()
    finally:
        stop(proxy)
        stop(relay)
    if relay.returncode != 0:
        sys.exit(f"FAIL: {label}: the relay exited with {relay.returncode}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True, help="the wsrelay binary")
    ap.add_argument("--proxy", required=True, choices=["nginx", "haproxy"])
    ap.add_argument("--full", action="store_true", help="unscaled timeouts: 75 s proxy, 30 s pings, 70 s idle")
    ap.add_argument("--only", choices=["plain", "tls", "tcp"], help="run one of the forms (tcp: HAProxy only)")
    args = ap.parse_args()
    if not (shutil.which(args.proxy) or os.path.exists(f"/usr/sbin/{args.proxy}")):
        sys.exit(f"FAIL: {args.proxy} is not installed (.ci/install-deps --test installs it)")
    forms = ["plain", "tls"] + (["tcp-v2", "tcp-v1"] if args.proxy == "haproxy" and not args.full else [])
    for form in forms:
        if args.only and args.only != form.split("-")[0]:
            continue
        tls = form == "tls"
        with tempfile.TemporaryDirectory(prefix=f"wsrelay-{args.proxy}-") as tmp:
            self_signed(tmp)
            with open(f"{tmp}/combined.pem", "w", encoding="utf-8") as out:
                for part in ("cert.pem", "key.pem"):
                    with open(f"{tmp}/{part}", encoding="utf-8") as f:
                        out.write(f.read())
            try:
                if form.startswith("tcp"):
                    asyncio.run(run_tcp_case(args, tmp, int(form[-1])))
                else:
                    asyncio.run(run_case(args, args.proxy, tls, tmp))
            except SystemExit:
                for log in sorted(os.listdir(tmp)):
                    if log.endswith(".log"):
                        with open(os.path.join(tmp, log), encoding="utf-8", errors="replace") as f:
                            tail = f.read()[-2000:]
                        if tail:
                            print(f"--- {log}:\n{tail}", file=sys.stderr)
                raise
    print("PASS")


if __name__ == "__main__":
    main()
