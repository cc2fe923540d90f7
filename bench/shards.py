"""Worker shards: the highest book-update rate `arb scan` sustains with 1 and with N workers.

The simulator (bench.scale_sim) serves SYMBOLS symbols on MEXC and Gate in its own process,
pinned to one core, pushing one book change at a time round-robin at a rate raised in
steps. `arb scan --json --workers K` runs as a user runs it (its own process and its
workers), pointed at the simulator by the URL settings, with the status server on. Each
step holds HOLD_S seconds; over its last MEASURE_S seconds the book updates the scan
decided (`arb_book_updates` on /metrics, summed over venues) are set against the pushes the
simulator sent meanwhile (its send records). A step is sustained when the simulator sent at
least 95% of the offered rate and the scan decided at least 95% of what it sent. The same
ladder runs with 1 worker, then with N (the machine's cores). Each step also notes the CPU
time the scan's processes (parent and workers, from /proc) spent per decided update: what
sharding costs, and how many updates a second each core can take.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Row, Stat

SYMBOLS = 50
VENUES = ("mexc", "gateio")
RATES = (10_000, 20_000, 30_000, 40_000, 50_000, 60_000)
HOLD_S = 5.0
MEASURE_S = 3.0
KEPT = 0.95


def run(quick: bool = False) -> list[Row]:
    """The ladder with 1 worker and with one per core; the best sustained rate of each."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    many = max(2, cores)
    rates = (2_000, 5_000) if quick else RATES
    symbols = 6 if quick else SYMBOLS
    results = {k: ladder(k, symbols, rates, 1.5 if quick else HOLD_S) for k in (1, many)}
    best = {k: _best(steps) for k, steps in results.items()}
    one, more = best[1], best[many]
    cost = {k: _cost(steps) for k, steps in results.items()}
    return [
        Row(
            operation=f"scan with worker shards: highest sustained rate, {symbols} symbols x "
            f"{len(VENUES)} venues, 1 worker vs {many}",
            ours=None if more is None else Stat(more, more, "updates/s", 1),
            baseline=None if one is None else Stat(one, one, "updates/s", 1),
            ratio=None if not (one and more) else round(more / one, 2),
            ratio_means=f"({many} workers / 1)",
            target="(report)",
            passed=None,
            notes=f"`arb scan --workers K` against the simulator in its own process on a "
            f"{cores}-core machine; sustained: >= {KEPT:.0%} of the pushes sent were decided; "
            f"CPU per decided update (every scan process): {cost[1]} us with 1 worker, "
            f"{cost[many]} us with {many}",
            details={"cores": cores, "steps": {str(k): v for k, v in results.items()}},
        )
    ]


def _cost(steps: list[dict[str, Any]]) -> float | None:
    """CPU microseconds per update at the highest sustained step."""
    kept = [s for s in steps if s["sustained"] and s["cpu_us_per_update"] is not None]
    return max(kept, key=lambda s: s["offered_per_s"])["cpu_us_per_update"] if kept else None


def _best(steps: list[dict[str, Any]]) -> float | None:
    kept = [s["offered_per_s"] for s in steps if s["sustained"]]
    return float(max(kept)) if kept else None


def ladder(workers: int, symbols: int, rates: tuple[int, ...], hold: float) -> list[dict[str, Any]]:
    """One scan with `workers` workers while the simulator steps through `rates`."""
    with tempfile.TemporaryDirectory() as folder:
        sends_path = Path(folder) / "sends.json"
        sim = subprocess.Popen(  # noqa: S603 - our own interpreter on our own module
            [
                sys.executable,
                "-m",
                "bench.scale_sim",
                str(symbols),
                str(rates[0]),
                str(sends_path),
                ",".join(VENUES),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sim.stdin is not None
        assert sim.stdout is not None
        scan: subprocess.Popen[str] | None = None
        windows: list[tuple[int, float, float, int, float]] = []
        try:
            announce = json.loads(sim.stdout.readline())
            port = _free_port()
            scan = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "arb", "scan", "--json", "--workers", str(workers)],
                cwd=folder,
                env=_env(announce, port, folder),
                stdout=subprocess.DEVNULL,
                stderr=open(Path(folder) / "scan.err", "w"),  # noqa: SIM115
                text=True,
            )
            metrics = f"http://127.0.0.1:{port}/metrics"
            _wait_streaming(metrics, symbols, scan, Path(folder) / "scan.err")
            for rate in rates:
                sim.stdin.write(f"rate {rate}\n")
                sim.stdin.flush()
                measure = min(MEASURE_S, hold * 0.6)
                time.sleep(hold - measure)
                first, began, cpu = _updates(metrics), time.monotonic(), _cpu_s(scan.pid)
                time.sleep(measure)
                last, ended = _updates(metrics), time.monotonic()
                windows.append((rate, began, ended, last - first, _cpu_s(scan.pid) - cpu))
            sim.stdin.write("stop\n")
            sim.stdin.flush()
            if sim.stdout.readline().strip() != "done":
                raise RuntimeError("bench: the simulator did not stop cleanly")
            sends = [row[3] for row in json.loads(sends_path.read_text())]
        finally:
            if scan is not None:
                scan.terminate()
                scan.wait(30)
            sim.stdin.close()
            sim.wait(30)
    steps = []
    for rate, began, ended, decided, cpu in windows:
        sent = sum(1 for at in sends if began <= at <= ended)
        seconds = ended - began
        steps.append(
            {
                "offered_per_s": rate,
                "sent_per_s": round(sent / seconds),
                "decided_per_s": round(decided / seconds),
                "sustained": sent >= KEPT * rate * seconds and decided >= KEPT * sent,
                "cpu_us_per_update": round(cpu / decided * 1e6, 2) if decided else None,
                "cpu_cores_busy": round(cpu / seconds, 2),
            }
        )
    return steps


def _env(announce: dict[str, Any], port: int, folder: str) -> dict[str, str]:
    key, secret, _ = announce["keys"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    for venue, urls in announce["venues"].items():
        prefix = f"ARB_EXCHANGES__{venue.upper()}__"
        env |= {prefix + "REST_URL": urls["rest"], prefix + "WS_URL": urls["ws"]}
        env |= {prefix + "API_KEY": key, prefix + "API_SECRET": secret}
    env |= {
        "ARB_EXCHANGES": ",".join(announce["venues"]),
        "ARB_SYMBOLS": "all",
        "ARB_STATUS__LISTEN": f"127.0.0.1:{port}",
        "ARB_LEDGER__PATH": str(Path(folder) / "ledger.sqlite"),
        "ARB_LOG__LEVEL": "WARNING",
    }
    return env


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` and its child processes (the workers) so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _updates(url: str) -> int:
    """arb_book_updates summed over venues, from the scan's /metrics."""
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our own loopback
        text = answer.read().decode()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("arb_book_updates_total{")
    )


def _wait_streaming(url: str, symbols: int, scan: subprocess.Popen[str], err: Path) -> None:
    """Until every book has updated (the scan is up and streaming), or fail after 120 s."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if scan.poll() is not None:
            raise RuntimeError(f"arb scan exited:\n{err.read_text()[-3000:]}")
        try:
            if _updates(url) >= 2 * len(VENUES) * symbols:
                time.sleep(1.0)
                return
        except OSError:
            pass  # the status server is not up yet
        time.sleep(0.2)
    raise RuntimeError(f"arb scan did not stream within 120 s:\n{err.read_text()[-3000:]}")
