"""Aurora Serverless v2 (MySQL 3) for the read models."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.network import MYSQL_PORT

DATABASE_NAME = "orders"
MASTER_USERNAME = "cqrs_admin"
# Database users of the functions (created by the migration, authenticated with IAM database tokens).
PROJECTOR_DB_USER = "cqrs_projector"
READER_DB_USER = "cqrs_reader"
OPS_DB_USER = "cqrs_ops"  # the read-model side of rebuild, reconcile and redrive (ops/infra.py)
# Who the audit log follows: the master user (migrations, grants), both function users and the operations user. Aurora logs CONNECT
# events of every user anyway; DDL (schema changes) and DCL (grants) only of these.
AUDITED_USERS = (MASTER_USERNAME, PROJECTOR_DB_USER, READER_DB_USER, OPS_DB_USER)
AUDIT_EVENTS = "CONNECT,QUERY_DCL,QUERY_DDL"  # QUERY would also log every read and Aurora's own health checks
SLOW_QUERY_SECONDS = 1  # the queries answer in milliseconds and a projector batch in well under a second


@dataclass
class ReadModelDatabaseArgs:
    engine_version: str
    min_capacity: Decimal
    max_capacity: Decimal
    seconds_until_auto_pause: int
    reader_instances: int
    backup_retention_days: int
    deletion_protection: bool
    skip_final_snapshot: bool
    subnet_ids: pulumi.Input[list]
    security_group_id: pulumi.Input[str]
    # Aurora closes a session idle this long (min(wait_timeout, interactive_timeout) of the instances).
    idle_session_timeout_seconds: int
    # Logs exported to CloudWatch Logs (audit, error, slowquery), and how long their log groups keep them.
    log_exports: Sequence[str]
    log_retention_days: int


class ReadModelDatabase(pulumi.ComponentResource):
    """Encrypted cluster, TLS required, managed master password (never in config or state), IAM database
    authentication for the functions, a db.serverless writer and optional readers in private subnets."""

    cluster: aws.rds.Cluster
    instance: aws.rds.ClusterInstance
    log_groups: dict[str, aws.cloudwatch.LogGroup]

    def __init__(self, name: str, args: ReadModelDatabaseArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:ReadModelDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnet_group = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                           description="cqrs-orders read models (private subnets)", opts=child)
        cluster_parameters = [("require_secure_transport", "ON")]
        if "audit" in args.log_exports:
            cluster_parameters += [("server_audit_logging", "ON"), ("server_audit_events", AUDIT_EVENTS),
                                   ("server_audit_incl_users", ",".join(AUDITED_USERS))]
        if "slowquery" in args.log_exports:  # without these the exported slow query log stays empty
            cluster_parameters += [("slow_query_log", "1"), ("long_query_time", str(SLOW_QUERY_SECONDS)),
                                   ("log_output", "FILE")]
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-params", family="aurora-mysql8.0",
            description="cqrs-orders: TLS required",  # a new description would replace the group
            parameters=[{"name": key, "value": value, "apply_method": "immediate"}
                        for key, value in cluster_parameters],
            opts=child)
        # Idle sessions are instance-level parameters: Aurora ends a session idle for min(wait_timeout,
        # interactive_timeout). Set in the instances' own DB parameter group, which overrides the cluster group, so
        # no other group can change them. A warm Lambda's idle connection is then closed server-side before the
        # auto-pause delay runs out, and Aurora can pause.
        timeout = str(args.idle_session_timeout_seconds)
        instance_parameters = aws.rds.ParameterGroup(
            f"{name}-instance-params", family="aurora-mysql8.0",
            # A fixed description: changing it replaces the group, and a new group needs an instance reboot.
            description="cqrs-orders: idle sessions closed server-side",
            parameters=[{"name": key, "value": timeout, "apply_method": "immediate"}
                        for key in ("wait_timeout", "interactive_timeout")],
            opts=child)
        scaling: dict = {"min_capacity": float(args.min_capacity), "max_capacity": float(args.max_capacity)}
        if args.min_capacity == 0:
            scaling["seconds_until_auto_pause"] = args.seconds_until_auto_pause
        self.cluster = aws.rds.Cluster(
            f"{name}-cluster",
            engine="aurora-mysql",
            engine_mode="provisioned",
            engine_version=args.engine_version,
            database_name=DATABASE_NAME,
            master_username=MASTER_USERNAME,
            manage_master_user_password=True,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            serverlessv2_scaling_configuration=scaling,
            backup_retention_period=args.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=args.skip_final_snapshot,
            final_snapshot_identifier=None if args.skip_final_snapshot
            else f"{pulumi.get_project()}-{pulumi.get_stack()}-final",
            db_subnet_group_name=subnet_group.name,
            db_cluster_parameter_group_name=parameters.name,
            vpc_security_group_ids=[args.security_group_id],
            port=MYSQL_PORT,
            enabled_cloudwatch_logs_exports=list(args.log_exports),
            opts=child)
        # The exported logs go to /aws/rds/cluster/<cluster identifier>/<type>; when that log group is missing, RDS
        # creates it with no retention (kept, and billed, forever). The logs are written by the instances, so the
        # log groups are created (with the stack's retention) from the cluster's generated identifier before any
        # instance exists: nothing is exported until they do. A fixed identifier would have let them come first,
        # but changing a deployed cluster's identifier replaces the cluster.
        self.log_groups = {log: aws.cloudwatch.LogGroup(
            f"{name}-{log}-logs", name=pulumi.Output.concat("/aws/rds/cluster/", self.cluster.id, f"/{log}"),
            retention_in_days=args.log_retention_days, opts=child) for log in args.log_exports}
        def instance(role: str, promotion_tier: int) -> aws.rds.ClusterInstance:
            return aws.rds.ClusterInstance(
                f"{name}-{role}",
                cluster_identifier=self.cluster.id,
                instance_class="db.serverless",
                engine=aws.rds.EngineType.AURORA_MYSQL,
                engine_version=self.cluster.engine_version,
                db_subnet_group_name=subnet_group.name,
                db_parameter_group_name=instance_parameters.name,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                # Tier 0 and 1 readers scale with the writer, so a failover lands on a warm instance.
                promotion_tier=promotion_tier,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.log_groups.values())))

        self.instance = instance("writer", 0)
        self.readers = [instance(f"reader-{index}", 1) for index in range(args.reader_instances)]
        self.register_outputs({"endpoint": self.cluster.endpoint, "readerEndpoint": self.cluster.reader_endpoint})

    def user_arn(self, user: str) -> pulumi.Output[str]:
        """The `rds-db:connect` resource of one database user of this cluster."""
        def arn(values: list) -> str:
            cluster_arn, resource_id = values
            _, partition, _, region, account = cluster_arn.split(":")[:5]
            return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"
        return pulumi.Output.all(self.cluster.arn, self.cluster.cluster_resource_id).apply(arn)

    @property
    def master_secret_arn(self) -> pulumi.Output[str]:
        return self.cluster.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
