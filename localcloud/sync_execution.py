"""StartSyncExecution as AWS answers it, over moto's interpreter (which answers "Not yet implemented", or a
NotImplementedError in execute mode): an EXPRESS execution started as StartExecution starts one (AWS's naming, ARN,
input quota and logging: sfn_fidelity), run to its end, and answered with its status, output or error and cause,
and billing details. A STANDARD state machine is refused with StateMachineTypeNotSupported, as on AWS.

The caller waits (up to the five minutes an EXPRESS execution may run); a caller that gives up earlier (API
Gateway's 29 s) does not stop the execution, which runs to its end and publishes its response event, as on AWS.

Clients reach it at the endpoint itself: botocore prefixes the host with "sync-" for this operation
(`sync-states.<region>.amazonaws.com`), which no local name resolves, so local clients turn the prefix off
(AWS_DISABLE_HOST_PREFIX_INJECTION=true, or Config(inject_host_prefix=False)), as `serve` says."""

from __future__ import annotations

import json
import math
import time
from typing import Callable

from moto.core.responses import ActionResult
from moto.stepfunctions.responses import StepFunctionResponse

from localcloud.sfn_fidelity import StateMachineTypeNotSupported

EXPRESS_MAX_SECONDS = 300
_POLL_SECONDS = 0.005


def _wait(execution, deadline: float) -> None:
    while str(getattr(execution.exec_status, "value", execution.exec_status)) == "RUNNING":
        if time.monotonic() > deadline:  # the interpreter's own TimeoutSeconds ends it first
            break
        time.sleep(_POLL_SECONDS)


def sync_output(machine_arn: str, execution) -> dict:
    """StartSyncExecution's answer for a finished execution."""
    status = str(getattr(execution.exec_status, "value", execution.exec_status))
    status = status if status in ("SUCCEEDED", "TIMED_OUT") else "FAILED"
    stop = execution.stop_date or execution.start_date
    billed_ms = max(100, math.ceil((stop - execution.start_date).total_seconds() * 1000))
    answer = {"executionArn": execution.exec_arn, "stateMachineArn": machine_arn, "name": execution.name,
              "startDate": execution.start_date, "stopDate": stop, "status": status,
              "input": execution.execution_input, "inputDetails": {"included": True},
              "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed_ms}}
    if status == "SUCCEEDED":
        answer["output"] = json.dumps(execution.output, ensure_ascii=False, separators=(",", ":"))
        answer["outputDetails"] = {"included": True}
    for key in ("error", "cause"):
        if getattr(execution, key, None) is not None:
            answer[key] = getattr(execution, key)
    return answer


def install(on_started: Callable[[str], None] = lambda arn: None) -> Callable[[], None]:
    """Patch moto's Step Functions API; `on_started` gets each execution's ARN. Returns the restoring function."""
    original = StepFunctionResponse.__dict__.get("start_sync_execution")

    def start_sync_execution(response: StepFunctionResponse):
        backend = response.stepfunction_backend
        arn = response._get_param("stateMachineArn")
        machine = backend.describe_state_machine(arn)
        if machine.type != "EXPRESS":
            raise StateMachineTypeNotSupported()
        execution = backend.start_execution(arn, response._get_param("name"),
                                            response._get_param("input", if_none="{}"))
        on_started(execution.exec_arn)
        _wait(execution, time.monotonic() + EXPRESS_MAX_SECONDS + 10)
        return ActionResult(sync_output(machine.arn, execution))

    StepFunctionResponse.start_sync_execution = start_sync_execution

    def restore() -> None:
        if original is None:
            delattr(StepFunctionResponse, "start_sync_execution")
        else:
            StepFunctionResponse.start_sync_execution = original

    return restore
