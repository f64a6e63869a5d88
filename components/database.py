"""Aurora Serverless v2 (MySQL 3) for the read models."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.network import MYSQL_PORT

DATABASE_NAME = "orders"
MASTER_USERNAME = "cqrs_admin"
# Database users of the functions (created by the migration, authenticated with IAM database tokens).
PROJECTOR_DB_USER = "cqrs_projector"
READER_DB_USER = "cqrs_reader"


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


class ReadModelDatabase(pulumi.ComponentResource):
    """Encrypted cluster, TLS required, managed master password (never in config or state), IAM database
    authentication for the functions, a db.serverless writer and optional readers in private subnets."""

    cluster: aws.rds.Cluster
    instance: aws.rds.ClusterInstance

    def __init__(self, name: str, args: ReadModelDatabaseArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:ReadModelDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnet_group = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                           description="cqrs-orders read models (private subnets)", opts=child)
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-params", family="aurora-mysql8.0", description="cqrs-orders: TLS required",
            parameters=[{"name": "require_secure_transport", "value": "ON", "apply_method": "immediate"}],
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
            opts=child)
        def instance(role: str, promotion_tier: int) -> aws.rds.ClusterInstance:
            return aws.rds.ClusterInstance(
                f"{name}-{role}",
                cluster_identifier=self.cluster.id,
                instance_class="db.serverless",
                engine=aws.rds.EngineType.AURORA_MYSQL,
                engine_version=self.cluster.engine_version,
                db_subnet_group_name=subnet_group.name,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                # Tier 0 and 1 readers scale with the writer, so a failover lands on a warm instance.
                promotion_tier=promotion_tier,
                opts=child)

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
