#!/usr/bin/python3
"""logging.format against the real server: the same scenario (a client
connects, sends a text and a binary message, gets both back and closes; a
handshake with a hostile Origin is refused) with format text and with format
json. In json every line must be one JSON object (Python's json module
parses it) with time (RFC 3339, UTC), level and message; the connect and
disconnect lines carry the client, and the disconnect line the reason,
duration and messages and bytes each way; a quote, a backslash and invalid
UTF-8 in the Origin come out escaped (CivetWeb refuses control characters
in headers itself). Both formats
must log the same events in the same order."""
import asyncio
import datetime
import json
import os
import re
import socket
import sys
import tempfile

import websockets

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/integration/..
sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
from relay_proc import DEADLINE, start_relay, stop  # noqa: E402

HOSTILE_ORIGIN = b'http://evil.example/"\\\xff\xfe'


def fail(msg):
    sys.exit(f"FAIL: {msg}")


async def scenario(port):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", origin="http://ok.example",
                                  open_timeout=DEADLINE)
    local = ws.local_address
    await ws.send("hello")
    await ws.send(b"\x00\x01\x02")
    got = [await asyncio.wait_for(ws.recv(), DEADLINE) for _ in range(2)]
    if got != ["hello", b"\x00\x01\x02"]:
        fail(f"echo: {got!r}")
    await ws.close()
    # A raw handshake: the Origin bytes go out exactly as they are.
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as s:
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  b"Origin: " + HOSTILE_ORIGIN + b"\r\n\r\n")
        reply = s.recv(4096)
        if not reply.startswith(b"HTTP/1.1 403"):
            fail(f"hostile origin: {reply[:40]!r}")
    return local


def run(relay, fmt, tmp):
    extra = '  allowed_origins: ["http://ok.example"]\nlogging:\n  level: info\n  format: ' + fmt + "\n"
    proc, port, _ = start_relay(relay, tmp, fmt, extra)
    try:
        local = asyncio.run(scenario(port))
        # The disconnect line is written once the relay has seen the close.
        path = os.path.join(tmp, f"relay-{fmt}.log")
        deadline = asyncio.get_event_loop_policy().new_event_loop().time() + DEADLINE
        while "client disconnected" not in open(path, encoding="utf-8", errors="replace").read():
            if asyncio.get_event_loop_policy().new_event_loop().time() > deadline:
                fail(f"{fmt}: no disconnect line")
            asyncio.run(asyncio.sleep(0.05))
    finally:
        stop(proc)
    with open(os.path.join(tmp, f"relay-{fmt}.log"), "rb") as f:
        return f.read(), local


def check_json(raw, local):
    events = []
    peer = f"{local[0]}:{local[1]}"
    for n, line in enumerate(raw.split(b"\n")[:-1], 1):
        try:
            text = line.decode("utf-8")  # strict: invalid UTF-8 fails here
            obj = json.loads(text)
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"json line {n} is not one JSON object in UTF-8 ({e}): {line[:200]!r}")
        for key in ("time", "level", "message"):
            if not isinstance(obj.get(key), str):
                fail(f"json line {n} has no string {key}: {text}")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["time"]):
            fail(f"json line {n}: time {obj['time']!r} is not RFC 3339 UTC")
        datetime.datetime.strptime(obj["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if obj["level"] not in ("debug", "info", "warn", "error"):
            fail(f"json line {n}: level {obj['level']!r}")
        events.append((obj["level"], obj["message"]))
        if obj["message"].startswith("client connected") and obj.get("client") != peer:
            fail(f"connect line without client {peer}: {text}")
        if obj["message"].startswith("client disconnected"):
            want = {"client": peer, "reason": "client_close", "messages_in": 2, "bytes_in": 8,
                    "messages_out": 2, "bytes_out": 8}
            for k, v in want.items():
                if obj.get(k) != v:
                    fail(f"disconnect line: {k} is {obj.get(k)!r}, want {v!r}: {text}")
            if not isinstance(obj.get("duration_seconds"), (int, float)) or obj["duration_seconds"] < 0:
                fail(f"disconnect line: duration_seconds: {text}")
            print(f"ok: json access line: {text}")
        if "origin" in obj["message"] and "not allowed" in obj["message"]:
            if 'http://evil.example/"\\\ufffd\ufffd' not in obj["message"] or obj.get("reason") != "origin":
                fail(f"hostile origin not escaped as expected: {text}")
            print(f"ok: hostile origin escaped: {text}")
    return events


def check_text(raw, local):
    events = []
    for line in raw.decode("utf-8", errors="replace").split("\n")[:-1]:
        m = re.match(r"(\S+) (DEBUG|INFO|WARN|ERROR) +(.*)$", line)
        if not m:
            fail(f"text line: {line!r}")
        message = m.group(3)
        if message.startswith("client disconnected"):
            if "messages_in=2 bytes_in=8 messages_out=2 bytes_out=8" not in message:
                fail(f"text disconnect line lacks the counts: {line}")
            print(f"ok: text access line: {line}")
        # The fields follow the message in text: compare messages only.
        message = re.sub(r" client=.*$", "", message)
        events.append((m.group(2).lower(), message))
    return events


def normalise(events):
    """Ports and timings differ between the runs; the events may not. Their
    order may: the client connects once the port accepts, which can be
    before the start-up lines after it are written (a slow machine, a
    sanitizer build), so the two runs are compared as sorted lists."""
    return sorted((lvl, re.sub(r"\d+", "N", msg)) for lvl, msg in events)


def main():
    relay = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="wsrelay-logs-") as tmp:
        raw_text, local_text = run(relay, "text", tmp)
        raw_json, local_json = run(relay, "json", tmp)
    text_events = normalise(check_text(raw_text, local_text))
    json_events = normalise(check_json(raw_json, local_json))
    if text_events != json_events:
        fail("text and json logged different events:\n" + "\n".join(
            f"{a!r:80} | {b!r}" for a, b in zip(text_events + [None] * 9, json_events + [None] * 9)))
    print(f"PASS: {len(json_events)} events, the same in both formats")


if __name__ == "__main__":
    main()
