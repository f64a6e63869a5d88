"""`drift --stack NAME`: does the cloud still match the stack's state? A refresh in preview mode (`pulumi refresh
--preview-only`) reads every resource from the cloud and changes nothing; each resource it would update (a property
changed outside Pulumi) or delete (the resource is gone) is drift. Exit 0 in step, 1 on drift, 2 on error."""

from __future__ import annotations

from .events import EngineEvents
from .pipeline import Pipeline
from .summary import Report

# Outcomes of a refresh step that mean the cloud differs from the state.
DRIFT_OPS = ("update", "delete")


def detect(pipeline: Pipeline, stack_name: str) -> Report:
    pipeline.settings(stack_name)  # an unknown stack fails here, before the CLI runs
    stack = pipeline.stack(stack_name, create=False)
    events = EngineEvents(refresh_preview=True)
    result = pipeline.run_engine("refresh --preview-only", stack, events,
                                 lambda: stack.preview_refresh(**pipeline.streams(events)))
    changes = dict(result.change_summary or {})
    drifted = bool(events.drift) or any(changes.get(op) for op in DRIFT_OPS)
    return Report(command="drift", stack=stack.name, status="drifted" if drifted else "succeeded", changes=changes,
                  drift=events.drift)
