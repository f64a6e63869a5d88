"""Lambda handler of the projector: a DynamoDB stream batch in, the records not applied out as
`batchItemFailures`, so the event source mapping retries them and finally sends them to its on-failure
destination. When no record could be applied the invocation fails as a whole.

The partial batch response is built here rather than by Powertools' batch utility (`process_partial_response`),
which answers the same way (the failed records' sequence numbers; BatchProcessingError when every record failed)
but imports asyncio and all of Powertools' event data classes: 110 ms or more of every cold start, half again
as much as the handler needs otherwise (`python -m bench --only cold_start`). The projector handles a batch as a
whole (one transaction), so the utility's per-record calls had nothing to do but re-raise each record's error.
Logger and Metrics stay Powertools'; its exception is imported only when a whole batch fails."""

import functools
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from orders_db.batches import APPLIED, FAILED, PROJECTOR_SESSION, STALE, project_batch
from orders_db.connection import Database

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CqrsOrders"))


@functools.cache
def database() -> Database:
    """The container's connection, reused across invocations (settings from the environment)."""
    return Database.from_env(session_sql=PROJECTOR_SESSION)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    records = event.get("Records") if isinstance(event, dict) else None
    if not records or not isinstance(records, list):
        raise ValueError("not a DynamoDB stream batch: the event has no Records")
    db = database()
    db.limit_to(context)  # waiting for a resuming database may take what is left of the invocation
    outcomes = project_batch(db, records)
    ids = {status: [o.order_id for o in outcomes if o.status == status] for status in (APPLIED, STALE, FAILED)}
    metrics.add_metric(name="RecordsApplied", unit=MetricUnit.Count, value=len(ids[APPLIED]))
    metrics.add_metric(name="RecordsSkippedStale", unit=MetricUnit.Count, value=len(ids[STALE]))
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=len(ids[FAILED]))
    for record, outcome in zip(records, outcomes):
        if outcome.status == FAILED:
            logger.error(
                "record not applied",
                extra={
                    "orderId": outcome.order_id,
                    "eventID": record.get("eventID") if isinstance(record, dict) else None,
                    "error": f"{type(outcome.error).__name__}: {outcome.error}",
                },
            )
    logger.info("batch projected", extra={"appliedOrderIds": ids[APPLIED], "staleOrderIds": ids[STALE]})
    failed = [(record, outcome.error) for record, outcome in zip(records, outcomes) if outcome.status == FAILED]
    if failed and len(failed) == len(records):  # nothing applied: the whole batch is retried (or bisected)
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        raise BatchProcessingError(
            msg=f"All records failed processing. {len(failed)} individual errors logged separately below.",
            child_exceptions=[(type(error), error, error.__traceback__) for _, error in failed],
        )
    return {"batchItemFailures": [{"itemIdentifier": _sequence_number(record)} for record, _ in failed]}


def _sequence_number(record: object) -> object:
    """The record's SequenceNumber, as the event source mapping identifies it (None if the record has none: the
    mapping then takes the whole batch as failed)."""
    stream_record = record.get("dynamodb") if isinstance(record, dict) else None
    return stream_record.get("SequenceNumber") if isinstance(stream_record, dict) else None
