"""Rebuild the read models from the orders table, the source of truth.

A parallel scan (`total_segments` segments) feeds every item through the projector's code with the epoch of the
table's current stream: an order is written only where the read model holds an older revision, so the stream
keeps flowing during the rebuild and whichever of the two writes an order last, the newer revision stands. Each
page moves its segment's checkpoint (runs.record_step), so a rebuild stopped halfway continues where each segment
stopped. The final sweep marks as removed the standing orders of older epochs that the table no longer holds (a
re-created or restored table lost them); then the read model holds exactly the table's orders.

Steps: `start` (opens or resumes the run), `segment` (pages until done or out of time), `finish` (the sweep, then
the summary). The ops state machine drives them on AWS, `inline.run` in one process."""

from __future__ import annotations

import time

OPERATION = "rebuild"
PAGE_SIZE = 500  # items per scan page: one transaction each, short enough not to hold the projector up
SWEEP_PAGE = 500


def start(table, readside, segments: int, resume: bool = True, page_size: int = PAGE_SIZE) -> dict:
    info = table.describe()
    return readside.call("open_run", operation=OPERATION, table_name=table.name, epoch=info["epoch"],
                         total_segments=segments, estimated_orders=info["itemCount"],
                         options={"pageSize": page_size}, resume=resume)


def segment(table, readside, run: dict, segment_number: int, budget_s: float) -> dict:
    """Scan and apply pages of one segment until it is done or `budget_s` has passed: {"done", "scanned"}."""
    deadline = time.monotonic() + budget_s
    state = readside.call("segment_state", run_id=run["runId"], segment=segment_number)
    page_size = run["options"].get("pageSize", PAGE_SIZE)
    while not state["done"] and time.monotonic() < deadline:
        started = time.monotonic()
        items, last_key = table.scan(segment_number, run["totalSegments"], state["nextKey"], page_size)
        state = readside.call("apply_page", run_id=run["runId"], segment=segment_number, epoch=run["epoch"],
                              items=items, next_key=last_key, seconds=time.monotonic() - started)
    return {"done": state["done"], "scanned": state["scanned"]}


def finish(table, readside, run: dict, budget_s: float) -> dict:
    """The sweep of older epochs' orders, page by page until done or out of time; then the summary."""
    deadline = time.monotonic() + budget_s
    final = run["totalSegments"]  # the run's row for its final phase
    state = readside.call("segment_state", run_id=run["runId"], segment=final)
    after = (state["nextKey"] or {}).get("after", "")
    while not state["done"] and time.monotonic() < deadline:
        started = time.monotonic()
        page = readside.call("standing_orders", after=after, limit=SWEEP_PAGE, except_epoch=run["epoch"])
        present = table.get([order["orderId"] for order in page["orders"]], keys_only=True)
        gone = [order for order in page["orders"] if order["orderId"] not in present]
        removed = readside.call("tombstone", orders=gone)["removed"] if gone else []
        # Still standing from an older epoch although the table holds it: its item failed to apply.
        behind = [order["orderId"] for order in page["orders"] if order["orderId"] in present]
        after = page["next"]
        state = readside.call("record_step", run_id=run["runId"], segment=final,
                              next_key={"after": after} if after else None, done=after is None, scanned=0,
                              counts={"removed": len(removed), "notRebuilt": len(behind)},
                              samples={"removed": removed, "notRebuilt": behind},
                              seconds=time.monotonic() - started)
    if not state["done"]:
        return {"done": False, "summary": None}
    summary = summarize(table, readside, run["runId"])
    readside.call("finish_run", run_id=run["runId"], summary=summary)
    return {"done": True, "summary": summary}


def summarize(table, readside, run_id: str) -> dict:
    run = readside.call("progress", run_id=run_id)
    counts = run["counts"]
    standing = readside.call("count_orders")
    return {"operation": OPERATION, "runId": run_id, "table": table.name, "segments": run["totalSegments"],
            "scanned": run["scanned"], "applied": counts.get("applied", 0),
            "stale": counts.get("stale", 0), "failed": counts.get("failed", 0),
            "removed": counts.get("removed", 0), "notRebuilt": counts.get("notRebuilt", 0),
            "readModelOrders": standing, "countsMatch": standing == run["scanned"],
            "failedOrderIds": run["samples"].get("failed", []) + run["samples"].get("notRebuilt", []),
            "scanSeconds": round(run["scanSeconds"], 3),
            "ordersPerSecond": round(run["scanned"] / run["scanSeconds"], 1) if run["scanSeconds"] else None}
