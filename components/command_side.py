"""The command side's store: the orders table, whose stream feeds the read models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws


@dataclass
class CommandSideArgs:
    point_in_time_recovery: bool
    deletion_protection: bool


class CommandSide(pulumi.ComponentResource):
    """Orders table: on demand (free when idle), encrypted, streaming NEW_AND_OLD_IMAGES to the projector.
    Auto-named, so several stacks can share an account and region."""

    table: aws.dynamodb.Table

    def __init__(self, name: str, args: CommandSideArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:CommandSide", name, None, opts)
        self.table = aws.dynamodb.Table(
            f"{name}-orders",
            billing_mode="PAY_PER_REQUEST",
            hash_key="orderId",
            attributes=[{"name": "orderId", "type": "S"}],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            # Encryption at rest with the AWS owned key is always on; `enabled` selects the AWS managed KMS key
            # (aws/dynamodb) so key use shows in CloudTrail, at no monthly key cost.
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": args.point_in_time_recovery},
            deletion_protection_enabled=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"tableName": self.table.name, "streamArn": self.table.stream_arn})
