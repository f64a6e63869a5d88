"""Reconcile, in process against moto and a real MariaDB: each kind of drift found and named, repaired, and a
second reconcile finding none; a healthy read model reports nothing."""

from __future__ import annotations

import pytest

from ops.core import inline, reconcile


def reconcile_now(ops, repair: bool = False, grace: float = 0.0) -> dict:
    table, _, readside = ops
    return inline.run("reconcile", table, readside, segments=3, repair=repair, grace=grace)


@pytest.fixture
def projected(world):
    world.traffic(90)
    assert world.project_stream() == []
    return world


def test_a_healthy_read_model_has_no_drift(projected, ops):
    summary = reconcile_now(ops)
    assert summary["drift"] == 0 and summary["scanned"] == 90 and summary["unrepaired"] == 0
    assert summary["firstIds"] == {}


def test_a_corrupted_total_and_an_order_without_lines_are_reported_then_repaired(projected, ops):
    world = projected
    world.sql("UPDATE item_totals SET total_ordered = total_ordered + 5 WHERE item_id = 'item-5'")
    world.sql("DELETE FROM order_lines WHERE order_id = 'o-00010'")  # a standing order (10 % 3 != 0)

    found = reconcile_now(ops)

    assert found["driftByKind"]["lines"] == 1 and found["firstIds"]["lines"] == ["o-00010"]
    # o-00010 counted in item-3 and item-2, overall and in its month; item-5's overall total was raised.
    assert found["firstIds"]["item_totals"] == ["item-2", "item-3", "item-5"]
    assert found["firstIds"]["item_monthly_totals"] == ["item-2", "item-3"]
    assert found["drift"] == 6 and found["repairedOrders"] == 0 and found["unrepaired"] == 4  # 1 order, 3 items

    fixed = reconcile_now(ops, repair=True)

    # Re-projecting o-00010 recomputed its items' totals before the totals pass, which then finds item-5 only.
    assert fixed["firstIds"] == {"lines": ["o-00010"], "item_totals": ["item-5"]}
    assert (fixed["repairedOrders"], fixed["repairedItems"], fixed["unrepaired"]) == (1, 1, 0)
    assert reconcile_now(ops)["drift"] == 0
    assert world.snapshot() == world.reference()


def test_missing_extra_and_out_of_date_orders_are_reported_then_repaired(projected, ops):
    world = projected
    world.sql("DELETE FROM order_lines WHERE order_id = 'o-00004'")
    world.sql("DELETE FROM orders WHERE order_id = 'o-00004'")  # missing (its totals stay: they drift too)
    world.delete("o-00007")  # gone from the table behind the projector's back: an extra in the read model
    world.sql("UPDATE orders SET version = 9 WHERE order_id = 'o-00003'")  # ahead of the table (as after a restore)
    world.iterators.clear()  # the projector never saw the removal: forget the stream position, skip it
    for shard in world.clients["dynamodbstreams"].describe_stream(StreamArn=world.stream_arn)[
            "StreamDescription"]["Shards"]:
        world.iterators[shard["ShardId"]] = world.clients["dynamodbstreams"].get_shard_iterator(
            StreamArn=world.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")["ShardIterator"]

    found = reconcile_now(ops)

    assert (found["firstIds"]["missing"], found["firstIds"]["extra"], found["firstIds"]["order"]) == \
        (["o-00004"], ["o-00007"], ["o-00003"])
    fixed = reconcile_now(ops, repair=True)
    assert fixed["unrepaired"] == 0 and fixed["repairedOrders"] == 3
    assert reconcile_now(ops)["drift"] == 0
    assert world.snapshot() == world.reference()


def test_an_item_the_projector_cannot_read_is_drift_that_repair_cannot_fix(projected, ops):
    bad = projected.put("broken", [("z1", 1)])
    bad["items"] = {"L": []}
    projected.clients["dynamodb"].put_item(TableName=projected.table_name, Item=bad)

    summary = reconcile_now(ops, repair=True)

    assert summary["driftByKind"]["invalid"] == 1 and summary["firstIds"]["invalid"] == ["broken"]
    assert summary["unrepaired"] == 1


def test_drift_the_stream_is_about_to_fix_is_not_reported(projected, ops, monkeypatch):
    projected.put("late", [("item-1", 1)])  # in the table, not yet projected
    slept = []

    def project_while_waiting(seconds):  # the stream delivers during the grace period
        slept.append(seconds)
        projected.project_stream()

    monkeypatch.setattr(reconcile.time, "sleep", project_while_waiting)
    summary = reconcile_now(ops, grace=5.0)
    assert summary["drift"] == 0 and slept == [5.0]
