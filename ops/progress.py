"""Progress on the terminal while a run goes on (one line rewritten in place on a TTY, a line every few seconds
otherwise), and the final summary in words."""

from __future__ import annotations

import sys
import time
from typing import TextIO

DRIFT_WORDS = {"missing": "orders missing from the read models", "order": "orders whose version, status or date differ",
               "lines": "orders whose lines differ", "invalid": "table items the projector cannot read",
               "extra": "orders the table no longer holds", "item_totals": "items whose overall totals differ",
               "item_monthly_totals": "items whose monthly totals differ"}


class ProgressLine:
    def __init__(self, operation: str, stream: TextIO = sys.stderr, every_s: float = 5.0):
        self.operation, self.stream = operation, stream
        self.interactive = stream.isatty()
        self.every_s = every_s
        self.first: tuple[float, int] | None = None
        self.last_line = ""
        self.last_written = 0.0

    def __call__(self, run: dict | None) -> None:
        now = time.monotonic()
        if run is None:
            line = f"{self.operation}: starting"
        else:
            line = self.describe(run, now)
        if self.interactive:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        elif line != self.last_line and now - self.last_written >= self.every_s:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last_written = now
        self.last_line = line

    def describe(self, run: dict, now: float) -> str:
        scanned, estimated = run["scanned"], run["estimatedOrders"]
        if self.first is None:
            self.first = (now, scanned)
        seconds, start = now - self.first[0], self.first[1]
        rate = (scanned - start) / seconds if seconds > 0.5 and scanned > start else None
        counts = run["counts"]
        done = f"{run['segmentsDone']}/{run['totalSegments']} segments"
        parts = [f"{self.operation} {run['runId']}", f"{scanned:,} of ~{estimated:,} orders scanned", done]
        if run["operation"] == "rebuild":
            parts.append(f"applied {counts.get('applied', 0):,}, stale {counts.get('stale', 0):,}, "
                         f"failed {counts.get('failed', 0):,}")
        else:
            drift = sum(counts.get(kind, 0) for kind in DRIFT_WORDS)
            parts.append(f"drift {drift:,}" + (f", repaired {counts.get('repaired', 0):,}"
                                               if run["options"].get("repair") else ""))
        if rate:
            parts.append(f"{rate:,.0f} orders/s")
            if estimated > scanned:
                parts.append(f"ETA {(estimated - scanned) / rate:,.0f} s")
        if run["segmentsDone"] == run["totalSegments"] and run["finishedAt"] is None:
            parts.append("final pass")
        return " | ".join(parts)

    def close(self) -> None:
        if self.interactive and self.last_line:
            self.stream.write("\n")
            self.stream.flush()


def words(summary: dict) -> str:
    """The summary for a person (--json prints it as it is)."""
    operation = summary.get("operation")
    if operation == "rebuild":
        lines = [f"rebuild {summary['runId']} of {summary['table']}: {summary['scanned']:,} orders scanned in "
                 f"{summary['segments']} segments ({summary['ordersPerSecond'] or 0:,.0f} orders/s): "
                 f"{summary['applied']:,} applied, {summary['stale']:,} already current, {summary['failed']:,} failed; "
                 f"{summary['removed']:,} orders the table no longer holds marked removed",
                 f"read models now hold {summary['readModelOrders']:,} orders"
                 + (" (as many as the table)" if summary["countsMatch"] else
                    " (the table changed during the rebuild, or orders failed)")]
        if summary["failedOrderIds"]:
            lines.append(f"not rebuilt: {', '.join(summary['failedOrderIds'])}")
        return "\n".join(lines)
    if operation == "reconcile":
        lines = [f"reconcile {summary['runId']} of {summary['table']}: {summary['scanned']:,} orders checked, "
                 f"drift {summary['drift']:,}" + (f", repaired {summary['repairedOrders']:,} orders and "
                                                  f"{summary['repairedItems']:,} items" if summary["repair"] else "")]
        for kind, count in summary["driftByKind"].items():
            if count:
                lines.append(f"  {count:,} {DRIFT_WORDS[kind]}: {', '.join(summary['firstIds'].get(kind, []))}")
        if summary["unrepaired"]:
            lines.append(f"{summary['unrepaired']:,} left unlike the table" + (
                "" if summary["repair"] else ": run `python -m ops reconcile --repair`"))
        return "\n".join(lines)
    lines = [f"redrive of {summary['table']}'s on-failure queue: {summary['messages']} messages, "
             f"{summary['redriven']} redriven, {summary['resolvedByRebuild']} resolved by a rebuild, "
             f"{summary['stillFailing']} still failing, {summary['needRebuild']} waiting for a rebuild, "
             f"{summary['unreadable']} unreadable; {summary['queueDepth']} left in the queue",
             f"orders: {summary['ordersApplied']} applied, {summary['ordersStale']} already current, "
             f"{summary['ordersRemoved']} marked removed"]
    for failure in summary["failures"]:
        lines.append(f"  {failure['messageId']}: {failure['result']} {', '.join(map(str, failure['orderIds']))} "
                     f"{'; '.join(failure['errors'][:3])}".rstrip())
    return "\n".join(lines)
