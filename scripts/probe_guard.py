"""Probe a running API's guard from outside (issue #16): unauthenticated 100 MB bodies are
answered before a byte of them is sent, and 2,000 random tokens from one address meet 429s.

    shouwang api &                       # SHOUWANG_ADMIN_TOKEN set, port 8000 by default
    python scripts/probe_guard.py --pid $! [--port 8000] [--token $SHOUWANG_ADMIN_TOKEN]

Prints each answer, the server's resident memory (from /proc, with --pid) and the status counts.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import secrets
import socket
import time

import httpx

MB = 1024 * 1024


def rss_mb(pid: int | None, key: str = "VmRSS") -> str:
    if pid is None:
        return "?"
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key):
                return f"{int(line.split()[1]) / 1024:.0f} MB"
    return "?"


def first_line(port: int, head: str) -> tuple[str, float]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        start = time.perf_counter()
        sock.sendall(head.encode())  # the headers only: not one byte of the body
        return sock.recv(4096).split(b"\r\n")[0].decode(), (time.perf_counter() - start) * 1000


def bodies(port: int, pid: int | None, token: str | None) -> None:
    print(f"server RSS before: {rss_mb(pid)}")
    base = "POST /api/v1/cohorts HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\n"
    for framing in (f"Content-Length: {100 * MB}", "Transfer-Encoding: chunked") * 2:
        line, ms = first_line(port, base + f"Authorization: Bearer sw_nope\r\n{framing}\r\n\r\n")
        print(f"unauthenticated, {framing.split(':')[0]:17} -> {line} in {ms:.0f} ms, 0 body bytes sent")
    if token:
        line, _ = first_line(port, base + f"Authorization: Bearer {token}\r\nContent-Length: {100 * MB}\r\n\r\n")
        print(f"authenticated, 100 MB declared -> {line}")
    print(f"server RSS after: {rss_mb(pid)} (peak {rss_mb(pid, 'VmHWM')})")


async def tokens(port: int, token: str | None, count: int = 2000) -> None:
    statuses: collections.Counter[int] = collections.Counter()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        gate = asyncio.Semaphore(16)

        async def one() -> None:
            async with gate:
                response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer sw_{secrets.token_urlsafe(32)}"})
                statuses[response.status_code] += 1

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        took = time.perf_counter() - start
        print(f"{count} random tokens, 16 at a time: {dict(statuses)} in {took:.1f} s")
        if token:
            print("a valid token from the same address now:", (await client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--pid", type=int, help="the server's process id, to read its memory")
    parser.add_argument("--token", help="a valid API token (the admin's), for the 413 and the last check")
    args = parser.parse_args()
    bodies(args.port, args.pid, args.token)
    asyncio.run(tokens(args.port, args.token))


if __name__ == "__main__":
    main()
