"""Lambda handler of the projector: a DynamoDB stream batch in, the records not applied out as
`batchItemFailures`, so the event source mapping retries them and finally sends them to its on-failure
destination. When no record could be applied the invocation fails as a whole."""

import functools
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from orders_db.batches import APPLIED, FAILED, PROJECTOR_SESSION, STALE, project_batch
from orders_db.connection import Database

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CqrsOrders"))
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@functools.cache
def database() -> Database:
    """The container's connection, reused across invocations (settings from the environment)."""
    return Database.from_env(session_sql=PROJECTOR_SESSION)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    records = event["Records"]
    outcomes = project_batch(database(), records)
    by_record = {id(record): outcome for record, outcome in zip(records, outcomes)}
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

    def report(record):
        """Powertools calls this per record; raising marks the record as a batch item failure."""
        error = by_record[id(record.raw_event)].error
        if error is not None:
            raise error

    return process_partial_response(event=event, record_handler=report, processor=processor, context=context)
