"""The two ops Lambda functions, thin: the driver (outside the VPC: the table, its stream, the on-failure queue,
and the read side through the other function) and the read side (in the VPC: the database only, as the
projector; it calls no AWS API)."""

from __future__ import annotations

import functools
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ops.core import DRIFT_METRIC, readside
from orders_db.batches import PROJECTOR_SESSION
from orders_db.connection import Database

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CqrsOrders"))
MARGIN_S = 30.0  # left of an invocation, to record the step and answer


@functools.cache
def database() -> Database:
    return Database.from_env(session_sql=PROJECTOR_SESSION)


@logger.inject_lambda_context
def read_side(event, context):
    db = database()
    db.limit_to(context)
    return readside.dispatch(db, event)


@functools.cache
def _aws():
    import boto3  # the driver only: the read side never imports boto3
    from botocore.config import Config

    from ops.core.clients import LambdaReadSide
    from ops.core.table import FailureQueue, OrdersTable

    # The read side's invocations can take a while (a page of 500 orders, a database resuming from 0 ACU).
    lambda_client = boto3.client("lambda", config=Config(read_timeout=900, retries={"mode": "standard"}))
    table = OrdersTable(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), os.environ["ORDERS_TABLE_NAME"])
    return table, FailureQueue(boto3.client("sqs"), os.environ["PROJECTOR_DLQ_URL"]), \
        LambdaReadSide(lambda_client, os.environ["READ_SIDE_FUNCTION_NAME"])


@metrics.log_metrics
@logger.inject_lambda_context
def driver(event, context):
    from ops.core import rebuild, reconcile, redrive

    table, queue, side = _aws()
    budget = max(1.0, context.get_remaining_time_in_millis() / 1000 - MARGIN_S)
    op = event.get("op")
    if op == "redrive":
        summary = redrive.redrive(table, queue, side, int(event.get("limit", 1000)))
        logger.info("redrive", extra={"summary": summary})
        return summary
    operation = event["run"]["operation"] if "run" in event else event.get("operation")
    steps = {rebuild.OPERATION: rebuild, reconcile.OPERATION: reconcile}.get(operation)
    if steps is None:
        raise ValueError(f"unknown driver request {op!r} for operation {operation!r}")
    if op == "start":
        options = {"repair": bool(event.get("repair")), "grace": float(event.get("grace", 10))} \
            if steps is reconcile else {"resume": event.get("resume", True)}
        run = steps.start(table, side, int(event.get("segments", 4)), **options)
        logger.info("run started", extra={"run": run})
        return run
    if op == "segment":
        return steps.segment(table, side, event["run"], int(event["segment"]), budget)
    if op == "finish":
        result = steps.finish(table, side, event["run"], budget)
        if result["done"]:
            logger.info("run finished", extra={"summary": result["summary"]})
            if steps is reconcile:
                metrics.add_dimension(name="table", value=table.name)
                metrics.add_metric(name=DRIFT_METRIC, unit=MetricUnit.Count, value=result["summary"]["drift"])
        return result
    raise ValueError(f"unknown driver request {op!r}")
