"""The operator's side of a run: start the deployed ops state machine (or invoke the driver, for a redrive), follow
its progress through the read side, and return its summary. The same calls reach AWS and `localcloud serve`."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

from ops.definition import execution_input
from ops.stack import Target


class OpsError(RuntimeError):
    """The run failed; the message says where and why."""


class Deployed:
    def __init__(self, target: Target):
        self.target = target
        self.outputs = target.outputs
        self.stepfunctions = target.client("stepfunctions")
        # A redrive runs in one invocation of the driver, up to its 15 minutes.
        self.lambda_ = target.client("lambda", read_timeout=960, retries={"max_attempts": 1})

    def run(self, operation: str, on_progress: Callable[[dict | None], None], poll_s: float = 1.0,
            **options) -> dict:
        """Start one rebuild or reconcile, report its progress until it ends, and return its summary."""
        running = [e["name"] for e in self.stepfunctions.list_executions(
            stateMachineArn=self.outputs["OpsStateMachineArn"], statusFilter="RUNNING")["executions"]]
        if running:  # two executions on one run would do its work twice
            raise OpsError(f"an ops execution is still running ({', '.join(running)}): wait for it, or stop it "
                           "(aws stepfunctions stop-execution); a stopped rebuild continues where it stopped")
        name = f"{operation}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        execution = self.stepfunctions.start_execution(
            stateMachineArn=self.outputs["OpsStateMachineArn"], name=name,
            input=json.dumps(execution_input(operation, **options)))
        started = self.stepfunctions.describe_execution(executionArn=execution["executionArn"])["startDate"]
        try:
            while True:
                status = self.stepfunctions.describe_execution(executionArn=execution["executionArn"])
                on_progress(self._progress(operation, started))
                if status["status"] != "RUNNING":
                    break
                time.sleep(poll_s)
        except KeyboardInterrupt:  # the operator stops the run, not only the watching
            self.stepfunctions.stop_execution(executionArn=execution["executionArn"], cause="stopped by the operator")
            raise OpsError(f"the {operation} execution {name} was stopped: run the command again to continue it")
        if status["status"] != "SUCCEEDED":
            raise OpsError(f"the {operation} execution {name} ended {status['status']}: "
                           f"{status.get('error', '')} {status.get('cause', '')}".strip())
        return json.loads(status["output"])

    def _progress(self, operation: str, since: datetime) -> dict | None:
        """The run this execution works on: the unfinished one (new or resumed), or one opened since it started."""
        run = self.call_read_side("progress", operation=operation, table_name=self.outputs["OrdersTableName"])
        if run is None:
            return None
        opened = datetime.fromisoformat(run["startedAt"].replace("Z", "+00:00"))
        return run if run["finishedAt"] is None or opened.timestamp() >= since.timestamp() - 5 else None

    def call_read_side(self, op: str, **arguments):
        return self._invoke(self.outputs["OpsReadSideFunctionName"], {"op": op, **arguments})["result"]

    def redrive(self, limit: int) -> dict:
        return self._invoke(self.outputs["OpsDriverFunctionName"], {"op": "redrive", "limit": limit})

    def _invoke(self, function_name: str, payload: dict):
        response = self.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            error = body if isinstance(body, dict) else {}
            raise OpsError(f"{function_name} failed: {error.get('errorType', 'Error')}: "
                           f"{error.get('errorMessage', body)}")
        return body
