#!/usr/bin/python3
"""The hostile-load suite: one attack against a real relay that also serves
HONEST subscribers and a steady publisher, and both halves checked:

- the attack is contained: refused (HTTP 429), closed, or counted, as the
  attack's check says, with the relay's own counters;
- the honest clients lose nothing (every subscriber gets every message the
  publisher sent, in order), and their p99 latency while under attack stays
  within 3x of the same run's baseline (measured first, without the attack).

Timing: the p99 bound is asserted only when HOSTILE_TIMING=1 (the Release
build's ctest sets it); under the sanitizers (5-20x slower, and TSan
serialising much of the relay) the p99 is printed but not asserted, while
loss and containment are. The baseline's p99 is floored at FLOOR_MS, since
a loopback p99 of a few milliseconds is below the shared machine's noise.

Attackers run in a child process (this script with --attacker), so their
work never delays the honest clients' event loop, and from their own
loopback addresses (127.0.0.2 and up) as different client addresses would.
Traffic stays on 127.0.0.0/8; ports are picked free.
"""
import argparse
import asyncio
import json
import os
import resource
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
from relay_proc import DEADLINE, scrape, start_relay, stop, wait_until  # noqa: E402

HONEST = 50
PUBLISH_EVERY = 0.02  # s: 50 messages a second
BASELINE_S = 3.0
ATTACK_S = 6.0
# The CI machine has 2 shared cores: with other suites running (load 8),
# quiet runs' p99 swung between 7 and 35 ms with no attack at all.
FLOOR_MS = 50.0
HANDSHAKE_TIMEOUT = 2
# Bounded memory: queues, assemblers and stacks of the attack's sockets,
# well under what an unbounded buffer of its traffic would take.
# Under TSan the relay's resident memory also holds the shadow (several
# times what the program touches) and a record per synchronisation object,
# so its build raises the bound (HOSTILE_MEMORY_BOUND_MIB).
MEMORY_BOUND_MIB = int(os.environ.get("HOSTILE_MEMORY_BOUND_MIB", "256"))

# The relay every attack runs against: the limits on, small enough to be
# reached by a test, and the honest traffic (50 messages a second of ~40
# bytes from one publisher) well inside them.
RELAY_YAML = (f"  handshake_timeout_seconds: {HANDSHAKE_TIMEOUT}\n"
              "limits:\n"
              "  max_connections_per_address: 60\n"
              "  handshakes_per_address_per_second: 20\n"
              "  messages_per_second: 200\n"
              "  bytes_per_second: 262144\n"
              "  on_rate_exceeded: \"{mode}\"\n")


def fail(msg):
    sys.exit(f"FAIL: {msg}")


# ---- the honest clients ----

class Honest:
    """HONEST subscribers and one publisher on 127.0.0.1. Every message is
    "seq sent_ns"; each subscriber records its latencies by send time."""

    def __init__(self, port):
        self.url = f"ws://127.0.0.1:{port}/ws"
        self.sent = []  # (seq, sent_ns)
        self.lat = [[] for _ in range(HONEST)]  # per subscriber: (sent_ns, latency_ns)
        self.seqs = [[] for _ in range(HONEST)]
        self.stop = asyncio.Event()

    async def subscriber(self, i, ws):
        async for m in ws:
            now = time.monotonic_ns()
            if not isinstance(m, str):
                continue  # an attacker's message, relayed to everyone
            seq, sent = (int(x) for x in m.split())
            self.seqs[i].append(seq)
            self.lat[i].append((sent, now - sent))

    async def run(self, started):
        subs = []
        # Each from an address of its own (127.0.1.x), as real subscribers
        # would be: the per-address limits are not theirs to meet.
        for i in range(HONEST):
            subs.append(await websockets.connect(self.url, ping_interval=None, max_size=None,
                                                 open_timeout=DEADLINE,
                                                 local_addr=(f"127.0.1.{i + 1}", 0)))
        pub = await websockets.connect(self.url, ping_interval=None, open_timeout=DEADLINE,
                                       local_addr=("127.0.1.200", 0))
        tasks = [asyncio.create_task(self.subscriber(i, ws)) for i, ws in enumerate(subs)]
        drain = asyncio.create_task(self.drain(pub))
        started.set()
        seq = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            sent = time.monotonic_ns()
            await pub.send(f"{seq} {sent}")
            self.sent.append((seq, sent))
            seq += 1
            next_at += PUBLISH_EVERY
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        # Every subscriber must get everything sent: wait, generously.
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and any(len(s) < seq for s in self.seqs):
            await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        drain.cancel()
        for ws in subs + [pub]:
            await ws.close()
        for i, s in enumerate(self.seqs):
            if s != list(range(seq)):
                missing = sorted(set(range(seq)) - set(s))
                fail(f"honest subscriber {i} got {len(s)} of {seq} messages "
                     f"(missing {missing[:10]}..., in order: {s == sorted(s)})")
        print(f"ok: {HONEST} honest subscribers each got all {seq} messages, in order")

    async def drain(self, ws):
        async for _ in ws:  # the publisher's echoes
            pass

    def p99_ms(self, start_ns, end_ns):
        lat = sorted(l for sub in self.lat for (sent, l) in sub if start_ns <= sent < end_ns)
        if not lat:
            fail("no honest message was sent in a measured phase")
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6


# ---- attacks, run in the child process ----

def rlimit_files(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, n), hard), hard))


def sock_from(addr, port, blocking=True):
    """A connection from addr; a non-blocking one is returned while its
    connect may still be under way (a full backlog would stall the attack)."""
    s = socket.socket()
    s.bind((addr, 0))
    if blocking:
        s.settimeout(DEADLINE)
        s.connect(("127.0.0.1", port))
    else:
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
    return s


HEAD = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def http_status(s):
    """Reads a response head; returns (status, headers text)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode(errors="replace")
    parts = head.split(" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), head


def masked_frame(opcode, payload, fin=True):
    mask = os.urandom(4)
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
        (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
    return head + mask + body


def upgraded(addr, port):
    s = sock_from(addr, port)
    s.sendall(HEAD)
    status, head = http_status(s)
    return s, status, head


def slowloris(addr, port, count, duration, report):
    """count sockets, each sending one more byte of a request head every 4 s,
    reopened when the relay closes them. Reports the longest life seen."""
    rlimit_files(count + 64)
    socks = {}
    longest = 0.0
    closed = 0
    end = time.monotonic() + duration
    tick = 0
    while time.monotonic() < end:
        while len(socks) < count:
            try:
                s = sock_from(addr, port, blocking=False)
            except OSError:
                break
            socks[s] = [time.monotonic(), 0]
        for s, st in list(socks.items()):
            alive = True
            try:
                if s.recv(1024, socket.MSG_DONTWAIT) == b"":
                    alive = False
            except BlockingIOError:
                pass
            except OSError:
                alive = False
            if alive and tick % 40 == 0:  # every 4 s: the next byte
                try:
                    s.send(HEAD[st[1]:st[1] + 1])
                    st[1] += 1
                except BlockingIOError:
                    pass  # still connecting: next time
                except OSError:
                    alive = False
            if not alive:
                longest = max(longest, time.monotonic() - st[0])
                closed += 1
                s.close()
                del socks[s]
        tick += 1
        time.sleep(0.1)
    now = time.monotonic()
    oldest_open = max((now - st[0] for st in socks.values()), default=0.0)
    for s in socks:
        s.close()
    report.update(closed=closed, longest_closed_s=round(longest, 2),
                  oldest_open_s=round(oldest_open, 2))


def idle_sockets(addr, port, count, duration, report):
    """count connections that send nothing, reopened when closed."""
    rlimit_files(count + 64)
    socks = []
    reopened = 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        keep = []
        for s in socks:
            try:
                if s.recv(1, socket.MSG_DONTWAIT) == b"":
                    s.close()
                    reopened += 1
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                reopened += 1
                continue
            keep.append(s)
        socks = keep
        while len(socks) < count:
            try:
                socks.append(sock_from(addr, port, blocking=False))
            except OSError:
                break
        time.sleep(0.2)
    for s in socks:
        s.close()
    report.update(reopened=reopened)


def attacker(args):
    report = {}
    port, mport, d = args.port, args.mport, args.duration
    a = args.attack
    if a == "ws_slowloris":
        slowloris("127.0.0.2", port, 500, d + 8, report)
    elif a == "metrics_slowloris":
        t = threading.Thread(target=idle_sockets, args=("127.0.0.4", mport, 300, d, {}))
        t.start()
        slowloris("127.0.0.3", mport, 100, d, report)
        t.join()
    elif a == "metrics_idle_1000":  # for healthz_bench.py, not a ctest
        idle_sockets("127.0.0.4", mport, 1000, d, report)
    elif a == "address_limit":
        held, statuses, retry = [], {}, 0
        for _ in range(100):
            s, status, head = upgraded("127.0.0.5", port)
            statuses[status] = statuses.get(status, 0) + 1
            retry += "Retry-After:" in head
            if status == 101:
                held.append(s)
            else:
                s.close()
            time.sleep(0.06)  # under the handshake rate: only the count limits
        report.update(statuses=statuses, retry_after=retry)
        time.sleep(max(0.0, d - 6))
        for s in held:
            s.close()
    elif a == "handshake_storm":
        statuses, retry = {}, 0
        end = time.monotonic() + d
        while time.monotonic() < end:
            s, status, head = upgraded("127.0.0.6", port)
            statuses[status] = statuses.get(status, 0) + 1
            retry += "Retry-After:" in head
            s.close()
        report.update(statuses=statuses, retry_after=retry)
    elif a in ("flood_close", "flood_drop"):
        # A publisher that reads what comes back (it is no slow consumer)
        # and sends 16 KiB messages back to back.
        s, status, _ = upgraded("127.0.0.7", port)
        payload = os.urandom(16384)
        frame = masked_frame(0x2, payload)
        tail = bytearray()

        def reader():
            try:
                while True:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    tail[:] = (bytes(tail) + chunk)[-64:]
            except OSError:
                pass

        r = threading.Thread(target=reader)
        r.start()
        sent = 0
        end = time.monotonic() + d
        try:
            while time.monotonic() < end:
                s.sendall(frame)
                sent += 1
        except OSError:
            pass
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        r.join(DEADLINE)
        report.update(status=status, sent=sent, rate_limit_close=b"rate limit" in bytes(tail))
        s.close()
    elif a == "ping_flood":
        s, status, _ = upgraded("127.0.0.8", port)
        ping = masked_frame(0x9, b"x" * 125)
        sent = 0
        end = time.monotonic() + d
        s.setblocking(False)
        while time.monotonic() < end:
            try:
                s.send(ping * 64)
                sent += 64
            except BlockingIOError:
                time.sleep(0.01)  # the attacker reads no pongs: its window fills
            except OSError:
                break
        report.update(status=status, pings=sent)
        s.close()
    elif a == "tiny_frames":
        s, status, _ = upgraded("127.0.0.9", port)
        # Continuations of one fragmented message that never ends: 6-byte
        # frames. The message starts once: a second start inside it would
        # be a protocol error, and the attack would be a close and the
        # relay's drain of the socket instead.
        s.sendall(masked_frame(0x2, b"", fin=False))
        frames = masked_frame(0x0, b"", fin=False) * 4096
        sent = 1
        closed = False
        end = time.monotonic() + d
        try:
            while time.monotonic() < end:
                s.sendall(frames)
                sent += 4096
        except OSError:
            closed = True
        report.update(status=status, frames=sent, closed_by_relay=closed)
        s.close()
    elif a == "mid_frame_stall":
        socks = []
        for _ in range(20):
            s, status, _ = upgraded("127.0.0.10", port)
            frame = masked_frame(0x2, b"y" * 1000)
            s.sendall(frame[:500])  # and nothing more
            socks.append(s)
        time.sleep(d)
        report.update(stalled=len(socks))
        for s in socks:
            s.close()
    elif a == "tiny_window":
        socks = []
        for _ in range(20):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.bind(("127.0.0.11", 0))
            s.settimeout(DEADLINE)
            s.connect(("127.0.0.1", port))
            s.sendall(HEAD)
            status, _ = http_status(s)
            socks.append(s)  # and never read again
        time.sleep(d)
        report.update(clients=len(socks))
        for s in socks:
            s.close()
    else:
        fail(f"unknown attack {a}")
    print(json.dumps(report))


# ---- the checks of each attack's containment ----

def rss_mib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class NotContained(Exception):
    """An attack's check failed (with the relay's counters as scraped)."""


def contained(attack, report, before, after):
    """What the attack's containment looks like, or NotContained."""
    def delta(key):
        return after.get(key, 0) - before.get(key, 0)

    if attack == "ws_slowloris":
        # Cut at the deadline (CivetWeb's poll waits at most the timeout),
        # plus the wait of those queued behind busy workers; the attack
        # lasts longer than this, so a socket never cut fails the check.
        limit = 2 * HANDSHAKE_TIMEOUT + 5
        if report["closed"] == 0 or report["oldest_open_s"] > limit:
            raise NotContained(f"slowloris: dripping handshakes not cut in time: {report}")
        if report["longest_closed_s"] > limit:
            raise NotContained(f"slowloris: a dripping handshake lived {report['longest_closed_s']} s "
                 f"(server.handshake_timeout_seconds {HANDSHAKE_TIMEOUT})")
        return (f"{report['closed']} dripping handshakes cut, the longest after "
                f"{report['longest_closed_s']} s")
    if attack == "metrics_slowloris":
        return f"{report['closed']} dripping requests cut on the metrics port"
    if attack == "address_limit":
        st = report["statuses"]
        if st.get("101", 0) != 60:
            raise NotContained(f"address limit: {st} (more than 60 accepted)")
        if st.get("429", 0) < 40 or report["retry_after"] < 40:
            raise NotContained(f"address limit: {st}, {report['retry_after']} with Retry-After")
        if delta('wsrelay_rejected_handshakes_total{reason="address_limit"}') < 40:
            raise NotContained("address limit: refusals not counted as reason=\"address_limit\"")
        return f"100 handshakes from one address: {st}, every 429 with Retry-After, counted"
    if attack == "handshake_storm":
        st = report["statuses"]
        ok = st.get("101", 0)
        # A burst of 40, then 20 a second.
        if ok > 40 + 20 * (ATTACK_S + 2) or st.get("429", 0) == 0:
            raise NotContained(f"handshake storm: {st}")
        if delta('wsrelay_rejected_handshakes_total{reason="handshake_rate"}') != st.get("429", 0):
            raise NotContained("handshake storm: refusals not counted as reason=\"handshake_rate\"")
        return f"handshake storm: {st} (at most 40 + 20/s accepted), counted"
    if attack == "flood_close":
        if not report["rate_limit_close"]:
            raise NotContained(f"flood (close): the flooder was not closed with \"rate limit\": {report}")
        if delta('wsrelay_disconnections_total{reason="rate_limited"}') != 1:
            raise NotContained("flood (close): not counted as reason=\"rate_limited\"")
        return f"flooder closed with 1008 \"rate limit\" after {report['sent']} messages, counted"
    if attack == "flood_drop":
        dropped = delta('wsrelay_messages_dropped_total{reason="rate_limited"}')
        relayed = delta("wsrelay_messages_total")
        if dropped <= 0 or relayed > 300 * 2 + 200 * ATTACK_S:
            raise NotContained(f"flood (drop): {report['sent']} sent, {relayed} relayed, {dropped} dropped")
        return f"flood (drop): {report['sent']} sent, {dropped:.0f} dropped and counted"
    if attack == "tiny_frames":
        # Legal frames: the relay reads them all and closes nobody.
        if report["closed_by_relay"]:
            raise NotContained(f"tiny frames: the relay closed the connection: {report}")
        return f"{report['frames']} 6-byte frames sent, the connection never closed"
    return f"{report}"


async def run(args):
    with tempfile.TemporaryDirectory(prefix="wsrelay-hostile-") as tmp:
        mode = "drop" if args.attack == "flood_drop" else "close"
        timing_miss = None
        relay, port, mport = start_relay(args.relay, tmp, args.attack,
                                         RELAY_YAML.replace("{mode}", mode), max_connections=400)
        try:
            honest = Honest(port)
            started = asyncio.Event()
            task = asyncio.create_task(honest.run(started))
            await asyncio.wait_for(started.wait(), DEADLINE)
            t0 = time.monotonic_ns()
            await asyncio.sleep(BASELINE_S)
            before = scrape(mport)
            rss_before = rss_mib(relay.pid)
            t1 = time.monotonic_ns()
            child = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--attacker", args.attack, "--port", str(port),
                "--mport", str(mport), "--duration", str(ATTACK_S),
                stdout=asyncio.subprocess.PIPE)
            probes = []
            if args.attack.startswith("metrics"):
                end = time.monotonic() + ATTACK_S
                while time.monotonic() < end:
                    probes.append(await asyncio.to_thread(probe, mport))
                    await asyncio.sleep(0.2)
            out, _ = await asyncio.wait_for(child.communicate(), ATTACK_S + DEADLINE * 3)
            t2 = time.monotonic_ns()
            if child.returncode != 0:
                fail(f"the attacker failed: {out.decode()}")
            report = json.loads(out.decode().strip().splitlines()[-1])
            honest.stop.set()
            await task
            if relay.poll() is not None:
                fail(f"the relay died under the attack (exit {relay.returncode})")
            # The relay counts on its own threads, some of it (a close's
            # reason) after the attacker saw the close: polled.
            problem = []

            def check():
                try:
                    return contained(args.attack, report, before, scrape(mport))
                except NotContained as e:
                    problem[:] = [str(e)]
                    return None
            verdict = wait_until(check)
            if not verdict:
                fail(problem[0])
            print("ok: contained:", verdict)
            grown = rss_mib(relay.pid) - rss_before
            print(f"ok: the relay's resident memory grew {grown:.1f} MiB under the attack")
            if grown > MEMORY_BOUND_MIB:
                fail(f"the relay's resident memory grew {grown:.1f} MiB (bound {MEMORY_BOUND_MIB})")
            if probes:
                bad = [p for p in probes if p[0] != 200]
                worst = max(p[1] for p in probes)
                print(f"ok: /healthz: {len(probes)} probes, worst {worst:.1f} ms")
                # A probe gives up after 2 s: on a loaded machine that can
                # be the machine, so a run with only slow probes is retried
                # like the timing bounds (TimingMiss); any other failure
                # ends the test.
                slow = [p for p in bad if "timed out" in str(p[0])]
                if len(slow) < len(bad):
                    fail(f"/healthz failed {len(bad)} of {len(probes)} probes under the attack: {bad[:5]}")
                if slow:
                    timing_miss = f"/healthz: {len(slow)} of {len(probes)} probes took over 2 s"
                elif os.environ.get("HOSTILE_TIMING") == "1" and worst > 100 * 3:
                    # A timing bound like the p99's: retried, never one
                    # run's verdict on a shared machine.
                    timing_miss = f"/healthz took {worst:.1f} ms under the attack"
            base = honest.p99_ms(t0, t1)
            under = honest.p99_ms(t1, t2)
            print(f"honest p99: baseline {base:.2f} ms, under attack {under:.2f} ms")
            if os.environ.get("HOSTILE_TIMING") == "1" and under > 3 * max(base, FLOOR_MS):
                timing_miss = (f"{timing_miss}; " if timing_miss else "") + (f"honest p99 under attack {under:.2f} ms > 3x baseline "
                               f"max({base:.2f}, {FLOOR_MS}) ms")
        finally:
            stop(relay)
        exited_cleanly(relay, tmp, args.attack)
    if timing_miss:
        raise TimingMiss(timing_miss)
    print("PASS")


class TimingMiss(Exception):
    """Only the p99 bound was missed: on a shared machine a burst of other
    work can do that, so the whole run is repeated (up to TIMING_TRIES);
    a relay that really slows honest clients under the attack misses every
    time. Loss, containment and memory failures end the test at once."""


TIMING_TRIES = 3


def exited_cleanly(relay, tmp, tag):
    """The relay's exit status after SIGTERM is 0: a sanitizer's report (a
    leak, a race) makes it something else."""
    if relay.returncode != 0:
        with open(os.path.join(tmp, f"relay-{tag}.log"), encoding="utf-8", errors="replace") as f:
            tail = f.read()[-3000:]
        fail(f"the relay exited with {relay.returncode} after SIGTERM:\n{tail}")


def probe(mport):
    start = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/healthz", timeout=2) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError as e:
        status = str(e)
    return status, (time.monotonic() - start) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay")
    ap.add_argument("--attack", required=False)
    ap.add_argument("--attacker", help="run the attack (child process)")
    ap.add_argument("--port", type=int)
    ap.add_argument("--mport", type=int)
    ap.add_argument("--duration", type=float, default=ATTACK_S)
    args = ap.parse_args()
    if args.attacker:
        args.attack = args.attacker
        attacker(args)
        return
    for attempt in range(1, TIMING_TRIES + 1):
        try:
            asyncio.run(run(args))
            return
        except TimingMiss as miss:
            print(f"timing: attempt {attempt} of {TIMING_TRIES}: {miss}")
            if attempt == TIMING_TRIES:
                fail(str(miss))


if __name__ == "__main__":
    main()
