"""Step Functions as AWS answers it, over moto's interpreter (installed for the life of a LocalCloud).

- StartExecution without a name gets a generated UUID name (moto names it "None", so a second call fails with
  ExecutionAlreadyExists); an EXPRESS execution has an `express:` ARN and its name can be reused at once; an input
  over the 256 KiB quota is a ValidationException (a client error), not an execution.
- The operations AWS does not support for EXPRESS workflows are refused over the API as AWS refuses them:
  ListExecutions (StateMachineTypeNotSupported), and DescribeExecution, GetExecutionHistory, StopExecution,
  DescribeStateMachineForExecution and RedriveExecution on an express execution ARN (InvalidArn). localcloud's own
  bookkeeping reads the executions from the backend instead (`describe_execution`).
- Executions write their history events to the state machine's CloudWatch Logs group as its logging configuration
  says (level ALL, ERROR or FATAL; execution data included or not), one log stream per execution.
- Every state's data is held to the same 256 KiB quota, counted in UTF-8 bytes as AWS counts it
  (`count_state_data_as_aws`).
"""

from __future__ import annotations

import copy
import datetime
import json
import secrets
import sys
import uuid
from typing import Callable

from moto.core.exceptions import AWSError
from moto.stepfunctions.exceptions import InvalidArn, ValidationException
from moto.stepfunctions.parser.api import HistoryEventType
from moto.stepfunctions.parser.asl.eval.event.logging import CloudWatchLoggingConfiguration, is_logging_enabled_for
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend, stepfunctions_parser_backends
from moto.stepfunctions.responses import StepFunctionResponse

from localcloud.cloudwatch_logs import put_log_events
from localcloud.eventbridge import utf8_size

MAX_EXECUTION_INPUT_BYTES = 256 * 1024  # Step Functions' quota on an execution's input, as UTF-8
# Refused by AWS for an express execution ARN ("not supported for Express Workflows" in the API reference).
EXPRESS_REFUSED = ("describe_execution", "get_execution_history", "stop_execution",
                   "describe_state_machine_for_execution", "redrive_execution")


class StateMachineTypeNotSupported(AWSError):
    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400

    def __init__(self):
        super().__init__("This operation is not supported by this type of state machine")


def _arn_resource_type(arn: str) -> str:
    parts = (arn or "").split(":")
    return parts[5] if len(parts) > 5 else ""


class _ExecutionLog:
    """The logging session moto's interpreter calls for every history event of one execution."""

    def __init__(self, execution_arn: str, machine_name: str, configuration: CloudWatchLoggingConfiguration):
        self.execution_arn = execution_arn
        self.configuration = configuration
        started = datetime.datetime.now(datetime.timezone.utc)
        self.stream = f"states/{machine_name}/{started:%Y-%m-%d-%H-%M}/{secrets.token_hex(4)}"

    def log_level_filter(self, history_event_type: HistoryEventType) -> bool:
        return bool(is_logging_enabled_for(self.configuration.log_level, history_event_type))

    def publish_history_log(self, history_log: dict) -> None:
        """One history event, as Step Functions writes it to CloudWatch Logs (never failing the execution)."""
        try:
            moment = history_log["event_timestamp"]  # moto passes ISO 8601 text
            if isinstance(moment, str):
                moment = datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))
            stamp = int(moment.timestamp() * 1000)
            record = {"id": history_log["id"], "type": str(getattr(history_log["type"], "value", history_log["type"])),
                      "details": history_log.get("details") or {}, "previous_event_id": history_log["previous_event_id"],
                      "event_timestamp": str(stamp), "execution_arn": self.execution_arn}
            put_log_events(self.configuration.log_account_id, self.configuration.log_region,
                           self.configuration.log_group_name, self.stream,
                           [(stamp, json.dumps(record, separators=(",", ":"), default=str))])
        except Exception as error:  # as on AWS, a log that cannot be delivered does not stop the workflow
            sys.stderr.write(f"localcloud: execution log not written: {error!r}\n")


def _logging_session(machine, execution_arn: str) -> _ExecutionLog | None:
    logging = dict(machine.loggingConfiguration or {})
    logging.setdefault("includeExecutionData", False)
    configuration = CloudWatchLoggingConfiguration.from_logging_configuration(machine.arn, logging)
    return _ExecutionLog(execution_arn, machine.name, configuration) if configuration else None


def start_execution(backend: StepFunctionsParserBackend, state_machine_arn: str, name: str | None = None,
                    execution_input: str | None = None, trace_header: str | None = None) -> Execution:
    """moto's start_execution, with AWS's naming, ARNs, input quota and logging."""
    if utf8_size(execution_input or "") > MAX_EXECUTION_INPUT_BYTES:
        raise ValidationException("1 validation error detected: Value at 'input' failed to satisfy constraint: "
                                  f"Member must have length less than or equal to {MAX_EXECUTION_INPUT_BYTES}")
    machine = backend.describe_state_machine(state_machine_arn)
    if name is None:
        name = str(uuid.uuid4())  # "Step Functions automatically generates a UUID"
    else:
        backend._validate_name(name)
    prefix = f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}"
    if machine.type == "EXPRESS":  # names are not unique: each execution gets its own ARN
        execution_arn = f"{prefix}:express:{machine.name}:{name}:{uuid.uuid4()}"
    else:
        existing = machine._handle_name_input_idempotency(name, execution_input)
        if existing is not None:
            return existing
        execution_arn = f"{prefix}:execution:{machine.name}:{name}"
    input_data = "{}" if execution_input is None else execution_input
    try:
        json.loads(input_data)
    except ValueError as error:
        from moto.stepfunctions.parser.api import InvalidExecutionInput
        raise InvalidExecutionInput(str(error))
    # A snapshot of the machine for this execution, as moto takes it (without the live executions).
    clone = copy.deepcopy(machine, {id(machine.executions): [], id(machine.backend): machine.backend})
    execution = Execution(name=name, sm_type=clone.sm_type, role_arn=clone.roleArn, exec_arn=execution_arn,
                          account_id=backend.account_id, region_name=backend.region_name, state_machine=clone,
                          start_date=datetime.datetime.now(tz=datetime.timezone.utc),
                          cloud_watch_logging_session=_logging_session(machine, execution_arn),
                          input_data=input_data, trace_header=trace_header, activity_store={})
    machine.executions.append(execution)
    execution.start()
    return execution


def count_state_data_as_aws() -> Callable[[], None]:
    """The same quota on every state's data. moto measures it as ASCII-escaped JSON with a space after every
    separator (a 4-byte character counts 12 bytes, each key a few more), so an execution whose input is within the
    quota would fail its first state with States.DataLimitExceeded; AWS counts the data's UTF-8 bytes, as for the
    input. Returns the function that restores moto."""
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
    from moto.stepfunctions.parser.asl.utils.encoding import _DateTimeEncoder

    def is_within_size_quota(value) -> bool:
        text = value if isinstance(value, str) else json.dumps(value, cls=_DateTimeEncoder, ensure_ascii=False,
                                                                separators=(",", ":"))
        return utf8_size(text) <= MAX_EXECUTION_INPUT_BYTES

    modules = (state, state_task_lambda, state_task_service)
    originals = [module.is_within_size_quota for module in modules]
    for module in modules:
        module.is_within_size_quota = is_within_size_quota
    return lambda: [setattr(module, "is_within_size_quota", original) for module, original in zip(modules, originals)]


def _machine_type(response: StepFunctionResponse, arn: str) -> str:
    return response.stepfunction_backend.describe_state_machine(arn).type


def _refuse_for_express(original: Callable | None) -> Callable:
    def action(response: StepFunctionResponse):
        if _arn_resource_type(response._get_param("executionArn")) == "express":
            raise InvalidArn("Invalid Arn: 'Resource type not valid in this context: express'")
        if original is None:
            raise NotImplementedError("RedriveExecution is not emulated for STANDARD workflows")
        return original(response)
    return action


def _list_executions(original: Callable) -> Callable:
    def action(response: StepFunctionResponse):
        if not response._get_param("mapRunArn") and \
                _machine_type(response, response._get_param("stateMachineArn")) == "EXPRESS":
            raise StateMachineTypeNotSupported()
        return original(response)
    return action


def describe_execution(execution_arn: str, account: str, region: str) -> dict:
    """What DescribeExecution answers for a STANDARD execution, for any execution: localcloud's own bookkeeping
    (settle, the summary, tests) reads EXPRESS executions too, which the API refuses as AWS does."""
    for machine in stepfunctions_parser_backends[account][region].state_machines:
        for execution in machine.executions:
            if execution.exec_arn == execution_arn:
                described = {"executionArn": execution.exec_arn, "stateMachineArn": machine.arn,
                             "name": execution.name, "status": execution.status, "startDate": execution.start_date,
                             "input": execution.execution_input}
                if execution.stop_date is not None:
                    described["stopDate"] = execution.stop_date
                if execution.status == "SUCCEEDED":
                    described["output"] = json.dumps(execution.output, ensure_ascii=False, separators=(",", ":"))
                for key in ("error", "cause"):
                    if getattr(execution, key, None) is not None:
                        described[key] = getattr(execution, key)
                return described
    raise LookupError(execution_arn)


def install() -> Callable[[], None]:
    """Patch moto; returns the function that restores it."""
    saved = {"start_execution": StepFunctionsParserBackend.__dict__.get("start_execution")}
    StepFunctionsParserBackend.start_execution = start_execution
    patched = {name: _refuse_for_express(StepFunctionResponse.__dict__.get(name)) for name in EXPRESS_REFUSED}
    patched["list_executions"] = _list_executions(StepFunctionResponse.list_executions)
    originals = {name: StepFunctionResponse.__dict__.get(name) for name in patched}
    for name, action in patched.items():
        setattr(StepFunctionResponse, name, action)

    def restore() -> None:
        StepFunctionsParserBackend.start_execution = saved["start_execution"]
        for name, original in originals.items():
            if original is None:
                delattr(StepFunctionResponse, name)
            else:
                setattr(StepFunctionResponse, name, original)

    return restore
