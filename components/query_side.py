"""The query side: private network, Aurora read models, the stream projector, the query functions and the
deploy-time schema migration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.database import (DATABASE_NAME, OPS_DB_USER, PROJECTOR_DB_USER, READER_DB_USER,
                                 ReadModelDatabase, ReadModelDatabaseArgs)
from components.function import PythonFunction, PythonFunctionArgs, VpcPlacement, statement
from components.network import PrivateNetwork, PrivateNetworkArgs
from components.packaging import function_archive, migrations_hash
from components.settings import StackSettings

# query name (SEED-CONTRACT.md) -> function folder in functions/
QUERY_FUNCTIONS = {"itemsSalesReport": "items_sales_report", "monthlySalesByItem": "monthly_sales_by_item",
                   "getOrder": "get_order"}
CA_BUNDLE_IN_ARCHIVE = "orders_db/certs/rds-ca.pem"


@dataclass
class QuerySideArgs:
    settings: StackSettings
    table_arn: pulumi.Input[str]
    stream_arn: pulumi.Input[str]
    layer_arn: pulumi.Input[str]


class QuerySide(pulumi.ComponentResource):
    database: ReadModelDatabase
    projector: PythonFunction
    queries: dict[str, PythonFunction]
    projector_dlq: aws.sqs.Queue
    functions: dict[str, PythonFunction]

    def __init__(self, name: str, args: QuerySideArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:QuerySide", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        network = PrivateNetwork(f"{name}-network", PrivateNetworkArgs(
            existing_vpc_id=s.vpcId, existing_subnet_ids=s.privateSubnetIds, flow_logs=s.vpcFlowLogs,
            flow_log_retention_days=s.vpcFlowLogRetentionDays), opts=child)
        self.database = ReadModelDatabase(f"{name}-db", ReadModelDatabaseArgs(
            engine_version=s.auroraEngineVersion, min_capacity=s.auroraMinCapacity,
            max_capacity=s.auroraMaxCapacity, seconds_until_auto_pause=s.auroraSecondsUntilAutoPause,
            reader_instances=s.auroraReaderInstances,
            backup_retention_days=s.backupRetentionDays, deletion_protection=s.deletionProtection,
            skip_final_snapshot=s.skipFinalSnapshot, subnet_ids=network.subnet_ids,
            security_group_id=network.database_security_group.id,
            idle_session_timeout_seconds=s.dbIdleSessionTimeoutSeconds, log_exports=s.dbLogExports,
            log_retention_days=s.dbLogRetentionDays), opts=child)
        cluster = self.database.cluster
        in_vpc = VpcPlacement(network.subnet_ids, [network.functions_security_group.id])
        extra_files = {CA_BUNDLE_IN_ARCHIVE: Path(s.dbCaBundlePath)} if s.dbCaBundlePath else {}
        connection = {"DB_PORT": cluster.port.apply(str), "DB_NAME": DATABASE_NAME,
                      # Without a CA bundle TLS is still enforced by the server (require_secure_transport).
                      "DB_TLS": "verify-full" if s.dbCaBundlePath else "required",
                      # Aurora closes a session idle this long; a connection idle longer is discarded unused.
                      "DB_IDLE_SESSION_TIMEOUT_S": str(s.dbIdleSessionTimeoutSeconds)}
        # What another database function of the stack needs (ops/infra.py): its placement, its connection
        # settings (DB_HOST: the writer) and the archive files every database function carries.
        self.vpc, self.extra_files = in_vpc, extra_files
        self.database_environment = {**connection, "DB_HOST": cluster.endpoint}

        def db_function(function: str, description: str, user: str, host: pulumi.Input[str], **kwargs):
            return PythonFunction(f"{name}-{function.replace('_', '-')}", PythonFunctionArgs(
                code=function_archive(function, ("orders_db",), extra_files), handler=f"{function}.handler.handler",
                description=description, layer_arn=args.layer_arn, log_retention_days=s.lambdaLogRetentionDays,
                environment={**connection, "DB_HOST": host, "DB_USER": user}, vpc=in_vpc,
                reserved_concurrency=s.lambdaReservedConcurrency,
                statements=[statement(["rds-db:connect"], [self.database.user_arn(user)])], **kwargs), opts=child)

        self.projector = db_function("projector", "Projects order changes from the DynamoDB stream into Aurora",
                                     PROJECTOR_DB_USER, cluster.endpoint, timeout=60, memory_size=512)
        # Query functions read through the reader endpoint (the writer when the stack has no reader).
        self.queries = {query: db_function(folder, f"Answers the {query} query from the read models",
                                           READER_DB_USER, cluster.reader_endpoint, timeout=30)
                        for query, folder in QUERY_FUNCTIONS.items()}
        self.projector_dlq = aws.sqs.Queue(
            f"{name}-projector-dlq", sqs_managed_sse_enabled=True,
            message_retention_seconds=s.dlqMessageRetentionSeconds, opts=child)
        stream_policy = aws.iam.RolePolicy(
            f"{name}-projector-stream-policy", role=self.projector.role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                statement(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                          [args.stream_arn]),
                statement(["dynamodb:ListStreams"], [pulumi.Output.concat(args.table_arn, "/stream/*")]),
                statement(["sqs:SendMessage"], [self.projector_dlq.arn])]}), opts=child)
        # Every function of this side by short name (alarms watch each one).
        self.functions = {"projector": self.projector,
                          **{f.replace("_", "-"): self.queries[q] for q, f in QUERY_FUNCTIONS.items()}}
        self._migration(name, args, in_vpc, connection, extra_files)
        self.stream_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-projector-stream",
            event_source_arn=args.stream_arn,
            function_name=self.projector.function.arn,
            starting_position="TRIM_HORIZON",
            batch_size=s.projectorBatchSize,
            maximum_batching_window_in_seconds=1,
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=s.projectorMaxRetries,
            maximum_record_age_in_seconds=s.projectorMaxRecordAgeSeconds,
            destination_config={"on_failure": {"destination_arn": self.projector_dlq.arn}},
            # Records flow only once the schema exists, so none is retried into the on-failure queue.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[stream_policy, self.migration]))
        self.register_outputs({"databaseEndpoint": cluster.endpoint, "projectorDlqUrl": self.projector_dlq.url})

    def _migration(self, name: str, args: QuerySideArgs, in_vpc: VpcPlacement, connection: dict,
                   extra_files: dict[str, Path]) -> None:
        """Schema migrations run at deploy time and fail the deploy when they fail.

        The in-VPC migrator connects as the master user; the master secret is read by a launcher outside the VPC
        and handed over in the invocation, so the VPC needs no Secrets Manager endpoint (about $15/month)."""
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        migrator = PythonFunction(f"{name}-migrate", PythonFunctionArgs(
            code=function_archive("migrate", ("orders_db", "migrations"), extra_files),
            handler="migrate.handler.handler",
            description="Applies the read-model schema migrations and database grants",
            layer_arn=args.layer_arn, log_retention_days=s.lambdaLogRetentionDays,
            environment={**connection, "DB_HOST": self.database.cluster.endpoint,
                         "PROJECTOR_DB_USER": PROJECTOR_DB_USER, "READER_DB_USER": READER_DB_USER,
                         "OPS_DB_USER": OPS_DB_USER, "DB_USER_AUTH": "iam"},
            # One migration at a time, where the stack reserves concurrency (an account may have none to reserve).
            vpc=in_vpc, timeout=300, reserved_concurrency=1 if s.lambdaReservedConcurrency > 0 else -1), opts=child)
        launcher = PythonFunction(f"{name}-migrate-launcher", PythonFunctionArgs(
            code=function_archive("migrate_launcher", ()), handler="migrate_launcher.handler.handler",
            description="Reads the master secret and runs the in-VPC migration",
            layer_arn=args.layer_arn, log_retention_days=s.lambdaLogRetentionDays,
            environment={"MASTER_SECRET_ARN": self.database.master_secret_arn,
                         "MIGRATE_FUNCTION_NAME": migrator.function.name},
            timeout=330,
            statements=[statement(["secretsmanager:GetSecretValue"], [self.database.master_secret_arn]),
                        statement(["lambda:InvokeFunction"], [migrator.function.arn])]), opts=child)
        digest = migrations_hash()
        self.migration = aws.lambda_.Invocation(
            f"{name}-migration",
            function_name=launcher.function.name,
            input=pulumi.Output.json_dumps({"migrationsHash": digest}),
            # Re-run when a migration changes, or when the migrator's code does.
            triggers={"migrations": digest, "migrator": migrator.function.source_code_hash},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.database.instance]))
        self.functions["migrate"] = migrator
        self.functions["migrate-launcher"] = launcher
