"""Runs of the operations' tools and the checkpoints of their segments, kept in the read-model database
(ops_runs, ops_segments: migrations 0006 and 0007) by the in-VPC ops function.

A run scans the orders table in `total_segments` parallel segments; each segment's row holds the scan's
LastEvaluatedKey after the last page handled, its counters and the first ids each counter counted. One more row,
numbered `total_segments`, holds the run's final phase (the passes over the read models) in the same way. A
rebuild resumes the unfinished run of its table when the table's stream epoch is still the same; a reconcile
always starts afresh (a half-old comparison means nothing)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from pymysql.cursors import Cursor

MAX_SAMPLES = 20  # first order or item ids kept per counter
SUCCEEDED, ABANDONED = "succeeded", "abandoned"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds") + "Z"


def open_run(cursor: Cursor, operation: str, table_name: str, epoch: str, total_segments: int,
             estimated_orders: int, options: dict, resume: bool) -> dict:
    """The run to work on: the unfinished one of this operation and table, when `resume` and it scans the same
    table incarnation, else a new one (unfinished others are marked abandoned)."""
    cursor.execute(
        "SELECT run_id, stream_epoch FROM ops_runs WHERE operation = %s AND table_name = %s AND finished_at IS NULL"
        " ORDER BY started_at DESC, run_id FOR UPDATE",
        (operation, table_name),
    )
    unfinished = cursor.fetchall()
    kept = next((run_id for run_id, run_epoch in unfinished if resume and run_epoch == epoch), None)
    abandoned = [run_id for run_id, _ in unfinished if run_id != kept]
    for run_id in abandoned:
        cursor.execute("UPDATE ops_runs SET finished_at = %s, outcome = %s WHERE run_id = %s",
                       (_now(), ABANDONED, run_id))
    if kept is not None:
        return {**load_run(cursor, kept), "resumed": True, "abandoned": abandoned}
    # Random hex as uuid4 would give, without importing uuid (and platform, which it imports) at cold start.
    run_id = f"{operation}-{_now():%Y%m%dT%H%M%S}-{os.urandom(4).hex()}"
    now = _now()
    cursor.execute(
        "INSERT INTO ops_runs (run_id, operation, table_name, stream_epoch, total_segments, options,"
        " estimated_orders, started_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (run_id, operation, table_name, epoch, total_segments, json.dumps(options), estimated_orders, now),
    )
    cursor.executemany(
        "INSERT INTO ops_segments (run_id, segment, counts, samples, updated_at) VALUES (%s, %s, '{}', '{}', %s)",
        [(run_id, segment, now) for segment in range(total_segments + 1)],  # the last row: the final phase
    )
    return {**load_run(cursor, run_id), "resumed": False, "abandoned": abandoned}


def load_run(cursor: Cursor, run_id: str) -> dict:
    cursor.execute(
        "SELECT operation, table_name, stream_epoch, total_segments, options, estimated_orders, started_at,"
        " finished_at, outcome, summary FROM ops_runs WHERE run_id = %s",
        (run_id,),
    )
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no run {run_id!r}")
    operation, table_name, epoch, total, options, estimated, started, finished, outcome, summary = row
    cursor.execute("SELECT segment FROM ops_segments WHERE run_id = %s AND done = 0 AND segment < %s"
                   " ORDER BY segment", (run_id, total))
    return {"runId": run_id, "operation": operation, "table": table_name, "epoch": epoch, "totalSegments": total,
            "options": json.loads(options), "estimatedOrders": estimated, "startedAt": _iso(started),
            "finishedAt": _iso(finished), "outcome": outcome, "summary": json.loads(summary) if summary else None,
            "segments": [segment for (segment,) in cursor.fetchall()]}


def segment_state(cursor: Cursor, run_id: str, segment: int) -> dict:
    cursor.execute("SELECT next_key, done, scanned, counts, samples, seconds FROM ops_segments"
                   " WHERE run_id = %s AND segment = %s", (run_id, segment))
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"run {run_id!r} has no segment {segment}")
    next_key, done, scanned, counts, samples, seconds = row
    return {"nextKey": json.loads(next_key) if next_key else None, "done": bool(done), "scanned": scanned,
            "counts": json.loads(counts), "samples": json.loads(samples), "seconds": seconds}


def record_step(cursor: Cursor, run_id: str, segment: int, next_key: object, done: bool, scanned: int,
                counts: dict[str, int], samples: dict[str, list[str]], seconds: float) -> dict:
    """Add a step's counters to the segment and move its checkpoint; returns the segment's new state."""
    cursor.execute("SELECT counts, samples FROM ops_segments WHERE run_id = %s AND segment = %s FOR UPDATE",
                   (run_id, segment))
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"run {run_id!r} has no segment {segment}")
    total_counts, total_samples = merge_counts(json.loads(row[0]), counts), merge_samples(json.loads(row[1]), samples)
    cursor.execute(
        "UPDATE ops_segments SET next_key = %s, done = %s, scanned = scanned + %s, counts = %s, samples = %s,"
        " seconds = seconds + %s, updated_at = %s WHERE run_id = %s AND segment = %s",
        (None if next_key is None else json.dumps(next_key), done, scanned, json.dumps(total_counts),
         json.dumps(total_samples), seconds, _now(), run_id, segment),
    )
    return segment_state(cursor, run_id, segment)


def progress(cursor: Cursor, run_id: str | None = None, operation: str | None = None,
             table_name: str | None = None) -> dict | None:
    """A run (by id, or the latest of an operation on a table) with its counters summed over its segments."""
    if run_id is None:
        cursor.execute("SELECT run_id FROM ops_runs WHERE operation = %s AND table_name = %s"
                       " ORDER BY started_at DESC, run_id DESC LIMIT 1", (operation, table_name))
        row = cursor.fetchone()
        if row is None:
            return None
        run_id = row[0]
    run = load_run(cursor, run_id)
    cursor.execute("SELECT segment, done, scanned, counts, samples, seconds FROM ops_segments WHERE run_id = %s"
                   " ORDER BY segment", (run_id,))
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    scanned = done = 0
    busiest = 0.0
    for segment, segment_done, segment_scanned, segment_counts, segment_samples, seconds in cursor.fetchall():
        counts = merge_counts(counts, json.loads(segment_counts))
        samples = merge_samples(samples, json.loads(segment_samples))
        if segment < run["totalSegments"]:
            scanned += segment_scanned
            done += bool(segment_done)
            busiest = max(busiest, seconds)
    return {**run, "scanned": scanned, "segmentsDone": done, "counts": counts, "samples": samples,
            "scanSeconds": busiest}


def finish_run(cursor: Cursor, run_id: str, summary: dict) -> None:
    cursor.execute("UPDATE ops_runs SET finished_at = %s, outcome = %s, summary = %s WHERE run_id = %s",
                   (_now(), SUCCEEDED, json.dumps(summary), run_id))


def last_success(cursor: Cursor, operation: str, table_name: str) -> str | None:
    """When the latest successful run of the operation on the table started (ISO-8601 UTC), if any."""
    cursor.execute("SELECT MAX(started_at) FROM ops_runs WHERE operation = %s AND table_name = %s AND outcome = %s",
                   (operation, table_name, SUCCEEDED))
    return _iso(cursor.fetchone()[0])


def merge_counts(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    merged = dict(into)
    for name, count in more.items():
        merged[name] = merged.get(name, 0) + count
    return merged


def merge_samples(into: dict[str, list[str]], more: dict[str, list[str]]) -> dict[str, list[str]]:
    merged = {name: list(ids) for name, ids in into.items()}
    for name, ids in more.items():
        kept = merged.setdefault(name, [])
        kept += [i for i in ids if i not in kept][: MAX_SAMPLES - len(kept)]
    return merged
