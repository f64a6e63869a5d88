"""`python -m bench [--quick] [--only NAME ...]`: run the benchmarks one after another; each prints its
figures as text, then one JSON line. --quick runs every benchmark at reduced sizes (about two minutes here)."""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from bench import (cold_start, hot_items, idle_cost, load, program_time, projector_throughput, query_latency,
                   rebuild_rate, request_cost)
from bench.report import say

BENCHMARKS = {
    "projector_throughput": projector_throughput,
    "hot_items": hot_items,
    "query_latency": query_latency,
    "cold_start": cold_start,
    "program_time": program_time,
    "idle_cost": idle_cost,
    "rebuild_rate": rebuild_rate,
    "request_cost": request_cost,
    "load": load,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes and repeats")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    say(f"machine: {_machine()}; load averages {_load()}")
    start = time.perf_counter()
    for name, module in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        sizes = getattr(module, "QUICK" if args.quick else "FULL", {})
        say("")
        module.run(**sizes)
    say("")
    say(f"done in {time.perf_counter() - start:.0f} s; load averages {_load()}")


def _machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
              if line.startswith("model name")] if cpuinfo.exists() else []
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} CPUs ({models[0] if models else platform.processor()}), {memory_gib:.0f} GiB,"
            f" {platform.system()} {platform.release()}, Python {platform.python_version()}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
