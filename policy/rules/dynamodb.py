"""DynamoDB tables: encryption, recovery and protection where the stack is prod-grade, the orders table's stream."""

from .support import get, resource_policy

TABLE = "aws:dynamodb/table:Table"

REQUIRED = {"type": "boolean", "default": True,
            "description": "require it (prod-grade stacks); false turns the rule off, e.g. for dev"}


@resource_policy("dynamodb-encryption",
                 "DynamoDB tables are encrypted with a KMS key (AWS managed or customer managed), so key use shows "
                 "in CloudTrail.", {TABLE})
def encryption(args, report_violation):
    if get(args.props, "serverSideEncryption", "enabled") is not True:
        report_violation(f"DynamoDB table '{args.name}' is not KMS-encrypted: set "
                         "server_side_encryption={'enabled': True} (optionally with kms_key_arn).")


@resource_policy("dynamodb-point-in-time-recovery",
                 "DynamoDB tables have point-in-time recovery where the pack config requires it.", {TABLE},
                 config={"required": REQUIRED})
def point_in_time_recovery(args, report_violation):
    if args.get_config()["required"] and get(args.props, "pointInTimeRecovery", "enabled") is not True:
        report_violation(f"DynamoDB table '{args.name}' has no point-in-time recovery: set "
                         "point_in_time_recovery={'enabled': True}.")


@resource_policy("dynamodb-deletion-protection",
                 "DynamoDB tables have deletion protection where the pack config requires it.", {TABLE},
                 config={"required": REQUIRED})
def deletion_protection(args, report_violation):
    if args.get_config()["required"] and get(args.props, "deletionProtectionEnabled") is not True:
        report_violation(f"DynamoDB table '{args.name}' has no deletion protection: set "
                         "deletion_protection_enabled=True.")


@resource_policy("dynamodb-orders-stream",
                 "The orders table streams NEW_AND_OLD_IMAGES: the projector needs both images to keep the read "
                 "models in step.", {TABLE},
                 config={"ordersTableName": {"type": "string", "default": "orders",
                                             "description": "text in the Pulumi resource name of the orders table"}})
def orders_stream(args, report_violation):
    if args.get_config()["ordersTableName"] not in args.name:
        return
    if get(args.props, "streamEnabled") is not True or get(args.props, "streamViewType") != "NEW_AND_OLD_IMAGES":
        report_violation(f"orders table '{args.name}' does not stream NEW_AND_OLD_IMAGES: set stream_enabled=True "
                         "and stream_view_type='NEW_AND_OLD_IMAGES'.")


POLICIES = [encryption, point_in_time_recovery, deletion_protection, orders_stream]
