"""What the operator sees while a run goes on (scanned, applied, stale, failed, rate, ETA) and at its end."""

from __future__ import annotations

import io

from ops import progress
from ops.progress import ProgressLine, words


def run_state(scanned: int, **counts) -> dict:
    return {"runId": "rebuild-1", "operation": "rebuild", "scanned": scanned, "estimatedOrders": 1000,
            "totalSegments": 4, "segmentsDone": 1, "counts": counts, "options": {}, "finishedAt": None}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_rebuild_shows_counts_rate_and_eta(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    stream = io.StringIO()
    line = ProgressLine("rebuild", stream, every_s=0)
    line(None)
    line(run_state(100, applied=90, stale=10))
    clock.now += 2.0
    line(run_state(500, applied=480, stale=15, failed=5))
    last = stream.getvalue().splitlines()[-1]
    assert "500 of ~1,000 orders scanned" in last and "1/4 segments" in last
    assert "applied 480, stale 15, failed 5" in last
    assert "200 orders/s" in last and "ETA 2 s" in last


def test_a_reconcile_shows_its_drift_and_repairs():
    stream = io.StringIO()
    state = {**run_state(10, lines=1, item_totals=2, repaired=1), "operation": "reconcile",
             "options": {"repair": True}}
    ProgressLine("reconcile", stream, every_s=0)(state)
    assert "drift 3, repaired 1" in stream.getvalue()


def test_summaries_in_words_name_what_is_left():
    reconcile = {"operation": "reconcile", "runId": "r", "table": "t", "scanned": 90, "drift": 2, "repair": False,
                 "repairedOrders": 0, "repairedItems": 0, "unrepaired": 2,
                 "driftByKind": {"lines": 1, "item_totals": 1, "missing": 0},
                 "firstIds": {"lines": ["o-1"], "item_totals": ["z1"]}}
    text = words(reconcile)
    assert "1 orders whose lines differ: o-1" in text and "python -m ops reconcile --repair" in text
    redrive = {"operation": "redrive", "table": "t", "messages": 2, "redriven": 1, "resolvedByRebuild": 0,
               "stillFailing": 1, "needRebuild": 0, "unreadable": 0, "queueDepth": 1, "ordersApplied": 1,
               "ordersStale": 0, "ordersRemoved": 0,
               "failures": [{"messageId": "m", "result": "stillFailing", "orderIds": ["bad"], "errors": ["date"]}]}
    assert "m: stillFailing bad date" in words(redrive)
