#!/usr/bin/python3
"""An independent wss:// client for the interop test: Python's websockets.

Usage: wss_peer.py URL CA_FILE SEND EXPECT
Connects with CA_FILE as the only trust anchor (and a host name check),
sends SEND once, then waits for a message equal to EXPECT. Exit 0 when it
arrives, 1 on any failure or after 15 seconds.
"""
import asyncio
import ssl
import sys

import websockets


async def run(url, ca_file, send, expect):
    context = ssl.create_default_context(cafile=ca_file)
    async with websockets.connect(url, ssl=context, server_hostname="localhost") as ws:
        print("connected", flush=True)
        await ws.send(send)
        while True:
            message = await ws.recv()
            print("received", message, flush=True)
            if message == expect:
                return


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 1
    try:
        asyncio.run(asyncio.wait_for(run(*sys.argv[1:]), 15))
    except Exception as e:  # every failure is the test's failure, with its reason
        print("failed:", repr(e), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
