#!/usr/bin/python3
"""Many tiny frames between large ones, cut at random places: the frame
parser of CivetWeb's read loop (patch 0011 parses frames where they lie in
its 16 KiB input buffer) must hand out every frame whole and in order
wherever the reads split them.

One client sends, in one stream: fragmented text and binary messages of 0
bytes to 100 KiB (fragments smaller and larger than the input buffer), with
runs of 6-byte frames before, between and inside them (empty pings, empty
unsolicited pongs, empty continuations) and numbered pings now and then:
more than 100 000 pings in all. The stream goes out in writes of random
sizes (1 byte to 70 KiB, TCP_NODELAY), so frames and headers straddle every
kind of read boundary. The relay echoes to the sender, and the test checks:
every message comes back once, whole and in order; the numbered pongs come
back in order, the last one always; pongs received plus pongs coalesced
(wsrelay_pongs_coalesced_total) equal the pings sent; the close handshake
ends it with 1000 and the relay exits 0. Not timed: only generous deadlines.
With --tls the same over wss://: the reads are then TLS records (up to 16
KiB each) cut by SSL_read, not the writes.

    small_frames_test.py WSRELAY_BINARY [--tls] [SEED]
"""
import os
import random
import select
import socket
import ssl
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "hostile"))
from hostile_test import HEAD, http_status, scrape  # noqa: E402
from relay_proc import DEADLINE, self_signed, start_relay, stop, wait_until  # noqa: E402

MESSAGES = 300
PINGS_AT_LEAST = 100_000


def fail(msg):
    sys.exit(f"FAIL: {msg}")


class Stream:
    """The client's side: masked frames appended to one byte string, the
    messages and pings it carries noted for the checks."""

    def __init__(self, rng):
        self.rng = rng
        self.parts = []
        self.pings = 0
        self.numbered = 0
        self.tiny = 0

    def frame(self, opcode, payload=b"", fin=True):
        n = len(payload)
        first = (0x80 if fin else 0) | opcode
        if n < 126:
            head = struct.pack("!BB", first, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", first, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", first, 0x80 | 127, n)
        mask = self.rng.randbytes(4)
        if n:
            key = (mask * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
        self.parts.append(head + mask + payload)
        if n == 0:
            self.tiny += 1

    def ping(self, numbered=False):
        if numbered:
            self.numbered += 1
            self.frame(0x9, b"n%07d" % self.numbered)
        else:
            self.frame(0x9)
        self.pings += 1

    def controls(self, count):
        """count 6-byte control frames (mostly pings), a numbered ping
        sometimes."""
        for _ in range(count):
            r = self.rng.random()
            if r < 0.8:
                self.ping()
            elif r < 0.98:
                self.frame(0xA)
            else:
                self.ping(numbered=True)

    def message(self, opcode, payload):
        """payload in 1 to 8 fragments (some empty), tiny frames between
        and, inside the message, empty continuations too."""
        cuts = sorted(self.rng.randint(0, len(payload)) for _ in range(self.rng.randint(0, 7)))
        pieces = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            self.frame(opcode if i == 0 else 0x0, piece, fin=last)
            if not last:
                for _ in range(self.rng.randint(0, 300)):
                    if self.rng.random() < 0.5:
                        self.frame(0x0, b"", fin=False)
                    else:
                        self.controls(1)

    def data(self):
        return b"".join(self.parts)


def random_payload(rng):
    kind = rng.random()
    if kind < 0.1:
        n = 0
    elif kind < 0.4:
        n = rng.randint(1, 200)
    elif kind < 0.7:
        n = rng.randint(201, 16000)
    else:
        n = rng.randint(16001, 100_000)
    return n


def build(rng):
    s = Stream(rng)
    expected = []
    for i in range(MESSAGES):
        s.controls(rng.randint(0, 400))
        n = random_payload(rng)
        if rng.random() < 0.3:
            payload = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(n))
            opcode = 0x1
        else:
            payload = rng.randbytes(n)
            opcode = 0x2
        s.message(opcode, payload)
        expected.append((opcode, payload))
    while s.pings < PINGS_AT_LEAST:
        s.controls(1000)
    s.ping(numbered=True)  # the last frame before the close
    return s, expected


def split_sizes(total, rng):
    """Write sizes covering total: mostly small, some of tens of KiB."""
    i = 0
    while i < total:
        r = rng.random()
        if r < 0.4:
            n = rng.randint(1, 16)
        elif r < 0.8:
            n = rng.randint(17, 4096)
        else:
            n = rng.randint(4097, 70_000)
        yield min(n, total - i)
        i += n


class Parser:
    """The relay's frames (unmasked, one frame per message) from the bytes
    read so far."""

    def __init__(self):
        self.buf = bytearray()
        self.messages = []
        self.pongs = []
        self.close = None

    def feed(self, chunk):
        self.buf += chunk
        while True:
            if len(self.buf) < 2:
                return
            b0, b1 = self.buf[0], self.buf[1]
            if b1 & 0x80:
                fail("a masked frame from the relay")
            n, head = b1 & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, head = struct.unpack_from("!H", self.buf, 2)[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n, head = struct.unpack_from("!Q", self.buf, 2)[0], 10
            if len(self.buf) < head + n:
                return
            payload = bytes(self.buf[head:head + n])
            del self.buf[:head + n]
            opcode = b0 & 0x0F
            if not b0 & 0x80:
                fail(f"a fragmented frame from the relay (opcode {opcode})")
            if opcode in (0x1, 0x2):
                self.messages.append((opcode, payload))
            elif opcode == 0xA:
                self.pongs.append(payload)
            elif opcode == 0x8:
                self.close = payload
            elif opcode != 0x9:  # 0x9: a keepalive ping
                fail(f"opcode {opcode} from the relay")


class Client:
    """One thread sends and reads through one non-blocking socket (an
    SSLSocket must not be used by two threads at once), never blocking on a
    write while the relay waits for us to read."""

    def __init__(self, sock, tls):
        self.sock = sock
        self.tls = tls
        self.parser = Parser()
        self.out = []  # writes still to make, in order
        sock.setblocking(False)

    def read_some(self):
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            if not chunk:
                if self.parser.close is None:
                    fail(f"the relay closed the connection ({len(self.parser.messages)} messages, "
                         f"{len(self.parser.pongs)} pongs read)")
                return
            self.parser.feed(chunk)

    def write_some(self):
        while self.out:
            try:
                n = self.sock.send(self.out[0])
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            # A write TLS could not finish is made again with the same bytes.
            if n < len(self.out[0]):
                self.out[0] = self.out[0][n:]
            else:
                self.out.pop(0)

    def run_until(self, what, done):
        """Writes what is queued and reads, until done() and nothing is left
        to write; fails after DEADLINE."""
        end = time.monotonic() + DEADLINE
        while self.out or not done():
            if time.monotonic() > end:
                fail(f"{what}: not within {DEADLINE} s ({len(self.parser.messages)} messages, "
                     f"{len(self.parser.pongs)} pongs)")
            pending = self.tls and self.sock.pending()
            if not pending:
                select.select([self.sock], [self.sock] if self.out else [], [], 0.5)
            self.read_some()
            self.write_some()


def main():
    binary = sys.argv[1]
    args = sys.argv[2:]
    tls = "--tls" in args
    args = [a for a in args if a != "--tls"]
    seed = int(args[0]) if args else random.SystemRandom().randrange(1 << 32)
    print(f"seed {seed} (run again with it as the second argument)")
    rng = random.Random(seed)
    stream, expected = build(rng)
    data = stream.data()
    print(f"{len(data)} bytes: {MESSAGES} messages, {stream.pings} pings "
          f"({stream.numbered} numbered), {stream.tiny} 6-byte frames")
    with tempfile.TemporaryDirectory(prefix="wsrelay-small-frames-") as tmp:
        extra = ""
        if tls:
            self_signed(tmp)
            extra = f"  tls: {{enabled: true, certificate: {tmp}/cert.pem, private_key: {tmp}/key.pem}}\n"
        relay, port, mport = start_relay(binary, tmp, "small-frames", extra)
        try:
            before = scrape(mport)
            sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls:
                ctx = ssl.create_default_context(cafile=f"{tmp}/cert.pem")
                sock = ctx.wrap_socket(sock, server_hostname="localhost")
            sock.sendall(HEAD)
            status, head = http_status(sock)
            if status != 101:
                fail(f"no upgrade: {head}")
            client = Client(sock, tls)
            reader = client.parser
            i = 0
            for n in split_sizes(len(data), rng):
                client.out.append(data[i:i + n])
                i += n
            last = b"n%07d" % stream.numbered
            client.run_until("every message and the last pong",
                             lambda: len(reader.messages) >= len(expected) and last in reader.pongs)

            for i, (got, want) in enumerate(zip(reader.messages, expected)):
                if got != want:
                    fail(f"message {i}: opcode {got[0]}, {len(got[1])} bytes; "
                         f"expected opcode {want[0]}, {len(want[1])} bytes")
            if len(reader.messages) != len(expected):
                fail(f"{len(reader.messages)} messages back, {len(expected)} sent")
            print(f"ok: {len(expected)} messages back whole and in order")

            numbered = [p for p in reader.pongs if p]
            if any(len(p) != 8 or not p.startswith(b"n") for p in numbered):
                fail("a pong whose payload no ping had")
            order = [int(p[1:]) for p in numbered]
            if order != sorted(set(order)):
                fail("numbered pongs out of order or repeated")
            # Counted on the relay's threads: waited for, not read once.
            got = {}

            def counted():
                after = scrape(mport)
                got["coalesced"] = (after["wsrelay_pongs_coalesced_total"]
                                    - before["wsrelay_pongs_coalesced_total"])
                got["relayed"] = after["wsrelay_messages_total"] - before["wsrelay_messages_total"]
                return (len(reader.pongs) + got["coalesced"] == stream.pings
                        and got["relayed"] == len(expected))
            wait_until(counted)
            coalesced = got["coalesced"]
            if len(reader.pongs) + coalesced != stream.pings:
                fail(f"{stream.pings} pings: {len(reader.pongs)} pongs and {coalesced:.0f} coalesced")
            print(f"ok: {stream.pings} pings: {len(reader.pongs)} pongs ({len(order)} numbered, "
                  f"in order, the last one among them), {coalesced:.0f} coalesced")
            relayed = got["relayed"]
            if relayed != len(expected):
                fail(f"wsrelay_messages_total grew by {relayed:.0f}, {len(expected)} sent")

            client.out.append(b"\x88\x82\0\0\0\0\x03\xe8")  # close 1000, zero mask
            client.run_until("the close echo", lambda: reader.close is not None)
            if reader.close != b"\x03\xe8":
                fail(f"close echo {reader.close!r}, expected 1000")
            print("ok: close 1000 echoed")
            sock.close()
        finally:
            stop(relay)
        if relay.returncode != 0:
            fail(f"the relay exited with {relay.returncode} (log: relay-small-frames.log)")
        print("ok: the relay exited 0")


if __name__ == "__main__":
    main()
