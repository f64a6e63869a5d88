"""Output and statistics shared by the benchmarks: human-readable lines, then exactly one JSON line of figures."""

from __future__ import annotations

import json
import statistics


def say(text: str) -> None:
    print(text, flush=True)


def emit(name: str, figures: dict) -> dict:
    """The benchmark's last line: {"benchmark": name, ...figures}."""
    print(json.dumps({"benchmark": name, **figures}, separators=(", ", ": ")), flush=True)
    return figures


def latency_ms(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds (linear interpolation between the closest ranks)."""
    if len(samples_s) < 2:
        raise ValueError("percentiles need two samples or more")
    cuts = statistics.quantiles(samples_s, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 3), "p95_ms": round(cuts[94] * 1000, 3),
            "p99_ms": round(cuts[98] * 1000, 3)}


def ratio(numerator: float, denominator: float, digits: int = 2) -> float:
    """numerator / denominator rounded to `digits`, or to two significant figures where that would give 0."""
    value = numerator / denominator
    return round(value, digits) or float(f"{value:.2g}")
