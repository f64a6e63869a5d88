"""Lambda handler of the itemsSalesReport query: the query event's detail in, its orderQueryResponse detail out."""

import functools

from aws_lambda_powertools import Logger

from orders_db.connection import Database
from orders_db.queries import items_sales_report

logger = Logger()


@functools.cache
def database() -> Database:
    """The container's connection, reused across invocations (settings from the environment)."""
    return Database.from_env()


@logger.inject_lambda_context
def handler(event, context):
    response = items_sales_report(database(), event)
    logger.info("query answered", extra={"queryStatus": response["queryStatus"], "error": response.get("error")})
    return response
