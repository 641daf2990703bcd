"""Load test of the webhook service: acknowledgment latency and exactly-once processing, with idle and
with busy workers.

Starts `datacanary serve` (uvicorn on a loopback port) in a child process, posts signed real
`pull_request.opened` payloads at a fixed rate (asyncio, keep-alive), a share of them twice
(redeliveries), and reports acknowledgment latency p50/p99, throughput, and whether every delivery was
processed exactly once (counted in the inbox). Three services, one after the other:

1. no-op handlers (worker processes): the price of durability. Baseline, measured in the same run at the
   same rate: forged deliveries, which the service answers 401 after the same read and HMAC but without
   touching the inbox.
2. busy handlers, worker processes (the default `serve`): every handler first runs `--busy-ms` of pure
   Python (DATACANARY_TEST_HOOK=cpu:MS), holding the CPU and the GIL as a gate's engine run does
   (sqlglot, Jinja2, PyGithub); at 200/s the workers never catch up, so they are busy all the time the
   acknowledgments are measured. Ratio to the no-op run's figures of the same run; one forged delivery
   after every ten real ones gives the 401 baseline under the same load at the same moments.
3. the same busy handlers with worker threads (DATACANARY_WORKER_MODE=thread, the design before worker
   processes): the before figure, measured in the same run.

    python benchmarks/webhooks.py                     # about 90 s
    python benchmarks/webhooks.py --n 10000 --rate 500 --busy-n 0   # no-op case only
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
from dataclasses import dataclass, field
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


def _start(state: Path, workers: int, hook: str, mode: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GITHUB_APP_ID": "1",
        "GITHUB_PRIVATE_KEY": _key(),
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "DATACANARY_STATE": str(state),
        "DATACANARY_WORKERS": str(workers),
        "DATACANARY_WORKER_MODE": mode,
        "DATACANARY_TEST_HOOK": hook,
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
    """User + system CPU time of a process and its live children (Linux /proc): the service's cost,
    worker processes included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(c)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for c in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(child) for child in children)


def _settle(pid: int, timeout: float = 30.0) -> None:
    """Wait until the service is idle: its worker processes import the engine as it starts, and that
    CPU is a start-up cost (docs/app.md), not part of any delivery's acknowledgment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu_seconds(pid)
        time.sleep(0.5)
        if _cpu_seconds(pid) - before < 0.05:
            return


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


@dataclass
class Run:
    """One service under load: what was sent, how fast it was answered, what the inbox says after."""

    title: str
    n: int
    redelivered: int
    lat: list[float]
    codes: list[int]
    elapsed: float
    done: int
    once: int
    pending: int
    cpu: float
    server_side: str
    baseline: list[float] = field(default_factory=list)
    same_load: list[float] = field(default_factory=list)  # forged deliveries sent among the real ones

    @property
    def p50(self) -> float:
        return _pct(self.lat, 0.50) * 1000

    @property
    def p99(self) -> float:
        return _pct(self.lat, 0.99) * 1000

    @property
    def exactly_once(self) -> bool:
        queued = sum(1 for c in self.codes if c == 202)
        duplicates = sum(1 for c in self.codes if c == 200)
        return (
            queued == self.n
            and duplicates == self.redelivered
            and self.done == self.n
            and self.once == self.n
        )


def _drain(state: Path, timeout: float) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(state) as conn:
            done, once, pending = conn.execute(
                "SELECT sum(status = 'done'), sum(status = 'done' AND attempts = 1),"
                " sum(status != 'done') FROM inbox"
            ).fetchone()
        if not pending or time.monotonic() > deadline:
            return done or 0, once or 0, pending or 0
        time.sleep(0.2)


def _load(
    title: str, args: argparse.Namespace, *, n: int, hook: str, mode: str, baseline: bool, mixed: bool = False
) -> Run:
    """Start a service, (optionally) measure the forged baseline, post `n` deliveries (`mixed`: with forged
    ones among them), wait for the workers."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.sqlite"
        proc, url = _start(state, args.workers, hook, mode)
        try:
            _settle(proc.pid)
            bodies = [_payload(i) for i in range(1, 51)]  # 50 distinct PRs, ~25 kB each
            base_lat: list[float] = []
            if baseline:
                baseline_n = max(200, n // 10)
                forged = [_signed(bodies[i % 50], f"forged-{i}", forged=True) for i in range(baseline_n)]
                base_lat, base_codes, _ = asyncio.run(_fire(url, forged, args.rate))
                assert set(base_codes) == {401}, set(base_codes)
            cpu_before = _cpu_seconds(proc.pid)
            ids = [str(uuid.uuid4()) for _ in range(n)]
            real = [_signed(bodies[i % 50], ids[i]) for i in range(n)]
            again = real[: int(n * args.redeliver)]
            sent = real + again
            # one forged delivery after every 10 real ones: the baseline under the same load, at the
            # same moments (it never touches the inbox, so what delays it is the CPU, not the database)
            forged_at = set(range(10, len(sent) + len(sent) // 10, 11)) if mixed else set()
            it = iter(sent)
            stream = [
                _signed(bodies[0], f"mixed-{i}", forged=True) if i in forged_at else next(it)
                for i in range(len(sent) + len(forged_at))
            ]
            all_lat, all_codes, elapsed = asyncio.run(_fire(url, stream, args.rate))
            lat = [x for i, x in enumerate(all_lat) if i not in forged_at]
            codes = [c for i, c in enumerate(all_codes) if i not in forged_at]
            same_load = [x for i, x in enumerate(all_lat) if i in forged_at]
            assert all(all_codes[i] == 401 for i in forged_at)
            done, once, pending = _drain(state, args.drain_timeout)
            server_side = _server_ack(url)
            cpu = _cpu_seconds(proc.pid) - cpu_before
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return Run(
        title, n, len(again), lat, codes, elapsed, done, once, pending, cpu, server_side, base_lat, same_load
    )


def _report(run: Run, reference: Run | None = None) -> None:
    total = run.n + run.redelivered
    queued = sum(1 for c in run.codes if c == 202)
    duplicates = sum(1 for c in run.codes if c == 200)
    print(run.title)
    print(f"  deliveries posted      {total} ({run.n} distinct + {run.redelivered} redeliveries)")
    print(
        f"  answers                202 queued: {queued}, 200 duplicate: {duplicates},"
        f" other: {total - queued - duplicates}"
    )
    print(
        f"  ack latency            p50 {run.p50:.2f} ms   p99 {run.p99:.2f} ms   max {max(run.lat) * 1000:.2f} ms"
    )
    if run.baseline:
        b50, b99 = _pct(run.baseline, 0.50) * 1000, _pct(run.baseline, 0.99) * 1000
        print(
            f"  baseline (401 forged)  p50 {b50:.2f} ms   p99 {b99:.2f} ms   ({len(run.baseline)} requests)"
        )
        print(f"  ratio to baseline      p50 x{run.p50 / b50:.2f}   p99 x{run.p99 / b99:.2f}")
    if run.same_load:
        s50, s99 = _pct(run.same_load, 0.50) * 1000, _pct(run.same_load, 0.99) * 1000
        print(
            f"  401 forged, same load  p50 {s50:.2f} ms   p99 {s99:.2f} ms   ({len(run.same_load)} among them)"
        )
    if reference is not None:
        print(
            f"  ratio to no-op run     p50 x{run.p50 / reference.p50:.2f}   p99 x{run.p99 / reference.p99:.2f}"
        )
    print(f"  server-side ack        {run.server_side}")
    print(f"  service CPU            {run.cpu * 1000 / total:.2f} ms per request (receive, store, process)")
    sent = total + len(run.same_load)
    print(f"  throughput             {sent / run.elapsed:.0f} requests/s offered over {run.elapsed:.1f} s")
    print(f"  processed              {run.done} done, {run.once} on the first attempt, {run.pending} pending")
    print(f"  exactly once           {'yes' if run.exactly_once else 'NO'}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="deliveries of the no-op run (default 2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="service workers (default 4)")
    parser.add_argument("--redeliver", type=float, default=0.05, help="share posted twice (default 0.05)")
    parser.add_argument(
        "--busy-n", type=int, default=1000, help="deliveries of each busy run (default 1000; 0: skip them)"
    )
    parser.add_argument(
        "--busy-ms", type=float, default=20.0, help="CPU each busy handler holds, in ms (default 20)"
    )
    parser.add_argument(
        "--modes",
        default="process,thread",
        help="worker modes of the busy runs, comma-separated (default process,thread)",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=180.0, help="seconds to wait for the workers (default 180)"
    )
    args = parser.parse_args()
    print(f"{args.rate:.0f} deliveries/s, {args.workers} workers, load average {os.getloadavg()[0]:.2f}")

    noop = _load(
        "no-op handlers (worker processes)", args, n=args.n, hook="noop", mode="process", baseline=True
    )
    _report(noop)
    runs = [noop]
    busy: dict[str, Run] = {}
    if args.busy_n:
        for mode in args.modes.split(","):
            kind = "worker processes" if mode == "process" else "worker threads"
            title = f"busy handlers, {args.busy_ms:g} ms of CPU each ({kind})"
            hook = f"cpu:{args.busy_ms:g}"
            run = _load(title, args, n=args.busy_n, hook=hook, mode=mode, baseline=False, mixed=True)
            _report(run, noop)
            busy[mode] = run
            runs.append(run)
    if "process" in busy and "thread" in busy:
        before, after = busy["thread"], busy["process"]
        print(
            f"threads -> processes     p50 {before.p50:.1f} -> {after.p50:.1f} ms (x{before.p50 / after.p50:.1f}),"
            f" p99 {before.p99:.1f} -> {after.p99:.1f} ms (x{before.p99 / after.p99:.1f})"
        )
    target = busy.get("process", noop)
    print(f"target p99 < 50 ms       {'met' if target.p99 < 50 else 'MISSED'} ({target.title})")
    return 0 if all(r.exactly_once for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
