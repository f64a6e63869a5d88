"""DynamoDB rules."""

import dataclasses

import pytest

from tests.policy.helpers import UNKNOWN_STRING, check, messages, program_run, resource

TABLE = "aws:dynamodb/table:Table"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ORDERS = {"serverSideEncryption": {"enabled": True}, "pointInTimeRecovery": {"enabled": True},
          "deletionProtectionEnabled": True, "streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"}
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/ledger-1a2b/stream/2026-01-01T00:00:00.000"


def test_a_prod_grade_orders_table_passes_every_rule():
    for policy in ("dynamodb-encryption", "dynamodb-point-in-time-recovery", "dynamodb-deletion-protection"):
        assert messages(policy, TABLE, ORDERS, name="command-orders") == [], policy


def test_encryption_names_the_table_and_the_fix():
    [message] = messages("dynamodb-encryption", TABLE, {}, name="command-orders")
    assert "'command-orders'" in message and "server_side_encryption" in message


def test_recovery_and_protection_apply_only_where_the_config_requires_them():
    bare = {**ORDERS, "pointInTimeRecovery": {"enabled": False}, "deletionProtectionEnabled": False}
    for policy, fix in (("dynamodb-point-in-time-recovery", "point_in_time_recovery"),
                        ("dynamodb-deletion-protection", "deletion_protection_enabled")):
        [message] = messages(policy, TABLE, bare)
        assert fix in message
        assert messages(policy, TABLE, bare, config={"required": False}) == []


def table(props: dict, name: str, stream_arn=STREAM):
    """A table as the stack policy sees it: its stream ARN is an output."""
    return resource(TABLE, props, name=name, state={**props, "streamArn": stream_arn} if stream_arn else props)


def mapping(source: str = STREAM):
    return resource(ESM, {"eventSourceArn": source}, name="projector-stream")


def test_the_orders_table_is_the_one_whose_stream_a_mapping_reads_whatever_its_name():
    keys_only = {**ORDERS, "streamViewType": "KEYS_ONLY"}
    other = table(keys_only, "idempotency-keys", stream_arn=STREAM.replace("ledger", "keys"))
    assert check("dynamodb-orders-stream", [table(ORDERS, "ledger"), other, mapping()]) == []
    [violation] = check("dynamodb-orders-stream", [table(keys_only, "ledger"), other, mapping()])
    assert violation.resource == "ledger"
    assert "'ledger' (its stream feeds 'projector-stream')" in violation.message
    assert "stream_view_type='NEW_AND_OLD_IMAGES'" in violation.message


@pytest.mark.parametrize("owners, text", [(0, "no table"), (2, "2 tables")])
def test_a_mapping_whose_stream_is_not_exactly_one_tables_fails_loudly(owners, text):
    tables = [table(ORDERS, f"orders-{i}") for i in range(owners)]
    [violation] = check("dynamodb-orders-stream", [*tables, mapping()])
    assert violation.resource == "projector-stream"
    assert f"reads stream {STREAM}, which belongs to {text} of this stack" in violation.message


def test_without_a_mapping_on_a_dynamodb_stream_the_orders_table_cannot_be_found():
    queue = mapping("arn:aws:sqs:us-east-1:123456789012:work")
    [violation] = check("dynamodb-orders-stream", [table(ORDERS, "command-orders"), queue])
    assert violation.resource == "" and "no event source mapping reads a DynamoDB stream" in violation.message


def test_the_programs_orders_table_is_found_through_the_projectors_mapping():
    resources = [dataclasses.replace(r, state={**r.state, "streamViewType": "KEYS_ONLY"})
                 if r.type == TABLE else r for r in program_run("dev").resources]
    [violation] = check("dynamodb-orders-stream", resources)
    assert violation.resource == "command-orders" and "'query-projector-stream'" in violation.message


def test_a_stream_unknown_in_preview_cannot_be_checked_yet():
    [violation] = check("dynamodb-orders-stream", [table(ORDERS, "ledger", stream_arn=UNKNOWN_STRING), mapping()])
    assert violation.level == "advisory" and "during preview" in violation.message
