"""What `python -m ops` drives on AWS, as the program declares it: the two ops functions and their least-privilege
roles, the STANDARD state machine, the scheduled reconcile, the alarms and the operator's dashboard."""

import json

from harness.program import ProgramRun
from ops.definition import MAX_CONCURRENCY

FUNCTION = "aws:lambda/function:Function"
POLICY = "aws:iam/rolePolicy:RolePolicy"


def function(program: ProgramRun, handler: str):
    return next(f for f in program.of_type(FUNCTION) if f.inputs["handler"] == handler)


def statements_of(program: ProgramRun, role_arn: str) -> list[dict]:
    role = next(r for r in program.of_type("aws:iam/role:Role") if r.state["arn"] == role_arn)
    [policy] = [p for p in program.of_type(POLICY) if p.inputs["role"] == role.state["name"]]
    return json.loads(policy.inputs["policy"])["Statement"]


def scoped(statements: list[dict]) -> list[tuple[list, list]]:
    """The statements beyond logging, X-Ray and VPC networking (which every function has)."""
    return [(s["Action"], s["Resource"]) for s in statements
            if not any(a.startswith(("logs:", "xray:", "ec2:")) for a in s["Action"])]


def test_the_read_side_runs_in_the_vpc_as_the_ops_database_user_and_nothing_else(program: ProgramRun):
    read_side = function(program, "ops.core.handlers.read_side")
    env = read_side.inputs["environment"]["variables"]
    cluster = program.one("aws:rds/cluster:Cluster")
    assert env["DB_USER"] == "cqrs_ops" and env["DB_HOST"] == cluster.state["endpoint"]
    assert read_side.inputs["vpcConfig"]["subnetIds"]
    assert scoped(statements_of(program, read_side.inputs["role"])) == [
        (["rds-db:connect"], [f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{cluster.state['clusterResourceId']}"
                              "/cqrs_ops"])]
    migrate = function(program, "migrate.handler.handler").inputs["environment"]["variables"]
    assert migrate["OPS_DB_USER"] == "cqrs_ops"  # the migration creates the user and grants it


def test_the_driver_reads_the_table_its_streams_and_the_dead_letters_and_calls_the_read_side(program: ProgramRun):
    driver = function(program, "ops.core.handlers.driver")
    read_side = function(program, "ops.core.handlers.read_side")
    table = program.one("aws:dynamodb/table:Table").state
    dlq = program.one("aws:sqs/queue:Queue", "projector-dlq").state
    assert "vpcConfig" not in driver.inputs  # AWS APIs only, never the database: no endpoint needed
    assert driver.inputs["timeout"] == 900
    assert driver.inputs["environment"]["variables"] == {
        "POWERTOOLS_SERVICE_NAME": "cqrs-orders-ops-driver", "POWERTOOLS_METRICS_NAMESPACE": "CqrsOrders",
        "POWERTOOLS_LOG_LEVEL": "INFO", "ORDERS_TABLE_NAME": table["name"], "PROJECTOR_DLQ_URL": dlq["url"],
        "READ_SIDE_FUNCTION_NAME": read_side.state["name"]}
    assert scoped(statements_of(program, driver.inputs["role"])) == [
        (["dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:BatchGetItem"], [table["arn"]]),
        (["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"], [table["arn"] + "/stream/*"]),
        (["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
         [dlq["arn"]]),
        (["lambda:InvokeFunction"], [read_side.state["arn"]])]


def test_the_ops_state_machine_drives_only_the_driver(program: ProgramRun):
    machine = program.one("aws:sfn/stateMachine:StateMachine", "ops-workflow")
    driver = function(program, "ops.core.handlers.driver")
    assert machine.inputs["type"] == "STANDARD"
    assert machine.inputs["loggingConfiguration"]["level"] == "ERROR"
    assert machine.inputs["loggingConfiguration"]["includeExecutionData"] is False
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    definition = json.loads(machine.inputs["definition"])
    states = [*definition["States"].values(), *definition["States"]["Segments"]["ItemProcessor"]["States"].values()]
    invoked = {state["Parameters"]["FunctionName"] for state in states if state.get("Type") == "Task"}
    assert invoked == {driver.state["arn"]}
    assert definition["States"]["Segments"]["MaxConcurrency"] == MAX_CONCURRENCY
    role_statements = scoped(statements_of(program, machine.inputs["roleArn"]))
    assert role_statements == [(["lambda:InvokeFunction"], [driver.state["arn"]])]


def test_prod_reconciles_every_day_and_dev_never(program: ProgramRun):
    schedules = program.of_type("aws:scheduler/schedule:Schedule")
    if program.stack == "dev":
        assert schedules == []
        return
    [schedule] = schedules
    machine = program.one("aws:sfn/stateMachine:StateMachine", "ops-workflow").state["arn"]
    assert schedule.inputs["scheduleExpression"] == "rate(1 day)"
    target = schedule.inputs["target"]
    assert target["arn"] == machine and json.loads(target["input"])["operation"] == "reconcile"
    assert json.loads(target["input"])["repair"] is False  # a report: repairs are an operator's decision
    assert scoped(statements_of(program, target["roleArn"])) == [(["states:StartExecution"], [machine])]


def test_ops_failures_and_drift_raise_alarms(program: ProgramRun):
    alarms = {a.name: a.inputs for a in program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    ops_machine = program.one("aws:sfn/stateMachine:StateMachine", "ops-workflow").state["arn"]
    assert alarms["alarms-ops-executionsfailed"]["dimensions"] == {"StateMachineArn": ops_machine}
    assert {"alarms-ops-driver-errors", "alarms-ops-read-side-errors"} <= set(alarms)
    drift = alarms["alarms-reconcile-drift"]
    assert (drift["namespace"], drift["metricName"], drift["statistic"]) == ("CqrsOrders", "ReconcileDrift", "Maximum")
    assert drift["dimensions"] == {"service": "cqrs-orders-ops-driver",
                                   "table": program.one("aws:dynamodb/table:Table").state["name"]}


def test_the_operator_dashboard_shows_every_signal_the_runbook_uses(program: ProgramRun):
    dashboards = program.of_type("aws:cloudwatch/dashboard:Dashboard")
    if program.stack == "dev":  # a paid dashboard is a per-stack choice: dev stays under $5/month idle
        assert dashboards == []
        return
    [dashboard] = dashboards
    assert dashboard.inputs["dashboardName"] == "cqrs-orders-prod"
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    metrics = {(m[0], m[1]) for w in widgets for m in w["properties"]["metrics"]}
    assert metrics == {("AWS/Events", "MatchedEvents"), ("AWS/Lambda", "Invocations"), ("AWS/Lambda", "Errors"),
                       ("AWS/Lambda", "Duration"), ("AWS/Lambda", "IteratorAge"),
                       ("AWS/SQS", "ApproximateNumberOfMessagesVisible"), ("AWS/States", "ExecutionsFailed"),
                       ("AWS/RDS", "ServerlessDatabaseCapacity"), ("AWS/RDS", "DatabaseConnections"),
                       ("CqrsOrders", "ReconcileDrift")}
    stats = {m[-1]["stat"] for w in widgets for m in w["properties"]["metrics"] if m[1] == "Duration"}
    assert stats == {"p50", "p99"}
    counters = {r.name: json.loads(r.inputs["eventPattern"])
                for r in program.of_type("aws:cloudwatch/eventRule:EventRule") if r.name.startswith("operator-")}
    assert {name: pattern["detail"]["commandStatus"] for name, pattern in counters.items()} == {
        "operator-orders-created": ["orderCreated"], "operator-orders-cancelled": ["orderCancelled"],
        "operator-orders-rejected": ["rejected"]}
    assert program.of_type("aws:cloudwatch/eventTarget:EventTarget") == [
        t for t in program.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.name.startswith("routing-")]
    queues = {program.one("aws:sqs/queue:Queue", suffix).state["name"] for suffix in ("projector-dlq", "target-dlq")}
    assert queues <= {v for w in widgets for m in w["properties"]["metrics"] for v in m if isinstance(v, str)}
