"""Redrive the projector's on-failure queue.

A message describes a failed stream batch (DDBStreamBatchInfo: shard and sequence numbers), not its records. For
each message the order ids are read from the stream; the orders' current state is then read from the table (not
from the records, which may be poison or long superseded) and projected through the projector's code; an order the
table no longer holds is marked removed. The message is deleted only when every one of its orders applied (or the
read model already held that revision or a newer one); otherwise it stays in the queue and is reported.

When the records are gone (the stream keeps them 24 hours; a re-created or restored table has a new stream), the
orders cannot be named: any rebuild that started after the message was sent re-read every order of the table, so
such a message is deleted once one has succeeded, and reported as needing one until then."""

from __future__ import annotations

from datetime import datetime

from ops.core.table import FailureMessage

HIDE_FOR_S = 900  # the messages being worked on stay hidden this long (more than a redrive takes)


def redrive(table, queue, readside, limit: int = 1000) -> dict:
    messages = queue.receive_all(HIDE_FOR_S, limit)
    epoch = table.describe()["epoch"]
    rebuilt = readside.call("last_success", operation="rebuild", table_name=table.name)
    rebuilt_at = datetime.fromisoformat(rebuilt.replace("Z", "+00:00")).timestamp() if rebuilt else None
    summary: dict = {"operation": "redrive", "table": table.name, "messages": len(messages), "redriven": 0,
                     "resolvedByRebuild": 0, "stillFailing": 0, "needRebuild": 0, "unreadable": 0,
                     "ordersApplied": 0, "ordersStale": 0, "ordersRemoved": 0, "failures": []}
    for message in messages:
        outcome = _redrive_one(table, readside, epoch, message, rebuilt_at)
        for name in ("ordersApplied", "ordersStale", "ordersRemoved"):
            summary[name] += outcome.get(name, 0)
        summary[outcome["result"]] += 1
        if outcome["result"] in ("redriven", "resolvedByRebuild"):
            queue.delete(message)
        else:
            queue.release(message)
            summary["failures"].append({"messageId": message.message_id, "result": outcome["result"],
                                        "orderIds": outcome.get("failed", []), "errors": outcome.get("errors", [])})
    summary["queueDepth"] = queue.depth()
    return summary


def _redrive_one(table, readside, epoch: str, message: FailureMessage, rebuilt_at: float | None) -> dict:
    if message.batch is None:
        return {"result": "unreadable", "errors": ["not a DynamoDB stream on-failure message"]}
    order_ids = table.stream_keys(message.batch)
    if order_ids is None:
        resolved = rebuilt_at is not None and rebuilt_at > message.sent_at
        return {"result": "resolvedByRebuild" if resolved else "needRebuild",
                "errors": [] if resolved else ["the batch's records are no longer in the stream: run a rebuild"]}
    return reproject(table, readside, epoch, order_ids)


def reproject(table, readside, epoch: str, order_ids: list[str]) -> dict:
    """Project the orders' current state from the table: {"result", "ordersApplied", "ordersStale",
    "ordersRemoved", "failed", "errors"}."""
    items = table.get(order_ids)
    projected = readside.call("project", epoch=epoch, items=list(items.values())) if items else \
        {"applied": [], "stale": [], "failed": [], "errors": []}
    gone = [order_id for order_id in order_ids if order_id not in items]
    removed = []
    if gone:  # deleted from the table: the read model's standing row, if any, becomes a tombstone
        standing = readside.call("standing_orders", order_ids=gone)["orders"]
        removed = readside.call("tombstone", orders=standing)["removed"] if standing else []
    return {"result": "stillFailing" if projected["failed"] else "redriven",
            "ordersApplied": len(projected["applied"]), "ordersStale": len(projected["stale"]),
            "ordersRemoved": len(removed), "failed": projected["failed"], "errors": projected["errors"]}
