"""Reconcile the read models with the orders table, and with `repair` bring the drifted ones back to it.

Three passes, all through the projector's own rules (ops.core.readside):
1. the table, scanned with strongly consistent reads in parallel segments: each order's revision (epoch, version,
   status), date and lines against the read model (kinds: missing, order, lines; invalid: an item the projector
   cannot project);
2. the read model's standing orders against the table (kind extra: the table no longer holds the order);
3. both totals tables against what the lines add up to (kinds item_totals, item_monthly_totals).
A difference is confirmed after `grace` seconds (the stream may simply not have delivered it yet) before it
counts. `repair` re-projects drifted orders from the table (if the projector has not moved them meanwhile), marks
extras as removed and recomputes drifted totals, then checks them again. The summary's `drift` is the count the
exit code and the ReconcileDrift metric report."""

from __future__ import annotations

import time

from ops.core.readside import EXTRA, INVALID, ITEM_TOTALS, MONTHLY_TOTALS

OPERATION = "reconcile"
PAGE_SIZE = 500
DRIFT_KINDS = ("missing", "order", "lines", INVALID, EXTRA, ITEM_TOTALS, MONTHLY_TOTALS)


def start(table, readside, segments: int, repair: bool = False, grace: float = 10.0,
          page_size: int = PAGE_SIZE) -> dict:
    info = table.describe()
    return readside.call("open_run", operation=OPERATION, table_name=table.name, epoch=info["epoch"],
                         total_segments=segments, estimated_orders=info["itemCount"],
                         options={"repair": repair, "grace": grace, "pageSize": page_size}, resume=False)


def segment(table, readside, run: dict, segment_number: int, budget_s: float) -> dict:
    deadline = time.monotonic() + budget_s
    options = run["options"]
    state = readside.call("segment_state", run_id=run["runId"], segment=segment_number)
    while not state["done"] and time.monotonic() < deadline:
        started = time.monotonic()
        items, last_key = table.scan(segment_number, run["totalSegments"], state["nextKey"], options["pageSize"],
                                     consistent=True)
        drifts = readside.call("compare", epoch=run["epoch"], items=items)["drifts"]
        if drifts:
            drifts = _confirm(table, readside, run["epoch"], drifts, options["grace"])
        counts, samples = _tally(drifts, "orderId")
        if drifts and options["repair"]:
            fixed = _repair_orders(table, readside, run["epoch"], drifts)
            counts["repaired"], samples["repaired"] = len(fixed), fixed
        state = readside.call("record_step", run_id=run["runId"], segment=segment_number, next_key=last_key,
                              done=last_key is None, scanned=len(items), counts=counts, samples=samples,
                              seconds=time.monotonic() - started)
    return {"done": state["done"], "scanned": state["scanned"]}


def _confirm(table, readside, epoch: str, drifts: list[dict], grace: float) -> list[dict]:
    """The drifts still there after `grace` seconds, as a second comparison sees them."""
    time.sleep(grace)
    ids = [drift["orderId"] for drift in drifts if drift["orderId"] is not None]
    unidentified = [drift for drift in drifts if drift["orderId"] is None]  # an item without a readable id
    items = table.get(ids)
    again = readside.call("compare", epoch=epoch, items=list(items.values()))["drifts"] if items else []
    return unidentified + [drift for drift in again if drift["orderId"] in set(ids)]


def _repair_orders(table, readside, epoch: str, drifts: list[dict]) -> list[str]:
    fixable = {drift["orderId"]: drift["observed"] for drift in drifts if drift["kind"] != INVALID}
    if not fixable:
        return []
    items = table.get(list(fixable))
    return readside.call("repair", epoch=epoch, items=list(items.values()),
                         observed={order_id: fixable[order_id] for order_id in items})["repaired"]


def _tally(drifts: list[dict], key: str) -> tuple[dict, dict]:
    counts: dict[str, int] = {}
    samples: dict[str, list] = {}
    for drift in drifts:
        counts[drift["kind"]] = counts.get(drift["kind"], 0) + 1
        samples.setdefault(drift["kind"], []).append(drift[key])
    return counts, samples


def finish(table, readside, run: dict, budget_s: float) -> dict:
    """Passes 2 and 3, page by page until done or out of time (resumable); then the summary."""
    deadline = time.monotonic() + budget_s
    final, options = run["totalSegments"], run["options"]
    state = readside.call("segment_state", run_id=run["runId"], segment=final)
    cursor = state["nextKey"] or {"phase": EXTRA, "after": ""}
    while not state["done"] and time.monotonic() < deadline:
        started = time.monotonic()
        if cursor["phase"] == EXTRA:
            counts, samples, after = _extras_page(table, readside, cursor["after"], options)
            cursor = {"phase": EXTRA, "after": after} if after else {"phase": "totals", "after": ""}
        else:
            page = readside.call("totals_drift", after=cursor["after"], limit=PAGE_SIZE, fix=options["repair"])
            counts, samples = _tally(page["drifts"], "itemId")
            counts["driftedItems"] = len({drift["itemId"] for drift in page["drifts"]})
            counts["repairedItems"], samples["repairedItems"] = len(page["repaired"]), page["repaired"]
            cursor = {"phase": "totals", "after": page["next"]} if page["next"] else None
        state = readside.call("record_step", run_id=run["runId"], segment=final, next_key=cursor,
                              done=cursor is None, scanned=0, counts=counts, samples=samples,
                              seconds=time.monotonic() - started)
    if not state["done"]:
        return {"done": False, "summary": None}
    summary = summarize(table, readside, run["runId"])
    readside.call("finish_run", run_id=run["runId"], summary=summary)
    return {"done": True, "summary": summary}


def _extras_page(table, readside, after: str, options: dict) -> tuple[dict, dict, str | None]:
    page = readside.call("standing_orders", after=after, limit=options["pageSize"])
    present = table.get([order["orderId"] for order in page["orders"]], keys_only=True)
    gone = [order for order in page["orders"] if order["orderId"] not in present]
    if gone:
        time.sleep(options["grace"])
        present = table.get([order["orderId"] for order in gone], keys_only=True)
        gone = [order for order in gone if order["orderId"] not in present]
    counts, samples = _tally([{"kind": EXTRA, "orderId": order["orderId"]} for order in gone], "orderId")
    if gone and options["repair"]:
        removed = readside.call("tombstone", orders=gone)["removed"]
        counts["repaired"], samples["repaired"] = len(removed), removed
    return counts, samples, page["next"]


def summarize(table, readside, run_id: str) -> dict:
    run = readside.call("progress", run_id=run_id)
    counts, samples, repair = run["counts"], run["samples"], run["options"]["repair"]
    drift = {kind: counts.get(kind, 0) for kind in DRIFT_KINDS}
    orders_drifted = sum(drift.values()) - drift[ITEM_TOTALS] - drift[MONTHLY_TOTALS]
    left = (orders_drifted - counts.get("repaired", 0)) + (counts.get("driftedItems", 0)
                                                          - counts.get("repairedItems", 0))
    return {"operation": OPERATION, "runId": run_id, "table": table.name, "repair": repair,
            "segments": run["totalSegments"], "scanned": run["scanned"], "drift": sum(drift.values()),
            "driftByKind": drift, "firstIds": {kind: samples[kind] for kind in DRIFT_KINDS if samples.get(kind)},
            "repairedOrders": counts.get("repaired", 0), "repairedItems": counts.get("repairedItems", 0),
            "unrepaired": left if repair else orders_drifted + counts.get("driftedItems", 0),
            "readModelOrders": readside.call("count_orders"), "scanSeconds": round(run["scanSeconds"], 3)}
