"""DynamoDB tables: encryption, recovery and protection where the stack is prod-grade, the orders table's stream."""

from .event_sources import EVENT_SOURCE_MAPPING, source_service
from .support import get, resource_policy, stack_policy

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


@stack_policy("dynamodb-orders-stream",
              "The orders table streams NEW_AND_OLD_IMAGES: the projector needs both images to keep the read models "
              "in step. The table is found through the event source mapping that reads its stream (eventSourceArn "
              "= the table's streamArn), never by name; a mapping whose stream belongs to no table or to several "
              "fails.")
def orders_stream(args, report_violation):
    mappings = [r for r in args.resources
                if r.resource_type == EVENT_SOURCE_MAPPING and source_service(r) == "dynamodb"]
    if not mappings:
        report_violation("no event source mapping reads a DynamoDB stream, so the orders table cannot be found: the "
                         "projector must read the orders table's stream (aws.lambda_.EventSourceMapping with "
                         "event_source_arn=table.stream_arn).")
        return
    tables = [r for r in args.resources if r.resource_type == TABLE]
    for mapping in mappings:
        arn = get(mapping.props, "eventSourceArn")
        matches = [t for t in tables if get(t.props, "streamArn") == arn]
        if len(matches) != 1:
            owners = f"{len(matches)} tables" if matches else "no table"
            report_violation(f"event source mapping '{mapping.name}' reads stream {arn}, which belongs to {owners} "
                             "of this stack: read the orders table's stream_arn, with its stream enabled.",
                             mapping.urn)
            continue
        table = matches[0]
        if get(table.props, "streamEnabled") is not True or \
                get(table.props, "streamViewType") != "NEW_AND_OLD_IMAGES":
            report_violation(f"orders table '{table.name}' (its stream feeds '{mapping.name}') does not stream "
                             "NEW_AND_OLD_IMAGES: set stream_enabled=True and "
                             "stream_view_type='NEW_AND_OLD_IMAGES'.", table.urn)


POLICIES = [encryption, point_in_time_recovery, deletion_protection, orders_stream]
