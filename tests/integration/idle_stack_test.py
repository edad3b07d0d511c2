"""An idle client's thread keeps no more stack resident than a worker waiting
in the pool (CivetWeb patch 0014 and app/base/stack_release.c), and no page of
its request buffer (patch 0016): counted, not timed. Each idle client pins a CivetWeb worker thread for its whole life, and
every stack page between the top of the thread's stack and its wait for input
stays resident: five pages per client before patch 0014, two (those of an
idle pool worker) after it. Anything deep on the read loop's path (a printf,
a big local) or a handshake frame left live under it brings pages back.

Reads each thread's stack pointer from /proc/PID/task/TID/syscall and the
pages of its stack mapping that are resident from /proc/PID/pagemap. Plain
builds only: sanitizers' frames are several times larger.

The request buffers (16 KiB per worker, the WebSocket's input queue) are
slots of one mapping of num_threads (max_connections + 16) x 16 KiB, read from
/proc/PID/smaps: none of its pages may stay resident while every client
idles, after the handshake (the request's page) and after each client sent a
message following a wait that saw no input (a 1 s ping interval); and while
the clients answer the relay's pings with pongs, a buffer may hold its page
only between a pong's arrival and its read: sampled whenever no frame came
for 0.3 s, most of the 40 buffers must hold none. Before patch 0016 each idle
client kept its buffer's first page (4 KiB).

usage: idle_stack_test.py WSRELAY_BINARY"""
import base64
import collections
import os
import select
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import relay_proc  # noqa: E402

CLIENTS = 40
DEADLINE = 60
MAX_CONNECTIONS = 100  # the buffers' mapping: (100 + 16) x 16 KiB
BUFFER_SLAB_KIB = (MAX_CONNECTIONS + 16) * 16


def handshake(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("FAIL: the relay closed a handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        status = head.split(b"\r\n")[0]
        sys.exit(f"FAIL: handshake answered {status!r}")
    return s


def threads_named(pid, name):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm", encoding="utf-8") as f:
                if f.read().strip() == name:
                    out.append(int(tid))
        except OSError:
            pass
    return out


def wait_read_loops(pid):
    """Waits until every client's thread is in its read loop ("civetweb-wsock")."""
    end = time.monotonic() + DEADLINE
    while len(threads_named(pid, "civetweb-wsock")) < CLIENTS:
        if time.monotonic() > end:
            sys.exit("FAIL: the clients' threads never all reached the read loop")
        time.sleep(0.1)


def stack_pointer(pid, tid):
    """The thread's stack pointer while it sleeps in a system call, else None."""
    try:
        with open(f"/proc/{pid}/task/{tid}/syscall", encoding="utf-8") as f:
            fields = f.read().split()
    except OSError:
        return None
    if len(fields) < 3 or fields[0] in ("running", "-1"):
        return None
    return int(fields[-2], 16)


def resident_pages(pid, sp):
    """Pages of the mapping holding sp that are resident."""
    with open(f"/proc/{pid}/maps", encoding="utf-8") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= sp < hi:
                break
        else:
            return None
    pages = (hi - lo) // 4096
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        pm.seek(lo // 4096 * 8)
        data = pm.read(pages * 8)
    return sum(1 for i in range(pages) if struct.unpack_from("<Q", data, i * 8)[0] >> 63)


def pages_of(pid, tids):
    counts = []
    for tid in tids:
        sp = stack_pointer(pid, tid)
        if sp is not None:
            n = resident_pages(pid, sp)
            if n is not None:
                counts.append(n)
    return counts


def buffer_slab_rss_kib(pid):
    """Resident KiB of the mapping of the WebSocket listener's request
    buffers, found by its size; None when there is no such mapping."""
    found, rss = 0, None
    size = None
    with open(f"/proc/{pid}/smaps", encoding="utf-8") as f:
        for line in f:
            first = line.split()[0]
            if "-" in first and ":" not in first:
                lo, hi = (int(x, 16) for x in first.split("-"))
                size = (hi - lo) // 1024
            elif first == "Rss:" and size == BUFFER_SLAB_KIB:
                found += 1
                rss = int(line.split()[1])
    if found > 1:
        sys.exit(f"FAIL: {found} mappings of {BUFFER_SLAB_KIB} KiB: cannot tell the buffers' one")
    return rss


def masked_text_frame(payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


def wait_buffers_released(pid, when):
    """The buffers' mapping back to no resident page, within DEADLINE."""
    end = time.monotonic() + DEADLINE
    while True:
        rss = buffer_slab_rss_kib(pid)
        if rss is None:
            sys.exit("FAIL: no mapping of the request buffers"
                     f" ({BUFFER_SLAB_KIB} KiB: patch 0016 missing?)")
        if rss == 0:
            print(f"request buffers {when}: 0 KiB resident")
            return
        if time.monotonic() > end:
            sys.exit(f"FAIL: {when}, the idle clients' request buffers keep {rss} KiB"
                     f" resident ({rss / CLIENTS:.1f} KiB per client)")
        time.sleep(0.2)


def answer_pings(clients, rounds):
    """Reads what the relay sends each client and answers every ping with a
    pong, until each client answered `rounds` pings; meanwhile, whenever no
    frame came for 0.3 s, samples the buffers' resident KiB. Returns the
    samples."""
    pending = {s: b"" for s in clients}
    answered = {s: 0 for s in clients}
    samples = []
    pid = answer_pings.pid
    end = time.monotonic() + DEADLINE
    while min(answered.values()) < rounds:
        if time.monotonic() > end:
            sys.exit(f"FAIL: the relay's pings did not come ({min(answered.values())} answered)")
        readable, _, _ = select.select(clients, [], [], 0.3)
        if not readable:
            samples.append(buffer_slab_rss_kib(pid))
            continue
        for s in readable:
            data = s.recv(65536)
            if not data:
                sys.exit("FAIL: the relay closed an idle client")
            buf = pending[s] + data
            while len(buf) >= 2:
                n, head = buf[1] & 127, 2
                if n == 126:
                    if len(buf) < 4:
                        break
                    n, head = struct.unpack_from(">H", buf, 2)[0], 4
                elif n == 127:
                    if len(buf) < 10:
                        break
                    n, head = struct.unpack_from(">Q", buf, 2)[0], 10
                if len(buf) < head + n:
                    break
                if buf[0] & 0x0F == 0x9:  # a ping: the pong, masked, same payload
                    mask = os.urandom(4)
                    body = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[head:head + n]))
                    s.sendall(bytes([0x8A, 0x80 | n]) + mask + body)
                    answered[s] += 1
                buf = buf[head + n:]
            pending[s] = buf
    return samples


def check_buffers(binary, tmp):
    """Patch 0016: idle clients' request buffers are given back."""
    proc, port, _ = relay_proc.start_relay(
        binary, tmp, "idle-buffers", max_connections=MAX_CONNECTIONS,
        yaml_extra="  ping_interval_seconds: 1\n  idle_timeout_seconds: 600\n")
    clients = []
    try:
        clients = [handshake(port) for _ in range(CLIENTS)]
        wait_read_loops(proc.pid)
        wait_buffers_released(proc.pid, "after the handshakes")
        # Each reader's wait for input times out at the ping interval (1 s);
        # then input (a message, relayed to everyone) is read and the buffer
        # must go again once it is drained.
        time.sleep(2.5)
        for s in clients:
            s.sendall(masked_text_frame(b"hello"))
        wait_buffers_released(proc.pid, "after a message from each client")
        # Each wait ends at the next ping and the pong comes at once: the
        # buffer must go again once the pong is read, not stay until the
        # next wait has passed.
        answer_pings.pid = proc.pid
        # First the pings queued while the clients did not read: pongs in a
        # burst, a busy client's (its buffer may stay until its next wait
        # passes without input). Then the steady state, sampled.
        answer_pings(clients, 3)
        samples = sorted(answer_pings(clients, 3))
        if not samples:
            sys.exit("FAIL: no quiet moment to sample the buffers in")
        median = samples[len(samples) // 2]
        print(f"request buffers while the clients answer pings: {median} KiB resident"
              f" (median of {len(samples)} samples, max {samples[-1]})")
        if median > CLIENTS // 4 * 4:
            sys.exit(f"FAIL: while the clients answer pings, their request buffers keep"
                     f" {median} KiB resident (median), {median / CLIENTS:.1f} KiB per client")
    finally:
        for s in clients:
            s.close()
        relay_proc.stop(proc)


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, _ = relay_proc.start_relay(binary, tmp, "idle-stack", max_connections=64)
        clients = []
        try:
            clients = [handshake(port) for _ in range(CLIENTS)]
            wait_read_loops(proc.pid)
            # Each thread gives its stack back once its first wait for input
            # is under way, in its own time: measured until every one has (or
            # DEADLINE), rather than after a fixed sleep. A thread that keeps
            # its pages keeps them, so a regression still fails.
            end = time.monotonic() + DEADLINE
            while True:
                idle = pages_of(proc.pid, threads_named(proc.pid, "civetweb-wsock"))
                pool = pages_of(proc.pid, threads_named(proc.pid, "civetweb-worker"))
                if len(idle) < CLIENTS // 2 or not pool:
                    sys.exit(f"FAIL: could read the stacks of only {len(idle)} client threads"
                             f" and {len(pool)} pool workers")
                # A typical pool worker: a few "civetweb-worker" threads belong
                # to the metrics listener, which served /healthz, and the first
                # client's thread ran each code path first (lazy binding): a
                # few deeper stacks, not the typical one.
                typical = sorted(pool)[len(pool) // 2]
                over = [n for n in idle if n > typical]
                if len(over) <= len(idle) // 10 or time.monotonic() > end:
                    break
                time.sleep(0.2)
            print("resident stack pages (pages: threads): idle clients'"
                  f" {sorted(collections.Counter(idle).items())}, idle pool workers'"
                  f" {sorted(collections.Counter(pool).items())}")
            if len(over) > len(idle) // 10:
                sys.exit(f"FAIL: {len(over)} of {len(idle)} idle clients' threads keep more stack"
                         f" resident than a typical idle pool worker ({max(over)} pages"
                         f" against {typical})")
        finally:
            for s in clients:
                s.close()
            proc.terminate()
            proc.wait(timeout=30)
        check_buffers(binary, tmp)
        print("PASS")


if __name__ == "__main__":
    main()
