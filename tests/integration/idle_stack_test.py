"""An idle client's thread keeps no more stack resident than a worker waiting
in the pool (CivetWeb patch 0014 and app/base/stack_release.c): counted, not
timed. Each idle client pins a CivetWeb worker thread for its whole life, and
every stack page between the top of the thread's stack and its wait for input
stays resident: five pages per client before patch 0014, two (those of an
idle pool worker) after it. Anything deep on the read loop's path (a printf,
a big local) or a handshake frame left live under it brings pages back.

Reads each thread's stack pointer from /proc/PID/task/TID/syscall and the
pages of its stack mapping that are resident from /proc/PID/pagemap. Plain
builds only: sanitizers' frames are several times larger.

usage: idle_stack_test.py WSRELAY_BINARY"""
import base64
import collections
import os
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import relay_proc  # noqa: E402

CLIENTS = 40
DEADLINE = 60


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


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, _ = relay_proc.start_relay(binary, tmp, "idle-stack", max_connections=64)
        clients = []
        try:
            clients = [handshake(port) for _ in range(CLIENTS)]
            # Every client's thread in its read loop ("civetweb-wsock").
            end = time.monotonic() + DEADLINE
            while len(threads_named(proc.pid, "civetweb-wsock")) < CLIENTS:
                if time.monotonic() > end:
                    sys.exit("FAIL: the clients' threads never all reached the read loop")
                time.sleep(0.1)
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
            print("PASS")
        finally:
            for s in clients:
                s.close()
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
