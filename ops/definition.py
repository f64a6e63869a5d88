"""The ops state machine (STANDARD): one execution is one rebuild or one reconcile of the orders table.

Start (the driver opens or resumes the run) -> Segments (a Map over the run's unfinished segments, at most
MAX_CONCURRENCY at once; each iteration calls the driver's `segment` step until it reports done, every call within
the driver's time budget) -> Finish (the driver's `finish` step, until done) -> the summary as output. Every step
is idempotent (checkpointed in the database), so Lambda faults are retried with backoff; a step that keeps
failing fails the execution, which the ops-executionsfailed alarm reports. Input:
{"operation": "rebuild" | "reconcile", "segments": N, "resume": bool, "repair": bool, "grace": seconds}."""

from __future__ import annotations

from typing import Any

MAX_CONCURRENCY = 16  # parallel segments: each holds one read-side invocation (one database connection)
_LAMBDA_FAULTS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                  "Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException"]
# Lambda faults get a few quick retries; any other error of a step (the database resuming from 0 ACU, a
# deadlock victim past its retries, throttled scans) a few slower ones.
_RETRY = [{"ErrorEquals": _LAMBDA_FAULTS, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0},
          {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 15, "MaxAttempts": 3, "BackoffRate": 2.0}]


def _invoke(driver_arn: Any, payload: dict, result_selector: dict, result_path: str, next_state: str) -> dict:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": driver_arn, "Payload": payload},
            "ResultSelector": result_selector, "ResultPath": result_path, "Retry": _RETRY, "Next": next_state}


def build_definition(driver_arn: Any) -> dict:
    segment_loop = {
        "StartAt": "Segment",
        "States": {
            "Segment": _invoke(driver_arn, {"op": "segment", "run.$": "$.run", "segment.$": "$.segment"},
                               {"done.$": "$.Payload.done", "scanned.$": "$.Payload.scanned"}, "$.step",
                               "SegmentDone?"),
            "SegmentDone?": {"Type": "Choice", "Choices": [{"Variable": "$.step.done", "BooleanEquals": True,
                                                            "Next": "SegmentDone"}], "Default": "Segment"},
            "SegmentDone": {"Type": "Succeed"},
        },
    }
    return {
        "Comment": "cqrs-orders ops: rebuild or reconcile the read models from the orders table",
        "StartAt": "Start",
        "States": {
            "Start": _invoke(driver_arn, {"op": "start", "operation.$": "$.operation", "segments.$": "$.segments",
                                          "resume.$": "$.resume", "repair.$": "$.repair", "grace.$": "$.grace"},
                             {"run.$": "$.Payload"}, "$.started", "Segments"),
            "Segments": {"Type": "Map", "ItemsPath": "$.started.run.segments", "MaxConcurrency": MAX_CONCURRENCY,
                         "ItemSelector": {"run.$": "$.started.run", "segment.$": "$$.Map.Item.Value"},
                         "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **segment_loop},
                         "ResultPath": None, "Next": "Finish"},
            "Finish": _invoke(driver_arn, {"op": "finish", "run.$": "$.started.run"},
                              {"done.$": "$.Payload.done", "summary.$": "$.Payload.summary"}, "$.finished",
                              "Finished?"),
            "Finished?": {"Type": "Choice", "Choices": [{"Variable": "$.finished.done", "BooleanEquals": True,
                                                         "Next": "Done"}], "Default": "Finish"},
            "Done": {"Type": "Pass", "InputPath": "$.finished.summary", "End": True},
        },
    }


def execution_input(operation: str, segments: int, resume: bool = True, repair: bool = False,
                    grace: float = 10.0) -> dict:
    return {"operation": operation, "segments": segments, "resume": resume, "repair": repair, "grace": grace}
