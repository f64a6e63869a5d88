"""Property: however the stream delivers the records (batched at random, duplicated, replayed, reordered),
the read model ends exactly where delivering each record once, in order, ends, and its totals equal a
recomputation from the order tables and from the orders' final states."""

import random
from collections import defaultdict
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders_db import projection
from orders_db.batches import FAILED, PROJECTOR_SESSION, project_batch
from orders_db.connection import Database
from orders_test_support import (
    PROJECTOR,
    clear_read_model,
    history,
    query,
    read_model,
    run_migrations,
    settings_for,
)

ITEMS = ["a", "A", "é", "e\u0301", "🧾", "z" * 64]
DATES = [
    "2021-01-15T08:00:00Z",
    "2022-10-13T19:00:00Z",
    "2022-10-13T19:00:00.500Z",
    "2022-10-31T23:59:59+00:00",
    "2022-11-01T00:30:00+01:00",  # still October in UTC
    "2022-11-01T00:00:00Z",
]
FATES = ["created", "cancelled", "removed", "cancelled+removed"]


class Projection:
    """A migrated database of its own, with the projector's connection and root's."""

    def __init__(self, mariadb, database: str):
        self.database = Database(settings_for(PROJECTOR, database), session_sql=PROJECTOR_SESSION)
        self.root = mariadb.root_connection(database)

    def deliver(self, batches):
        for batch in batches:
            failed = [outcome for outcome in project_batch(self.database, batch) if outcome.status == FAILED]
            assert not failed

    def close(self):
        self.database.close()
        self.root.close()


@pytest.fixture
def projections(mariadb, migrated):
    """Two read models: one for the scrambled delivery, one for the in-order reference."""
    other = f"{migrated}_ref"
    run_migrations(database=other)
    pair = (Projection(mariadb, migrated), Projection(mariadb, other))
    yield pair
    for projection_ in pair:
        projection_.close()
    mariadb.drop_database(other)


@st.composite
def deliveries(draw):
    orders = draw(
        st.lists(
            st.tuples(
                st.lists(st.tuples(st.sampled_from(ITEMS), st.integers(1, 10_000)), min_size=1, max_size=4),
                st.sampled_from(DATES),
                st.sampled_from(FATES),
            ),
            min_size=1,
            max_size=8,
        )
    )
    pending = [history(f"order-{n}", items, date, fate) for n, (items, date, fate) in enumerate(orders)]
    in_order = []  # the orders' histories interleaved, each order's records in their order
    while any(pending):
        in_order.append(draw(st.sampled_from([records for records in pending if records])).pop(0))
    again = draw(st.lists(st.sampled_from(in_order), max_size=len(in_order)))  # duplicates and replays
    scrambled = draw(st.permutations(in_order + again))
    cuts = sorted(draw(st.sets(st.integers(1, len(scrambled) - 1), max_size=6)) if len(scrambled) > 1 else [])
    batches = [scrambled[start:end] for start, end in zip([0, *cuts], [*cuts, len(scrambled)])]
    return in_order, batches


@pytest.mark.parametrize("chunk", [projection.CHUNK, 2])  # 2: every IN list and UPDATE spans several chunks
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delivery=deliveries())
def test_any_delivery_ends_like_one_in_order(projections, monkeypatch, chunk, delivery):
    monkeypatch.setattr(projection, "CHUNK", chunk)
    scrambled, reference = projections
    for projection_ in projections:
        clear_read_model(projection_.root)
    in_order, batches = delivery

    scrambled.deliver(batches)
    reference.deliver([[record] for record in in_order])

    assert read_model(scrambled.root) == read_model(reference.root)
    assert totals(scrambled.root) == recomputed_totals(scrambled.root) == expected_totals(in_order)


def test_a_large_shuffled_stream_in_large_batches(projections):
    """Thousands of records in batches of up to 1000: multi-row statements and IN lists at scale."""
    rng = random.Random(20221013)
    in_order = []
    for n in range(800):
        lines = [(rng.choice(ITEMS + [f"item-{k}" for k in range(40)]), rng.randint(1, 10_000)) for _ in range(3)]
        in_order += history(f"order-{n}", lines, rng.choice(DATES), rng.choice(FATES))
    scrambled_records = in_order + rng.sample(in_order, 300)
    rng.shuffle(scrambled_records)
    scrambled, reference = projections

    scrambled.deliver([scrambled_records[start : start + 1000] for start in range(0, len(scrambled_records), 1000)])
    reference.deliver([in_order])

    assert read_model(scrambled.root) == read_model(reference.root)
    assert totals(scrambled.root) == recomputed_totals(scrambled.root) == expected_totals(in_order)


def totals(root):
    return (
        query(root, "SELECT * FROM item_totals ORDER BY item_id"),
        query(root, "SELECT * FROM item_monthly_totals ORDER BY item_id, order_month"),
    )


def recomputed_totals(root):
    """The totals as a full scan of the order tables would compute them."""
    assert query(
        root, "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.order_id = l.order_id"
        " WHERE l.counted <> (o.status = 'orderCreated') OR l.order_date <> o.order_date"
    ) == [(0,)]
    counted = "FROM order_lines l JOIN orders o ON o.order_id = l.order_id WHERE o.status = 'orderCreated'"
    return (
        query(
            root,
            f"SELECT l.item_id, SUM(l.quantity), DATE(MAX(l.order_date)) {counted}"
            " GROUP BY l.item_id ORDER BY l.item_id",
        ),
        query(
            root,
            "SELECT l.item_id, DATE_SUB(DATE(l.order_date), INTERVAL DAYOFMONTH(l.order_date) - 1 DAY) AS month,"
            f" SUM(l.quantity) {counted} GROUP BY l.item_id, month ORDER BY l.item_id, month",
        ),
    )


def expected_totals(in_order):
    """The totals from each order's last record, computed in Python."""
    final = {}
    for record in in_order:
        final[record["dynamodb"]["Keys"]["orderId"]["S"]] = record
    per_item, last_date, per_month = defaultdict(int), {}, defaultdict(int)
    for record in final.values():
        image = record["dynamodb"].get("NewImage")
        if record["eventName"] == "REMOVE" or image["status"]["S"] != "orderCreated":
            continue
        moment = datetime.fromisoformat(image["orderDate"]["S"]).astimezone(timezone.utc)
        for line in image["items"]["L"]:
            item_id, quantity = line["M"]["itemid"]["S"].encode(), int(line["M"]["quantity"]["N"])
            per_item[item_id] += quantity
            last_date[item_id] = max(moment.date(), last_date.get(item_id, moment.date()))
            per_month[(item_id, moment.date().replace(day=1))] += quantity
    return (
        [(item_id, per_item[item_id], last_date[item_id]) for item_id in sorted(per_item)],
        [(item_id, month, per_month[(item_id, month)]) for item_id, month in sorted(per_month)],
    )
