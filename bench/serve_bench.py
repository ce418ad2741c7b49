"""Load benchmark (not a test) for `opsbook serve`, against the targets of issue 13: N uploads
of distinct filled workbooks from C concurrent clients to a server on this machine, reporting
throughput, p50/p95 latency, errors and the peak memory of the server's process tree; and, on
the same inputs and cores, the CLI batch (`opsbook render FOLDER --outdir --jobs W`) for the
throughput ratio. Run from the repository root:

    python bench/serve_bench.py [--n 200] [--clients 20] [--workers 2] [--markdown FILE]

Each upload is POST /api/v1/submissions: read, check, render the summary and store both files
in SQLite (one committed transaction) before the answer, as the staff page does.
"""

from __future__ import annotations

import argparse
import os
import queue
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import _pss, _rss, _tree, machine, make_inputs, opsbook_command

MB = 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Sampler(threading.Thread):
    """Peak RSS and PSS sums of a process tree, sampled every 50 ms."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_rss = 0
        self.peak_pss = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids = _tree(self.root)
            self.peak_rss = max(self.peak_rss, sum(_rss(p) for p in pids))
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
            time.sleep(0.05)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of one live process (its own, not its reaped children's)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_cpu(root: int) -> float:
    """CPU seconds of a process tree's live processes (the server and its workers)."""
    return sum(_cpu(pid) for pid in _tree(root))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_batch(paths: list[Path], workdir: Path, workers: int) -> tuple[float, int, float]:
    """Seconds for `opsbook render FOLDER --outdir OUT --jobs W`, its peak RSS, and its CPU
    seconds (its workers included: it reaps them before it exits)."""
    out = workdir / "cli-out"
    argv = [*opsbook_command(), "render", str(paths[0].parent), "--outdir", str(out),
            "--jobs", str(workers)]  # fmt: skip
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = Sampler(proc.pid)
    sampler.start()
    proc.wait()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"the CLI batch failed ({proc.returncode})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, sampler.peak_rss, cpu


def serve_load(
    paths: list[Path], workdir: Path, workers: int, clients: int
) -> dict[str, float | int]:
    port = free_port()
    data_dir = workdir / "serve-data"
    env = {**os.environ, "OPSBOOK_LEAD_TOKEN": "bench"}
    argv = [*opsbook_command(), "serve", "--port", str(port), "--data", str(data_dir),
            "--workers", str(workers)]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # Warm the conversion processes (they load the converters at start) before timing.
        with httpx.Client(timeout=120) as c:
            for _ in range(workers):
                c.post(f"{url}/api/v1/check", files={"file": ("w.xlsx", paths[0].read_bytes())})
        payloads = [(p.name, p.read_bytes()) for p in paths]
        work: queue.Queue[tuple[str, bytes]] = queue.Queue()
        for item in payloads:
            work.put(item)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(timeout=300) as c:
                while True:
                    try:
                        name, data = work.get_nowait()
                    except queue.Empty:
                        return
                    t0 = time.perf_counter()
                    try:
                        r = c.post(f"{url}/api/v1/submissions",
                                   files={"file": (name, data, XLSX)})  # fmt: skip
                        status = r.status_code
                    except httpx.HTTPError as exc:
                        status = 0
                        detail = type(exc).__name__
                    took = time.perf_counter() - t0
                    with lock:
                        latencies.append(took)
                        if status != 201:
                            errors.append(f"{name}: {status or detail}")

        sampler = Sampler(server.pid)
        sampler.start()
        cpu_before = tree_cpu(server.pid)
        start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        cpu = tree_cpu(server.pid) - cpu_before
        sampler.done.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(30)
    latencies.sort()
    return {
        "n": len(payloads),
        "seconds": elapsed,
        "throughput": len(payloads) / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "max": latencies[-1],
        "errors": len(errors),
        "peak_rss": sampler.peak_rss,
        "peak_pss": sampler.peak_pss,
        "cpu": cpu,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="uploads (200)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="conversion processes, and the CLI batch's --jobs (CPUs)")  # fmt: skip
    parser.add_argument("--markdown", type=Path, help="also write the results as Markdown here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsbook-serve-bench-") as tmp:
        workdir = Path(tmp)
        paths = make_inputs(workdir / "in", args.n)
        batch_s, batch_rss, batch_cpu = cli_batch(paths, workdir, args.workers)
        load = serve_load(paths, workdir, args.workers, args.clients)
        batch_after_s, _, batch_after_cpu = cli_batch(paths, workdir / "again", args.workers)
    batch_tp = args.n / statistics.mean([batch_s, batch_after_s])
    ratio = float(load["throughput"]) / batch_tp
    rows = [
        ("uploads / clients / workers", f"{args.n} / {args.clients} / {args.workers}", ""),
        ("errors", f"{load['errors']}", "0"),
        ("throughput (uploads/s)", f"{load['throughput']:.1f}", ""),
        ("CLI batch throughput (workbooks/s, mean of before and after)",
         f"{batch_tp:.1f} ({batch_s:.1f} s, {batch_after_s:.1f} s)", ""),
        ("server / CLI batch", f"{ratio:.0%}", ">= 80%"),
        ("CPU s per upload, server + workers", f"{float(load['cpu']) / args.n:.3f}", ""),
        ("CPU s per workbook, CLI batch (mean of before and after)",
         f"{(batch_cpu + batch_after_cpu) / (2 * args.n):.3f}", ""),
        ("latency p50 (s)", f"{load['p50']:.2f}", ""),
        ("latency p95 (s)", f"{load['p95']:.2f}", "< 2 s"),
        ("latency max (s)", f"{load['max']:.2f}", ""),
        ("peak memory, server + workers: RSS sum (MB)", f"{int(load['peak_rss']) // MB}",
         "< 400 MB"),
        ("peak memory, server + workers: PSS sum (MB)", f"{int(load['peak_pss']) // MB}", ""),
        ("peak memory, CLI batch: RSS sum (MB)", f"{batch_rss // MB}", ""),
    ]  # fmt: skip
    lines = ["| measurement | value | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    info = [f"- {k}: {v}" for k, v in machine()]
    text = "\n".join([*info, "", *lines]) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
