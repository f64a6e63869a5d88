"""The program's resources under the mock runtime, for both stacks."""

import json

import pytest

from harness.program import ProgramRun

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_every_resource_name_is_unique_and_every_child_has_a_component_parent(program: ProgramRun):
    names = [r.name for r in program.resources]
    assert len(names) == len(set(names))
    components = {r.urn: r for r in program.resources if r.type.startswith("cqrs:index:")}
    for resource in program.resources:
        if resource.type.startswith("aws:"):
            assert resource.parent in components, f"{resource.name} is not parented to a component"
            assert resource.name.startswith(components[resource.parent].name + "-"), resource.name


def test_component_tokens(program: ProgramRun):
    tokens = {r.type for r in program.resources if not r.type.startswith("aws:")}
    assert tokens == {"cqrs:index:CommandSide", "cqrs:index:QuerySide", "cqrs:index:Routing",
                      "cqrs:index:Alarms", "cqrs:index:PythonFunction", "cqrs:index:PrivateNetwork",
                      "cqrs:index:ReadModelDatabase", "cqrs:index:DependencyLayer", "cqrs:index:ReadSideOps", "cqrs:index:HttpApi"} | (
        {"cqrs:index:OperatorDashboard"} if program.stack == "prod" else set())


def test_orders_table(program: ProgramRun):
    table = program.one("aws:dynamodb/table:Table").inputs
    prod = program.stack == "prod"
    assert "name" not in table  # auto-named: stacks can share an account and region
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["streamEnabled"] and table["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["serverSideEncryption"] == {"enabled": True}
    assert table["pointInTimeRecovery"] == {"enabled": prod}
    assert table["deletionProtectionEnabled"] is prod


def test_aurora_cluster(program: ProgramRun):
    cluster = program.one("aws:rds/cluster:Cluster").inputs
    prod = program.stack == "prod"
    assert cluster["engine"] == "aurora-mysql" and cluster["engineMode"] == "provisioned"
    assert cluster["engineVersion"].startswith("8.0.mysql_aurora.3.")
    assert cluster["storageEncrypted"] is True
    assert cluster["manageMasterUserPassword"] is True and "masterPassword" not in cluster
    assert cluster["iamDatabaseAuthenticationEnabled"] is True
    scaling = cluster["serverlessv2ScalingConfiguration"]
    if prod:
        assert scaling == {"minCapacity": 0.5, "maxCapacity": 16}
        assert cluster["backupRetentionPeriod"] >= 7 and cluster["deletionProtection"] is True
        assert cluster["skipFinalSnapshot"] is False and cluster["finalSnapshotIdentifier"] == "cqrs-orders-prod-final"
    else:
        assert scaling == {"minCapacity": 0, "maxCapacity": 2, "secondsUntilAutoPause": 300}
        assert cluster["deletionProtection"] is False and cluster["skipFinalSnapshot"] is True
    params = program.one("aws:rds/clusterParameterGroup:ClusterParameterGroup").inputs
    assert params["family"] == "aurora-mysql8.0"
    assert {"name": "require_secure_transport", "value": "ON", "applyMethod": "immediate"} in params["parameters"]
    assert cluster["dbClusterParameterGroupName"] == program.one(
        "aws:rds/clusterParameterGroup:ClusterParameterGroup").state["name"]
    instances = program.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert sorted(i.inputs["promotionTier"] for i in instances) == ([0, 1] if prod else [0])  # prod: a failover reader
    assert all(i.inputs["instanceClass"] == "db.serverless" and i.inputs["publiclyAccessible"] is False
               for i in instances)
    # A generated identifier: naming it would replace a deployed cluster.
    assert "clusterIdentifier" not in cluster


def test_idle_sessions_are_closed_by_the_instances_own_parameter_group(program: ProgramRun):
    timeout = "1800" if program.stack == "prod" else "120"
    group = program.one("aws:rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "aurora-mysql8.0"
    # Aurora closes a session idle for min(wait_timeout, interactive_timeout): both set, applied without reboot.
    assert sorted(group.inputs["parameters"], key=lambda p: p["name"]) == [
        {"name": "interactive_timeout", "value": timeout, "applyMethod": "immediate"},
        {"name": "wait_timeout", "value": timeout, "applyMethod": "immediate"}]
    instances = program.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert len(instances) == (2 if program.stack == "prod" else 1)
    assert all(i.inputs["dbParameterGroupName"] == group.state["name"] for i in instances)
    cluster = program.one("aws:rds/cluster:Cluster").inputs
    if "secondsUntilAutoPause" in cluster["serverlessv2ScalingConfiguration"]:
        assert int(timeout) < cluster["serverlessv2ScalingConfiguration"]["secondsUntilAutoPause"]


def test_every_database_function_knows_the_idle_session_timeout(program: ProgramRun):
    timeout = "1800" if program.stack == "prod" else "120"
    with_timeout = {f.inputs["handler"].split(".")[0] for f in program.of_type(FUNCTION)
                    if f.inputs["environment"]["variables"].get("DB_IDLE_SESSION_TIMEOUT_S") == timeout}
    assert with_timeout == {"projector", "items_sales_report", "monthly_sales_by_item", "get_order", "migrate", "ops"}


def test_database_logs_exported_into_log_groups_of_the_stack_with_its_retention(program: ProgramRun):
    prod = program.stack == "prod"
    cluster = program.one("aws:rds/cluster:Cluster")
    exports = ["audit", "error", "slowquery"] if prod else ["error"]
    assert cluster.inputs["enabledCloudwatchLogsExports"] == exports
    groups = {g.inputs.get("name"): g for g in program.of_type(LOG_GROUP)}
    instances = program.of_type("aws:rds/clusterInstance:ClusterInstance")
    for log in exports:
        # The name RDS exports to, with a retention, created before the instances that write the logs.
        group = groups[f"/aws/rds/cluster/{cluster.id}/{log}"]
        assert group.inputs["retentionInDays"] == (365 if prod else 7)
        assert all(group.urn in instance.dependencies for instance in instances)
    assert len([name for name in groups if name and name.startswith("/aws/rds/")]) == len(exports)


def test_audit_and_slow_query_logs_are_turned_on_where_they_are_exported(program: ProgramRun):
    values = {p["name"]: p["value"]
              for p in program.one("aws:rds/clusterParameterGroup:ClusterParameterGroup").inputs["parameters"]}
    if program.stack == "prod":
        assert values["server_audit_logging"] == "ON"
        assert values["server_audit_events"] == "CONNECT,QUERY_DCL,QUERY_DDL"
        assert values["server_audit_incl_users"] == "cqrs_admin,cqrs_projector,cqrs_reader,cqrs_ops"
        assert (values["slow_query_log"], values["long_query_time"], values["log_output"]) == ("1", "1", "FILE")
    else:
        assert values == {"require_secure_transport": "ON"}


def test_the_default_security_group_of_the_created_vpc_has_no_rules(program: ProgramRun):
    vpc = program.one("aws:ec2/vpc:Vpc")
    group = program.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs["vpcId"] == vpc.id and vpc.urn in group.dependencies
    assert group.inputs["ingress"] == [] and group.inputs["egress"] == []


def test_flow_logs_of_the_created_vpc_through_a_least_privilege_role(program: ProgramRun):
    if program.stack == "dev":
        assert program.of_type("aws:ec2/flowLog:FlowLog") == []
        return
    vpc = program.one("aws:ec2/vpc:Vpc")
    flow_log = program.one("aws:ec2/flowLog:FlowLog").inputs
    group = program.one(LOG_GROUP, "network-flow-logs")
    assert flow_log["vpcId"] == vpc.id and flow_log["trafficType"] == "ALL"
    assert flow_log["logDestinationType"] == "cloud-watch-logs" and flow_log["logDestination"] == group.state["arn"]
    assert group.inputs["retentionInDays"] == 90
    role = program.one("aws:iam/role:Role", "network-flow-logs-role")
    assert flow_log["iamRoleArn"] == role.state["arn"]
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"ArnEquals": {"aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"}}
    policy = program.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs-policy")
    assert policy.inputs["role"] == role.state["name"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [{
        "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        "Resource": [group.state["arn"], group.state["arn"] + ":log-stream:*"]}]


def test_private_network_without_nat_and_database_reachable_only_from_functions(program: ProgramRun):
    types = {r.type for r in program.resources}
    assert not types & {"aws:ec2/natGateway:NatGateway", "aws:ec2/internetGateway:InternetGateway",
                        "aws:ec2/eip:Eip", "aws:ec2/vpcEndpoint:VpcEndpoint"}
    subnets = program.of_type("aws:ec2/subnet:Subnet")
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    groups = {r.name.rsplit("-", 2)[-2]: r for r in program.of_type("aws:ec2/securityGroup:SecurityGroup")}
    ingress = program.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [(i.inputs["securityGroupId"], i.inputs["referencedSecurityGroupId"], i.inputs["fromPort"])
            for i in ingress] == [(groups["database"].id, groups["functions"].id, 3306)]
    for group in groups.values():
        assert "ingress" not in group.inputs and "egress" not in group.inputs


def test_functions(program: ProgramRun):
    functions = program.of_type(FUNCTION)
    log_groups = {g.state["name"]: g for g in program.of_type(LOG_GROUP)}
    retention = 90 if program.stack == "prod" else 7
    # projector, three queries, migrate, migrate launcher, command validator, the ops driver and read side
    assert len(functions) == 9
    for function in functions:
        f = function.inputs
        assert f["runtime"] == "python3.12" and f["architectures"] == ["arm64"]
        assert f["tracingConfig"] == {"mode": "Active"}
        assert f["loggingConfig"]["logFormat"] == "JSON"
        assert log_groups[f["loggingConfig"]["logGroup"]].inputs["retentionInDays"] == retention
        assert f["timeout"] > 0 and len(f["layers"]) == 1
        assert f["sourceCodeHash"] and f["code"].path.endswith(".zip")


def test_database_functions_run_in_the_vpc_with_their_own_database_user(program: ProgramRun):
    by_handler = {f.inputs["handler"]: f.inputs for f in program.of_type(FUNCTION)}
    users = {"projector.handler.handler": "cqrs_projector", "items_sales_report.handler.handler": "cqrs_reader",
             "monthly_sales_by_item.handler.handler": "cqrs_reader", "get_order.handler.handler": "cqrs_reader"}
    for handler, user in users.items():
        env = by_handler[handler]["environment"]["variables"]
        assert env["DB_USER"] == user and env["DB_TLS"] == "required"
        assert by_handler[handler]["vpcConfig"]["subnetIds"]
        assert by_handler[handler]["reservedConcurrentExecutions"] == (50 if program.stack == "prod" else -1)
    assert "vpcConfig" in by_handler["migrate.handler.handler"]
    # One migration at a time where the stack reserves concurrency.
    assert by_handler["migrate.handler.handler"]["reservedConcurrentExecutions"] == (
        1 if program.stack == "prod" else -1)
    # Outside the VPC: they call AWS APIs (Secrets Manager, Lambda) and never the database.
    assert "vpcConfig" not in by_handler["migrate_launcher.handler.handler"]
    assert "vpcConfig" not in by_handler["validate_command.handler.handler"]


def test_projector_stream_mapping(program: ProgramRun):
    mapping = program.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs
    table = program.one("aws:dynamodb/table:Table")
    assert mapping["eventSourceArn"] == table.state["streamArn"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["bisectBatchOnFunctionError"] is True
    assert 0 <= mapping["maximumRetryAttempts"] <= 10 and mapping["maximumRecordAgeInSeconds"] == 86400
    dlq = program.one("aws:sqs/queue:Queue", "projector-dlq")
    assert mapping["destinationConfig"] == {"onFailure": {"destinationArn": dlq.state["arn"]}}


def test_migration_runs_at_deploy_and_reruns_when_migrations_change(program: ProgramRun):
    invocation = program.one("aws:lambda/invocation:Invocation")
    launcher = program.one(FUNCTION, "migrate-launcher-function")
    assert invocation.inputs["functionName"] == launcher.state["name"]
    digest = json.loads(invocation.inputs["input"])["migrationsHash"]
    assert invocation.inputs["triggers"]["migrations"] == digest
    assert program.one("aws:rds/clusterInstance:ClusterInstance", "writer").urn in invocation.dependencies
    mapping = program.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert invocation.urn in mapping.dependencies


def test_routing(program: ProgramRun):
    rule = program.one("aws:cloudwatch/eventRule:EventRule", "routing-rule").inputs
    assert json.loads(rule["eventPattern"]) == {"source": ["orderPipeline"],
                                                "detail-type": ["orderCommand", "orderQuery"]}
    machine = program.one("aws:sfn/stateMachine:StateMachine", "routing-workflow")
    assert machine.inputs["type"] == "EXPRESS"
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    logging = machine.inputs["loggingConfiguration"]
    log_group = program.one(LOG_GROUP, "routing-workflow-logs")
    assert log_group.state["name"].startswith("/aws/vendedlogs/states/")
    assert logging["logDestination"] == log_group.state["arn"] + ":*"
    prod = program.stack == "prod"
    assert logging["level"] == ("ERROR" if prod else "ALL")
    assert logging["includeExecutionData"] is (not prod)
    assert log_group.inputs["retentionInDays"] == (90 if prod else 7)
    target = program.one("aws:cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"] == machine.state["arn"]
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    assert target["deadLetterConfig"]["arn"] == program.one("aws:sqs/queue:Queue", "target-dlq").state["arn"]
    role_policy = json.loads(program.one("aws:iam/rolePolicy:RolePolicy", "target-policy").inputs["policy"])
    assert role_policy["Statement"] == [{"Effect": "Allow", "Action": ["states:StartExecution"],
                                         "Resource": [machine.state["arn"]]}]


def test_state_machine_definition_references_this_stacks_resources(program: ProgramRun):
    definition = json.loads(program.one("aws:sfn/stateMachine:StateMachine", "routing-workflow").inputs["definition"])
    table = program.one("aws:dynamodb/table:Table").state["name"]
    bus = program.one("aws:cloudwatch/eventBus:EventBus").state["name"]
    states = definition["States"]
    assert states["CreateOrder"]["Parameters"]["TableName"] == table
    assert states["PublishCommandResponse"]["Parameters"]["Entries"][0]["EventBusName"] == bus
    arns = {f.inputs["handler"].split(".")[0]: f.state["arn"] for f in program.of_type(FUNCTION)}
    assert states["ValidateCommand"]["Parameters"]["FunctionName"] == arns["validate_command"]
    assert states["GetOrder"]["Parameters"]["FunctionName"] == arns["get_order"]


def test_queues_are_encrypted_and_keep_messages_per_stack(program: ProgramRun):
    for queue in program.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["sqsManagedSseEnabled"] is True
        assert queue.inputs["messageRetentionSeconds"] == (1209600 if program.stack == "prod" else 345600)


def test_alarms(program: ProgramRun):
    alarms = program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    topic = program.one("aws:sns/topic:Topic").state["arn"]
    assert all(a.inputs["alarmActions"] == [topic] for a in alarms)
    metrics = [(a.inputs["namespace"], a.inputs["metricName"], json.dumps(a.inputs["dimensions"], sort_keys=True))
               for a in alarms]
    for queue in program.of_type("aws:sqs/queue:Queue"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                json.dumps({"QueueName": queue.state["name"]})) in metrics
    for function in program.of_type(FUNCTION):
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, json.dumps({"FunctionName": function.state["name"]})) in metrics
    assert any(m[1] == "IteratorAge" for m in metrics)
    assert {m[1] for m in metrics if m[0] == "AWS/States"} == {"ExecutionsFailed", "ExecutionsTimedOut"}


def test_alarm_email_subscription_only_when_set():
    from harness.program import run_program
    run = run_program("dev", config_overrides={"cqrs-orders:alarmEmail": "ops@example.com"})
    subscription = run.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert subscription["protocol"] == "email" and subscription["endpoint"] == "ops@example.com"


def test_no_email_subscription_by_default(dev):
    assert dev.of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_existing_vpc_is_used_instead_of_creating_one():
    from harness.program import run_program
    run = run_program("dev", config_overrides={
        "cqrs-orders:vpcId": "vpc-0123456789abcdef0",
        "cqrs-orders:privateSubnetIds": '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]'})
    assert run.of_type("aws:ec2/vpc:Vpc") == [] and run.of_type("aws:ec2/subnet:Subnet") == []
    assert run.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == [
        "subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    # Someone else's VPC: its default security group and flow logs are its owner's.
    run = run_program("prod", config_overrides={
        "cqrs-orders:vpcId": "vpc-0123456789abcdef0",
        "cqrs-orders:privateSubnetIds": '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]'})
    assert run.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup") == []
    assert run.of_type("aws:ec2/flowLog:FlowLog") == []


def test_exports(program: ProgramRun):
    outputs = program.outputs
    assert {"OrdersTableName", "StateMachineName", "EventBridgeARN", "EventBusName", "StateMachineArn",
            "ProjectorDlqUrl", "EventTargetDlqUrl", "DatabaseEndpoint", "AlarmTopicArn"} <= set(outputs)
    assert outputs["EventBridgeARN"] == program.one("aws:cloudwatch/eventBus:EventBus").state["arn"]
    assert outputs["OrdersTableName"] == program.one("aws:dynamodb/table:Table").state["name"]


def test_archives_are_reproducible(dev, prod):
    code = {f.inputs["handler"]: f.inputs["sourceCodeHash"] for f in dev.of_type(FUNCTION)}
    assert code == {f.inputs["handler"]: f.inputs["sourceCodeHash"] for f in prod.of_type(FUNCTION)}
    from components.packaging import dependency_layer, function_archive
    first = function_archive("validate_command", ())
    assert first.path.read_bytes() == function_archive("validate_command", ()).path.read_bytes()
    assert dependency_layer().sha256_base64 == dev.one("aws:lambda/layerVersion:LayerVersion").inputs["sourceCodeHash"]


def test_code_archives_hold_only_their_function_and_shared_packages(dev):
    import zipfile
    for function in dev.of_type(FUNCTION):
        handler_package = function.inputs["handler"].split(".")[0]
        names = zipfile.ZipFile(function.inputs["code"].path).namelist()
        # The ops functions' handlers are ops.core.handlers.*: ops/core/ (not the command line, not infra).
        assert f"{handler_package}/handler.py" in names or {"ops/__init__.py", "ops/core/handlers.py"} <= set(names)
        assert not any(n.startswith("ops/") and not n.startswith("ops/core/") and n != "ops/__init__.py"
                       for n in names)
        assert {n.split("/")[0] for n in names} <= {handler_package, "orders_db", "migrations"}
        assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)


@pytest.mark.parametrize(("query", "handler"), [("itemsSalesReport", "items_sales_report.handler.handler"),
                                                ("monthlySalesByItem", "monthly_sales_by_item.handler.handler"),
                                                ("getOrder", "get_order.handler.handler")])
def test_each_query_routes_to_its_own_function(dev, query, handler):
    states = json.loads(dev.one("aws:sfn/stateMachine:StateMachine", "routing-workflow").inputs["definition"])[
        "States"]
    route = next(c for c in states["RouteQuery"]["Choices"] if query in json.dumps(c))
    function = next(f for f in dev.of_type(FUNCTION) if f.inputs["handler"] == handler)
    assert states[route["Next"]]["Parameters"]["FunctionName"] == function.state["arn"]
    invoked = [s["Parameters"]["FunctionName"] for s in states.values()
               if s.get("Resource") == "arn:aws:states:::lambda:invoke"]
    assert invoked.count(function.state["arn"]) == 1 and len(set(invoked)) == 4  # the queries and the validator


def test_with_a_ca_bundle_every_database_function_verifies_the_server(tmp_path):
    import zipfile

    from harness.program import run_program

    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n")
    program = run_program("prod", config_overrides={"cqrs-orders:dbCaBundlePath": str(bundle)})
    database_functions = [f for f in program.of_type(FUNCTION) if "DB_HOST" in f.inputs["environment"]["variables"]]
    assert {f.inputs["handler"].split(".")[0] for f in database_functions} == {
        "projector", "items_sales_report", "monthly_sales_by_item", "get_order", "migrate", "ops"}
    for function in database_functions:
        assert function.inputs["environment"]["variables"]["DB_TLS"] == "verify-full", function.name
        archive = zipfile.ZipFile(function.inputs["code"].path)
        assert archive.read("orders_db/certs/rds-ca.pem") == bundle.read_bytes(), function.name
