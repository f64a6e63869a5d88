"""Projects one batch of stream records: all valid records in one transaction, and when a statement fails,
each record in a transaction of its own, so that a record the database rejects fails alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pymysql

from orders_db.connection import Database, is_transient
from orders_db.projection import InconsistentReadModel, apply_changes
from orders_db.stream_records import OrderChange, PoisonRecord, parse_record

APPLIED, STALE, FAILED = "applied", "stale", "failed"
# The projector's session: no gap locks, so that concurrent batches (of different shards) insert new orders
# side by side without deadlocking, and each statement sees what other batches committed.
PROJECTOR_SESSION = ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",)
# Failures of a batch's transaction that are not bugs: database errors (transient or a rejected statement)
# and a read model that contradicts itself.
_DATABASE_FAILURES = (pymysql.MySQLError, InconsistentReadModel)


class RecordOutcome(NamedTuple):
    # APPLIED; STALE: the read model or a later record of the same batch has this version or a newer one; FAILED
    status: str
    order_id: str | None = None
    error: Exception | None = None


def project_batch(database: Database, records: Sequence[dict]) -> list[RecordOutcome]:
    """One outcome per record, in order. Raises only on a bug; database faults become FAILED outcomes."""
    outcomes: list[RecordOutcome | None] = [None] * len(records)
    changes: dict[int, OrderChange] = {}
    for index, record in enumerate(records):
        try:
            changes[index] = parse_record(record)
        except PoisonRecord as error:
            outcomes[index] = RecordOutcome(FAILED, _order_id_hint(record), error)
    if changes:
        _project(database, changes, outcomes)
    return outcomes


def project_changes(database: Database, changes: Sequence[OrderChange]) -> list[RecordOutcome]:
    """As project_batch, for changes already parsed (orders read from the table by the operations' tools)."""
    outcomes: list[RecordOutcome | None] = [None] * len(changes)
    if changes:
        _project(database, dict(enumerate(changes)), outcomes)
    return outcomes


def _project(database: Database, changes: dict[int, OrderChange], outcomes: list) -> None:
    try:
        _apply(database, changes, outcomes)
    except _DATABASE_FAILURES as error:
        if is_transient(error):  # still failing after a reconnect: the whole batch is retried later
            for index, change in changes.items():
                outcomes[index] = RecordOutcome(FAILED, change.order_id, error)
        else:  # a statement was rejected: find the record(s) it came from
            _apply_one_by_one(database, changes, outcomes)


def _apply(database: Database, changes: dict[int, OrderChange], outcomes: list) -> None:
    applied = database.transaction(lambda cursor: apply_changes(cursor, list(changes.values())))
    for (index, change), was_applied in zip(changes.items(), applied):
        outcomes[index] = RecordOutcome(APPLIED if was_applied else STALE, change.order_id)


def _apply_one_by_one(database: Database, changes: dict[int, OrderChange], outcomes: list) -> None:
    pending = list(changes.items())
    for position, (index, change) in enumerate(pending):
        try:
            _apply(database, {index: change}, outcomes)
        except _DATABASE_FAILURES as error:
            if not is_transient(error):
                outcomes[index] = RecordOutcome(FAILED, change.order_id, error)
                continue
            for rest_index, rest in pending[position:]:
                outcomes[rest_index] = RecordOutcome(FAILED, rest.order_id, error)
            return


def _order_id_hint(record: object) -> str | None:
    """The order id of an unparseable record, for its log line, if its key is readable."""
    try:
        value = record["dynamodb"]["Keys"]["orderId"]["S"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None
