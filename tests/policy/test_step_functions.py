"""Step Functions rules."""

from tests.policy.helpers import messages

MACHINE = "aws:sfn/stateMachine:StateMachine"
LOGS = {"level": "ERROR", "includeExecutionData": False,
        "logDestination": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/w:*"}
GOOD = {"loggingConfiguration": LOGS, "tracingConfiguration": {"enabled": True}}


def test_a_well_configured_state_machine_passes():
    for policy in ("step-functions-logging", "step-functions-execution-data", "step-functions-tracing"):
        assert messages(policy, MACHINE, GOOD) == [], policy


def test_logging_needs_a_level_and_a_destination():
    [message] = messages("step-functions-logging", MACHINE, {}, name="workflow")
    assert "'workflow'" in message and "level unset" in message
    assert messages("step-functions-logging", MACHINE, {"loggingConfiguration": {**LOGS, "level": "OFF"}})
    no_destination = {k: v for k, v in LOGS.items() if k != "logDestination"}
    assert "log_destination" in messages("step-functions-logging", MACHINE,
                                         {"loggingConfiguration": no_destination})[0]
    for level in ("ALL", "FATAL"):
        assert messages("step-functions-logging", MACHINE, {"loggingConfiguration": {**LOGS, "level": level}}) == []


def test_execution_data_stays_out_of_logs_unless_allowed():
    verbose = {"loggingConfiguration": {**LOGS, "level": "ALL", "includeExecutionData": True}}
    assert "include_execution_data=False" in messages("step-functions-execution-data", MACHINE, verbose)[0]
    assert messages("step-functions-execution-data", MACHINE, verbose, config={"allowExecutionData": True}) == []


def test_tracing():
    assert "tracing_configuration" in messages("step-functions-tracing", MACHINE, {"loggingConfiguration": LOGS})[0]
