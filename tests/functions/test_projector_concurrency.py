"""Two shards' batches projected at the same time, touching the same items in crossing orders (cancellations
lower totals that the other batch raises): no batch fails, and the totals end as a full recomputation says."""

import random
import threading

from orders_db.batches import APPLIED, FAILED, PROJECTOR_SESSION, project_batch
from orders_db.connection import Database
from orders_test_support import PROJECTOR, cancelled, created, settings_for
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
