"""cqrs-orders: wiring and exports only. Each piece lives in components/."""

import pulumi

from components.alarms import Alarms, AlarmsArgs
from components.command_side import CommandSide, CommandSideArgs
from components.layer import DependencyLayer
from components.query_side import QuerySide, QuerySideArgs
from components.routing import Routing, RoutingArgs
from components.settings import load_settings

settings = load_settings()

dependencies = DependencyLayer("deps")
command = CommandSide("command", CommandSideArgs(point_in_time_recovery=settings.dynamoPointInTimeRecovery,
                                                 deletion_protection=settings.dynamoDeletionProtection))
query = QuerySide("query", QuerySideArgs(settings=settings, table_arn=command.table.arn,
                                         stream_arn=command.table.stream_arn, layer_arn=dependencies.layer.arn))
routing = Routing("routing", RoutingArgs(settings=settings, table_name=command.table.name,
                                         table_arn=command.table.arn,
                                         query_functions={q: f.function for q, f in query.queries.items()},
                                         layer_arn=dependencies.layer.arn))
functions = {**query.functions, "validate-command": routing.validator}
alarms = Alarms("alarms", AlarmsArgs(
    email=settings.alarmEmail,
    dead_letter_queues={"projector-dlq": query.projector_dlq, "target-dlq": routing.target_dlq},
    functions={name: f.function for name, f in functions.items()},
    stream_function=query.projector.function,
    state_machine_arn=routing.state_machine.arn))

pulumi.export("OrdersTableName", command.table.name)
pulumi.export("StateMachineName", routing.state_machine.name)
pulumi.export("EventBridgeARN", routing.bus.arn)
pulumi.export("EventBusName", routing.bus.name)
pulumi.export("StateMachineArn", routing.state_machine.arn)
pulumi.export("ProjectorDlqUrl", query.projector_dlq.url)
pulumi.export("EventTargetDlqUrl", routing.target_dlq.url)
pulumi.export("DatabaseEndpoint", query.database.cluster.endpoint)
pulumi.export("AlarmTopicArn", alarms.topic.arn)
