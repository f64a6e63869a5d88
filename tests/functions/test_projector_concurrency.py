"""Two shards' batches projected at the same time, touching the same items in crossing orders (cancellations
lower totals that the other batch raises): no batch fails, and the totals end as a full recomputation says."""

import random
import threading

from orders_db.batches import APPLIED, FAILED, PROJECTOR_SESSION, STALE, project_batch
from orders_db.connection import Database
from orders_test_support import PROJECTOR, cancelled, created, query, settings_for
from test_projector_properties import recomputed_totals, totals

ITEMS = [f"item-{n}" for n in range(6)]
ROUNDS = 40


def shard_batches(shard: str, rng: random.Random) -> list[list[dict]]:
    """Per round, a batch creating three orders and cancelling the previous round's."""
    batches, previous = [], []
    for round_ in range(ROUNDS):
        orders = [(f"{shard}-{round_}-{n}", [(item, rng.randint(1, 5)) for item in rng.sample(ITEMS, 3)])
                  for n in range(3)]
        batches.append([created(order_id, items) for order_id, items in orders]
                       + [cancelled(order_id, items) for order_id, items in previous])
        previous = orders
    return batches


def test_concurrent_batches_on_shared_items_all_apply(migrated, root):
    outcomes: dict[str, list[str]] = {"a": [], "b": []}

    def shard(name: str, seed: int) -> None:
        database = Database(settings_for(PROJECTOR), session_sql=PROJECTOR_SESSION)
        try:
            for batch in shard_batches(name, random.Random(seed)):
                outcomes[name] += [outcome.status for outcome in project_batch(database, batch)]
        finally:
            database.close()

    threads = [threading.Thread(target=shard, args=(name, seed)) for name, seed in (("a", 1), ("b", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(len(statuses) == ROUNDS * 3 + (ROUNDS - 1) * 3 for statuses in outcomes.values())
    assert {status for statuses in outcomes.values() for status in statuses} == {APPLIED}, FAILED
    assert totals(root) == recomputed_totals(root)


def test_the_same_orders_delivered_twice_at_once_are_counted_once(migrated, root):
    """A record delivered again while its first delivery is being applied, or the rebuild writing an order the
    projector is writing: both deliveries take the new-orders path (a plain INSERT of the orders rows), one of them
    waits on the other's rows and then finds them stored. Then both deliver the stored orders again at once: both
    take the general path after their INSERT failed, and one of them may be chosen as a deadlock victim (each holds
    a shared lock from its duplicate key) and runs again. Every order is applied exactly once."""
    rng = random.Random(3)
    rounds = [[created(f"r{round_}-{n}", [(item, rng.randint(1, 5)) for item in rng.sample(ITEMS, 2)])
               for n in range(3)] for round_ in range(ROUNDS)]
    barrier = threading.Barrier(2)
    outcomes: dict[str, list[str]] = {"first": [], "second": []}

    def deliver(name: str) -> None:
        database = Database(settings_for(PROJECTOR), session_sql=PROJECTOR_SESSION)
        try:
            for batch in rounds:
                for _ in range(2):  # new orders, then the same orders stored
                    barrier.wait()
                    outcomes[name] += [outcome.status for outcome in project_batch(database, batch)]
        finally:
            database.close()

    threads = [threading.Thread(target=deliver, args=(name,)) for name in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for round_ in range(ROUNDS):
        first_delivery = [outcomes[name][round_ * 6:round_ * 6 + 3] for name in outcomes]
        second_delivery = [outcomes[name][round_ * 6 + 3:round_ * 6 + 6] for name in outcomes]
        assert sorted(first_delivery) == [[APPLIED] * 3, [STALE] * 3]  # the whole batch, by one of them
        assert second_delivery == [[STALE] * 3] * 2
    lines = sum(len(record["dynamodb"]["NewImage"]["items"]["L"]) for batch in rounds for record in batch)
    assert query(root, "SELECT COUNT(*) FROM order_lines") == [(lines,)]
    assert totals(root) == recomputed_totals(root)
