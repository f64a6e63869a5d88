"""Run a rebuild or a reconcile in one process: the steps the ops state machine drives on AWS (start, every
segment in parallel until done, the final phase until done), here on threads. Used by the tests and the
benchmark; `python -m ops` goes through the deployed state machine."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ops.core import rebuild, reconcile

STEPS = {rebuild.OPERATION: rebuild, reconcile.OPERATION: reconcile}
STEP_BUDGET_S = 30.0


def run(operation: str, table, readside, segments: int = 4, workers: int | None = None,
        on_step: Callable[[dict], None] | None = None, step_budget_s: float = STEP_BUDGET_S, **options) -> dict:
    """The run's summary (the same as the state machine's output); `on_step` sees each step's result."""
    steps = STEPS[operation]
    run_ = steps.start(table, readside, segments, **options)

    def drive(segment: int) -> None:
        while True:
            result = steps.segment(table, readside, run_, segment, step_budget_s)
            if on_step:
                on_step({"segment": segment, **result})
            if result["done"]:
                return

    with ThreadPoolExecutor(max_workers=workers or max(1, len(run_["segments"]))) as pool:
        for future in [pool.submit(drive, segment) for segment in run_["segments"]]:
            future.result()
    while True:
        result = steps.finish(table, readside, run_, step_budget_s)
        if result["done"]:
            return {**result["summary"], "resumed": run_["resumed"]}
