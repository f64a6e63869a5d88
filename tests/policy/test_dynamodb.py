"""DynamoDB rules."""

from tests.policy.helpers import messages

TABLE = "aws:dynamodb/table:Table"
ORDERS = {"serverSideEncryption": {"enabled": True}, "pointInTimeRecovery": {"enabled": True},
          "deletionProtectionEnabled": True, "streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES"}


def test_a_prod_grade_orders_table_passes_every_rule():
    for policy in ("dynamodb-encryption", "dynamodb-point-in-time-recovery", "dynamodb-deletion-protection",
                   "dynamodb-orders-stream"):
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


def test_only_the_orders_table_must_stream_both_images():
    keys_only = {**ORDERS, "streamViewType": "KEYS_ONLY"}
    assert messages("dynamodb-orders-stream", TABLE, keys_only, name="idempotency-keys") == []
    assert messages("dynamodb-orders-stream", TABLE, {**ORDERS, "streamEnabled": False}, name="command-orders")
    [message] = messages("dynamodb-orders-stream", TABLE, keys_only, name="ledger",
                         config={"ordersTableName": "ledger"})
    assert "NEW_AND_OLD_IMAGES" in message
