"""Lambda handler of the monthlySalesByItem query: the query event's detail in, its orderQueryResponse detail out."""

import functools

from aws_lambda_powertools import Logger

from orders_db.connection import Database
from orders_db.queries import monthly_sales_by_item

logger = Logger()


@functools.cache
def database() -> Database:
    """The container's connection, reused across invocations (settings from the environment)."""
    return Database.from_env()


@logger.inject_lambda_context
def handler(event, context):
    response = monthly_sales_by_item(database(), event)
    logger.info("query answered", extra={"queryStatus": response["queryStatus"], "error": response.get("error")})
    return response
