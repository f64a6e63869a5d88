"""Step Functions state machines: logging to a destination, execution data kept out of logs, tracing."""

from .support import get, is_set, resource_policy

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
LOG_LEVELS = {"ALL", "ERROR", "FATAL"}


@resource_policy("step-functions-logging",
                 "State machines log (level ALL, ERROR or FATAL) to a CloudWatch Logs destination.", {STATE_MACHINE})
def logging(args, report_violation):
    level = get(args.props, "loggingConfiguration", "level")
    if level not in LOG_LEVELS or not is_set(args.props, "loggingConfiguration", "logDestination"):
        report_violation(f"state machine '{args.name}' does not log (level {level or 'unset'}): set "
                         "logging_configuration with level ERROR (or ALL/FATAL) and log_destination "
                         "'<log group ARN>:*'.")


@resource_policy("step-functions-execution-data",
                 "State machines keep execution input and output (order data) out of their logs unless the pack "
                 "config allows it.", {STATE_MACHINE},
                 config={"allowExecutionData": {"type": "boolean", "default": False,
                                                "description": "allow logging execution data (e.g. dev)"}})
def execution_data(args, report_violation):
    if not args.get_config()["allowExecutionData"] and \
            get(args.props, "loggingConfiguration", "includeExecutionData") is True:
        report_violation(f"state machine '{args.name}' logs execution input and output: set "
                         "logging_configuration include_execution_data=False.")


@resource_policy("step-functions-tracing", "State machines trace with X-Ray.", {STATE_MACHINE})
def tracing(args, report_violation):
    if get(args.props, "tracingConfiguration", "enabled") is not True:
        report_violation(f"state machine '{args.name}' is not traced: set tracing_configuration={{'enabled': True}}.")


POLICIES = [logging, execution_data, tracing]
