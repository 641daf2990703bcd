"""Load test of the webhook service: acknowledgment latency and exactly-once processing.

Starts `datacanary serve` (uvicorn on a loopback port, handlers in no-op mode) in a child process,
posts N signed real `pull_request.opened` payloads at a fixed rate (asyncio, keep-alive), a share of
them twice (redeliveries), and reports acknowledgment latency p50/p99, throughput, and whether every
delivery was processed exactly once (counted in the inbox). Baseline, measured in the same run at the
same rate: forged deliveries, which the service answers 401 after the same read and HMAC but without
touching the inbox; the ratio is the price of durability.

    python benchmarks/webhooks.py                     # N=2000 at 200/s (about 25 s)
    python benchmarks/webhooks.py --n 10000 --rate 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.service.signature import signature  # noqa: E402

SECRET = "benchmark-secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _payload(i: int) -> bytes:
    data = json.loads((ROOT / "fixtures/github/payloads/pull_request.opened.json").read_text())
    data["installation"] = {"id": 1}
    data["pull_request"]["number"] = i
    return json.dumps(data).encode()


def _start(state: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GITHUB_APP_ID": "1",
        "GITHUB_PRIVATE_KEY": _key(),
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "DATACANARY_STATE": str(state),
        "DATACANARY_WORKERS": str(workers),
        "DATACANARY_TEST_HOOK": "noop",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the service did not start")
        time.sleep(0.1)


async def _fire(
    url: str, requests: list[tuple[bytes, dict[str, str]]], rate: float, connections: int = 64
) -> tuple[list[float], list[int], float]:
    """Send each request at its slot (i / rate seconds after the start) over `connections` keep-alive
    HTTP/1.1 connections; a request's latency runs from its slot (waiting for a free connection counts,
    so a slow server cannot hide behind a slow sender) to the end of the answer.

    A minimal client over asyncio streams with the requests encoded beforehand: on a small, busy
    machine a full HTTP client costs as much CPU per request as the service, and would measure itself.
    """
    split = urlsplit(url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    raw = [_encode(host, port, body, headers) for body, headers in requests]
    latencies: list[float] = [0.0] * len(requests)
    codes: list[int] = [0] * len(requests)
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    start = time.perf_counter() + 0.2  # let the connections open first

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while (i := await queue.get()) is not None:
            writer.write(raw[i])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            codes[i] = int(head.split(b" ", 2)[1])
            latencies[i] = time.perf_counter() - (start + i / rate)
        writer.close()

    async def schedule() -> None:
        for i in range(len(requests)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            queue.put_nowait(i)
        for _ in range(connections):
            queue.put_nowait(None)

    await asyncio.gather(schedule(), *(connection() for _ in range(connections)))
    return latencies, codes, time.perf_counter() - start


def _encode(host: str, port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = ["POST /webhooks HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report the service's cost per delivery."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_ack(url: str) -> str:
    """The service's own ack-time histogram: share of answers within each bucket (from /metrics)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    buckets = {}
    for line in text.splitlines():
        if line.startswith("datacanary_webhook_ack_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[le] = float(line.rsplit(" ", 1)[1])
    total = buckets.get("+Inf", 0) or 1
    return "  ".join(
        f"<= {float(le) * 1000:g} ms: {n / total:.1%}"
        for le, n in buckets.items()
        if le in ("0.005", "0.01", "0.05", "0.1")
    )


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


def _signed(body: bytes, delivery: str, forged: bool = False) -> tuple[bytes, dict[str, str]]:
    sig = signature(b"wrong" if forged else SECRET.encode(), body)
    return body, {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sig,
        "Content-Type": "application/json",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="deliveries to post (default 2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="service worker threads (default 4)")
    parser.add_argument("--redeliver", type=float, default=0.05, help="share posted twice (default 0.05)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.sqlite"
        proc, url = _start(state, args.workers)
        try:
            bodies = [_payload(i) for i in range(1, 51)]  # 50 distinct PRs, ~25 kB each
            baseline_n = max(200, args.n // 10)
            forged = [_signed(bodies[i % 50], f"forged-{i}", forged=True) for i in range(baseline_n)]
            base_lat, base_codes, _ = asyncio.run(_fire(url, forged, args.rate))
            assert set(base_codes) == {401}, set(base_codes)

            cpu_before = _cpu_seconds(proc.pid)
            ids = [str(uuid.uuid4()) for _ in range(args.n)]
            real = [_signed(bodies[i % 50], ids[i]) for i in range(args.n)]
            again = real[: int(args.n * args.redeliver)]
            lat, codes, elapsed = asyncio.run(_fire(url, real + again, args.rate))
            queued = sum(1 for c in codes if c == 202)
            duplicates = sum(1 for c in codes if c == 200)

            deadline = time.monotonic() + 120
            while True:
                with sqlite3.connect(state) as conn:
                    done, once, pending = conn.execute(
                        "SELECT sum(status = 'done'), sum(status = 'done' AND attempts = 1),"
                        " sum(status != 'done') FROM inbox"
                    ).fetchone()
                if not pending or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            server_side = _server_ack(url)
            cpu = _cpu_seconds(proc.pid) - cpu_before
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    p50, p99 = _pct(lat, 0.50) * 1000, _pct(lat, 0.99) * 1000
    b50, b99 = _pct(base_lat, 0.50) * 1000, _pct(base_lat, 0.99) * 1000
    total = len(real) + len(again)
    print(
        f"deliveries posted      {total} ({args.n} distinct + {len(again)} redeliveries) at {args.rate:.0f}/s"
    )
    print(
        f"answers                202 queued: {queued}, 200 duplicate: {duplicates},"
        f" other: {total - queued - duplicates}"
    )
    print(f"ack latency            p50 {p50:.2f} ms   p99 {p99:.2f} ms   max {max(lat) * 1000:.2f} ms")
    print(f"baseline (401 forged)  p50 {b50:.2f} ms   p99 {b99:.2f} ms   ({baseline_n} requests, same rate)")
    print(f"ratio to baseline      p50 x{p50 / b50:.2f}   p99 x{p99 / b99:.2f}")
    print(f"server-side ack        {server_side}")
    print(f"service CPU            {cpu * 1000 / total:.2f} ms per request (receive, store, process)")
    print(f"throughput             {total / elapsed:.0f} requests/s offered over {elapsed:.1f} s")
    print(f"processed              {done} done, {once} on the first attempt, {pending or 0} pending")
    exactly_once = queued == args.n and duplicates == len(again) and done == args.n and once == args.n
    print(f"exactly once           {'yes' if exactly_once else 'NO'}")
    print(f"target p99 < 50 ms     {'met' if p99 < 50 else 'MISSED'}")
    return 0 if exactly_once else 1


if __name__ == "__main__":
    raise SystemExit(main())
