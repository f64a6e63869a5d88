"""cqrs-orders: wiring and exports only. Each piece lives in components/."""

import pulumi
import pulumi_aws as aws

from components.alarms import Alarms, AlarmsArgs
from components.command_side import CommandSide, CommandSideArgs
from components.database import OPS_DB_USER
from components.dashboard import OperatorDashboard, OperatorDashboardArgs
from components.layer import DependencyLayer, DependencyLayerArgs
from components.layer_wheels import SHARED_LAYER
from components.query_side import QuerySide, QuerySideArgs
from components.http_api import HttpApiArgs, JwtAuthorizerArgs
from components.routing import Routing, RoutingArgs
from components.settings import load_settings
from ops.infra import ReadSideOps, ReadSideOpsArgs

settings = load_settings()

dependencies = DependencyLayer("deps", DependencyLayerArgs(
    spec=SHARED_LAYER, description="aws-lambda-powertools and pymysql (functions/requirements.txt)"))
command = CommandSide("command", CommandSideArgs(point_in_time_recovery=settings.dynamoPointInTimeRecovery,
                                                 deletion_protection=settings.dynamoDeletionProtection))
query = QuerySide("query", QuerySideArgs(settings=settings, table_arn=command.table.arn,
                                         stream_arn=command.table.stream_arn, layer_arn=dependencies.layer.arn))
routing = Routing("routing", RoutingArgs(settings=settings, table_name=command.table.name,
                                         table_arn=command.table.arn,
                                         query_functions={q: f.function for q, f in query.queries.items()},
                                         layer_arn=dependencies.layer.arn,
                                         http_api=HttpApiArgs(
                                             state_machine_arn="", region=aws.config.region,
                                             authorization=settings.httpApiAuthorization,
                                             throttle_rate_limit=settings.httpApiThrottleRateLimit,
                                             throttle_burst_limit=settings.httpApiThrottleBurstLimit,
                                             access_log_retention_days=settings.httpApiAccessLogRetentionDays,
                                             manage_account_log_role=settings.httpApiAccountLogRole,
                                             jwt=JwtAuthorizerArgs(
                                                 issuer=settings.httpApiJwtIssuer,
                                                 audience=settings.httpApiJwtAudience,
                                                 log_retention_days=settings.lambdaLogRetentionDays)
                                             if settings.httpApiAuthorization == "jwt" else None)
                                         if settings.httpApi else None))
ops = ReadSideOps("ops", ReadSideOpsArgs(
    table_name=command.table.name, table_arn=command.table.arn, projector_dlq_url=query.projector_dlq.url,
    projector_dlq_arn=query.projector_dlq.arn, layer_arn=dependencies.layer.arn, vpc=query.vpc,
    database_environment=query.database_environment, ops_user_arn=query.database.user_arn(OPS_DB_USER),
    log_retention_days=settings.lambdaLogRetentionDays,
    state_machine_log_retention_days=settings.stateMachineLogRetentionDays,
    reserved_concurrency=settings.lambdaReservedConcurrency, reconcile_schedule=settings.reconcileSchedule,
    extra_files=query.extra_files))
functions = {**query.functions, "validate-command": routing.validator, **ops.functions}
if routing.http_api is not None and routing.http_api.authorizer is not None:
    functions["jwt-authorizer"] = routing.http_api.authorizer
dead_letter_queues = {"projector-dlq": query.projector_dlq, "target-dlq": routing.target_dlq}
alarms = Alarms("alarms", AlarmsArgs(
    email=settings.alarmEmail,
    dead_letter_queues=dead_letter_queues,
    functions={name: f.function for name, f in functions.items()},
    stream_function=query.projector.function,
    state_machine_arn=routing.state_machine.arn,
    other_state_machines={"ops": ops.state_machine.arn},
    http_api=None if routing.http_api is None else (routing.http_api.rest_api.name, routing.http_api.stage.stage_name),
    drift_metric=ops.drift_metric))
if settings.operatorDashboard:
    OperatorDashboard("operator", OperatorDashboardArgs(
        region=aws.config.region, event_bus_name=routing.bus.name,
        query_functions={q: f.function.name for q, f in query.queries.items()},
        projector_function=query.projector.function.name,
        dead_letter_queues={short: queue.name for short, queue in dead_letter_queues.items()},
        state_machines={"orders": routing.state_machine.arn, "ops": ops.state_machine.arn},
        cluster_identifier=query.database.cluster.cluster_identifier, drift_metric=ops.drift_metric))

pulumi.export("OrdersTableName", command.table.name)
pulumi.export("StateMachineName", routing.state_machine.name)
pulumi.export("EventBridgeARN", routing.bus.arn)
pulumi.export("EventBusName", routing.bus.name)
pulumi.export("StateMachineArn", routing.state_machine.arn)
pulumi.export("ProjectorDlqUrl", query.projector_dlq.url)
pulumi.export("EventTargetDlqUrl", routing.target_dlq.url)
pulumi.export("DatabaseEndpoint", query.database.cluster.endpoint)
pulumi.export("AlarmTopicArn", alarms.topic.arn)
# What `python -m ops` drives (ops/README in the main README's runbook).
pulumi.export("OpsStateMachineArn", ops.state_machine.arn)
pulumi.export("OpsDriverFunctionName", ops.driver.function.name)
pulumi.export("OpsReadSideFunctionName", ops.read_side.function.name)
if routing.http_api is not None:  # curl and the Python client of the README call it (with SigV4)
    pulumi.export("HttpApiUrl", routing.http_api.stage.invoke_url)
